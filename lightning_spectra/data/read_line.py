"""The "read" line a run prints before it trains, tests or predicts: what it read, in one line.

A wrong file, axis, class column or split shows here at once, not as a poor result after minutes of training:
``read: 120 spectra x 96 points, 2θ 5-40; classes a 40, b 40, c 40; train 80, val 20, test 20``.
"""

from __future__ import annotations

import numpy as np
import torch

from lightning_spectra.data.base import InMemorySpectra, SpectraDataModule

LABELLED_SPLITS = ("train", "val", "test")


def axis_part(x_axis: np.ndarray, label: str) -> str:
    """``2θ 5-40``: the axis name and its range, lowest first (an axis may fall)."""
    x = np.asarray(x_axis, dtype=float)
    return f"{label} {x.min():g}-{x.max():g}" if x.size else label


def class_counts(labels: torch.Tensor, class_names: list[str]) -> str:
    """``classes a 40, b 40``: every class, with how many of the spectra are labelled with it."""
    labels = labels.long().cpu()
    if labels.dim() == 2 and labels.shape[1] > 1:  # indicator rows of a multi-label task: spectra holding each label
        held = labels.clamp(min=0).sum(dim=0).tolist()
        return "labels " + ", ".join(f"{n} {c}" for n, c in zip(class_names, held, strict=False))
    counts = torch.bincount(labels.flatten(), minlength=len(class_names)).tolist()
    return "classes " + ", ".join(f"{name} {count}" for name, count in zip(class_names, counts, strict=False))


def target_ranges(values: torch.Tensor, target_names: list[str]) -> str:
    """``target protein 9.1-14.3``: each target's range over the known values (NaN: not measured)."""
    parts = []
    for i, name in enumerate(target_names):
        column = values[:, i].cpu().numpy() if values.dim() == 2 else values.cpu().numpy()
        known = column[np.isfinite(column)]
        parts.append(f"{name} {known.min():g}-{known.max():g}" if known.size else f"{name} (no values)")
    return ("targets " if len(parts) > 1 else "target ") + ", ".join(parts)


def labels_part(datamodule: SpectraDataModule, splits: list[InMemorySpectra]) -> str:
    """The classes with their counts (classifier) or the target ranges (regressor) over ``splits``."""
    labels = torch.cat([s.labels.cpu() for s in splits])
    if datamodule.target_names:
        return target_ranges(labels, datamodule.target_names)
    return class_counts(labels, datamodule.class_names)


def read_line(datamodule: SpectraDataModule, subcommand: str) -> str:
    """The line for ``subcommand``: ``predict`` counts the spectra it predicts on and names the model's classes
    (its spectra need no labels); the others count the labelled splits."""
    splits = datamodule.splits
    axis = axis_part(splits.x_axis, datamodule.x_label)
    if subcommand == "predict":
        predict = splits.predict or splits.test
        what = f"targets {', '.join(datamodule.target_names)}" if datamodule.target_names else None
        what = what or f"model classes {', '.join(datamodule.class_names)}"
        n, points = len(predict), predict.spectra.shape[1]
        return f"read: {n} spectra x {points} points, {axis}; {what}; predict {n}"
    parts = [getattr(splits, name) for name in LABELLED_SPLITS]
    total, points = sum(len(s) for s in parts), parts[0].spectra.shape[1]
    sizes = ", ".join(f"{name} {len(s)}" for name, s in zip(LABELLED_SPLITS, parts, strict=True))
    return f"read: {total} spectra x {points} points, {axis}; {labels_part(datamodule, parts)}; {sizes}"
