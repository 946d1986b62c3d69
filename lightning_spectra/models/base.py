"""The shared LightningModule: loss, optimiser, metrics and predict logic for every spectrum model.

A model subclasses :class:`SpectraModel` (alias :class:`SpectraClassifier`, the name configs and checkpoints
use), builds its layers in ``__init__`` from ``self.spectrum_length`` and ``self.out_features`` and implements
``forward(x) -> outputs``. What the outputs mean is the business of ``self.task``
(:mod:`lightning_spectra.tasks`), chosen from the data's :class:`~lightning_spectra.tasks.base.Targets`:
classes (one logit for two classes, the paper's single sigmoid output; ``C`` logits for ``C > 2``) or values
(one standardised value per target). So every architecture is a classifier or a regressor without code of its
own for either.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Literal, Self

import lightning.pytorch as L
import torch
from torch import nn
from torch.optim.swa_utils import update_bn
from torch.utils.data import DataLoader
from torchmetrics import Metric

from lightning_spectra.classical import attachment
from lightning_spectra.classical.preparations import PREPARATIONS, Preparation
from lightning_spectra.data.base import SpectraDataModule
from lightning_spectra.errors import SpectraConfigError
from lightning_spectra.models.feature_norms import restore_stored_norms
from lightning_spectra.tasks import Targets, Task, task_for
from lightning_spectra.tasks.regression import RegressionLoss

Batch = tuple[torch.Tensor, torch.Tensor, torch.Tensor]  # spectra (B, L), labels (B,) or targets (B, T), positions
InputNormalization = Literal["layer", "none", "point"]
INPUT_NORMALIZATIONS = ("layer", "none", "point")
#: What a model takes from its datamodule: the spectra's length and x axis, and the description of the targets
#: (:class:`~lightning_spectra.tasks.base.Targets`). The CLI links these from ``data`` into ``model``;
#: :meth:`SpectraModel.from_datamodule` reads them in Python.
DATAMODULE_FACTS = ("spectrum_length", "x_axis", "targets")
#: Spectra per network pass in ``predict`` for models that see each spectrum on its own. A whole file in one
#: pass holds every layer's activations for all of it at once (10,560 spectra of 4023 points: 11 GB for the
#: CNN's first layer alone) and runs slower than passes that stay in the CPU's caches: 128 took 0.62x the time
#: of one pass over 3,520 spectra for eager PyTorch and 0.53x for ONNX Runtime (BENCHMARKS.md, "predict").
PREDICT_CHUNK = 128


class SpectraModel(L.LightningModule):
    """Base model for spectra of shape ``(batch, spectrum_length)``: a classifier or a regressor.

    Args:
        spectrum_length: points per spectrum (linked from the datamodule by the CLI).
        targets: what the model learns (linked from the datamodule): classes and their names, or target names
            and the training split's per-target mean and scale (outputs are then standardised values,
            restored to the targets' units in every output). Default: two classes.
        lr: Adam learning rate (paper: 2e-3).
        weight_decay: Adam L2 weight decay (paper: 2e-5).
        x_axis: the spectra's x values (2 theta, wavenumber); kept in the checkpoint so figures and
            predictions can be drawn and checked on the right axis.
        optimizer: ``adam`` (the paper's, L2 weight decay) or ``adamw`` (decoupled weight decay).
        lr_schedule: ``none`` (the paper's constant rate), ``cosine`` (to 0 over ``max_epochs``) or ``plateau``
            (halve the rate when ``val/loss`` stalls for 10 epochs).
        regression_loss: ``mse`` or ``huber`` (on standardised targets).
        huber_delta: where Huber's loss turns linear, in standard deviations of the target.
        input_normalization: what the model does to each spectrum first: ``layer`` (a LayerNorm over the
            points of each spectrum, the paper's choice: right for phase classification under a drifting beam),
            ``none`` (the spectra as the datamodule prepared them: a regressor needs their absolute level), or
            ``point`` (each point standardised by statistics learned over the training spectra, a BatchNorm
            over points). Default (``None``): the task's choice (:meth:`Task.input_normalization
            <lightning_spectra.tasks.base.Task.input_normalization>`): the class's
            :attr:`default_input_normalization` for a classifier, ``none`` for a regressor.
        input_preparation: ``raw``, or a preprocessing the network applies to its input itself, before
            ``input_normalization``: ``snv``, ``sg1`` (Savitzky-Golay first derivative, window 15, order 2) or
            ``sg1_snv``. The regression recipe's: the network reads ``sg1_snv`` of the raw spectra while the
            classical calibration beside it chooses its own preprocessing of the same raw spectra.
        classical_blend: a regressor carries the classical calibration fitted on the training split and predicts
            its blend with the network, the share chosen on validation (docs/classical.md); ``false``: the
            network alone (the classical models are still fitted and printed beside it).
    """

    #: Submodule whose output (batch, channels, positions) Grad-CAM reads; ``"input"`` for the spectrum itself
    #: (gradient x input) when no layer keeps positions along the spectrum.
    attribution_layer: str | None = None
    #: The map the GradCAM callback draws first, chosen per model class by measured faithfulness (deletion gap
    #: and share on the known peaks of the simulated ramp, BENCHMARKS.md "Attribution"): ``"integrated_gradients"``
    #: (against the other class's mean) or ``"gradcam"`` (1D Grad-CAM at ``attribution_layer``).
    default_map: ClassVar[str] = "integrated_gradients"
    #: The input normalisation of the paper's version of this model (``input_normalization`` unset, classifier).
    default_input_normalization: InputNormalization = "layer"
    #: What ``predict_step`` asks for the logits instead of ``self(x)``: the network exported to ONNX Runtime
    #: while one ``predict`` runs (:mod:`lightning_spectra.callbacks.onnx_predictions`), else None.
    predict_logits: Callable[[torch.Tensor], torch.Tensor] | None = None
    #: Trains in bf16 autocast on CPUs with native bf16 when the config leaves the precision unset: measured
    #: faster there with the same result (BENCHMARKS.md, "Precision per model"); see runtime/precision.py.
    cpu_bf16: bool = False
    # What reports, benchmarks and tests read about each model, kept with its class so a new model needs no list
    # elsewhere (lightning_spectra/models/registry.py finds the classes).
    #: The model's name in tables and figures.
    label: ClassVar[str] = ""
    #: The shortest spectrum the model takes with its default settings; shorter ones are refused while it is
    #: built, naming this length. ``None``: any length works.
    minimum_length: ClassVar[int | None] = None
    #: ``(settings, trainable parameters at 4023 points)`` pairs: the paper's count and this project's variants.
    parameter_counts: ClassVar[tuple[tuple[dict[str, Any], int], ...]] = ()
    #: The paper's training time (seconds on an NVIDIA P100), epochs and boundary on the real data; ``None``
    #: where the paper gives none.
    paper_train_time_s: ClassVar[float | None] = None
    paper_epochs: ClassVar[int | None] = None
    paper_boundary: ClassVar[int | None] = None
    #: The model's place in the paper's comparison (its order of the models in tables); ``None``: not in the paper.
    paper_order: ClassVar[int | None] = None
    #: Whether a regressor's evaluation outputs blend the network with the run's classical calibration
    #: (:mod:`lightning_spectra.classical.attachment`); a model that is the classical calibration says False.
    blends_with_classical: ClassVar[bool] = True
    #: Whether ``fit`` trains the model by gradient steps (a fit with none is refused); False for a calibration
    #: fitted in closed form.
    trains_by_gradient: ClassVar[bool] = True
    #: Settings of a small version that learns the tests' toy sets in seconds on a CPU (aeon's
    #: ``get_test_params``): layer sizes, and the rate and rules that version needs.
    tiny_arguments: ClassVar[dict[str, Any]] = {}

    def __init__(
        self,
        spectrum_length: int = 4023,
        targets: Targets | None = None,
        lr: float = 2e-3,
        weight_decay: float = 2e-5,
        x_axis: Sequence[float] | None = None,
        optimizer: str = "adam",
        lr_schedule: str = "none",
        regression_loss: RegressionLoss = "mse",
        huber_delta: float = 1.0,
        input_normalization: InputNormalization | None = None,
        classical_blend: bool = True,
        input_preparation: str = "raw",
    ) -> None:
        super().__init__()
        if optimizer not in ("adam", "adamw") or lr_schedule not in ("none", "cosine", "plateau"):
            raise SpectraConfigError(
                f"optimizer adam|adamw and lr_schedule none|cosine|plateau; got {optimizer}, {lr_schedule}"
            )
        if not lr > 0:  # Adam would refuse it only when fit starts, with a traceback
            raise SpectraConfigError(f"model.init_args.lr must be above 0, got {lr}")
        if not weight_decay >= 0:
            raise SpectraConfigError(f"model.init_args.weight_decay must be 0 or more, got {weight_decay}")
        targets = Targets.of(targets)
        self.save_hyperparameters(ignore=["x_axis"])
        # Plain lists in the checkpoint, which torch.load(weights_only=True) reads without importing Targets.
        self.hparams["targets"] = self._hparams_initial["targets"] = targets.as_dict()
        self.spectrum_length = spectrum_length
        self.task: Task = task_for(targets, regression_loss=regression_loss, huber_delta=huber_delta)
        self.class_names, self.target_names = self.task.class_names, self.task.target_names
        self.num_classes = len(self.class_names)
        self.out_features = self.task.out_features
        if input_normalization is None:
            input_normalization = self.task.input_normalization(self.default_input_normalization)
        if input_normalization not in INPUT_NORMALIZATIONS:
            raise SpectraConfigError(
                f"model.init_args.input_normalization must be one of {', '.join(INPUT_NORMALIZATIONS)}; "
                f"got {input_normalization!r}"
            )
        self.input_normalization = input_normalization
        axis = torch.as_tensor(x_axis if x_axis is not None else range(spectrum_length), dtype=torch.float64)
        self.register_buffer("x_axis", axis, persistent=True)
        self.val_series = self.task.validation_metric()
        self.test_series = self.task.evaluation_metric()
        self.register_forward_pre_hook(_spectra_input)
        # A regressor's classical calibration becomes the submodule ``classical`` when a fit starts (no class
        # attribute: it would hide the submodule from nn.Module's lookup).
        self.classical_blend = classical_blend

        if input_preparation not in PREPARATIONS:
            raise SpectraConfigError(
                f"model.init_args.input_preparation must be one of {', '.join(PREPARATIONS)}; got {input_preparation!r}"
            )
        self.input_preparation = input_preparation
        self.blend_outputs = True  # off while a fit trains and validates: validation picks the network's epoch
        self.register_forward_hook(attachment.blend_outputs)

    @classmethod
    def from_datamodule(cls, datamodule: L.LightningDataModule, **kwargs: Any) -> Self:
        """The model sized for ``datamodule``'s spectra, as the CLI builds it: the :data:`DATAMODULE_FACTS`
        come from the datamodule (which reads its data for them), ``kwargs`` are the model's other settings."""
        if given := sorted(set(kwargs) & set(DATAMODULE_FACTS)):
            raise SpectraConfigError(f"{', '.join(given)}: from_datamodule takes these from the datamodule")
        return cls(**{name: getattr(datamodule, name) for name in DATAMODULE_FACTS}, **kwargs)

    # ------------------------------------------------------------------ model-facing helpers
    @property
    def num_trainable_parameters(self) -> int:
        """Trainable parameters, counted as the paper does (unused layers included)."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The task's loss: BCE/CE on logits, or MSE/Huber on standardised targets."""
        return self.task.loss(logits, target)

    def probabilities(self, logits: torch.Tensor) -> torch.Tensor:
        """Class probabilities ``(B, num_classes)`` from logits (classifiers only)."""
        return self.task.probabilities(logits)

    def predict_labels(self, logits: torch.Tensor) -> torch.Tensor:
        return self.task.predict_labels(logits)

    def predict_values(self, outputs: torch.Tensor) -> torch.Tensor:
        """Predicted target values ``(B, T)`` in the targets' units (regressors only)."""
        return self.task.restore(outputs)

    # ------------------------------------------------------------------ Lightning hooks
    def configure_optimizers(self):
        optimizer_class = torch.optim.AdamW if self.hparams.get("optimizer") == "adamw" else torch.optim.Adam
        optimizer = optimizer_class(self.parameters(), lr=self.hparams.lr, weight_decay=self.hparams.weight_decay)
        schedule = self.hparams.get("lr_schedule", "none")
        if schedule == "cosine":
            epochs = max(int(self.trainer.max_epochs or 1), 1)
            return [optimizer], [torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)]
        if schedule == "plateau":
            plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=10)
            return {"optimizer": optimizer, "lr_scheduler": {"scheduler": plateau, "monitor": "val/loss"}}
        return optimizer

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Give back the norm layers a checkpoint holds where this model has identities (a regressor's feature
        LayerNorms, BatchNorm switched off: :mod:`lightning_spectra.models.feature_norms`), so that a model saved
        with them loads whole and computes what it did. Lightning calls this before ``load_state_dict``, in
        ``load_from_checkpoint`` and when a fit resumes."""
        restore_stored_norms(self, checkpoint.get("state_dict", {}))
        attachment.restore_classical(self, checkpoint.get("state_dict", {}))

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """A regressor's checkpoint holds the network's share of the blend chosen on validation for its weights."""
        attachment.record_blend_weight(self, checkpoint)

    def on_fit_start(self) -> None:
        for logger in self.loggers:  # self.log() is not allowed this early; the count is a one-off anyway
            logger.log_metrics({"trainable_parameters": float(self.num_trainable_parameters)}, step=0)
        attachment.attach_classical(self)  # a regressor's classical calibration, in every checkpoint from now on

    def on_train_start(self) -> None:
        self.blend_outputs = False

    def training_step(self, batch: Batch, batch_idx: int) -> torch.Tensor:
        x, y, _ = batch
        logits = self(x)
        loss = self.loss(logits, y)
        self.log("train/loss", loss, on_step=False, on_epoch=True, prog_bar=True, batch_size=len(y))
        for name, value in self.task.train_metrics(logits, y).items():
            self.log(f"train/{name}", value, on_step=False, on_epoch=True, prog_bar=True, batch_size=len(y))
        return loss

    def _evaluate(self, batch: Batch, stage: str, series: Metric) -> None:
        x, y, index = batch
        logits = self(x)
        if self.task.known(y):
            self.log(f"{stage}/loss", self.loss(logits, y), on_epoch=True, sync_dist=True, batch_size=len(y))
        self.task.update(series, logits, y, index)

    def _log_series(self, stage: str, series: Metric) -> None:
        for name, value in series.compute().items():
            self.log(f"{stage}/{name}", value, prog_bar=name in ("confidence", "rmse"))
        series.reset()

    def refresh_batchnorm(self) -> None:
        """Recompute BatchNorm statistics exactly on the training set ("precise BN") if the weights changed.

        BatchNorm's running averages after a handful of full-batch steps are far from the statistics of the
        final weights, so eval-mode predictions would be poor (the paper sidestepped this by testing in train
        mode). Called before every validation, test and predict epoch and at the end of training (before any
        fit-end callback), so it does not depend on validation running (``--trainer.limit_val_batches 0``).
        Skipped when the weights have not stepped since the last recompute, or when no training data is at
        hand (a model evaluated without a datamodule keeps its stored statistics).
        """
        if not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in self.modules()):
            return
        trainer = self.trainer
        if getattr(self, "_batchnorm_step", None) == trainer.global_step:
            return
        loader = self._ordered_training_batches()
        if loader is not None:
            update_bn(loader, self, device=self.device)
            self._batchnorm_step = trainer.global_step

    def _ordered_training_batches(self) -> DataLoader | None:
        """The training set in its stored order (batches as in training), for :meth:`refresh_batchnorm`.

        Not the training loader itself: that one shuffles (and may augment), so the statistics, and every
        evaluation after them, would change from one call to the next. ``None`` without training spectra
        (``predict`` from a checkpoint): the stored statistics are then the right ones, and ``update_bn`` over
        no batch would reset them.
        """
        datamodule = self.trainer.datamodule
        if not isinstance(datamodule, SpectraDataModule):  # plain dataloaders: no training set to go through
            return None
        train = datamodule.splits.train
        if len(train) == 0:
            return None
        batch_size = datamodule.batch_size or len(train)
        return DataLoader(train, batch_size=batch_size, shuffle=False, collate_fn=_as_is)

    def on_validation_epoch_start(self) -> None:
        self.refresh_batchnorm()

    def on_test_epoch_start(self) -> None:
        self.refresh_batchnorm()

    def on_predict_epoch_start(self) -> None:
        self.refresh_batchnorm()

    def on_train_end(self) -> None:
        self.refresh_batchnorm()
        self.blend_outputs = True

    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        self._evaluate(batch, "val", self.val_series)

    def on_validation_epoch_end(self) -> None:
        self._log_series("val", self.val_series)

    def test_step(self, batch: Batch, batch_idx: int) -> None:
        self._evaluate(batch, "test", self.test_series)

    def on_test_epoch_end(self) -> None:
        self._log_series("test", self.test_series)

    def prediction_outputs(self, x: torch.Tensor) -> torch.Tensor:
        """The network's outputs for spectra ``x`` as ``predict`` computes them: ``PREDICT_CHUNK`` spectra at a
        time where spectra are independent, through ``predict_logits`` where an engine replaced the network."""
        network = self if self.predict_logits is None else self.predict_logits
        if getattr(self, "eval_sequence", "independent") == "independent":
            return torch.cat([network(part).to(x.device) for part in x.split(PREDICT_CHUNK)])
        return network(x).to(x.device)  # attention over the whole batch: the batch is the sequence, kept whole

    def predict_step(self, batch: Batch, batch_idx: int, dataloader_idx: int = 0) -> dict[str, torch.Tensor]:
        x, y, index = batch
        return {"index": index, **self.task.predictions(self.prediction_outputs(x)), "target": y}


SpectraClassifier = SpectraModel  # the name configs, checkpoints and subclasses have always used


def require_length(model: str, spectrum_length: int, output_length: Callable[[int], int]) -> None:
    """Refuse spectra too short for a model whose layers shrink them to ``output_length(n)`` positions,
    naming the shortest length that works (found by trying lengths upwards: the layers are cheap to count)."""
    if output_length(spectrum_length) >= 1:
        return
    minimum = next((n for n in range(spectrum_length + 1, 1_000_000) if output_length(n) >= 1), None)
    raise SpectraConfigError(
        f"spectra of {spectrum_length} points are too short for the {model}; it needs at least {minimum}"
    )


def input_norm(kind: InputNormalization, length: int, preparation: str = "raw") -> nn.Module:
    """The layers a model applies to its input spectra ``(B, length)`` first: ``preparation`` (see
    ``input_preparation``; none for ``raw``, so the paper's state-dict keys stay), then ``input_normalization``."""
    if kind == "layer":
        norm: nn.Module = nn.LayerNorm(length)
    elif kind == "point":
        norm = nn.BatchNorm1d(length)  # (B, L) input: every point is a "channel" with its own statistics
    else:
        norm = nn.Identity()
    if preparation == "raw":
        return norm

    return nn.Sequential(PreparedInput(Preparation(preparation, length)), norm)


class PreparedInput(nn.Module):
    """A float64 :class:`~lightning_spectra.classical.preparations.Preparation` on a float32 network's input."""

    def __init__(self, preparation: nn.Module) -> None:
        super().__init__()
        self.preparation = preparation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.preparation(x.to(torch.float64)).to(x.dtype)


def _spectra_input(model: SpectraModel, args: tuple) -> tuple | None:
    """Forward pre-hook of every model: spectra ``(N, L)``, or ``(N, 1, L)`` (one channel, as tsai and aeon lay
    them out) taken as ``(N, L)``. Another shape, or ``L`` other than the model's ``spectrum_length``, is one
    line naming both, instead of a shape error from deep inside the first layer."""
    x = args[0] if args else None
    if not isinstance(x, torch.Tensor):
        return None
    name, length = type(model).__name__, model.spectrum_length
    if x.dim() == 3 and x.shape[1] == 1:
        x = x[:, 0]
    if x.dim() != 2:
        raise SpectraConfigError(
            f"{name} takes spectra of shape (N, {length}) or (N, 1, {length}); got {tuple(x.shape)}"
        )
    if x.shape[1] != length:
        raise SpectraConfigError(
            f"{name} was built for spectra of {length} points but got {x.shape[1]} (input of shape "
            f"{tuple(args[0].shape)}); build it with {name}.from_datamodule(datamodule) or {name}(spectrum_length="
            f"{x.shape[1]}, ...)"
        )
    return None if x is args[0] else (x, *args[1:])


def _as_is(batch):  # InMemorySpectra hands over whole batches already (its __getitems__)
    return batch


def init_normal_(module: nn.Module, std: float = 0.05) -> None:
    """The paper's init for conv models: Conv1d and Linear weights ~ N(0, std); biases keep their defaults."""
    for m in module.modules():
        if isinstance(m, nn.Conv1d | nn.Linear):
            nn.init.normal_(m.weight, 0.0, std)
