"""Faults of the machine that tests put into in-process runs: a read-only folder and a full disk.

Permission bits do not bind root (CI containers often run as root), so :func:`read_only` also makes the
calls that create or write files under the folder fail the way a read-only folder makes them fail.
"""

from __future__ import annotations

import builtins
import errno
import io
import os
from pathlib import Path

import pytest


def _inside(path, folder: Path) -> bool:
    try:
        return Path(os.fsdecode(path)).resolve().is_relative_to(folder)
    except (TypeError, ValueError):  # a file descriptor or an object without a path
        return False


def _denied(path) -> PermissionError:
    return PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fsdecode(path))


def read_only(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Make ``folder`` (created if missing) read-only for the rest of the test: nothing can be created or
    written under it; reading works."""
    folder.mkdir(parents=True, exist_ok=True)
    folder = folder.resolve()
    folder.chmod(0o555)
    real_mkdir, real_os_open, real_open = os.mkdir, os.open, builtins.open

    def mkdir(path, *args, **kwargs):
        if _inside(path, folder) and not os.path.isdir(path):
            raise _denied(path)
        return real_mkdir(path, *args, **kwargs)

    def os_open(path, flags, *args, **kwargs):
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT) and _inside(path, folder):
            raise _denied(path)
        return real_os_open(path, flags, *args, **kwargs)

    def open_(file, mode="r", *args, **kwargs):
        if any(c in mode for c in "wax+") and _inside(file, folder):
            raise _denied(file)
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(os, "mkdir", mkdir)
    monkeypatch.setattr(os, "open", os_open)
    monkeypatch.setattr(builtins, "open", open_)
    monkeypatch.setattr(io, "open", open_)
    return folder


class _FillingFile(io.BufferedWriter):
    """A file on a disk that fills up: the first write stores half its bytes, then fails with ENOSPC."""

    def write(self, data) -> int:
        data = bytes(data)
        super().write(data[: len(data) // 2])
        self.flush()
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), self.name)


def full_disk(monkeypatch: pytest.MonkeyPatch, marker: str, after: int = 1) -> None:
    """Let ``after`` files whose name contains ``marker`` be written whole, then run out of space half-way
    through each later one."""
    real_open = builtins.open
    written = []

    def open_(file, mode="r", *args, **kwargs):
        named = not isinstance(file, int) and marker in os.path.basename(os.fsdecode(file))
        if named and "w" in mode and "b" in mode:
            written.append(file)
            if len(written) > after:
                return _FillingFile(real_open(file, mode, buffering=0))
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", open_)
    monkeypatch.setattr(io, "open", open_)
