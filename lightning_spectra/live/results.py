"""Where a train's results go: rows appended to a CSV file (one per pulse), and a Karabo bridge server of their own."""

from __future__ import annotations

import contextlib
import csv
import io
import queue
from pathlib import Path
from typing import Any

import numpy as np

from lightning_spectra.errors import SpectraConfigError

#: The source name results are served under (``--publish``), as a Karabo device's output would be named.
PUBLISHED_SOURCE = "lightning_spectra/predictions"
PUBLISH_SOCKETS = ("REP", "PUB", "PUSH")


class RowsFile:
    """A CSV file of one row per pulse, ``train_id, pulse`` and the task's prediction columns, appended to and
    flushed once per train: an interrupted watcher loses none of the trains it analysed, and a second run into
    the same file continues it. A file of other columns (another model, another task) is refused rather than
    mixed."""

    def __init__(self, path: str | Path, columns: list[str]) -> None:
        self.path = Path(path)
        self.header = ["train_id", "pulse", *columns]
        if self.path.is_dir():
            raise SpectraConfigError(f"--output {self.path}: is a folder, not a file")
        try:
            self.file = open(self.path, "a+", newline="", encoding="utf-8")  # noqa: SIM115  (open for the whole run)
        except OSError as err:
            raise SpectraConfigError(f"--output {self.path}: cannot write there ({err.strerror})") from None
        self.file.seek(0)
        first = self.file.readline()
        if not first:
            self._write([self.header])
        elif next(csv.reader([first])) != self.header:
            self.file.close()
            raise SpectraConfigError(
                f"--output {self.path}: has other columns ({first.strip()[:80]}...) than this model's "
                f"({','.join(self.header)[:80]}...); give another file"
            )
        elif not first.endswith("\n"):
            self.file.write("\n")  # a header cut short (killed while writing it) must not swallow the first row

    def write_train(self, train_id: int, columns: dict[str, list[str]]) -> None:
        """One row per pulse, written and flushed as one piece."""
        cells = list(columns.values())
        self._write([train_id, pulse, *(column[pulse] for column in cells)] for pulse in range(len(cells[0])))

    def _write(self, rows: Any) -> None:
        text = io.StringIO()
        csv.writer(text, lineterminator="\n").writerows(rows)
        self.file.write(text.getvalue())
        self.file.flush()

    def close(self) -> None:
        self.file.close()


class Publisher:
    """Each train's results served by karabo_bridge's own :class:`~karabo_bridge.ServerInThread` on the endpoint
    the user gives (nothing is bound otherwise), for a dashboard or another device to read with
    ``karabo_bridge.Client``.

    The server holds at most one train: when no one reads (REP without a client, a PUSH without a puller), the
    newest results wait and older ones are let go, so a missing reader never slows the watcher or fills memory.
    """

    def __init__(self, endpoint: str, socket_type: str = "REP") -> None:
        from lightning_spectra.live.receiver import xfel_modules

        zmq, _ = xfel_modules()
        from karabo_bridge import ServerInThread

        if socket_type not in PUBLISH_SOCKETS:
            raise SpectraConfigError(f"--publish_socket must be one of {', '.join(PUBLISH_SOCKETS)}")
        try:
            self.server = ServerInThread(endpoint, sock=socket_type, maxlen=1)
        except zmq.ZMQError as err:
            raise SpectraConfigError(f"--publish {endpoint}: cannot bind ({err})") from None
        self.server.start()

    @property
    def endpoint(self) -> str:
        return self.server.endpoint

    def publish(self, train_id: int, outputs: np.ndarray, columns: dict[str, list[str]]) -> None:
        """Serve a train's results: the task's outputs ``(pulses, K)`` and each prediction column, by name."""
        data = {PUBLISHED_SOURCE: {"outputs": np.ascontiguousarray(outputs, dtype=np.float32), **columns}}
        meta = {PUBLISHED_SOURCE: {"source": PUBLISHED_SOURCE, "timestamp.tid": int(train_id)}}
        with contextlib.suppress(queue.Empty):  # an unread train's results give way to the newest
            self.server.buffer.get_nowait()
        with contextlib.suppress(queue.Full):  # another train's came in between: this one is let go
            self.server.feed(data, meta, block=False)

    def close(self) -> None:
        self.server.stop()
