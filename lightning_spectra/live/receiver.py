"""The newest train off a Karabo bridge socket: a watcher slower than the stream skips trains, never queues them."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from lightning_spectra.errors import SpectraConfigError

#: The socket types a Karabo bridge client connects with (the server is REP, PUSH or PUB).
SOCKETS = ("REQ", "PULL", "SUB")
XFEL_EXTRA = "pip install lightning-spectra[xfel]"
#: Longest single wait on the socket: Ctrl-C and --timeout are looked at in between.
POLL_SLICE_S = 0.5
#: How long a drain of a PULL or SUB socket waits for the next message waiting below ZeroMQ (kernel buffers):
#: a message already on this machine moves up in well under a millisecond; the wait adds this much latency.
DRAIN_GRACE_MS = 2


def xfel_modules() -> tuple[Any, Any]:
    """``(zmq, karabo_bridge.serializer.deserialize)``, or one line naming the extra that installs them."""
    try:
        import zmq
        from karabo_bridge.serializer import deserialize
    except ImportError:
        raise SpectraConfigError(f"--bridge needs the Karabo bridge client: {XFEL_EXTRA}") from None
    return zmq, deserialize


@dataclass(frozen=True)
class Message:
    """A train's frames as they came (not yet decoded), when its last frame arrived (``time.perf_counter``) and
    how many older messages were thrown away for it."""

    frames: list
    received: float
    skipped: int


class BridgeReceiver:
    """A client socket to a Karabo bridge server, reading the newest train only.

    REQ asks for one train when the watcher is ready: the server sends the newest it holds. PULL and SUB take
    what the server pushes: every message waiting is read and only the last one kept, so a watcher slower than
    the stream analyses the newest train and never works through an old backlog. Receive high-water marks of 1
    bound what ZeroMQ itself buffers (as ``karabo_bridge.Client`` sets them).
    """

    def __init__(self, endpoint: str, socket_type: str = "REQ") -> None:
        if socket_type not in SOCKETS:
            raise SpectraConfigError(f"--bridge_socket must be one of {', '.join(SOCKETS)}, got {socket_type!r}")
        zmq, self.deserialize = xfel_modules()
        self.zmq, self.endpoint, self.socket_type = zmq, endpoint, socket_type
        self.context = zmq.Context()
        self.socket = self.context.socket(getattr(zmq, socket_type))
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.set_hwm(1)
        if socket_type == "SUB":
            self.socket.setsockopt(zmq.SUBSCRIBE, b"")
        try:
            self.socket.connect(endpoint)
        except zmq.ZMQError as err:
            self.close()
            raise SpectraConfigError(f"--bridge {endpoint}: {err} (expected tcp://host:port)") from None
        self.requested = False

    def next(self, timeout: float | None) -> Message | None:
        """The newest train's message, or None when none came within ``timeout`` seconds (None: wait for ever)."""
        if self.socket_type == "REQ" and not self.requested:
            self.socket.send(b"next")
            self.requested = True
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.socket.poll(self._slice(deadline)):
            if deadline is not None and time.monotonic() >= deadline:
                return None
        frames = self.socket.recv_multipart(copy=False)
        received, skipped = time.perf_counter(), 0
        self.requested = False
        # A REQ socket holds one reply; the others may hold a backlog, and not only in ZeroMQ's queue of one: the
        # kernel's socket buffers hold more, which ZeroMQ moves up one message at a time as its queue empties.
        # Reading on until none comes for DRAIN_GRACE_MS takes those too, so the train kept is the newest.
        while self.socket_type != "REQ" and self.socket.poll(DRAIN_GRACE_MS):
            try:
                frames = self.socket.recv_multipart(flags=self.zmq.NOBLOCK, copy=False)
            except self.zmq.Again:
                break
            received, skipped = time.perf_counter(), skipped + 1
        return Message(frames, received, skipped)

    @staticmethod
    def _slice(deadline: float | None) -> int:
        """Milliseconds of the next wait: at most :data:`POLL_SLICE_S`, never past ``deadline``."""
        left = POLL_SLICE_S if deadline is None else min(POLL_SLICE_S, max(0.0, deadline - time.monotonic()))
        return int(left * 1000)

    def decode(self, message: Message) -> tuple[dict, dict]:
        """``(data, metadata)`` by source, as ``karabo_bridge.Client.next`` returns them."""
        return self.deserialize(message.frames)

    def close(self) -> None:
        self.context.destroy(linger=0)
