"""The watcher's running numbers (trains/s, latency, dropped trains) and the state an ordered series holds."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass

import numpy as np

#: Latencies kept for the percentiles: the last this many trains (bounded: a watch runs for days).
LATENCY_WINDOW = 1000


@dataclass(frozen=True)
class Summary:
    """What a watch did: trains analysed, rows written, rate, latency (receipt to row written, ms) and trains
    dropped (train ids between the first and the last seen that were never analysed nor refused)."""

    trains: int
    rows: int
    malformed: int
    dropped: int
    trains_per_s: float
    latency_p50_ms: float
    latency_p99_ms: float

    def line(self) -> str:
        return (
            f"# {self.trains} trains ({self.rows} rows), {self.trains_per_s:.2f} trains/s, latency p50 "
            f"{self.latency_p50_ms:.1f} ms p99 {self.latency_p99_ms:.1f} ms, {self.dropped} dropped, "
            f"{self.malformed} malformed"
        )


class Monitor:
    """Counts trains as they are analysed, refused or skipped.

    A train counts as dropped when its id lies between two the watcher took and it was never taken: the
    bridge's REQ server let it go while the watcher was busy, or it was read off a PULL/SUB socket behind a newer
    one. A train id lower than the last (a new run, a restarted device) starts the count again; nothing dropped.
    """

    def __init__(self) -> None:
        self.trains = self.rows = self.malformed = self.dropped = 0
        self.last_id: int | None = None
        self.latencies: deque[float] = deque(maxlen=LATENCY_WINDOW)
        self.first: float | None = None
        self.last: float | None = None

    def seen(self, train_id: int | None) -> None:
        """A train taken off the socket (analysed or refused): the ids skipped since the last one are dropped."""
        if train_id is None:
            return
        if self.last_id is not None and train_id > self.last_id:
            self.dropped += train_id - self.last_id - 1
        self.last_id = train_id

    def analysed(self, pulses: int, received: float) -> None:
        """A train's rows written; ``received``: when it came (``time.perf_counter``)."""
        now = time.perf_counter()
        self.trains += 1
        self.rows += pulses
        self.latencies.append(now - received)
        self.first = received if self.first is None else self.first
        self.last = now

    def summary(self) -> Summary:
        lat = np.asarray(self.latencies) * 1000 if self.latencies else np.full(1, np.nan)
        span = (self.last - self.first) if self.first is not None and self.last is not None else 0.0
        # trains/s over the span from the first train's receipt to the last's row: n trains, n - 1 intervals
        rate = (self.trains - 1) / span if self.trains > 1 and span > 0 else float("nan")
        p50, p99 = np.percentile(lat, [50, 99])
        return Summary(self.trains, self.rows, self.malformed, self.dropped, rate, float(p50), float(p99))


class HeldState:
    """The state of an ordered series (a train's most common class), told once a new one has held ``hold``
    trains in a row: single trains flickering between states are not told as changes."""

    def __init__(self, hold: int = 1) -> None:
        self.hold = hold
        self.state: str | None = None  # the state told last
        self.candidate: str | None = None
        self.since: int | None = None  # the train the candidate began at
        self.count = 0

    def update(self, state: str, train_id: int) -> str | None:
        """The line to tell when ``state`` (train ``train_id``'s) makes a change hold, else None."""
        if state == self.state:
            self.candidate, self.count = None, 0
            return None
        if state != self.candidate:
            self.candidate, self.since, self.count = state, train_id, 0
        self.count += 1
        if self.count < self.hold:
            return None
        before, self.state, self.candidate, self.count = self.state, state, None, 0
        if before is None:
            return f"# state: {state} since train {self.since}"
        held = f" (held {self.hold} trains)" if self.hold > 1 else ""
        return f"# state change: {before} -> {state} at train {self.since}{held}"
