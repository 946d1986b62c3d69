"""Attribution maps (1D Grad-CAM, gradient x input, Integrated Gradients) over spectra: chosen spectra, class
means, the whole ordered series, and deletion curves.

A spectrum is drawn in its own units as a dark line over a background band coloured by its map (red: towards
the explained class, blue: against it, white: no evidence), from the bottom of the panel to the top, so the map
never covers the line; the map itself is drawn underneath as a line with its area to zero filled.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.collections import PolyCollection
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from lightning_spectra.plots.figure import DIVERGING, as_array, signed_fill, symmetric_norm, zero_line

SPECTRUM_COLOUR = "0.15"  # neutral dark grey: the spectrum reads the same whatever its map


def spectrum_over_map(
    ax, x: np.ndarray, spectrum: np.ndarray, values: np.ndarray, norm: Normalize, cmap: str = DIVERGING
) -> PolyCollection:
    """``spectrum(x)`` as a dark line over a band of the panel's full height coloured by ``values`` (one per
    point; each strip between two points takes their mean): behind the line, so it never hides it. Returns the
    band, for a colour bar."""
    x, spectrum, values = as_array(x), as_array(spectrum), as_array(values)
    pad = 0.05 * (np.nanmax(spectrum) - np.nanmin(spectrum) or 1.0)
    floor, ceiling = np.nanmin(spectrum) - pad, np.nanmax(spectrum) + pad
    strips = np.stack(
        [
            np.column_stack([x[:-1], np.full(len(x) - 1, floor)]),
            np.column_stack([x[:-1], np.full(len(x) - 1, ceiling)]),
            np.column_stack([x[1:], np.full(len(x) - 1, ceiling)]),
            np.column_stack([x[1:], np.full(len(x) - 1, floor)]),
        ],
        axis=1,
    )
    # no edges and no antialiasing: strips narrower than a pixel would otherwise leave seams between them
    fill = PolyCollection(strips, cmap=cmap, norm=norm, linewidths=0, antialiaseds=False, alpha=0.6, zorder=1)
    fill.set_array(0.5 * (values[:-1] + values[1:]))
    ax.add_collection(fill)
    ax.plot(x, spectrum, color=SPECTRUM_COLOUR, lw=0.9, zorder=2)
    ax.set_xlim(x.min(), x.max())
    ax.set_ylim(floor, ceiling)
    return fill


def shade_unseen(ax, x: np.ndarray, unseen: np.ndarray | None) -> None:
    """Grey bands over the points no layer position reads (the map there is not evidence of anything)."""
    if unseen is None or not np.any(unseen):
        return
    edges = np.flatnonzero(np.diff(np.concatenate([[0], unseen.astype(int), [0]])))
    for i, (start, stop) in enumerate(zip(edges[::2], edges[1::2], strict=True)):
        label = f"read by no layer position ({int(unseen.sum())} points)" if i == 0 else None
        ax.axvspan(x[start], x[stop - 1], color="0.85", lw=0, zorder=0, label=label)


def _mapped_spectrum(
    fig, spectrum_ax, map_ax, x, spectrum, cam, classic, title, method, unseen=None, norm=None, flagged=False
) -> None:
    """Spectrum over its map's colours (colour bar centred at 0) above the map itself (classic dashed, if given)."""
    norm = norm or symmetric_norm(cam)
    fill = spectrum_over_map(spectrum_ax, x, spectrum, cam, norm)
    fig.colorbar(fill, ax=[spectrum_ax, map_ax], label=method, pad=0.01, fraction=0.03)
    spectrum_ax.set_ylabel("intensity")
    spectrum_ax.set_title(title, loc="left", fontsize="medium", color="tab:red" if flagged else "black")
    shade_unseen(map_ax, x, unseen)
    signed_fill(map_ax, x, cam, label=method)
    if classic is not None:
        map_ax.plot(x, classic, color="tab:gray", lw=0.9, ls="--", label="classic Grad-CAM (GAP)")
    map_ax.set_ylabel("map")
    map_ax.set_ylim(1.05 * norm.vmin, 1.05 * norm.vmax)
    map_ax.legend(loc="best", fontsize="x-small", framealpha=0.85)  # a free corner, else readable over the curve


def plot_gradcam_spectra(
    x: np.ndarray,
    spectra: np.ndarray,
    maps: np.ndarray,
    titles: Sequence[str],
    classic: np.ndarray | None = None,
    *,
    xlabel: str,
    title: str | None = None,
    method: str = "1D Grad-CAM",
    unseen: np.ndarray | None = None,
    shared_scale: bool = False,
    flagged: Sequence[bool] | None = None,
) -> Figure:
    """One block per spectrum: the spectrum over its map's colours, and the map underneath.

    Red marks regions that push the decision towards the explained class, blue regions that push against
    it. Each spectrum has its own colour scale, symmetric about zero, unless ``shared_scale`` (one scale for
    all panels, so that panels compare). ``flagged`` spectra (misclassified) get a red title; ``unseen``
    points (read by no layer position) are shaded grey.
    """
    x, spectra, maps = as_array(x), np.atleast_2d(as_array(spectra)), np.atleast_2d(as_array(maps))
    classic = None if classic is None else np.atleast_2d(as_array(classic))
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
    *,
    xlabel: str,
    title: str | None = None,
    grouped_by: str = "predicted",
    method: str = "1D Grad-CAM",
    unseen: np.ndarray | None = None,
    shared_scale: bool = False,
) -> Figure:
    """Class-averaged maps: per class its mean spectrum over its mean map's colours, then all maps overlaid.

    ``grouped_by`` ("predicted" or "labelled") says in the panel titles how spectra were assigned to classes.
    Classes without spectra (NaN rows) are left out.
    """
    x, mean_spectra, mean_maps = as_array(x), as_array(mean_spectra), as_array(mean_maps)
    classic = None if classic is None else as_array(classic)
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
    zero_line(overlay)
    overlay.set_ylabel("mean map")
    group = "class" if grouped_by in ("predicted", "labelled") else "range"  # a regressor's groups: target ranges
    overlay.set_title(f"{group}-averaged {method}, every {group}", loc="left", fontsize="medium")
    overlay.legend(loc="best", fontsize="x-small", framealpha=0.85)
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
    x, maps = as_array(x), as_array(maps)
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
    *,
    xlabel: str,
    method: str = "1D Grad-CAM",
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


def plot_deletion_curves(
    curves: Mapping[str, tuple[np.ndarray, np.ndarray, np.ndarray]],
    title: str | None = None,
    ylabel: str = "mean probability of the explained class",
    ylim: tuple[float, float] | None = (0, 1),
) -> Figure:
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
