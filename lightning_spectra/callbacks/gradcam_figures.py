"""The PNG figures of a mapped split (the draw step of :class:`~lightning_spectra.callbacks.GradCAM`).

The spectra are drawn in the data's own units (as read, where the model reads them preprocessed); the series
image and its predicted change only for ordered data; and a map of a layer with one position (after global
pooling: one number spread over the whole spectrum) gets no figure, since it says nothing about where.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from lightning.pytorch.utilities import rank_zero_info

from lightning_spectra.callbacks.mapped_split import MappedSplit
from lightning_spectra.interpret.gradcam import class_means


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
) -> list[Path]:
    """The PNG figures of ``mapped`` under ``figures``: chosen spectra, group means, the series (``ordered``
    data only) and deletion curves. ``drawn``: the spectra to draw ``(N, L)``, in the data's own units (default:
    the model's input). A map of one layer position gets no figure of its own."""
    from lightning_spectra.plots.figure import save_figure  # matplotlib loads only when a figure is drawn
    from lightning_spectra.plots.gradcam import (
        plot_attribution_series,
        plot_deletion_curves,
        plot_gradcam_class_means,
        plot_gradcam_spectra,
    )

    stem, groups, method, layer = mapped.stem, mapped.groups, mapped.method, mapped.layer
    maps = mapped.per_spectrum["gradcam"]
    spectra = mapped.per_spectrum["spectrum"] if drawn is None else np.asarray(drawn, dtype=float)
    classic, mean_classic = mapped.per_spectrum.get("gradcam_classic"), mapped.means.get("gradcam_classic")
    flagged, where = groups.misclassified, f"layer '{layer}'" if layer != "input" else "the input"
    pngs: list[Path] = []
    curves, one_position = mapped.curves, mapped.positions < 2
    if one_position:
        rank_zero_info(
            f"GradCAM: {where} keeps one position, so its map is one number spread over the whole spectrum; "
            "no map figures drawn"
        )
        curves = {name: curve for name, curve in curves.items() if name != method}  # its order is arbitrary
        chosen, ordered = [], False
    if chosen:
        fig = plot_gradcam_spectra(
            mapped.axis,
            spectra[chosen],
            maps[chosen],
            [f"{mapped.split} #{i}" + (f": {names[i]}" if i < len(names) else "") + groups.titles[i] for i in chosen],
            classic=None if classic is None else classic[chosen],
            xlabel=xlabel,
            title=f"{model}: {method} at {where}",
            method=method,
            unseen=mapped.unseen,
            shared_scale=shared_scale,
            flagged=None if flagged is None else flagged[chosen].tolist(),
        )
        pngs.append(save_figure(fig, figures / f"{stem}_spectra.png", dpi))
    if not one_position:
        mean_spectra = class_means(torch.as_tensor(spectra), torch.as_tensor(groups.index), len(groups.names))
        fig = plot_gradcam_class_means(
            mapped.axis,
            mean_spectra.numpy(),
            mapped.means["gradcam"],
            groups.names,
            groups.counts.tolist(),
            classic=mean_classic,
            xlabel=xlabel,
            title=f"{model}: {method} averaged per {groups.kind}, {mapped.split} set (maps explain the "
            f"{groups.explains})",
            grouped_by=groups.grouped_by,
            method=method,
            unseen=mapped.unseen,
            shared_scale=shared_scale,
        )
        pngs.append(save_figure(fig, figures / f"{stem}_{groups.kind}_mean.png", dpi))
    if ordered:  # rows in series order, and a predicted change, mean something only for a series
        fig = plot_attribution_series(
            mapped.axis,
            maps,
            groups.change,
            flagged,
            method=method,
            xlabel=xlabel,
            title=f"{model}: {method} of every {mapped.split} spectrum (rows in series order; map explains the "
            f"{groups.explains})",
        )
        pngs.append(save_figure(fig, figures / f"{stem}_series.png", dpi))
    if curves:
        # a regressor's "other class mean" is the mean of the spectra in the other target ranges
        replaced_by = reference.replace("class", groups.kind).replace("_", " ")
        fig = plot_deletion_curves(
            {n: (c.fractions, c.attribution, c.random) for n, c in curves.items()},
            title=f"{model}: deletion curves, regions replaced by the {replaced_by}",
            ylabel=f"mean {groups.score}",
            ylim=(0, 1) if groups.kind == "class" else None,  # a predicted value has no fixed bounds
        )
        pngs.append(save_figure(fig, figures / f"{stem}_deletion.png", dpi))
    return pngs
