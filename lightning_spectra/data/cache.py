"""A small on-disk cache of preprocessed arrays, keyed by everything that produced them.

Files are written to a temporary name and renamed into place, so a killed process never leaves a
half-written cache entry that a later run would trust. Each entry has its SHA-256 beside it
(``<entry>.npz.sha256``): a file damaged later (a truncated copy, a flipped bit on disk) no longer matches,
and is rebuilt with a note on stderr instead of failing every later run. A cache folder that cannot be
written (read-only, full) gets a note too, and the run goes on without caching.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from lightning_spectra.runtime.atomic_files import atomic_write


def default_cache_dir() -> Path:
    """``$LIGHTNING_SPECTRA_CACHE``, else the OS's cache folder (pooch: ``~/.cache/lightning-spectra`` on Linux)."""
    if env := os.environ.get("LIGHTNING_SPECTRA_CACHE"):
        return Path(env)
    import pooch

    return Path(pooch.os_cache("lightning-spectra"))


def cache_key(parts: dict) -> str:
    """Stable short hash of a JSON-serialisable description of how arrays were made."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def file_digest(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _load_checked(path: Path) -> dict[str, np.ndarray] | None:
    """The arrays of a cache entry, or ``None`` (with a note) when it is damaged."""
    checksum = path.with_name(path.name + ".sha256")
    problem = None
    if checksum.exists() and checksum.read_text().strip() != file_digest(path):
        problem = "its checksum does not match"
    else:
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {k: data[k] for k in data.files}
        except (OSError, EOFError, ValueError, zipfile.BadZipFile) as err:
            problem = f"it cannot be read ({type(err).__name__})"
    if problem is not None:
        print(f"note: cache file {path} is damaged: {problem}; rebuilding it", file=sys.stderr)
        return None
    if not checksum.exists():  # written before checksums were kept: record it now that it loaded
        with contextlib.suppress(OSError):  # a read-only cache folder: the entry is still good to use
            atomic_write(checksum, lambda tmp: tmp.write_text(file_digest(path) + "\n"))
    return arrays


def cached_arrays(
    cache_dir: Path, name: str, parts: dict, build: Callable[[], dict[str, np.ndarray]]
) -> dict[str, np.ndarray]:
    """Load ``name-<key>.npz`` from ``cache_dir`` (if intact) or build, save and return it."""
    path = Path(cache_dir) / f"{name}-{cache_key(parts)}.npz"
    if path.exists() and (arrays := _load_checked(path)) is not None:
        return arrays
    arrays = build()

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:  # a file object stops numpy from appending its own .npz suffix
            np.savez(f, **arrays)

    try:
        atomic_write(path, write)
        atomic_write(path.with_name(path.name + ".sha256"), lambda tmp: tmp.write_text(file_digest(path) + "\n"))
    except OSError as err:  # a cache only saves time: a folder that cannot be written must not stop the run
        reason = err.strerror or err
        print(f"note: cannot write the cache folder {path.parent} ({reason}); not caching", file=sys.stderr)
    return arrays
