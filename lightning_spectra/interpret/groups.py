"""How attribution figures group and describe the spectra of a split; the model's task picks the grouping
(:meth:`Task.attribution_groups <lightning_spectra.tasks.base.Task.attribution_groups>`).

A classifier's spectra are grouped by the class their map explains (label or prediction), with the predicted
state change and the misclassified spectra of the series; a regressor's by quantile range of its first target
(:func:`~lightning_spectra.interpret.target_ranges.target_ranges`), and it has neither.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch import Tensor

from lightning_spectra.interpret.target_ranges import target_ranges


def predicted_change(predicted: np.ndarray) -> int | None:
    """Index of the first spectrum after the predicted state change of an ordered series, or ``None``.

    Two classes: the split that best separates the predictions into a run of one class then a run of the
    other (robust to a few flickers; ties go to the earliest). More classes: the first index whose
    prediction differs from the one before.
    """
    predicted = np.asarray(predicted)
    if len(predicted) < 2 or np.all(predicted == predicted[0]):
        return None
    if set(np.unique(predicted).tolist()) <= {0, 1}:
        first = predicted[0]
        before = np.concatenate([[0], np.cumsum(predicted != first)])  # mismatches in predicted[:b]
        after = np.concatenate([np.cumsum((predicted == first)[::-1])[::-1], [0]])  # mismatches in predicted[b:]
        errors = before + after
        return int(np.argmin(errors[1:-1]) + 1)
    return int(np.flatnonzero(predicted[1:] != predicted[:-1])[0] + 1)


@dataclass
class Groups:
    """The groups of the spectra of a split and the words that describe them.

    Attributes:
        kind: ``"class"`` or ``"range"``; names the tables, figures and results (``_class_mean.csv``...).
        index: ``(N,)`` group of every spectrum, -1 for none.
        names: one per group.
        titles: per spectrum, what is known and predicted about it (the figure of chosen spectra).
        explains: what the maps explain, for figure titles.
        grouped_by: how spectra were put in groups, for the panels of the group means.
        score: what the deletion curve follows.
        reference_classes: ``(N,)`` classes of the other-class-mean reference (a regressor's: its ranges).
        misclassified: ``(N,)`` bool; classifiers only.
        change: index of the predicted state change of the series; classifiers only.
    """

    kind: Literal["class", "range"]
    index: np.ndarray
    names: list[str]
    titles: list[str]
    explains: str
    grouped_by: str
    score: str
    reference_classes: Tensor
    misclassified: np.ndarray | None = None
    change: int | None = None

    @property
    def counts(self) -> np.ndarray:
        """Spectra per group."""
        return np.bincount(self.index[self.index >= 0], minlength=len(self.names))


def class_groups(classes: list[str], probabilities: Tensor, explained: Tensor, labels: Tensor, target: str) -> Groups:
    """A classifier's spectra by the class each map explains (``explained``; ``target``: label or predicted),
    from the model's class ``probabilities`` ``(N, C)``."""
    probabilities = probabilities.detach().cpu().numpy()
    predicted = probabilities.argmax(axis=1)
    known, explained = labels.cpu().numpy(), explained.cpu().numpy()
    misclassified = (known >= 0) & (predicted != known)
    titles = [
        (f" | label: {classes[known[i]]}" if known[i] >= 0 else "")
        + f" | predicted: {classes[predicted[i]]} (p = {probabilities[i, predicted[i]]:.3f})"
        + (" | MISCLASSIFIED" if misclassified[i] else "")
        + f" | map explains '{classes[explained[i]]}'"
        for i in range(len(known))
    ]
    return Groups(
        kind="class",
        index=explained,
        names=classes,
        titles=titles,
        explains="label" if target == "label" else "prediction",
        grouped_by="labelled" if target == "label" else "predicted",
        score="probability of the explained class",
        reference_classes=torch.as_tensor(np.where(known >= 0, known, predicted)),
        misclassified=misclassified,
        change=predicted_change(predicted),
    )


def range_groups(name: str, values: Tensor, labels: Tensor, target: str, ranges: int) -> Groups:
    """A regressor's spectra by ``ranges`` quantile ranges of its first target ``name``: of the reference value
    (``target`` ``"label"``; the predicted value where the reference is unknown) or of the predicted value
    (``"predicted"``); ``values`` ``(N, T)``: the predictions in the targets' units.

    Its maps all explain the first predicted value. The ranges stand in for classes in the other-class-mean
    reference: a spectrum's reference is the mean of the spectra in the other ranges.
    """
    predicted = values.detach().cpu().numpy()[:, 0]
    reference = labels.detach().cpu().numpy().reshape(len(labels), -1)[:, 0]
    grouping = predicted if target == "predicted" else np.where(np.isfinite(reference), reference, predicted)
    index, names = target_ranges(grouping, ranges, name)
    titles = [
        (f" | reference {name} = {reference[i]:.4g}" if np.isfinite(reference[i]) else "")
        + f" | predicted {predicted[i]:.4g} | red raises the predicted {name}"
        for i in range(len(reference))
    ]
    return Groups(
        kind="range",
        index=index,
        names=names,
        titles=titles,
        explains=f"predicted {name}",
        grouped_by="with reference in" if target == "label" else "predicted in",
        score=f"predicted {name}",
        reference_classes=torch.as_tensor(index),
    )


def output_groups(names: list[str], explained: Tensor, score: str) -> Groups:
    """Spectra grouped by the output each map explains (``explained``: ``(N,)`` output indices): the default of a
    task without classes or ranges of its own."""
    index = explained.detach().cpu().numpy().astype(np.int64)
    return Groups(
        kind="class",
        index=index,
        names=list(names),
        titles=[f"maps explain {names[k]}" for k in index],
        explains="the explained output",
        grouped_by="grouped by the output their maps explain",
        score=score,
        reference_classes=explained.detach().cpu().long(),
    )
