"""The numbers of a mapped split for ``summary.json`` (and so the W&B run summary), flat so that loggers take
them."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from lightning_spectra.callbacks.mapped_split import MappedSplit
from lightning_spectra.interpret.faithfulness import ground_truth_share


def gradcam_summary(
    mapped: MappedSplit, windows: list[tuple[float, float]] | None, reference: str, ordered: bool = True
) -> dict[str, Any]:
    """The numbers of ``mapped`` for ``summary.json``, flat so that they reach the W&B run summary; the
    predicted change of the series only for ``ordered`` data.

    ``<stem>_method`` and ``<stem>_deletion_*`` describe the layer's map, ``<stem>_ig_*`` Integrated Gradients,
    and ``<stem>_default_*`` the map the figures draw first (one of the two); ``<stem>_peak_x`` is where each
    group's mean default map is largest."""
    stem, groups = mapped.stem, mapped.groups
    seen = ~mapped.unseen if mapped.layer_only else np.ones_like(mapped.unseen)  # IG reads every point
    default_means = mapped.means[mapped.default]
    summary: dict[str, Any] = {
        f"{stem}_method": mapped.method,
        f"{stem}_layer": mapped.layer,
        f"{stem}_layer_positions": mapped.positions,
        f"{stem}_points_per_position": round(len(mapped.axis) / max(mapped.positions, 1), 3),
        f"{stem}_unseen_points": int(mapped.unseen.sum()),
        f"{stem}_default_map": mapped.default_method,
        f"{stem}_peak_x": {
            name: float(mapped.axis[seen][int(np.argmax(default_means[g][seen]))])
            for g, name in enumerate(groups.names)
            if groups.counts[g]
        },
    }
    if groups.misclassified is not None:
        if ordered:
            summary[f"{stem}_predicted_change"] = groups.change
        summary[f"{stem}_misclassified"] = int(groups.misclassified.sum())
    for name, values in mapped.maps_by_method.items():
        prefix = stem if name == mapped.method else f"{stem}_ig"
        if name in mapped.curves:
            for key, value in mapped.curves[name].summary().items():
                summary[f"{prefix}_deletion_{key}"] = value
        if windows is not None:
            share = ground_truth_share(torch.as_tensor(values), mapped.axis, windows)
            summary[f"{prefix}_ground_truth_share"] = share["share"]
            summary[f"{prefix}_ground_truth_chance"] = share["chance"]
    default = f"{stem}_ig" if mapped.default == "integrated_gradients" else stem
    for key in ("deletion_gap", "deletion_attribution_area", "deletion_random_area", "ground_truth_share"):
        if f"{default}_{key}" in summary:
            summary[f"{stem}_default_{key}"] = summary[f"{default}_{key}"]
    if mapped.curves:
        summary[f"{stem}_deletion_reference"] = reference
    return summary
