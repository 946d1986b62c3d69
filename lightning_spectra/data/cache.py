"""A small on-disk cache of preprocessed arrays, keyed by everything that produced them.

Files are written to a temporary name and renamed into place, so a killed process never leaves a
half-written cache entry that a later run would trust.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np


def default_cache_dir() -> Path:
    """``$LIGHTNING_SPECTRA_CACHE``, else the OS's cache folder (pooch: ``~/.cache/lightning-spectra`` on Linux)."""
    if env := os.environ.get("LIGHTNING_SPECTRA_CACHE"):
        return Path(env)
    import pooch

    return Path(pooch.os_cache("lightning-spectra"))


def cache_key(parts: dict) -> str:
    """Stable short hash of a JSON-serialisable description of how arrays were made."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)`` then rename ``tmp`` to ``path`` (atomic on one file system)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def cached_arrays(
    cache_dir: Path, name: str, parts: dict, build: Callable[[], dict[str, np.ndarray]]
) -> dict[str, np.ndarray]:
    """Load ``name-<key>.npz`` from ``cache_dir`` or build, save and return it."""
    path = Path(cache_dir) / f"{name}-{cache_key(parts)}.npz"
    if path.exists():
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    arrays = build()

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:  # a file object stops numpy from appending its own .npz suffix
            np.savez(f, **arrays)

    atomic_write(path, write)
    return arrays
