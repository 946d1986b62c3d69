"""Input-gradient feature importance: reference spectra above the signed importance and its mean square, and
``dL/dx`` of every spectrum as an image."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib.figure import Figure

from lightning_spectra.plots.figure import as_array, signed_fill

#: A symlog panel of more points than this draws each of this many bins' highest and lowest value: on a log
#: scale a gradient that changes sign at every point fills the whole panel with its line.
ENVELOPE_BINS = 400


def envelope(x: np.ndarray, values: np.ndarray, bins: int = ENVELOPE_BINS) -> tuple[np.ndarray, ...]:
    """Per bin of consecutive points: its middle x, its highest value (at least 0) and its lowest (at most 0)."""
    starts = np.unique(np.linspace(0, len(values), bins, endpoint=False).astype(int))
    ends = np.append(starts[1:], len(values))
    upper = np.maximum.reduceat(values, starts).clip(min=0)
    lower = np.minimum.reduceat(values, starts).clip(max=0)
    return x[(starts + ends - 1) // 2], upper, lower


def symlog_threshold(values: np.ndarray, relative: float = 1e-3) -> float:
    """Linear range of a symlog axis: ``relative`` times the largest magnitude, so 3 decades show as log.

    The paper hand-picked 1e-8 (1e-4 for Conv SC and ResNet) per model; a relative threshold adapts to
    models whose gradients differ by orders of magnitude.
    """
    top = float(np.nanmax(np.abs(values))) if np.size(values) else 0.0
    return top * relative if top > 0 else 1.0


def _decade_ticks(ax, linthresh: float, top: float) -> None:
    """Ticks at 0 and at +-10^k outside the linear range only: matplotlib's default also ticks inside it,
    where the labels overprint each other."""
    if not top > linthresh:
        return
    decades = 10.0 ** np.arange(np.ceil(np.log10(linthresh)), np.floor(np.log10(top)) + 1)
    ax.set_yticks(np.concatenate([-decades[::-1], [0.0], decades]))


def plot_feature_importance(
    x: np.ndarray,
    references: Mapping[str, np.ndarray],
    signed: np.ndarray,
    mean_square: np.ndarray | None = None,
    *,
    xlabel: str,
    scale: str = "linear",
    linthresh: float | None = None,
    title: str | None = None,
    normalisation: str = "samples",
) -> Figure:
    """Reference spectra on top, the signed importance (and mean square) below, sharing the x axis.

    The signed importance is a line with its area to zero filled (red above, blue below). ``scale="symlog"``
    draws it on a symmetric log axis (and the mean square on a log axis), which shows the small gradients the
    linear plot flattens to zero; there, more than ``ENVELOPE_BINS`` points are drawn as each bin's highest
    value (red) and lowest (blue), since the magnified sign changes of a line would fill the panel.
    """
    x, signed = as_array(x), as_array(signed)
    rows = 3 if mean_square is not None else 2
    fig = Figure(figsize=(10, 2.4 * rows + 0.6), layout="constrained")
    axes = fig.subplots(rows, 1, sharex=True, squeeze=False)[:, 0]
    for name, spectrum in references.items():
        axes[0].plot(x, as_array(spectrum), lw=0.9, label=name)
    axes[0].set_ylabel("intensity")
    if references:
        axes[0].legend(loc="upper right", fontsize="small", frameon=False)
    axes[0].set_title("reference spectra", loc="left", fontsize="medium")

    title_signed = "signed importance: > 0 where more intensity raises the loss"
    if scale == "symlog" and len(signed) > ENVELOPE_BINS:
        middle, upper, lower = envelope(x, signed)
        axes[1].fill_between(middle, upper, 0, color="tab:red", alpha=0.6, lw=0, step="mid")
        axes[1].fill_between(middle, lower, 0, color="tab:blue", alpha=0.6, lw=0, step="mid")
        axes[1].axhline(0, color="black", lw=0.6)
        title_signed += f"; highest and lowest of every {len(signed) / len(middle):.0f} points"
    else:
        signed_fill(axes[1], x, signed)
    if scale == "symlog":
        threshold = linthresh or symlog_threshold(signed)
        axes[1].set_yscale("symlog", linthresh=threshold)
        _decade_ticks(axes[1], threshold, float(np.nanmax(np.abs(signed))))
    axes[1].set_ylabel("Σ ∂L/∂x")
    axes[1].set_title(title_signed, loc="left", fontsize="medium")
    if mean_square is not None:
        mean_square = as_array(mean_square)
        axes[2].plot(x, mean_square, color="tab:purple", lw=0.8)
        per = "spectrum" if normalisation == "samples" else "point (paper's AvgS)"
        axes[2].set_ylabel("mean (∂L/∂x)²")
        axes[2].set_title(f"mean square, divided per {per}", loc="left", fontsize="medium")
        if scale == "symlog" and np.any(mean_square > 0):
            axes[2].set_yscale("log")
    axes[-1].set_xlabel(xlabel)
    axes[-1].set_xlim(x.min(), x.max())
    if title:
        fig.suptitle(title)
    return fig


def plot_gradient_heatmap(x: np.ndarray, gradients: np.ndarray, *, xlabel: str, title: str | None = None) -> Figure:
    """``dL/dx`` of every spectrum as an image (rows: spectra in stored order), as the paper's seismic heat map."""
    x, gradients = as_array(x), as_array(gradients)
    top = float(np.nanmax(np.abs(gradients))) or 1.0
    fig = Figure(figsize=(10, 4.5), layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(
        gradients,
        aspect="auto",
        cmap="seismic",
        vmin=-top,
        vmax=top,
        interpolation="nearest",
        extent=(x[0], x[-1], len(gradients) - 0.5, -0.5),
    )
    fig.colorbar(image, ax=ax, label="∂L/∂x")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("spectrum (row)")
    if title:
        fig.suptitle(title)
    return fig
