"""One writer at a time in a campaign's folder: a second ``ensemble fit`` into the same ``--out`` would train the
same members into the same files while the first does.

The lock is ``flock`` on a hidden file in the folder, held for the whole command. The kernel drops it when the
holder's process ends however it ends, so a killed run leaves a file but no lock, and its rerun is not blocked.
The file stays (removing it would let a third process lock a new file while a second holds the old one); the
folder checks of :mod:`~lightning_spectra.runs.manifest` pass it over.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lightning_spectra.errors import SpectraConfigError

LOCK_FILE = ".lightning_spectra.lock"


@contextmanager
def folder_lock(folder: Path, option: str, command: str) -> Iterator[None]:
    """Hold ``folder``'s lock (the folder is made if needed) while the block runs; refuse with one line, naming
    ``option`` and ``command``, if another process holds it."""
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SpectraConfigError(
                f"{option} {folder}: another {command}{holder(fd)} is writing into it; wait for it to end or "
                f"give another {option}"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())  # for the refusal's message
        yield
    finally:
        os.close(fd)  # releases the lock


def holder(fd: int) -> str:
    """`` (process <pid>)`` as the holder wrote it, or nothing if it cannot be read."""
    text = os.pread(fd, 32, 0).decode(errors="replace").strip()
    return f" (process {text})" if text.isdigit() else ""
