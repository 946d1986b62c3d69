"""The PNG figures of a mapped split (the draw step of :class:`~lightning_spectra.callbacks.GradCAM`).

The default map is drawn (:attr:`MappedSplit.default`), with the layer's 1D Grad-CAM beside it where it is not
the default; each title carries a caption line from :func:`map_captions`. The spectra are drawn in the data's
own units (as read, where the model reads them preprocessed); the series image and its predicted change only for
ordered data; and a map of a layer with one position (after global pooling: one number spread over the whole
spectrum) gets no figure, since it says nothing about where.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from lightning.pytorch.utilities import rank_zero_info

from lightning_spectra.callbacks.mapped_split import MappedSplit
from lightning_spectra.interpret.gradcam import class_means
from lightning_spectra.interpret.map_checks import INTEGRATED_GRADIENTS


def reference_words(reference: str, kind: str) -> str:
    """A reference's name in a figure's words: ``other_class_mean`` of a regressor's ranges is "other range mean"."""
    return reference.replace("class", kind).replace("group", kind).replace("_", " ")


def map_captions(mapped: MappedSplit, numbers: dict[str, Any], weights: str) -> dict[str, str]:
    """One line per map of ``mapped`` (by its ``per_spectrum`` key) for its figures: method, layer and resolution,
    deletion gap, share on the known peaks against chance (where known) and the ``weights`` explained. A reader
    sees on the figure how far to trust it, not only in ``summary.json``."""
    stem, length = mapped.stem, len(mapped.axis)
    reference = str(numbers.get(f"{stem}_deletion_reference", "other_class_mean"))
    reference = reference_words(reference, mapped.groups.kind)
    captions = {}
    for key, prefix in (("gradcam", stem), ("integrated_gradients", f"{stem}_ig")):
        if key not in mapped.per_spectrum:
            continue
        if key == "integrated_gradients":
            parts = [f"{INTEGRATED_GRADIENTS} from the {reference}, every point"]
        elif mapped.layer == "input":
            parts = [f"{mapped.method} at the input, every point"]
        else:
            per_position = length / max(mapped.positions, 1)
            parts = [
                f"{mapped.method} at layer '{mapped.layer}': {mapped.positions} positions, "
                f"~{per_position:.0f} points per position"
            ]
        gap = numbers.get(f"{prefix}_deletion_gap")
        if gap is not None:
            parts.append(f"deletion gap {gap:+.3g}" + (" (no better than chance)" if gap <= 0 else ""))
        share, chance = numbers.get(f"{prefix}_ground_truth_share"), numbers.get(f"{prefix}_ground_truth_chance")
        if share is not None and chance:
            parts.append(f"{share:.0%} on the known peaks (chance {chance:.0%})")
        parts.append(weights)
        captions[key] = wrapped(parts)
    return captions


def wrapped(parts: list[str], width: int = 130) -> str:
    """``parts`` joined by `` | `` on lines of at most about ``width`` characters (a title wider than the figure
    is cut at its edges)."""
    lines = [parts[0]]
    for part in parts[1:]:
        if len(lines[-1]) + 3 + len(part) > width:
            lines.append(part)
        else:
            lines[-1] += f" | {part}"
    return "\n".join(lines)


def draw_gradcam_figures(
    mapped: MappedSplit,
    chosen: list[int],
    names: Sequence[str],
    model: str,
    figures: Path,
    xlabel: str,
    reference: str,
    shared_scale: bool = False,
    dpi: int = 150,
    drawn: np.ndarray | None = None,
    ordered: bool = True,
    captions: dict[str, str] | None = None,
) -> list[Path]:
    """The PNG figures of ``mapped`` under ``figures``: chosen spectra, group means, the series (``ordered``
    data only) and deletion curves, all of the default map; where that is not the layer's 1D Grad-CAM, the
    layer map's group means beside them (``<stem>_<kind>_mean_layer.png``). ``drawn``: the spectra to draw
    ``(N, L)``, in the data's own units (default: the model's input). ``captions``: a line per map under the
    title (:func:`map_captions`). A layer map of one position gets no figure of its own."""
    from lightning_spectra.plots.figure import save_figure  # matplotlib loads only when a figure is drawn
    from lightning_spectra.plots.gradcam import (
        plot_attribution_series,
        plot_deletion_curves,
        plot_gradcam_class_means,
        plot_gradcam_spectra,
    )

    stem, groups, layer = mapped.stem, mapped.groups, mapped.layer
    captions = captions or {}
    spectra = mapped.per_spectrum["spectrum"] if drawn is None else np.asarray(drawn, dtype=float)
    mean_spectra = class_means(torch.as_tensor(spectra), torch.as_tensor(groups.index), len(groups.names)).numpy()
    flagged, where = groups.misclassified, f"layer '{layer}'" if layer != "input" else "the input"
    pngs: list[Path] = []
    curves, one_position = mapped.curves, mapped.positions < 2
    if one_position:
        rank_zero_info(
            f"GradCAM: {where} keeps one position, so its map is one number spread over the whole spectrum; "
            "no figures of that map drawn"
        )
        curves = {name: curve for name, curve in curves.items() if name != mapped.method}  # its order is arbitrary
        if mapped.layer_only:
            chosen, ordered = [], False
    key, method = mapped.default, mapped.default_method
    maps, layer_map = mapped.per_spectrum[key], mapped.layer_only
    unseen = mapped.unseen if layer_map else None  # Integrated Gradients read every point
    classic = mapped.per_spectrum.get("gradcam_classic") if layer_map else None
    shown_at = f" at {where}" if layer_map else ""

    def titled(text: str, map_key: str = key) -> str:
        headline = textwrap.fill(text, 120)  # a title wider than the figure is cut at its edges
        return headline + (f"\n{captions[map_key]}" if map_key in captions else "")

    if chosen:
        fig = plot_gradcam_spectra(
            mapped.axis,
            spectra[chosen],
            maps[chosen],
            [f"{mapped.split} #{i}" + (f": {names[i]}" if i < len(names) else "") + groups.titles[i] for i in chosen],
            classic=None if classic is None else classic[chosen],
            xlabel=xlabel,
            title=titled(f"{model}: {method}{shown_at}"),
            method=method,
            unseen=unseen,
            shared_scale=shared_scale,
            flagged=None if flagged is None else flagged[chosen].tolist(),
        )
        pngs.append(save_figure(fig, figures / f"{stem}_spectra.png", dpi))
    if not (one_position and layer_map):
        fig = plot_gradcam_class_means(
            mapped.axis,
            mean_spectra,
            mapped.means[key],
            groups.names,
            groups.counts.tolist(),
            classic=mapped.means.get("gradcam_classic") if layer_map else None,
            xlabel=xlabel,
            title=titled(
                f"{model}: {method}{shown_at} averaged per {groups.kind}, {mapped.split} set (maps explain the "
                f"{groups.explains})"
            ),
            grouped_by=groups.grouped_by,
            method=method,
            unseen=unseen,
            shared_scale=shared_scale,
        )
        pngs.append(save_figure(fig, figures / f"{stem}_{groups.kind}_mean.png", dpi))
    if not layer_map and not one_position:  # the layer's 1D Grad-CAM beside the default, labelled as not it
        fig = plot_gradcam_class_means(
            mapped.axis,
            mean_spectra,
            mapped.means["gradcam"],
            groups.names,
            groups.counts.tolist(),
            classic=mapped.means.get("gradcam_classic"),
            xlabel=xlabel,
            title=titled(
                f"{model}: {mapped.method} at {where} averaged per {groups.kind}, {mapped.split} set: "
                f"not the default map ({method} is)",
                "gradcam",
            ),
            grouped_by=groups.grouped_by,
            method=mapped.method,
            unseen=mapped.unseen,
            shared_scale=shared_scale,
        )
        pngs.append(save_figure(fig, figures / f"{stem}_{groups.kind}_mean_layer.png", dpi))
    if ordered:  # rows in series order, and a predicted change, mean something only for a series
        fig = plot_attribution_series(
            mapped.axis,
            maps,
            groups.change,
            flagged,
            method=method,
            xlabel=xlabel,
            title=titled(
                f"{model}: {method} of every {mapped.split} spectrum (rows in series order; map explains the "
                f"{groups.explains})"
            ),
        )
        pngs.append(save_figure(fig, figures / f"{stem}_series.png", dpi))
    if curves:
        # a regressor's "other class mean" is the mean of the spectra in the other target ranges
        replaced_by = reference_words(reference, groups.kind)
        fig = plot_deletion_curves(
            {n: (c.fractions, c.attribution, c.random) for n, c in curves.items()},
            title=f"{model}: deletion curves, regions replaced by the {replaced_by}",
            ylabel=f"mean {groups.score}",
            ylim=(0, 1) if groups.kind == "class" else None,  # a predicted value has no fixed bounds
        )
        pngs.append(save_figure(fig, figures / f"{stem}_deletion.png", dpi))
    return pngs
