"""What a task is: the one object that knows what a model's outputs mean.

Every model builds its head with ``task.out_features`` outputs and returns them from ``forward``; the task turns
them into everything else. The rest of the package asks the task and never which task it is:

- training: :meth:`Task.loss`, :meth:`Task.train_metrics`, :meth:`Task.known` (new spectra have no target);
- evaluation: :meth:`Task.evaluation_metric` and :meth:`Task.update`, the split's metric;
- predictions: :meth:`Task.predictions` (probabilities, or values in the targets' units);
- attribution: :meth:`Task.attribution_score` (the number a map explains), :meth:`Task.default_attribution_target`,
  :meth:`Task.deletion_score`, :meth:`Task.importance_objective` (per output: :meth:`Task.importance_outputs`),
  :meth:`Task.attribution_groups` and :meth:`Task.reference_groups` (how spectra are grouped for the figures);
- the run's report: :meth:`Task.summary_fields`, :meth:`Task.versus_baselines` and :meth:`Task.fit_outputs`
  (the classical baselines and figures a fit ends with).

The data describe their targets once, as :class:`Targets`; the task is chosen from it
(:func:`lightning_spectra.tasks.task_for`). See docs/tasks.md for adding a task.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np
import torch
from torch import nn
from torchmetrics import Metric

from lightning_spectra.interpret.groups import Groups, output_groups

if TYPE_CHECKING:
    import lightning.pytorch as L

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


#: Every task by its name: what :attr:`Targets.kind` and the datamodules' ``task`` option say. A subclass of
#: :class:`Task` that sets ``name`` enters it when it is defined.
TASKS: dict[str, type[Task]] = {}

#: Whether a larger value of a metric is better (``max``), a smaller (``min``), or neither (``None``: a fact such as
#: the series' boundary, reported but never optimised).
Direction = Literal["max", "min"] | None


class Task(nn.Module, ABC):
    """What a model's outputs mean. A task is an ``nn.Module`` so that what it learns from the data (a
    regressor's target statistics, a multi-label model's thresholds) is saved with the weights as buffers.

    A subclass sets the class facts :attr:`name`, :attr:`metrics` and :attr:`score_key`, and implements the
    eight abstract methods: :meth:`loss`, :meth:`known`, :meth:`evaluation_metric`, :meth:`update`,
    :meth:`exported`, :meth:`prediction_columns`, :meth:`attribution_score` and
    :meth:`default_attribution_target`. Everything else (training metrics, figures' groups, the run's report,
    export) has a default built from those. Defining a subclass registers it under its :attr:`name`
    (:data:`lightning_spectra.tasks.TASKS`); the datamodules' ``task`` option then accepts the name.
    """

    name: ClassVar[str]
    #: The metrics an evaluated split reports (``val/<name>``, ``test/<name>``, and the test's in summary.json
    #: without prefix), each with its direction: W&B summaries, sweep checks, the Timing callback's monitor and
    #: cross-validation read them here.
    metrics: ClassVar[dict[str, Direction]]
    #: The metric that scores a model (cross-validation's folds, the default monitor of the Timing callback).
    score_key: ClassVar[str]
    #: The best value :attr:`score_key` can take (an accuracy's 1.0), the default target of the Timing callback's
    #: epochs-to-target; ``None`` for a score without one (an RMSE).
    perfect_score: ClassVar[float | None] = None
    #: The metric that scores an ordered series when the data are one (a classifier's confidence), else None.
    series_score_key: ClassVar[str | None] = None
    #: What :meth:`exported` returns, as the exported graph's output and the predict step's key.
    output_name: ClassVar[str] = "outputs"
    #: The name of :meth:`deletion_score` in the faithfulness results (``<name>_before``...).
    deletion_score_name: ClassVar[str] = "score"
    #: Whether training may run in bf16 autocast on CPUs measured faster in it (runtime/precision.py).
    trains_in_bf16: ClassVar[bool] = False
    #: Whether a model that scores parts of a spectrum (BinnedFCNN's rows) combines them by vote (else by mean).
    combines_parts_by_vote: ClassVar[bool] = False
    #: Whether a fit also fits a classical calibration the model carries and blends with (regression:
    #: :mod:`lightning_spectra.classical.attachment`).
    carries_classical: ClassVar[bool] = False
    #: Outputs of the model's head.
    out_features: int

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" in cls.__dict__:  # a concrete task: registered by its name (an intermediate base has none)
            TASKS[cls.name] = cls

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
        and statistics one by one; see :func:`lightning_spectra.runs.checkpoint.current_hparams`). A task that
        no earlier release had never meets such a model: its names are all it can take."""
        return Targets(cls.name, tuple(hparams.get("target_names") or hparams.get("class_names") or ()))

    # ------------------------------------------------------------------ names
    @property
    def class_names(self) -> list[str]:
        """Names of the classes (or labels) the outputs score (none for a task without classes)."""
        return []

    @property
    def target_names(self) -> list[str]:
        """Names of the values the outputs predict (none for a task without values)."""
        return []

    def input_normalization(self, model_default: str) -> str:
        """The model's input normalisation when its config leaves it unset (``model_default``: the paper's)."""
        return model_default

    # ------------------------------------------------------------------ training and evaluation
    @abstractmethod
    def loss(self, outputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The training loss of a batch (a scalar)."""

    @abstractmethod
    def known(self, target: torch.Tensor) -> bool:
        """Whether every target of a batch is known (new spectra carry a placeholder)."""

    def train_metrics(self, outputs: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
        """Metrics logged per training epoch as ``train/<name>`` (none by default: the loss is logged anyway)."""
        return {}

    @abstractmethod
    def evaluation_metric(self) -> Metric:
        """A fresh metric of a validation or test split: its ``compute()`` gives ``<stage>/<name>`` values, a
        name of :attr:`metrics` each (per-class or per-target entries may follow as ``<name>[...]``)."""

    def validation_metric(self) -> Metric:
        """The validation split's metric: by default :meth:`evaluation_metric`'s; a task that learns from the
        validation outputs at each evaluation (a multi-label model's thresholds) returns one that does."""
        return self.evaluation_metric()

    @abstractmethod
    def update(self, metric: Metric, outputs: torch.Tensor, target: torch.Tensor, index: torch.Tensor) -> None:
        """Feed one batch (``index``: the spectra's positions in the series) to :meth:`evaluation_metric`'s."""

    # ------------------------------------------------------------------ predictions
    @abstractmethod
    def exported(self, outputs: torch.Tensor) -> torch.Tensor:
        """The outputs as the predictions' tensor ``(N, K)`` (probabilities, values in the targets' units): what
        ``predict`` keeps and an exported model returns."""

    @abstractmethod
    def prediction_columns(self, exported: np.ndarray) -> dict[str, list[str]]:
        """The predictions' columns of ``predictions.csv`` and ``watch`` from :meth:`exported`'s ``(N, K)``
        array (a torch model's or an ONNX graph's): column name -> one formatted cell per spectrum."""

    def predictions(self, outputs: torch.Tensor) -> dict[str, torch.Tensor]:
        """What ``predict`` returns per batch besides the positions and targets."""
        return {self.output_name: self.exported(outputs)}

    def headline(self, columns: dict[str, list[str]]) -> str:
        """A few words on many spectra's predictions (a train of pulses in ``watch``): the first column's most
        common value."""
        first = next(iter(columns.values()), [])
        if not first:
            return "no spectra"
        values, counts = np.unique(np.asarray(first), return_counts=True)
        return f"{next(iter(columns))} {values[counts.argmax()]} ({counts.max()} of {len(first)})"

    # ------------------------------------------------------------------ attribution
    @abstractmethod
    def attribution_score(self, outputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The number per row ``(N,)`` that Grad-CAM and Integrated Gradients explain, for output ``target``."""

    @abstractmethod
    def default_attribution_target(self, outputs: torch.Tensor) -> torch.Tensor:
        """What a map explains ``(N,)`` when the caller names nothing."""

    def deletion_score(self, outputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """What the deletion curve follows per row as the most attributed regions are replaced: by default the
        score the maps explain."""
        return self.attribution_score(outputs, target)

    def importance_objective(self, outputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The scalar whose input gradient is the feature importance: by default the explained scores' sum."""
        return self.attribution_score(outputs, target).sum()

    def importance_outputs(self) -> dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]]:
        """The scalars ``objective(outputs, target)`` whose input gradients feature importance draws, each by the
        output it is of: by default one, :meth:`importance_objective`, named ``""`` (the model as a whole). A task
        whose outputs answer separate questions (a multi-label model's labels) names one per output, and each gets
        its own columns and figures."""
        return {"": self.importance_objective}

    def importance_targets(self, labels: torch.Tensor, predicted: Callable[[], torch.Tensor]) -> torch.Tensor:
        """The targets input-gradient importance is computed for (``predicted()``: the model's outputs): by
        default what the maps explain by default."""
        return self.default_attribution_target(predicted()).to(labels.device)

    def labelled_attribution_target(self, labels: torch.Tensor, predicted: Callable[[], torch.Tensor]) -> torch.Tensor:
        """What each map explains when maps follow the labels (``predicted()``: the model's outputs): by default
        the same as when they follow the predictions."""
        return self.default_attribution_target(predicted()).to(labels.device)

    def attribution_groups(
        self, outputs: torch.Tensor, explained: torch.Tensor, labels: torch.Tensor, target: str, ranges: int
    ) -> Groups:
        """How the attribution figures group and describe the spectra of a split: by default by the output each
        map explains."""
        names = self.class_names or self.target_names or [str(i) for i in range(self.out_features)]
        return output_groups(names, explained, self.deletion_score_name)

    def reference_groups(self, labels: np.ndarray) -> tuple[np.ndarray, list[str]]:
        """Group of every spectrum ``(N,)`` and the groups' names, for the mean spectra drawn under a map: by
        default one group of every spectrum."""
        return np.zeros(len(labels), dtype=np.int64), ["all spectra"]

    # ------------------------------------------------------------------ the run's report
    def summary_fields(self) -> tuple[SummaryField, ...]:
        """The task's lines of the printed run summary, in order: by default its metrics."""
        return tuple((name, f"{name} (test)", "{:.4g}") for name in self.metrics)

    @classmethod
    def cross_validation_columns(cls) -> tuple[SummaryField, ...]:
        """The columns of a cross-validation's table (summary key, header, format): by default the scored
        metrics."""
        return tuple((name, name, "{:.4g}") for name in cls.scored_metrics())

    @classmethod
    def cross_validation_scores(cls, summary: dict[str, Any]) -> dict[str, float | None]:
        """The numbers a cross-validation keeps of a fold's ``summary.json``: by default its columns' and the
        scored metrics'."""
        keys = dict.fromkeys([*(key for key, _, _ in cls.cross_validation_columns()), *cls.scored_metrics()])
        return {key: summary.get(key) for key in keys}

    @classmethod
    def scored_metrics(cls) -> dict[str, str]:
        """The metrics with a direction (``max`` or ``min``): those a run can be judged by."""
        return {name: direction for name, direction in cls.metrics.items() if direction is not None}

    def versus_baselines(self, summary: dict[str, Any]) -> dict[str, str]:
        """The line that sets the network's test score beside the classical baselines' (none by default)."""
        return {}

    def fit_outputs(self, trainer: L.Trainer, model: L.LightningModule, datamodule: L.LightningDataModule) -> dict:
        """What a fit ends with after the test, as numbers: summary entries; by default those of
        :meth:`test_outputs`. The figures and classical baselines need the layers above tasks/ and are the after-fit
        callback's (:mod:`lightning_spectra.callbacks.after_fit`). Rank zero."""
        return self.test_outputs(trainer, model)

    def test_outputs(self, trainer: L.Trainer, model: L.LightningModule) -> dict:
        """What a ``test`` run ends with (scores of the test that just ran): summary entries; none by default. The
        figures drawn from them are the callbacks' (:mod:`lightning_spectra.callbacks.after_fit`). Rank zero."""
        return {}

    # ------------------------------------------------------------------ export
    def export_description(self) -> dict[str, Any]:
        """The task's entries of an exported model's description: ``output_name`` (of the exported graph's
        output), ``names`` (class or target names by key), ``post_processing`` and ``output`` (in words)."""
        return {
            "output_name": self.output_name,
            "names": {"names": list(self.targets.names)},
            "post_processing": f"the {self.name} task's outputs",
            "output": f"{self.output_name} (N, {self.out_features})",
        }
