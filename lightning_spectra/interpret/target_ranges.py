"""Groups of spectra by the value of a regression target, the regression stand-in for classes.

Attribution maps of a classifier are averaged per class; a regressor's are averaged per *range* of the target
(low, middle, high concentration), so one can see whether the regions that raise the predicted value stay the
same across the range: the "linearity" reading of 1D Grad-CAM for quantitative models.
"""

from __future__ import annotations

import numpy as np


def target_ranges(values: np.ndarray, count: int = 3, name: str = "target") -> tuple[np.ndarray, list[str]]:
    """Range index per spectrum (quantile ranges of the finite ``values``, equal counts) and a label per range.

    Ties at quantile edges can merge ranges, so fewer than ``count`` may come back. Non-finite values get -1.
    """
    values = np.asarray(values, dtype=float).ravel()
    finite = values[np.isfinite(values)]
    if count < 1:
        raise ValueError(f"count must be at least 1, got {count}")
    if len(finite) == 0:
        return np.full(len(values), -1), []
    edges = np.unique(np.quantile(finite, np.linspace(0, 1, count + 1)))
    if len(edges) == 1:
        groups = np.where(np.isfinite(values), 0, -1)
        return groups, [f"{name} = {edges[0]:.4g}"]
    groups = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, len(edges) - 2)
    groups = np.where(np.isfinite(values), groups, -1)
    labels = [f"{name} {edges[i]:.4g} to {edges[i + 1]:.4g}" for i in range(len(edges) - 1)]
    return groups, labels
