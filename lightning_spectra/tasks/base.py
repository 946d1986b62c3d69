"""What a task is: the one object that knows what a model's outputs mean.

Every model builds its head with ``task.out_features`` outputs and returns them from ``forward``; the task turns
them into everything else. The rest of the package asks the task and never which task it is:

- training: :meth:`Task.loss`, :meth:`Task.train_metrics`, :meth:`Task.known` (new spectra have no target);
- evaluation: :meth:`Task.evaluation_metric` and :meth:`Task.update`, the split's metric;
- predictions: :meth:`Task.predictions` (probabilities, or values in the targets' units);
- attribution: :meth:`Task.attribution_score` (the number a map explains), :meth:`Task.default_attribution_target`,
  :meth:`Task.deletion_score`, :meth:`Task.importance_objective`, :meth:`Task.attribution_groups` and
  :meth:`Task.reference_groups` (how spectra are grouped for the figures);
- the run's report: :meth:`Task.summary_fields`, :meth:`Task.versus_baselines` and :meth:`Task.fit_outputs`
  (the classical baselines and figures a fit ends with).

The data describe their targets once, as :class:`Targets`; the task is chosen from it
(:func:`lightning_spectra.tasks.task_for`). See docs/tasks.md for adding a task.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch
from torch import nn
from torchmetrics import Metric

if TYPE_CHECKING:
    import lightning.pytorch as L

    from lightning_spectra.interpret.groups import Groups

#: A summary line: the summary.json key, its label and its format.
SummaryField = tuple[str, str, str]


@dataclass(frozen=True)
class Targets:
    """What a model learns, as its datamodule describes it: the one fact handed from the data to the model.

    Attributes:
        kind: the task's name (``classification``, ``regression``), which chooses the :class:`Task` class.
        names: the class names, or the target names (one output each).
        mean, scale: per-target mean and standard deviation of the training split, for tasks that standardise
            their targets (``None`` otherwise).
    """

    kind: str = "classification"
    names: tuple[str, ...] = ("0", "1")
    mean: tuple[float, ...] | None = None
    scale: tuple[float, ...] | None = None

    def __post_init__(self) -> None:  # lists from a config or a checkpoint become tuples: frozen means frozen
        object.__setattr__(self, "names", tuple(str(n) for n in self.names))
        for field in ("mean", "scale"):
            if (values := getattr(self, field)) is not None:
                object.__setattr__(self, field, tuple(float(v) for v in values))

    @classmethod
    def classes(cls, classes: int | Sequence[str]) -> Targets:
        """``classes`` classes (named ``0``, ``1``, ... for a count)."""
        names = [str(i) for i in range(classes)] if isinstance(classes, int) else list(classes)
        return cls("classification", tuple(names))

    @classmethod
    def values(
        cls, names: Sequence[str], mean: Sequence[float] | None = None, scale: Sequence[float] | None = None
    ) -> Targets:
        """Numeric targets ``names`` with the training split's ``mean`` and ``scale`` (``None``: 0 and 1)."""
        return cls("regression", tuple(names), mean, scale)

    @classmethod
    def of(cls, value: Targets | dict[str, Any] | None) -> Targets:
        """``value`` as :class:`Targets`: a dict is how checkpoints and hparams.yaml keep it; ``None``, two classes."""
        if value is None:
            return cls()
        return value if isinstance(value, Targets) else cls(**value)

    def as_dict(self) -> dict[str, Any]:
        """Plain lists and strings: what a checkpoint can hold and ``torch.load(weights_only=True)`` reads."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}


class Task(nn.Module):
    """What a model's outputs mean. A task is an ``nn.Module`` so that what it learns from the data (a
    regressor's target statistics) is saved with the weights as buffers.

    A subclass sets :attr:`name` (the :attr:`Targets.kind` it serves) and implements the methods below; the
    model and every callback call them and nothing else.
    """

    name: ClassVar[str]
    #: Whether training may run in bf16 autocast on CPUs measured faster in it (runtime/precision.py).
    trains_in_bf16: ClassVar[bool]
    #: Whether a model that scores parts of a spectrum (BinnedFCNN's rows) combines them by vote (else by mean).
    combines_parts_by_vote: ClassVar[bool]
    #: The summary.json key of the test score (``accuracy``, ``rmse``): a cross-validation's folds are of the
    #: task whose score they report.
    score_key: ClassVar[str]
    #: The columns of a cross-validation's table: (summary key, header, format).
    cross_validation_columns: ClassVar[tuple[SummaryField, ...]]
    #: Whether a fit also fits a classical calibration the model carries and blends with (regression:
    #: :mod:`lightning_spectra.classical.attachment`).
    carries_classical: ClassVar[bool] = False
    #: Outputs of the model's head.
    out_features: int

    def __init__(self, targets: Targets) -> None:
        super().__init__()
        self.targets = targets

    @classmethod
    def build(cls, targets: Targets, **settings: Any) -> Task:
        """The task for ``targets`` with the model's task ``settings`` (those that do not apply are ignored)."""
        return cls(targets)

    @classmethod
    def earlier_targets(cls, hparams: dict[str, Any]) -> Targets:
        """The targets of a model saved by an earlier release, from its hyper-parameters (which held the names
        and statistics one by one; see :func:`lightning_spectra.runs.checkpoint.current_hparams`)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ names
    @property
    def class_names(self) -> list[str]:
        """Names of the classes the outputs score (none for a task without classes)."""
        return []

    @property
    def target_names(self) -> list[str]:
        """Names of the values the outputs predict (none for a task without values)."""
        return []

    def input_normalization(self, model_default: str) -> str:
        """The model's input normalisation when its config leaves it unset (``model_default``: the paper's)."""
        return model_default

    # ------------------------------------------------------------------ training and evaluation
    def loss(self, outputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def known(self, target: torch.Tensor) -> bool:
        """Whether every target of a batch is known (new spectra carry a placeholder)."""
        raise NotImplementedError

    def train_metrics(self, outputs: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
        """Metrics logged per training epoch as ``train/<name>``."""
        raise NotImplementedError

    def evaluation_metric(self) -> Metric:
        """A fresh metric of a validation or test split (its ``compute()`` gives ``<stage>/<name>`` values)."""
        raise NotImplementedError

    def update(self, metric: Metric, outputs: torch.Tensor, target: torch.Tensor, index: torch.Tensor) -> None:
        """Feed one batch (``index``: the spectra's positions in the series) to :meth:`evaluation_metric`'s."""
        raise NotImplementedError

    def predictions(self, outputs: torch.Tensor) -> dict[str, torch.Tensor]:
        """What ``predict`` returns per batch besides the positions and targets."""
        raise NotImplementedError

    def exported(self, outputs: torch.Tensor) -> torch.Tensor:
        """The outputs as the predictions' tensor ``(N, C or T)``: what an exported model returns."""
        raise NotImplementedError

    # ------------------------------------------------------------------ attribution
    def attribution_score(self, outputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The number per row ``(N,)`` that Grad-CAM and Integrated Gradients explain, for output ``target``."""
        raise NotImplementedError

    def default_attribution_target(self, outputs: torch.Tensor) -> torch.Tensor:
        """What a map explains ``(N,)`` when the caller names nothing."""
        raise NotImplementedError

    def deletion_score(self, outputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """What the deletion curve follows per row as the most attributed regions are replaced."""
        raise NotImplementedError

    #: The name of :meth:`deletion_score` in the faithfulness results (``<name>_before``...).
    deletion_score_name: ClassVar[str]

    def importance_objective(self, outputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The scalar whose input gradient is the feature importance."""
        raise NotImplementedError

    def importance_targets(self, labels: torch.Tensor, predicted: Callable[[], torch.Tensor]) -> torch.Tensor:
        """The targets input-gradient importance is computed for (``predicted()``: the model's outputs)."""
        raise NotImplementedError

    def labelled_attribution_target(self, labels: torch.Tensor, predicted: Callable[[], torch.Tensor]) -> torch.Tensor:
        """What each map explains when maps follow the labels (``predicted()``: the model's outputs)."""
        raise NotImplementedError

    def attribution_groups(
        self, outputs: torch.Tensor, explained: torch.Tensor, labels: torch.Tensor, target: str, ranges: int
    ) -> Groups:
        """How the attribution figures group and describe the spectra of a split."""
        raise NotImplementedError

    def reference_groups(self, labels: np.ndarray) -> tuple[np.ndarray, list[str]]:
        """Group of every spectrum ``(N,)`` and the groups' names, for the mean spectra drawn under a map."""
        raise NotImplementedError

    # ------------------------------------------------------------------ the run's report
    def summary_fields(self) -> tuple[SummaryField, ...]:
        """The task's lines of the printed run summary, in order."""
        raise NotImplementedError

    def versus_baselines(self, summary: dict[str, Any]) -> dict[str, str]:
        """The line that sets the network's test score beside the classical baselines' (empty without them)."""
        raise NotImplementedError

    def fit_outputs(self, trainer: L.Trainer, model: L.LightningModule, datamodule: L.LightningDataModule) -> dict:
        """What a fit ends with after the test (classical baselines, figures): summary entries. Rank zero."""
        raise NotImplementedError

    def test_outputs(self, trainer: L.Trainer, model: L.LightningModule) -> dict:
        """What a ``test`` run ends with (figures and scores of the test that just ran): summary entries; none by
        default. Rank zero."""
        return {}

    # ------------------------------------------------------------------ export
    def export_description(self) -> dict[str, Any]:
        """The task's entries of an exported model's description: ``output_name`` (of the exported graph's
        output), ``names`` (class or target names by key), ``post_processing`` and ``output`` (in words)."""
        raise NotImplementedError
