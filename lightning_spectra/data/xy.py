"""Reading two-column spectrum files (``.xy``: x such as 2 theta, then intensity).

Header lines before the first numeric row are skipped (the HED files carry 25 lines of detector metadata),
as are blank lines and lines starting with a comment character anywhere in the file. Anything else that is
not two finite numbers is an error naming the file and line.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from lightning_spectra.data.errors import SpectraDataError

COMMENT_PREFIXES = ("#", "!", "%", ";", "//")
SPECTRUM_SUFFIXES = (".xy", ".dat", ".txt")


def _numbers(line: str) -> list[float] | None:
    try:
        return [float(v) for v in line.replace(",", " ").split()]
    except ValueError:
        return None


def read_xy(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(x, intensity)`` from a two-column text file; raises :class:`SpectraDataError` on bad input."""
    path = Path(path)
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError as err:
        raise SpectraDataError(f"{path}: cannot read file ({err.strerror})") from err
    rows: list[tuple[float, float]] = []
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith(COMMENT_PREFIXES):
            continue
        values = _numbers(line)
        if values is None:
            if not rows:
                continue  # still in the header
            raise SpectraDataError(f"{path}, line {number}: expected two numbers, got {line[:60]!r}")
        if len(values) < 2:
            raise SpectraDataError(f"{path}, line {number}: expected two columns (x, intensity), got {len(values)}")
        if not np.all(np.isfinite(values[:2])):
            raise SpectraDataError(f"{path}, line {number}: value is not finite (NaN or inf): {line[:60]!r}")
        rows.append((values[0], values[1]))
    if len(rows) < 2:
        raise SpectraDataError(f"{path}: no data rows found (need at least two lines of 'x intensity')")
    data = np.asarray(rows, dtype=np.float64)
    return data[:, 0], data[:, 1]


def natural_key(path: Path) -> tuple:
    """Sort key that orders ``scan_2`` before ``scan_10`` (files are numbered in time order)."""
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", path.name))


def spectrum_files(folder: str | Path, suffixes: tuple[str, ...] = SPECTRUM_SUFFIXES) -> list[Path]:
    """The spectrum files of a folder in natural (time) order."""
    folder = Path(folder)
    if not folder.is_dir():
        raise SpectraDataError(f"{folder}: spectrum folder does not exist")
    files = sorted((p for p in folder.iterdir() if p.suffix.lower() in suffixes and p.is_file()), key=natural_key)
    if not files:
        raise SpectraDataError(f"{folder}: no spectrum files ({', '.join(suffixes)}) found")
    return files


def read_xy_folder(folder: str | Path, progress: bool = True) -> tuple[np.ndarray, np.ndarray, list[Path]]:
    """Read every spectrum file of ``folder``: ``(x, intensities (n_files, n_points), files)``.

    All files must share one x axis (same length and values), as spectra from one detector setting do.
    """
    from lightning_spectra.progress import track

    files = spectrum_files(folder)
    x0, first = read_xy(files[0])
    intensities = np.empty((len(files), len(x0)), dtype=np.float64)
    intensities[0] = first
    for i, path in enumerate(track(files[1:], "Reading spectra", enabled=progress), start=1):
        x, y = read_xy(path)
        if len(x) != len(x0):
            raise SpectraDataError(f"{path}: has {len(x)} points but {files[0].name} has {len(x0)}")
        if not np.allclose(x, x0, rtol=0, atol=1e-6 * max(1.0, float(np.abs(x0).max()))):
            raise SpectraDataError(f"{path}: x axis differs from {files[0].name}; spectra must share one axis")
        intensities[i] = y
    return x0, intensities, files
