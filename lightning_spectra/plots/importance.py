"""Input-gradient feature importance: reference spectra above the signed importance and its mean square, and the
gradient of every spectrum grouped by class (or target range) below each group's mean gradient."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure

from lightning_spectra.plots.figure import DIVERGING, as_array, signed_fill, zero_line


@dataclass(frozen=True)
class GradientOf:
    """What a feature-importance gradient is taken of, in the figures' words: a classifier's loss, one label's term
    of a multi-label model's loss, or a regressor's predicted value (never "loss": a regressor's importance is the
    gradient of its mean prediction).

    Attributes:
        words: what a rise of the gradient's quantity means (``the loss``, ``the loss of quartz``, ``the predicted
            fat``).
        mean_symbol: the quantity over the whole set (``L``: the mean loss; ``Ŷ``: the mean predicted value).
        symbol: the quantity of one spectrum (``l``: its loss; ``ŷ``: its predicted value).
        groups: what the spectra are grouped by (``class``, ``label set``, ``range of fat``).
    """

    words: str = "the loss"
    mean_symbol: str = "L"
    symbol: str = "l"
    groups: str = "class"

    @classmethod
    def predicted(cls, target: str) -> GradientOf:
        """The gradient of a regressor's mean predicted ``target``."""
        return cls(f"the predicted {target}", "Ŷ", "ŷ", f"range of {target}")

    @classmethod
    def loss_of(cls, label: str) -> GradientOf:
        """The gradient of one label's term of a multi-label model's loss; the spectra are grouped by label set."""
        return cls(f"the loss of {label}", "L", "l", "label set")


LOSS = GradientOf()
#: The grouped heat map draws at most this many columns: each is the mean of consecutive points, so that a
#: gradient changing sign from point to point (common after pooling and strides) shows its regions, not speckle.
HEATMAP_COLUMNS = 200
#: The heat map's colour scale ends at this percentile of the magnitudes: a few extreme spectra would otherwise
#: wash the rest out to white.
HEATMAP_PERCENTILE = 99.0

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
    gradient_of: GradientOf = LOSS,
) -> Figure:
    """Reference spectra on top, the signed importance (and mean square) below, sharing the x axis.

    The signed importance is a line with its area to zero filled (red above, blue below). ``scale="symlog"``
    draws it on a symmetric log axis (and the mean square on a log axis), which shows the small gradients the
    linear plot flattens to zero; there, more than ``ENVELOPE_BINS`` points are drawn as each bin's highest
    value (red) and lowest (blue), since the magnified sign changes of a line would fill the panel.
    ``gradient_of`` words the panels: a classifier's loss, a regressor's predicted value.
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

    title_signed = f"signed importance: > 0 where more intensity raises {gradient_of.words}"
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
    axes[1].set_ylabel(f"Σ ∂{gradient_of.mean_symbol}/∂x")
    axes[1].set_title(title_signed, loc="left", fontsize="medium")
    if mean_square is not None:
        mean_square = as_array(mean_square)
        axes[2].plot(x, mean_square, color="tab:purple", lw=0.8)
        per = "spectrum" if normalisation == "samples" else "point (paper's AvgS)"
        axes[2].set_ylabel(f"mean (∂{gradient_of.mean_symbol}/∂x)²")
        axes[2].set_title(f"mean square, divided per {per}", loc="left", fontsize="medium")
        if scale == "symlog" and np.any(mean_square > 0):
            axes[2].set_yscale("log")
    axes[-1].set_xlabel(xlabel)
    axes[-1].set_xlim(x.min(), x.max())
    if title:
        fig.suptitle(title)
    return fig


def column_means(values: np.ndarray, columns: int = HEATMAP_COLUMNS) -> tuple[np.ndarray, int]:
    """``values`` (..., L) as the means of runs of ``width`` consecutive points, at most ``columns`` of them (the
    last run may be shorter), and ``width``."""
    length = values.shape[-1]
    width = max(1, int(np.ceil(length / max(columns, 1))))
    starts = np.arange(0, length, width)
    sums = np.add.reduceat(values, starts, axis=-1)
    return sums / np.diff(np.append(starts, length)), width


def plot_gradient_heatmap(
    x: np.ndarray,
    gradients: np.ndarray,
    groups: np.ndarray | None = None,
    group_names: Sequence[str] = (),
    *,
    xlabel: str,
    gradient_of: GradientOf = LOSS,
    title: str | None = None,
    columns: int = HEATMAP_COLUMNS,
) -> Figure:
    """Each group's mean gradient as a curve, above the gradient of every spectrum as an image whose rows are
    grouped (by class, or by target range for a regressor; stored order within a group) and labelled.

    ``gradients`` are per spectrum ``(N, L)`` (``∂l_i/∂x_i``, or ``∂ŷ_i/∂x_i``); ``groups`` ``(N,)`` indexes
    ``group_names`` (-1: no group, drawn last). The answer a reader wants is "where does the gradient of a class
    differ from the others'": rows in stored order mix the classes into noise. The curves are the means of runs
    of consecutive points, as are the image's columns (at most ``columns`` of them), and the image's colour scale
    ends at the 99th percentile of the magnitudes (the colour bar's arrows).
    """
    x, gradients = as_array(x), as_array(gradients)
    groups = np.zeros(len(gradients), dtype=int) if groups is None else np.asarray(groups, dtype=int)
    names = list(group_names) or ["all spectra"]
    present = [g for g in range(len(names)) if np.any(groups == g)] + ([-1] if np.any(groups < 0) else [])
    label = {g: (names[g] if g >= 0 else "no label") for g in present}
    binned, width = column_means(gradients, columns)
    centres = column_means(x, columns)[0]
    runs = f" (means of every {width} points)" if width > 1 else ""

    fig = Figure(figsize=(10, 7.5), layout="constrained")
    curves, image_ax = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [1, 1.6]})
    for g in present:
        rows = groups == g
        colour = f"C{g % 10}" if g >= 0 else "grey"
        curves.plot(centres, binned[rows].mean(axis=0), color=colour, lw=1.2, label=f"{label[g]} ({rows.sum()})")
    zero_line(curves)
    curves.set_ylabel(f"mean ∂{gradient_of.symbol}/∂x")
    curves.set_title(
        f"mean per {gradient_of.groups}{runs}: > 0 where more intensity raises {gradient_of.words}",
        loc="left",
        fontsize="medium",
    )
    curves.legend(loc="upper right", fontsize="small", frameon=False)

    order = np.concatenate([np.flatnonzero(groups == g) for g in present])
    finite = np.abs(binned[np.isfinite(binned)])
    top = float(np.percentile(finite, HEATMAP_PERCENTILE)) if finite.size else 0.0
    top = top or float(finite.max(initial=0.0)) or 1.0
    image = image_ax.imshow(
        binned[order],
        aspect="auto",
        cmap=DIVERGING,
        vmin=-top,
        vmax=top,
        extent=(x[0], x[-1], len(order) - 0.5, -0.5),
    )
    fig.colorbar(image, ax=image_ax, label=f"∂{gradient_of.symbol}/∂x", extend="both")
    counts = np.array([np.sum(groups == g) for g in present])
    edges = np.cumsum(counts)
    for edge in edges[:-1]:
        image_ax.axhline(edge - 0.5, color="black", lw=0.8)
    image_ax.set_yticks(edges - counts / 2 - 0.5, [label[g] for g in present], fontsize="small")
    image_ax.set_ylabel(f"spectra by {gradient_of.groups}")
    image_ax.set_title(
        f"every spectrum by {gradient_of.groups} (colours end at the {HEATMAP_PERCENTILE:g}th percentile)",
        loc="left",
        fontsize="medium",
    )
    image_ax.set_xlabel(xlabel)
    image_ax.set_xlim(x.min(), x.max())
    if title:
        fig.suptitle(title)
    return fig
