"""Label sets: which of several labels a spectrum holds (the phases in an XRD pattern of a mixture, the
components in a Raman spectrum of a blend), one independent logit per label.

The loss is binary cross-entropy on every logit; predictions are per-label probabilities (sigmoid), and a label
is claimed where its probability reaches the label's threshold. The thresholds start at 0.5 and are chosen on the
validation split each time it is evaluated (:func:`~lightning_spectra.metrics.multilabel.choose_thresholds`: the
best F1 per label), so every checkpoint holds the thresholds chosen for its own weights; they are a buffer, saved
with the weights, and so are what ``test``, ``predict`` and an exported model apply (a fit without validation keeps
0.5; the validation scores are at thresholds tuned on that split, so the test's are the ones to trust). A map explains
one label's logit (Shi et al.'s Grad-CAM explains a chosen output): by default the most probable label's. Feature
importance is drawn per label (:meth:`MultiLabelTask.importance_outputs`): the input gradient of each label's term of
the loss.

The data: a label cell joins the labels with ``;`` (``quartz;calcite``, ``-`` for none), or a table's
``label_columns`` or a ``.npz`` ``y`` hold 0/1 indicator columns
(:class:`~lightning_spectra.data.targets.MultiLabelEncoder`). No classical baseline is fitted.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch
from torch.nn import functional as F
from torchmetrics import Metric

from lightning_spectra.interpret.groups import Groups
from lightning_spectra.metrics.multilabel import (
    DEFAULT_THRESHOLD,
    MultiLabelMetrics,
    choose_thresholds,
    claimed,
    multilabel_scores,
)
from lightning_spectra.tasks.base import Direction, SummaryField, Targets, Task

if TYPE_CHECKING:
    import lightning.pytorch as L

#: How a predicted or reference set is written: labels joined by ``;``, ``-`` for none (as the data are).
SEPARATOR, EMPTY = ";", "-"


def joined(names: list[str], row: np.ndarray) -> str:
    """The label set a 0/1 row ``(L,)`` stands for, as the data write it (``quartz;calcite``, ``-``)."""
    chosen = [name for name, held in zip(names, row, strict=True) if held > 0]
    return SEPARATOR.join(chosen) if chosen else EMPTY


class MultiLabelTask(Task):
    """One logit per label, BCE on each, per-label thresholds chosen on validation (see the module docstring)."""

    name: ClassVar[str] = "multilabel"
    #: MultiLabelMetrics' values (metrics/multilabel.py). ``f1`` is logged per label only (``f1[<label>]``): no
    #: direction, as a run is judged by the macro F1 over the labels, not by any one label's.
    metrics: ClassVar[dict[str, Direction]] = {
        "macro_f1": "max",
        "subset_accuracy": "max",
        "hamming_loss": "min",
        "f1": None,
    }
    score_key: ClassVar[str] = "macro_f1"
    perfect_score: ClassVar[float | None] = 1.0
    output_name: ClassVar[str] = "probabilities"
    deletion_score_name: ClassVar[str] = "probability"
    #: Independent sigmoids, each a two-class output: bf16 serves them as it serves the classifier's.
    trains_in_bf16: ClassVar[bool] = True
    combines_parts_by_vote: ClassVar[bool] = False  # a set is not a vote: parts' outputs are averaged

    def __init__(self, targets: Targets) -> None:
        super().__init__(targets)
        if len(targets.names) < 2:
            raise ValueError(f"a multi-label model needs at least 2 labels, got {len(targets.names)}")
        self.out_features = len(targets.names)
        # A buffer: saved in checkpoints and exported models, so predict, export and watch claim as validated.
        self.register_buffer("thresholds", torch.full((self.out_features,), DEFAULT_THRESHOLD))

    @property
    def class_names(self) -> list[str]:
        return list(self.targets.names)

    # ------------------------------------------------------------------ training and evaluation
    def loss(self, outputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(outputs, target.reshape(outputs.shape).to(outputs.dtype))

    def known(self, target: torch.Tensor) -> bool:
        return bool((target >= 0).all())  # new spectra carry rows of -1

    def probabilities(self, outputs: torch.Tensor) -> torch.Tensor:
        """Per-label probabilities ``(B, L)``; independent, so a row need not sum to 1."""
        return torch.sigmoid(outputs)

    def predict_labels(self, outputs: torch.Tensor) -> torch.Tensor:
        """The claimed sets ``(B, L)`` (0/1) at the model's thresholds."""
        return claimed(self.probabilities(outputs), self.thresholds)

    def train_metrics(self, outputs: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
        exact = (self.predict_labels(outputs.detach()) == target.reshape(outputs.shape)).all(dim=1)
        return {"subset_accuracy": exact.float().mean()}

    def evaluation_metric(self) -> Metric:
        """A test split's metric: scores at the thresholds the validation chose."""
        return MultiLabelMetrics(self.class_names)

    def validation_metric(self) -> Metric:
        """The validation split's metric: it chooses the thresholds whenever it is computed, so each checkpoint
        holds those of its own weights."""
        return MultiLabelMetrics(self.class_names, choose=self.choose_thresholds)

    def choose_thresholds(self, probabilities: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
        """Set the thresholds to those chosen on a validation split's outputs ``(N, L)``, and return them."""
        chosen = choose_thresholds(probabilities, reference)
        with torch.no_grad():
            self.thresholds.copy_(chosen.to(self.thresholds))
        return chosen.float()

    def update(self, metric: Metric, outputs: torch.Tensor, target: torch.Tensor, index: torch.Tensor) -> None:
        metric.update(self.probabilities(outputs), target, self.thresholds)

    # ------------------------------------------------------------------ predictions
    def exported(self, outputs: torch.Tensor) -> torch.Tensor:
        return self.probabilities(outputs)

    def prediction_columns(self, exported: np.ndarray) -> dict[str, list[str]]:
        """``predicted`` (the claimed set, ``quartz;calcite`` or ``-``) and ``p(<label>)`` per label."""
        probabilities = np.asarray(exported, dtype=np.float64).reshape(len(exported), -1)
        held = probabilities >= self.thresholds.detach().cpu().double().numpy()
        columns = {"predicted": [joined(self.class_names, row) for row in held]}
        for j, name in enumerate(self.class_names):
            columns[f"p({name})"] = [f"{v:.6f}" for v in probabilities[:, j]]
        return columns

    # ------------------------------------------------------------------ attribution
    def attribution_score(self, outputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Per row, the logit of label ``target[i]``: positive map values mark regions that make that label
        likelier, whatever the others do (the labels are independent: nothing to contrast with)."""
        one_hot = F.one_hot(target.to(outputs.device).long(), outputs.shape[1]).to(outputs.dtype)
        return (outputs * one_hot).sum(dim=1)  # not gather: its backward is deterministic on every device

    def default_attribution_target(self, outputs: torch.Tensor) -> torch.Tensor:
        return outputs.detach().argmax(dim=1)  # the most probable label

    def deletion_score(self, outputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.attribution_score(outputs, target))  # the explained label's probability

    def importance_objective(self, outputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The training loss where ``target`` are label sets ``(N, L)`` (the classifier's objective), else the
        mean logit of the label each row names (``(N,)``)."""
        if target.dim() == 2:
            return self.loss(outputs, target)
        return self.attribution_score(outputs, target).mean()

    def importance_outputs(self) -> dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]]:
        """One objective per label, its term of the training loss: the labels answer separate questions, and one
        loss over all of them mixes where each is read (the terms' mean is that loss)."""
        return {name: partial(self.label_loss, j) for j, name in enumerate(self.class_names)}

    def label_loss(self, label: int, outputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The binary cross-entropy of label ``label``'s logit against the label sets ``(N, L)``, mean over the
        spectra."""
        reference = target.reshape(outputs.shape)[:, label].to(outputs.dtype)
        return F.binary_cross_entropy_with_logits(outputs[:, label], reference)

    def importance_targets(self, labels: torch.Tensor, predicted: Callable[[], torch.Tensor]) -> torch.Tensor:
        """The label sets if every spectrum has one, else the sets the model claims."""
        if len(labels) and self.known(labels):
            return labels
        return self.predict_labels(predicted()).to(labels.device)

    def labelled_attribution_target(self, labels: torch.Tensor, predicted: Callable[[], torch.Tensor]) -> torch.Tensor:
        """Per spectrum, the most probable of the labels it holds; the most probable label where it holds none
        or its set is unknown."""
        outputs = predicted().detach().to(labels.device)
        held = labels.reshape(outputs.shape) > 0
        among_held = outputs.masked_fill(~held, float("-inf")).argmax(dim=1)
        return torch.where(held.any(dim=1), among_held, outputs.argmax(dim=1))

    def attribution_groups(
        self, outputs: torch.Tensor, explained: torch.Tensor, labels: torch.Tensor, target: str, ranges: int
    ) -> Groups:
        """Spectra grouped by the label their map explains; a spectrum whose claimed set differs from its
        reference set is flagged (``misclassified``)."""
        names = self.class_names
        probabilities = self.probabilities(outputs.detach()).float().cpu().numpy()
        predicted = self.predict_labels(outputs.detach()).cpu().numpy()
        reference = labels.detach().cpu().numpy().reshape(predicted.shape)
        explained_np = explained.detach().cpu().numpy().astype(np.int64)
        known = (reference >= 0).all(axis=1)
        wrong = known & (predicted != reference).any(axis=1)
        titles = [
            (f" | labels: {joined(names, reference[i])}" if known[i] else "")
            + f" | predicted: {joined(names, predicted[i])}"
            + (" | WRONG SET" if wrong[i] else "")
            + f" | map explains '{names[k]}' (p = {probabilities[i, k]:.3f})"
            for i, k in enumerate(explained_np)
        ]
        # the other-class-mean reference of a map of label k: spectra grouped by their explained label
        return Groups(
            kind="class",
            index=explained_np,
            names=names,
            titles=titles,
            explains="label" if target == "label" else "prediction",
            grouped_by="labelled" if target == "label" else "predicted",
            score="probability of the explained label",
            reference_classes=torch.as_tensor(explained_np),
            misclassified=wrong,
        )

    def reference_groups(self, labels: np.ndarray) -> tuple[np.ndarray, list[str]]:
        """One group per label set that occurs (``quartz;calcite``), ``unlabelled`` for unknown sets."""
        rows = np.asarray(labels).reshape(len(labels), -1)
        sets = [joined(self.class_names, row) if (row >= 0).all() else "unlabelled" for row in rows]
        names = sorted(set(sets))
        lookup = {name: g for g, name in enumerate(names)}
        return np.asarray([lookup[s] for s in sets], dtype=np.int64), names

    # ------------------------------------------------------------------ the run's report
    def summary_fields(self) -> tuple[SummaryField, ...]:
        return (
            ("macro_f1", "macro F1 (test)", "{:.3f}"),
            ("subset_accuracy", "subset accuracy: exact sets (test)", "{:.2%}"),
            ("hamming_loss", "Hamming loss (test)", "{:.4f}"),
            ("thresholds", "per-label thresholds (chosen on validation)", "{}"),
        )

    @classmethod
    def cross_validation_columns(cls) -> tuple[SummaryField, ...]:
        return (
            ("macro_f1", "macro F1", "{:.3f}"),
            ("subset_accuracy", "subset accuracy", "{:.1%}"),
            ("hamming_loss", "Hamming loss", "{:.4f}"),
        )

    @classmethod
    def cross_validation_scores(cls, summary: dict[str, Any]) -> dict[str, float | None]:
        """The columns' and metrics' numbers, and every label's test precision, recall and F1 (``test_f1_<label>``):
        a cross-validation then reports each label's mean and spread over the folds."""
        per_label = {k: v for k, v in summary.items() if k.startswith(("test_precision_", "test_recall_", "test_f1_"))}
        return super().cross_validation_scores(summary) | per_label

    def test_outputs(self, trainer: L.Trainer, model: L.LightningModule) -> dict:
        """Per-label precision, recall, F1 and support, macro F1, subset accuracy and Hamming loss of the test that
        just ran, at the model's thresholds, and the thresholds themselves.

        Summary entries: ``test_precision_<label>``, ``test_recall_<label>``, ``test_f1_<label>``,
        ``test_support_<label>``, ``test_macro_f1``, ``test_subset_accuracy``, ``test_hamming_loss``,
        ``threshold_<label>`` and ``thresholds`` (``label=0.35, ...``); none when no test ran or no test spectrum
        has a label. Rank zero.
        """
        outputs = getattr(getattr(model, "test_series", None), "last_outputs", None)
        if outputs is None:
            return {}
        probabilities, reference = outputs
        scores = multilabel_scores(claimed(probabilities, self.thresholds.cpu()), reference)
        if scores is None:
            return {}
        thresholds = self.thresholds.cpu().tolist()
        return (
            scores.summary(self.class_names, "test")
            | {f"threshold_{name}": round(t, 4) for name, t in zip(self.class_names, thresholds, strict=True)}
            | {"thresholds": ", ".join(f"{n}={t:.2f}" for n, t in zip(self.class_names, thresholds, strict=True))}
        )

    # ------------------------------------------------------------------ export
    def export_description(self) -> dict[str, Any]:
        return {
            "output_name": self.output_name,
            "names": {"class_names": self.class_names},
            "post_processing": "sigmoid to per-label probabilities; a label is present at or above its threshold "
            f"({', '.join(f'{n} {t:.2f}' for n, t in zip(self.class_names, self.thresholds.tolist(), strict=True))})",
            "output": "probabilities (N, L), one per label, independent",
        }
