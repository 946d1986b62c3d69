"""A classifier's confusion matrix: counts in the cells, each row shaded by the share of its reference class.

Shading by row (recall on the diagonal) rather than by count keeps a rare class readable beside a common one: a
class of 5 spectra all mistaken for another is as dark off the diagonal as a class of 500.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from lightning_spectra.plots.figure import as_array

#: Matrices with more classes than this get no numbers in their cells: they would not fit.
MAX_ANNOTATED = 25


def row_shares(counts: np.ndarray) -> np.ndarray:
    """Each row of ``counts`` divided by its sum (a row with no spectra stays 0)."""
    counts = as_array(counts)
    totals = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)


def plot_confusion_matrix(counts: np.ndarray, class_names: Sequence[str], title: str | None = None) -> Figure:
    """``counts[i, j]``: spectra of reference class ``i`` predicted as class ``j``. Each cell shows its count and
    its share of the row; the shading is that share (the diagonal is each class's recall)."""
    counts = as_array(counts)
    n = len(class_names)
    if counts.shape != (n, n):
        raise ValueError(f"a confusion matrix of {n} classes is {n} x {n}, got {counts.shape}")
    shares = row_shares(counts)
    side = min(max(4.0, 0.6 * n + 2.5), 16.0)
    fig = Figure(figsize=(side + 1.2, side), layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0)
    fig.colorbar(image, ax=ax, shrink=0.8, label="share of the reference class (recall on the diagonal)")
    ticks = np.arange(n)
    ax.set_xticks(ticks, [str(c) for c in class_names], rotation=45 if n > 4 else 0, ha="right" if n > 4 else "center")
    ax.set_yticks(ticks, [str(c) for c in class_names])
    ax.set_xlabel("predicted class")
    ax.set_ylabel("reference class")
    if n <= MAX_ANNOTATED:
        fontsize = "medium" if n <= 6 else "x-small"
        for i in range(n):
            for j in range(n):
                colour = "white" if shares[i, j] > 0.5 else "black" if counts[i, j] else "grey"
                text = f"{counts[i, j]:.0f}\n{shares[i, j]:.0%}" if counts[i, j] else "0"  # an empty cell stays quiet
                ax.text(j, i, text, ha="center", va="center", color=colour, fontsize=fontsize)
    if title:
        ax.set_title(title)
    return fig
