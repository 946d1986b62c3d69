"""The PNG figures of a mapped split (the draw step of :class:`~lightning_spectra.callbacks.GradCAM`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from lightning_spectra.callbacks.mapped_split import MappedSplit


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
) -> list[Path]:
    """The PNG figures of ``mapped`` under ``figures``: chosen spectra, group means, series, deletion."""
    from lightning_spectra.plots.figure import save_figure  # matplotlib loads only when a figure is drawn
    from lightning_spectra.plots.gradcam import (
        plot_attribution_series,
        plot_deletion_curves,
        plot_gradcam_class_means,
        plot_gradcam_spectra,
    )

    stem, groups, method, layer = mapped.stem, mapped.groups, mapped.method, mapped.layer
    spectra, maps = mapped.per_spectrum["spectrum"], mapped.per_spectrum["gradcam"]
    classic, mean_classic = mapped.per_spectrum.get("gradcam_classic"), mapped.means.get("gradcam_classic")
    flagged, where = groups.misclassified, f"layer '{layer}'" if layer != "input" else "the input"
    pngs = []
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
    fig = plot_gradcam_class_means(
        mapped.axis,
        mapped.means["spectrum"],
        mapped.means["gradcam"],
        groups.names,
        groups.counts.tolist(),
        classic=mean_classic,
        xlabel=xlabel,
        title=f"{model}: {method} averaged per {groups.kind}, {mapped.split} set (maps explain the {groups.explains})",
        grouped_by=groups.grouped_by,
        method=method,
        unseen=mapped.unseen,
        shared_scale=shared_scale,
    )
    pngs.append(save_figure(fig, figures / f"{stem}_{groups.kind}_mean.png", dpi))
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
    if mapped.curves:
        # a regressor's "other class mean" is the mean of the spectra in the other target ranges
        replaced_by = reference.replace("class", groups.kind).replace("_", " ")
        fig = plot_deletion_curves(
            {n: (c.fractions, c.attribution, c.random) for n, c in mapped.curves.items()},
            title=f"{model}: deletion curves, regions replaced by the {replaced_by}",
            ylabel=f"mean {groups.score}",
            ylim=(0, 1) if groups.kind == "class" else None,  # a predicted value has no fixed bounds
        )
        pngs.append(save_figure(fig, figures / f"{stem}_deletion.png", dpi))
    return pngs
