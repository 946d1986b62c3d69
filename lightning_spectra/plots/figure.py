"""What every figure shares: arrays from tensors, the diverging colour scale, the zero line, writing a PNG."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from lightning_spectra.runtime.atomic_files import atomic_write

DIVERGING = "RdBu_r"  # red: for the class, blue: against it; white is zero


def as_array(values) -> np.ndarray:
    """``values`` (a tensor on any device, a list, an array) as a float NumPy array."""
    if hasattr(values, "detach"):
        values = values.detach().cpu().numpy()
    return np.asarray(values, dtype=float)


def save_figure(fig: Figure, path: str | Path, dpi: int = 150) -> Path:
    """Write ``fig`` as a PNG atomically (a half-written file never looks like a figure)."""
    path = Path(path)
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=dpi, format="png"))
    return path


def symmetric_norm(maps: np.ndarray) -> Normalize:
    """A colour scale centred at 0 that covers the largest absolute value of ``maps`` (NaN ignored)."""
    top = float(np.nanmax(np.abs(maps))) if np.any(np.isfinite(maps)) else 0.0
    return Normalize(-top or -1.0, top or 1.0)


def zero_line(ax) -> None:
    """A thin horizontal line at 0, behind the data."""
    ax.axhline(0.0, color="black", lw=0.5, zorder=0)


def signed_fill(ax, x: np.ndarray, values: np.ndarray, label: str | None = None) -> None:
    """``values`` as a dark line with the area to 0 filled red above and blue below.

    A line with a fill keeps the curve's shape on any scale; stems or colours alone turn a signal that changes
    sign often into a red/blue barcode.
    """
    ax.fill_between(x, values, 0, where=values >= 0, color="tab:red", alpha=0.35, lw=0, interpolate=True)
    ax.fill_between(x, values, 0, where=values < 0, color="tab:blue", alpha=0.35, lw=0, interpolate=True)
    ax.plot(x, values, color="black", lw=0.7, label=label)
    zero_line(ax)
