"""Figures of feature importance and Grad-CAM maps, drawn on the spectra's own x axis.

Every function returns a :class:`matplotlib.figure.Figure` built without pyplot, so nothing leaks into global
state (no open-figure registry, no backend switch) when the callbacks draw inside a training process.
:func:`save_figure` writes a PNG with the Agg renderer. Import this module lazily: matplotlib is slow to load.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from lightning_spectra.runtime.atomic_files import atomic_write

DEFAULT_XLABEL = "2θ (°)"
DIVERGING = "RdBu_r"  # red: for the class, blue: against it; white is zero


def _array(values) -> np.ndarray:
    if hasattr(values, "detach"):
        values = values.detach().cpu().numpy()
    return np.asarray(values, dtype=float)


def save_figure(fig: Figure, path: str | Path, dpi: int = 150) -> Path:
    """Write ``fig`` as a PNG atomically (a half-written file never looks like a figure)."""
    path = Path(path)
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=dpi, format="png"))
    return path


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


def _zero_line(ax) -> None:
    ax.axhline(0.0, color="tab:red", lw=0.8, zorder=0)


def plot_feature_importance(
    x: np.ndarray,
    references: Mapping[str, np.ndarray],
    signed: np.ndarray,
    mean_square: np.ndarray | None = None,
    scale: str = "linear",
    linthresh: float | None = None,
    xlabel: str = DEFAULT_XLABEL,
    title: str | None = None,
    normalisation: str = "samples",
) -> Figure:
    """Reference spectra on top, the signed importance (and mean square) below, sharing the x axis.

    ``scale="symlog"`` draws the signed importance on a symmetric log axis (and the mean square on a log
    axis), which shows the small gradients the linear plot flattens to zero.
    """
    x, signed = _array(x), _array(signed)
    rows = 3 if mean_square is not None else 2
    fig = Figure(figsize=(10, 2.4 * rows + 0.6), layout="constrained")
    axes = fig.subplots(rows, 1, sharex=True, squeeze=False)[:, 0]
    for name, spectrum in references.items():
        axes[0].plot(x, _array(spectrum), lw=0.9, label=name)
    axes[0].set_ylabel("intensity")
    if references:
        axes[0].legend(loc="upper right", fontsize="small", frameon=False)
    axes[0].set_title("reference spectra", loc="left", fontsize="medium")

    if scale == "symlog":
        # Stems from zero, red up and blue down: a line joining alternating signs across the log decades
        # would fill the panel with vertical strokes.
        axes[1].vlines(x, 0, signed, colors=np.where(signed >= 0, "tab:red", "tab:blue"), lw=0.6)
        threshold = linthresh or symlog_threshold(signed)
        axes[1].set_yscale("symlog", linthresh=threshold)
        _decade_ticks(axes[1], threshold, float(np.nanmax(np.abs(signed))))
    else:
        axes[1].plot(x, signed, color="black", lw=0.8)
    _zero_line(axes[1])
    axes[1].set_ylabel("Σ ∂L/∂x")
    axes[1].set_title("signed importance: > 0 where more intensity raises the loss", loc="left", fontsize="medium")
    if mean_square is not None:
        mean_square = _array(mean_square)
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


def plot_gradient_heatmap(
    x: np.ndarray, gradients: np.ndarray, xlabel: str = DEFAULT_XLABEL, title: str | None = None
) -> Figure:
    """``dL/dx`` of every spectrum as an image (rows: spectra in stored order), as the paper's seismic heat map."""
    x, gradients = _array(x), _array(gradients)
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


def colored_line(
    ax, x: np.ndarray, y: np.ndarray, values: np.ndarray, norm: Normalize, cmap: str = DIVERGING, lw: float = 1.6
) -> LineCollection:
    """Draw ``y(x)`` as segments coloured by ``values`` (one per point; each segment takes its mean)."""
    ax.plot(x, y, color="0.8", lw=0.6, zorder=1)  # keeps the shape visible where the map is near zero (white)
    points = np.column_stack([x, y])
    segments = np.stack([points[:-1], points[1:]], axis=1)
    lines = LineCollection(segments, cmap=cmap, norm=norm, linewidths=lw, zorder=2)
    lines.set_array(0.5 * (values[:-1] + values[1:]))
    ax.add_collection(lines)
    ax.set_xlim(x.min(), x.max())
    pad = 0.05 * (np.nanmax(y) - np.nanmin(y) or 1.0)
    ax.set_ylim(np.nanmin(y) - pad, np.nanmax(y) + pad)
    return lines


def symmetric_norm(maps: np.ndarray) -> Normalize:
    """A colour scale centred at 0 that covers the largest absolute value of ``maps`` (NaN ignored)."""
    top = float(np.nanmax(np.abs(maps))) if np.any(np.isfinite(maps)) else 0.0
    return Normalize(-top or -1.0, top or 1.0)


def shade_unseen(ax, x: np.ndarray, unseen: np.ndarray | None) -> None:
    """Grey bands over the points no layer position reads (the map there is not evidence of anything)."""
    if unseen is None or not np.any(unseen):
        return
    edges = np.flatnonzero(np.diff(np.concatenate([[0], unseen.astype(int), [0]])))
    for start, stop in zip(edges[::2], edges[1::2], strict=True):
        ax.axvspan(x[start], x[stop - 1], color="0.85", lw=0, zorder=0)


def _mapped_spectrum(
    fig, spectrum_ax, map_ax, x, spectrum, cam, classic, title, method, unseen=None, norm=None, flagged=False
) -> None:
    """Spectrum coloured by its map (colour bar centred at 0) above the map itself (classic dashed, if given)."""
    norm = norm or symmetric_norm(cam)
    lines = colored_line(spectrum_ax, x, spectrum, cam, norm)
    fig.colorbar(lines, ax=[spectrum_ax, map_ax], label=method, pad=0.01, fraction=0.03)
    spectrum_ax.set_ylabel("intensity")
    spectrum_ax.set_title(title, loc="left", fontsize="medium", color="tab:red" if flagged else "black")
    shade_unseen(map_ax, x, unseen)
    map_ax.fill_between(x, cam, 0, where=cam >= 0, color="tab:red", alpha=0.35, lw=0, interpolate=True)
    map_ax.fill_between(x, cam, 0, where=cam < 0, color="tab:blue", alpha=0.35, lw=0, interpolate=True)
    map_ax.plot(x, cam, color="black", lw=0.7, label=method)
    if classic is not None:
        map_ax.plot(x, classic, color="tab:gray", lw=0.9, ls="--", label="classic Grad-CAM (GAP)")
    map_ax.axhline(0, color="black", lw=0.5)
    map_ax.set_ylabel("map")
    if norm is not None:
        map_ax.set_ylim(1.05 * norm.vmin, 1.05 * norm.vmax)
    map_ax.legend(loc="upper right", fontsize="x-small", frameon=False)


def plot_gradcam_spectra(
    x: np.ndarray,
    spectra: np.ndarray,
    maps: np.ndarray,
    titles: Sequence[str],
    classic: np.ndarray | None = None,
    xlabel: str = DEFAULT_XLABEL,
    title: str | None = None,
    method: str = "1D Grad-CAM",
    unseen: np.ndarray | None = None,
    shared_scale: bool = False,
    flagged: Sequence[bool] | None = None,
) -> Figure:
    """One block per spectrum: the spectrum coloured by its map, and the map underneath.

    Red marks regions that push the decision towards the explained class, blue regions that push against
    it. Each spectrum has its own colour scale, symmetric about zero, unless ``shared_scale`` (one scale for
    all panels, so that panels compare). ``flagged`` spectra (misclassified) get a red title; ``unseen``
    points (read by no layer position) are shaded grey.
    """
    x, spectra, maps = _array(x), np.atleast_2d(_array(spectra)), np.atleast_2d(_array(maps))
    classic = None if classic is None else np.atleast_2d(_array(classic))
    n = len(spectra)
    shared = symmetric_norm(maps) if shared_scale else None
    fig = Figure(figsize=(10, 3.6 * n + 0.4), layout="constrained")
    axes = fig.subplots(2 * n, 1, sharex=True, squeeze=False, gridspec_kw={"height_ratios": [2, 1] * n})[:, 0]
    for i in range(n):
        _mapped_spectrum(
            fig,
            axes[2 * i],
            axes[2 * i + 1],
            x,
            spectra[i],
            maps[i],
            None if classic is None else classic[i],
            titles[i],
            method,
            unseen,
            shared or symmetric_norm(maps[i]),
            bool(flagged[i]) if flagged is not None else False,
        )
    axes[-1].set_xlabel(xlabel)
    if title:
        fig.suptitle(title)
    return fig


def plot_gradcam_class_means(
    x: np.ndarray,
    mean_spectra: np.ndarray,
    mean_maps: np.ndarray,
    class_names: Sequence[str],
    counts: Sequence[int],
    classic: np.ndarray | None = None,
    xlabel: str = DEFAULT_XLABEL,
    title: str | None = None,
    grouped_by: str = "predicted",
    method: str = "1D Grad-CAM",
    unseen: np.ndarray | None = None,
    shared_scale: bool = False,
) -> Figure:
    """Class-averaged maps: per class its mean spectrum coloured by its mean map, then all maps overlaid.

    ``grouped_by`` ("predicted" or "labelled") says in the panel titles how spectra were assigned to classes.
    Classes without spectra (NaN rows) are left out.
    """
    x, mean_spectra, mean_maps = _array(x), _array(mean_spectra), _array(mean_maps)
    classic = None if classic is None else _array(classic)
    present = [c for c in range(len(class_names)) if counts[c] > 0 and np.all(np.isfinite(mean_maps[c]))]
    n = len(present)
    shared = symmetric_norm(mean_maps[present]) if shared_scale and present else None
    fig = Figure(figsize=(10, 3.6 * n + 2.6), layout="constrained")
    axes = fig.subplots(2 * n + 1, 1, sharex=True, squeeze=False, gridspec_kw={"height_ratios": [2, 1] * n + [1.6]})[
        :, 0
    ]
    for row, c in enumerate(present):
        _mapped_spectrum(
            fig,
            axes[2 * row],
            axes[2 * row + 1],
            x,
            mean_spectra[c],
            mean_maps[c],
            None if classic is None else classic[c],
            f"'{class_names[c]}': mean of the {counts[c]} spectra {grouped_by} '{class_names[c]}', "
            f"maps for '{class_names[c]}'",
            method,
            unseen,
            shared or symmetric_norm(mean_maps[c]),
        )
    overlay = axes[-1]
    shade_unseen(overlay, x, unseen)
    for c in present:
        overlay.plot(x, mean_maps[c], lw=0.9, label=class_names[c])
    overlay.axhline(0, color="black", lw=0.5)
    overlay.set_ylabel("mean map")
    overlay.set_title(f"class-averaged {method}, every class", loc="left", fontsize="medium")
    overlay.legend(loc="upper right", fontsize="x-small", frameon=False)
    overlay.set_xlabel(xlabel)
    overlay.set_xlim(x.min(), x.max())
    if title:
        fig.suptitle(title)
    return fig


def draw_attribution_series(
    ax,
    x: np.ndarray,
    maps: np.ndarray,
    change: int | None = None,
    misclassified: np.ndarray | None = None,
    percentile: float = 99.0,
):
    """Attribution of every spectrum of an ordered series as an image (rows: spectra, columns: x).

    The colour scale is symmetric about 0 and clipped at the ``percentile`` of ``|maps|`` so that one
    extreme spectrum does not wash out the rest. A dashed line marks the predicted state change (between
    spectra ``change - 1`` and ``change``); misclassified spectra get a tick on the right edge.
    """
    x, maps = _array(x), _array(maps)
    finite = np.abs(maps[np.isfinite(maps)])
    top = float(np.percentile(finite, percentile)) if finite.size else 1.0
    image = ax.imshow(
        maps,
        aspect="auto",
        cmap=DIVERGING,
        vmin=-(top or 1.0),
        vmax=top or 1.0,
        interpolation="nearest",
        extent=(x[0], x[-1], len(maps) - 0.5, -0.5),
    )
    if change is not None:
        ax.axhline(change - 0.5, color="black", ls="--", lw=1.0, label=f"predicted change at #{change}")
        ax.legend(loc="lower right", fontsize="x-small")
    if misclassified is not None and np.any(misclassified):
        rows = np.flatnonzero(misclassified)
        ax.plot(np.full(len(rows), x[-1]), rows, marker="<", ls="none", color="black", ms=3, clip_on=False)
    ax.set_ylabel("spectrum (series order)")
    return image


def plot_attribution_series(
    x: np.ndarray,
    maps: np.ndarray,
    change: int | None = None,
    misclassified: np.ndarray | None = None,
    method: str = "1D Grad-CAM",
    xlabel: str = DEFAULT_XLABEL,
    title: str | None = None,
) -> Figure:
    """The whole ordered series at a glance: :func:`draw_attribution_series` with a colour bar."""
    fig = Figure(figsize=(10, 5), layout="constrained")
    ax = fig.subplots()
    image = draw_attribution_series(ax, x, maps, change, misclassified)
    fig.colorbar(image, ax=ax, label=f"{method} (clipped at the 99th percentile)")
    ax.set_xlabel(xlabel)
    if title:
        fig.suptitle(title)
    return fig


# ---------------------------------------------------------------------------------------------- regression
def linear_fit(reference: np.ndarray, predicted: np.ndarray) -> tuple[float, float, float]:
    """Slope, intercept and R^2 of the least-squares line ``predicted = slope * reference + intercept``.

    The linearity figures of chemometrics: slope 1 and intercept 0 mean no proportional or constant error.
    R^2 here is that of the line (squared correlation), not the prediction R^2 of the metrics.
    """
    reference, predicted = _array(reference).ravel(), _array(predicted).ravel()
    slope, intercept = np.polyfit(reference, predicted, 1)
    r = np.corrcoef(reference, predicted)[0, 1] if np.std(reference) > 0 and np.std(predicted) > 0 else 0.0
    return float(slope), float(intercept), float(r**2)


def plot_parity(
    reference: np.ndarray,
    predicted: Mapping[str, np.ndarray],
    target: str = "target",
    title: str | None = None,
) -> Figure:
    """Predicted vs reference (one colour per model, e.g. the network, PLS, kernel ridge), with the 1:1 line and each
    model's fitted line; the legend gives what a chemometrician judges a calibration by (RMSEP, bias, RPD, and
    the fitted line's slope, intercept and R^2); residuals vs reference below."""
    reference = _array(reference).ravel()
    fig = Figure(figsize=(6.4, 8), layout="constrained")
    parity, residuals = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [2.2, 1]})
    low, high = float(reference.min()), float(reference.max())
    for values in predicted.values():
        values = _array(values).ravel()
        low, high = min(low, float(values.min())), max(high, float(values.max()))
    pad = 0.05 * (high - low or 1.0)
    line = np.array([low - pad, high + pad])
    parity.plot(line, line, color="black", lw=0.8, ls=":", label="1:1")
    residuals.axhline(0, color="black", lw=0.8, ls=":")
    for (name, values), colour in zip(
        predicted.items(), ("tab:red", "tab:blue", "tab:green", "tab:orange"), strict=False
    ):
        values = _array(values).ravel()
        slope, intercept, r2 = linear_fit(reference, values)
        rmse = float(np.sqrt(np.mean((values - reference) ** 2)))
        bias = float(np.mean(values - reference))
        rpd = float(np.std(reference, ddof=1) / rmse) if rmse > 0 else float("inf")
        label = f"{name} (RMSEP {rmse:.4g}, bias {bias:+.3g}, RPD {rpd:.2f})"
        parity.scatter(reference, values, s=14, alpha=0.7, color=colour, label=label)
        parity.plot(
            line,
            slope * line + intercept,
            color=colour,
            lw=1,
            label=f"{name} fit: slope {slope:.3f}, intercept {intercept:.3g}, R² {r2:.3f}",
        )
        residuals.scatter(reference, values - reference, s=12, alpha=0.7, color=colour, label=name)
    parity.set_xlim(line)
    parity.set_ylim(line)
    parity.set_aspect("equal", adjustable="box")
    parity.set_ylabel(f"predicted {target}")
    parity.legend(loc="upper left", fontsize="x-small", frameon=False)
    residuals.set_xlabel(f"reference {target}")
    residuals.set_ylabel("predicted - reference")
    if title:
        fig.suptitle(title)
    return fig


def plot_deletion_curves(
    curves: Mapping[str, tuple[np.ndarray, np.ndarray, np.ndarray]],
    title: str | None = None,
    ylabel: str = "mean probability of the explained class",
    ylim: tuple[float, float] | None = (0, 1),
):
    """Deletion curves: per method (fractions, attribution order, random order) the probability of the class
    (a regressor's predicted value: pass its ``ylabel`` and ``ylim=None``, a value has no fixed bounds)."""
    fig = Figure(figsize=(6, 4), layout="constrained")
    ax = fig.subplots()
    colours = ("tab:red", "tab:green", "tab:purple", "tab:orange")
    for (name, (fractions, ordered, shuffled)), colour in zip(curves.items(), colours, strict=False):
        ax.plot(fractions, ordered, color=colour, lw=1.4, label=f"{name}: attribution order")
        ax.plot(fractions, shuffled, color=colour, lw=1.0, ls="--", label=f"{name}: random order")
    ax.set_xlabel("share of the regions replaced by the reference")
    ax.set_ylabel(ylabel)
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.legend(fontsize="x-small")
    if title:
        ax.set_title(title, fontsize="medium")
    return fig


def plot_series_prediction(
    predicted: np.ndarray,
    reference: np.ndarray | None = None,
    target: str = "target",
    xlabel: str = "position in the series",
    title: str | None = None,
) -> Figure:
    """The predicted value along an ordered series (a concentration over a process run), with the reference."""
    predicted = _array(predicted).ravel()
    positions = np.arange(len(predicted))
    fig = Figure(figsize=(10, 3.6), layout="constrained")
    ax = fig.subplots()
    if reference is not None:
        ax.plot(positions, _array(reference).ravel(), color="black", lw=1, label="reference")
    ax.plot(positions, predicted, color="tab:red", lw=1, marker=".", ms=3, label="predicted")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(target)
    ax.legend(loc="best", fontsize="small", frameon=False)
    if title:
        fig.suptitle(title)
    return fig
