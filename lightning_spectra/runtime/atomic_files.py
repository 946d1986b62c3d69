"""Files written whole or not at all: a killed process or a full disk never leaves half a file in place.

The temporary file ``mkstemp`` makes is private (0600) whatever the umask, so before it is renamed into place it
is given the mode an ordinary ``open(path, "w")`` would have left: the existing file's mode where one is replaced,
else 0666 less the process's umask (0644 under the usual 022). Colleagues sharing a run folder can then read
figures, summaries, checkpoints, predictions and the cache as they read any other file there.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path


def current_umask() -> int:
    """The process's umask, read without changing it where Linux reports it (``/proc/self/status``); elsewhere
    it is set and put back at once (``os.umask`` has no read-only form)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def ordinary_mode(path: Path) -> int:
    """The permission bits ``open(path, "w")`` would leave ``path`` with: its own where it exists (a rewrite
    keeps them), else 0666 less the umask."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return 0o666 & ~current_umask()


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)`` then rename ``tmp`` to ``path`` (atomic on one file system), with the mode an ordinary
    write would give ``path`` (see :func:`ordinary_mode`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, ordinary_mode(path))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
