"""Per-class scores of a classifier's test: the confusion matrix, precision, recall and F1 of every class.

Accuracy and the paper's confidence are one number each: a rare class the model never gets right barely moves
them. Per-class recall shows it at once. The scores are computed with torchmetrics' functional API from the
labels the test itself predicted (:class:`ClassSeries` keeps them), so they describe the tested weights with the
test's own batches, precision and BatchNorm mode (the paper-exact presets evaluate BatchNorm on batch
statistics), gathered across processes under DDP. Spectra without a label (-1) are left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torchmetrics.functional.classification import (
    multiclass_confusion_matrix,
    multiclass_f1_score,
    multiclass_precision,
    multiclass_recall,
)

from lightning_spectra.metrics.confidence import SeriesConfidence


class ClassSeries(SeriesConfidence):
    """:class:`SeriesConfidence` that also keeps the predicted and reference labels of the split it last
    computed (``last_labels``: series order, duplicates removed, after the DDP gather), for the per-class scores
    and confusion matrix drawn once the test has ended. ``reset`` leaves them: the model resets its metric as soon
    as it has logged it, before the run's report reads them."""

    def __init__(self, first: int | None = None, last: int | None = None, **kwargs) -> None:
        super().__init__(first, last, **kwargs)
        self.last_labels: tuple[torch.Tensor, torch.Tensor] | None = None

    def compute(self) -> dict[str, torch.Tensor]:
        preds, target, _ = self.ordered()
        self.last_labels = (preds.detach().cpu(), target.detach().cpu())
        return super().compute()


@dataclass(frozen=True)
class ClassScores:
    """Scores of the labelled spectra of one split: ``confusion[i, j]`` counts spectra of reference class ``i``
    predicted as ``j``; ``precision``, ``recall`` and ``f1`` are per class (0 where undefined, as scikit-learn's
    ``zero_division=0``); ``macro_f1`` is the mean F1 over the classes that occur among the references or the
    predictions (scikit-learn's ``f1_score(average="macro")``), so a class absent from a small test split does
    not count as a failure."""

    confusion: torch.Tensor
    precision: torch.Tensor
    recall: torch.Tensor
    f1: torch.Tensor
    macro_f1: float

    @property
    def spectra(self) -> int:
        return int(self.confusion.sum())

    def summary(self, class_names: Sequence[str], split: str = "test") -> dict[str, float | int | list]:
        """Flat summary keys (W&B plots flat keys): ``test_precision_<class>``, ``test_recall_<class>``,
        ``test_f1_<class>``, ``test_macro_f1`` and the matrix as ``test_confusion_matrix`` (rows: reference)."""
        out: dict[str, float | int | list] = {}
        for name, values in (("precision", self.precision), ("recall", self.recall), ("f1", self.f1)):
            out.update({f"{split}_{name}_{cls}": float(v) for cls, v in zip(class_names, values, strict=True)})
        out[f"{split}_macro_f1"] = self.macro_f1
        out[f"{split}_confusion_matrix"] = self.confusion.tolist()
        return out


def class_scores(predicted: torch.Tensor, reference: torch.Tensor, num_classes: int) -> ClassScores | None:
    """Confusion matrix and per-class precision, recall and F1 of predicted against reference labels; spectra
    whose reference is unknown (negative) are left out. ``None`` when no spectrum has a label.

    Examples:
        >>> scores = class_scores(torch.tensor([0, 1, 1, 2]), torch.tensor([0, 1, 2, -1]), 3)
        >>> scores.confusion.tolist(), scores.recall.tolist()
        ([[1, 0, 0], [0, 1, 0], [0, 1, 0]], [1.0, 1.0, 0.0])
    """
    known = reference >= 0
    if not bool(known.any()):
        return None
    p, r = predicted[known].long().cpu(), reference[known].long().cpu()
    confusion = multiclass_confusion_matrix(p, r, num_classes)
    precision = multiclass_precision(p, r, num_classes, average=None, zero_division=0)
    recall = multiclass_recall(p, r, num_classes, average=None, zero_division=0)
    f1 = multiclass_f1_score(p, r, num_classes, average=None, zero_division=0)
    occurs = (confusion.sum(dim=0) + confusion.sum(dim=1)) > 0
    return ClassScores(confusion, precision, recall, f1, float(f1[occurs].mean()))
