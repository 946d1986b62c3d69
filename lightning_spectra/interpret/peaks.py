"""Attribution per peak: the peaks of the class-mean spectra (``scipy.signal.find_peaks``) and, for each class,
the signed attribution integrated over each peak.

A scientist reads spectra peak by peak; this table says, for each reflection, how much the class-averaged map
of each class puts on it (positive: evidence for that class; negative: against it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.signal import find_peaks, peak_widths


@dataclass
class Peak:
    """A peak of a class-mean spectrum and the integrated signed attribution of every class's mean map on it."""

    found_in: str
    position: float
    height: float
    lo: float
    hi: float
    attribution: dict[str, float]


def find_mean_peaks(spectrum: np.ndarray, prominence: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Peak indices and their extent (fractional indices of the full width at half prominence)."""
    indices, _ = find_peaks(spectrum, prominence=prominence)
    if len(indices) == 0:
        return indices, np.zeros(0), np.zeros(0)
    _, _, left, right = peak_widths(spectrum, indices, rel_height=0.5)
    return indices, left, right


def peak_table(
    x: np.ndarray,
    mean_spectra: np.ndarray,
    mean_maps: np.ndarray,
    class_names: Sequence[str],
    relative_prominence: float = 0.05,
) -> list[Peak]:
    """Peaks of every class-mean spectrum with the integrated attribution of every class's mean map.

    Args:
        x: the x axis ``(L,)``.
        mean_spectra, mean_maps: ``(C, L)``; rows of NaN (absent classes) are skipped.
        class_names: the C class names.
        relative_prominence: a peak must stand out by this share of its spectrum's range.

    A peak is integrated over its full width at half prominence (``sum of map * dx``). Peaks of one class
    that fall inside a peak already listed for another class are not listed twice. Sorted by position.
    """
    x = np.asarray(x, dtype=float)
    dx = np.gradient(x)
    present = [c for c in range(len(class_names)) if np.all(np.isfinite(mean_spectra[c]))]
    peaks: list[Peak] = []
    for c in present:
        spectrum = mean_spectra[c]
        prominence = relative_prominence * float(np.ptp(spectrum) or 1.0)
        indices, left, right = find_mean_peaks(spectrum, prominence)
        for i, lo, hi in zip(indices, left, right, strict=True):
            if any(p.lo <= x[i] <= p.hi for p in peaks):
                continue
            a, b = int(np.floor(lo)), int(np.ceil(hi)) + 1
            attribution = {
                class_names[k]: float(np.sum(mean_maps[k, a:b] * dx[a:b]))
                for k in present
                if np.all(np.isfinite(mean_maps[k]))
            }
            peaks.append(
                Peak(class_names[c], float(x[i]), float(spectrum[i]), float(x[a]), float(x[b - 1]), attribution)
            )
    return sorted(peaks, key=lambda p: p.position)


def peak_rows(peaks: Sequence[Peak]) -> list[dict[str, object]]:
    """The table as rows for a CSV: position, extent, height, the class whose mean shows it, then per class."""
    rows = []
    for p in peaks:
        row: dict[str, object] = {
            "position": p.position,
            "lo": p.lo,
            "hi": p.hi,
            "height": p.height,
            "found_in": p.found_in,
        }
        row.update({f"attribution[{name}]": value for name, value in p.attribution.items()})
        rows.append(row)
    return rows
