"""Where a run's attribution outputs go and how they are written: arrays (``.npy``) and CSV tables under
``<run dir>/attribution/``, figures under ``<run dir>/figures/``, each file written atomically."""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path

import lightning.pytorch as L
import numpy as np

from lightning_spectra.runs.folder import run_dir
from lightning_spectra.runtime.atomic_files import atomic_write


def output_dirs(trainer: L.Trainer) -> tuple[Path, Path]:
    """``(<run dir>/attribution, <run dir>/figures)``: arrays and tables apart from the pictures."""
    root = run_dir(trainer)
    return root / "attribution", root / "figures"


def write_array(path: Path, values: np.ndarray) -> Path:
    """``values`` as ``.npy`` at ``path`` (written atomically); returns ``path``."""

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:  # a file object stops numpy appending ".npy" to the temporary name
            np.save(f, values)

    atomic_write(path, write)
    return path


def write_table(path: Path, columns: Mapping[str, np.ndarray]) -> Path:
    """CSV with one row per point of the spectrum: the x axis column first, then ``columns``."""
    names = list(columns)
    data = np.column_stack([np.asarray(columns[n], dtype=float) for n in names])

    def write(tmp: Path) -> None:
        with open(tmp, "w", newline="") as f:
            out = csv.writer(f)
            out.writerow(names)
            out.writerows([[f"{v:.9g}" for v in row] for row in data])

    atomic_write(path, write)
    return path


def write_rows(path: Path, rows: Sequence[Mapping[str, object]]) -> Path:
    """CSV of dict rows (the keys of the first row are the header); numbers to 9 significant digits."""
    names = list(rows[0]) if rows else []

    def cell(value: object) -> str:
        return f"{value:.9g}" if isinstance(value, float) else str(value)

    def write(tmp: Path) -> None:
        with open(tmp, "w", newline="") as f:
            out = csv.writer(f)
            out.writerow(names)
            out.writerows([[cell(row.get(n, "")) for n in names] for row in rows])

    atomic_write(path, write)
    return path
