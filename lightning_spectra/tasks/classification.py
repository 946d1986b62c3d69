"""Classes: one logit for two classes (the paper's sigmoid output), else one logit per class.

Predictions are class probabilities; a map explains the score of one class (its logit, ``+z``/``-z`` for a
single logit); the classical baselines a fit ends with are logistic regression or PLS-DA and an RBF SVC
(:mod:`lightning_spectra.baselines`, fitted by :mod:`lightning_spectra.callbacks.after_fit`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch
from lightning.pytorch.utilities import rank_zero_info
from torch.nn import functional as F
from torchmetrics import Metric

from lightning_spectra.interpret.faithfulness import target_probability
from lightning_spectra.interpret.gradcam import class_score
from lightning_spectra.interpret.groups import Groups, class_groups
from lightning_spectra.metrics.classification import ClassSeries, class_scores
from lightning_spectra.tasks.base import Direction, SummaryField, Targets, Task

if TYPE_CHECKING:
    import lightning.pytorch as L


SUMMARY_FIELDS: tuple[SummaryField, ...] = (
    ("confidence", "classification confidence", "{:.2%}"),
    ("boundary", "boundary (last index of class 0)", "{:.0f}"),
    ("true_boundary", "true boundary", "{:.0f}"),
    ("accuracy", "accuracy", "{:.2%}"),
    ("versus_baseline", "test accuracy", "{}"),
    ("linear_baseline_method", "linear baseline", "{}"),
    ("svc_accuracy", "SVC (RBF) baseline: accuracy (test)", "{:.2%}"),
    ("classical_best_method", "best classical baseline (chosen without the test split)", "{}"),
)


def predicted_class(logits: torch.Tensor) -> torch.Tensor:
    """Predicted class per row: ``z > 0`` for one logit (sigmoid > 0.5, as the paper), else the argmax."""
    return (logits[:, 0] > 0).long() if logits.shape[1] == 1 else logits.argmax(dim=1)


class ClassificationTask(Task):
    """Class logits: BCE on one logit for two classes (the paper's sigmoid + BCELoss, stable form), else CE."""

    name: ClassVar[str] = "classification"
    #: ClassSeries' values (metrics/confidence.py): the paper's series scores and the accuracy.
    metrics: ClassVar[dict[str, Direction]] = {
        "accuracy": "max",
        "confidence": "max",
        "boundary": None,
        "true_boundary": None,
        "boundary_error": "min",
        "change_point": None,
        "spectra": None,
    }
    score_key: ClassVar[str] = "accuracy"
    perfect_score: ClassVar[float | None] = 1.0
    series_score_key: ClassVar[str | None] = "confidence"  # the paper's score of a ramp
    output_name: ClassVar[str] = "probabilities"
    deletion_score_name: ClassVar[str] = "probability"
    #: Measured as good in bf16 autocast on CPUs (runtime/precision.py); a regressor's digits need float32.
    trains_in_bf16: ClassVar[bool] = True
    #: A model that scores parts of a spectrum (BinnedFCNN's rows) combines them by vote.
    combines_parts_by_vote: ClassVar[bool] = True

    def __init__(self, targets: Targets) -> None:
        super().__init__(targets)
        self.num_classes = len(targets.names)
        if self.num_classes < 2:
            raise ValueError(f"num_classes must be at least 2, got {self.num_classes}")
        self.out_features = 1 if self.num_classes == 2 else self.num_classes

    @classmethod
    def earlier_targets(cls, hparams: dict[str, Any]) -> Targets:
        return Targets.classes(hparams.get("class_names") or int(hparams.get("num_classes", 2)))

    @property
    def class_names(self) -> list[str]:
        return list(self.targets.names)

    # ------------------------------------------------------------------ training and evaluation
    def loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if self.out_features == 1:
            return F.binary_cross_entropy_with_logits(logits[:, 0], target.to(logits.dtype))
        return F.cross_entropy(logits, target.long())

    def probabilities(self, logits: torch.Tensor) -> torch.Tensor:
        """Class probabilities ``(B, num_classes)``."""
        if self.out_features == 1:
            p = torch.sigmoid(logits[:, 0])
            return torch.stack([1 - p, p], dim=1)
        return torch.softmax(logits, dim=1)

    def predict_labels(self, logits: torch.Tensor) -> torch.Tensor:
        return predicted_class(logits)  # one logit: sigmoid(z) > 0.5, as in the paper

    def known(self, target: torch.Tensor) -> bool:
        return bool((target >= 0).all())  # new spectra carry label -1

    def train_metrics(self, logits: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"accuracy": (self.predict_labels(logits) == target).float().mean()}

    def evaluation_metric(self) -> Metric:
        return ClassSeries()  # the paper's confidence; keeps the split's labels for the per-class scores

    def update(self, metric: Metric, logits: torch.Tensor, target: torch.Tensor, index: torch.Tensor) -> None:
        metric.update(self.predict_labels(logits), index, target)

    def exported(self, logits: torch.Tensor) -> torch.Tensor:
        return self.probabilities(logits)

    def prediction_columns(self, exported: np.ndarray) -> dict[str, list[str]]:
        """``predicted_class`` (the likeliest), its ``probability`` and ``p(<class>)`` per class."""
        probabilities = np.asarray(exported, dtype=np.float64).reshape(len(exported), -1)
        predicted = probabilities.argmax(axis=1)
        columns = {
            "predicted_class": [self.class_names[k] for k in predicted],
            "probability": [f"{row[k]:.6f}" for row, k in zip(probabilities, predicted, strict=True)],
        }
        for c, name in enumerate(self.class_names):
            columns[f"p({name})"] = [f"{v:.6f}" for v in probabilities[:, c]]
        return columns

    @classmethod
    def cross_validation_columns(cls) -> tuple[SummaryField, ...]:
        return (
            ("accuracy", "model accuracy", "{:.1%}"),
            ("linear_baseline_accuracy", "linear baseline", "{:.1%}"),
            ("svc_accuracy", "SVC (RBF)", "{:.1%}"),
        )

    # ------------------------------------------------------------------ attribution
    def attribution_score(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return class_score(logits, target)

    def default_attribution_target(self, logits: torch.Tensor) -> torch.Tensor:
        return predicted_class(logits.detach())

    def deletion_score(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return target_probability(logits, target)

    def importance_objective(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.loss(logits, target)  # the paper's: the gradient of the training loss

    def importance_targets(self, labels: torch.Tensor, predicted: Callable[[], torch.Tensor]) -> torch.Tensor:
        """The labels if every spectrum has one, else the model's predictions (``predicted()``: its outputs), as
        the paper's test-set importance used the model's outputs as targets."""
        if len(labels) and self.known(labels):
            return labels
        rank_zero_info("Some spectra have no label: using the model's predicted classes as targets")
        return predicted_class(predicted()).to(labels.device)

    def labelled_attribution_target(self, labels: torch.Tensor, predicted: Callable[[], torch.Tensor]) -> torch.Tensor:
        """The class each map explains: the label, the predicted class where there is none."""
        if not bool((labels < 0).any()):
            return labels.clone()
        rank_zero_info("GradCAM: some spectra have no label; their maps explain the predicted class")
        return torch.where(labels < 0, predicted_class(predicted()).to(labels.device), labels)

    def attribution_groups(
        self, logits: torch.Tensor, explained: torch.Tensor, labels: torch.Tensor, target: str, ranges: int
    ) -> Groups:
        return class_groups(self.class_names, self.probabilities(logits), explained, labels, target)

    def reference_groups(self, labels: np.ndarray) -> tuple[np.ndarray, list[str]]:
        return labels, self.class_names

    # ------------------------------------------------------------------ the run's report
    def summary_fields(self) -> tuple[SummaryField, ...]:
        return SUMMARY_FIELDS

    def versus_baselines(self, summary: dict[str, Any]) -> dict[str, str]:
        """``CNN 96.7% | best classical 98.3% (SVC) | linear baseline 97.5%``."""
        if summary.get("accuracy") is None or summary.get("linear_baseline_accuracy") is None:
            return {}
        line = f"{summary.get('model', 'model')} {summary['accuracy']:.1%}"
        if (best := summary.get("classical_best_method")) is not None:
            line += f" | best classical {summary['classical_best_accuracy']:.1%} ({best})"
        return {"versus_baseline": line + f" | linear baseline {summary['linear_baseline_accuracy']:.1%}"}

    def test_outputs(self, trainer: L.Trainer, model: L.LightningModule) -> dict:
        """Per-class precision, recall and F1, macro F1 and the confusion matrix of the test that just ran, from
        the labels it predicted (so on the tested weights).

        Summary entries: ``test_precision_<class>``, ``test_recall_<class>``, ``test_f1_<class>``,
        ``test_macro_f1`` and ``test_confusion_matrix``; none when no test ran or no test spectrum has a label.
        The figure of the matrix, and the classical baselines a fit ends with, are drawn and fitted by the layer
        above (:mod:`lightning_spectra.callbacks.after_fit`): a task returns numbers. Rank zero.
        """
        labels = getattr(getattr(model, "test_series", None), "last_labels", None)
        scores = None if labels is None else class_scores(*labels, self.num_classes)
        return {} if scores is None else scores.summary(self.class_names, "test")

    def export_description(self) -> dict[str, Any]:
        return {
            "output_name": "probabilities",
            "names": {"class_names": self.class_names},
            "post_processing": "softmax/sigmoid to class probabilities",
            "output": "probabilities (N, C)",
        }
