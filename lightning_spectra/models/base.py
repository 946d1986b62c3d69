"""The shared LightningModule: loss, optimiser, metrics and predict logic for every spectrum classifier.

A classifier subclasses :class:`SpectraClassifier`, builds its layers in ``__init__`` from
``self.spectrum_length`` and ``self.out_features`` and implements ``forward(x) -> logits``. Binary problems
use one logit (the paper's single sigmoid output); ``C > 2`` classes use ``C`` logits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import lightning.pytorch as L
import torch
from torch import nn
from torch.nn import functional as F
from torch.optim.swa_utils import update_bn

from lightning_spectra.data.errors import SpectraConfigError
from lightning_spectra.metrics import SeriesConfidence

Batch = tuple[torch.Tensor, torch.Tensor, torch.Tensor]  # spectra (B, L), labels (B,), series positions (B,)


class SpectraClassifier(L.LightningModule):
    """Base classifier for spectra of shape ``(batch, spectrum_length)``.

    Args:
        spectrum_length: points per spectrum (linked from the datamodule by the CLI).
        num_classes: number of classes (linked from the datamodule by the CLI).
        lr: Adam learning rate (paper: 2e-3).
        weight_decay: Adam L2 weight decay (paper: 2e-5).
        x_axis: the spectra's x values (2 theta, wavenumber); kept in the checkpoint so figures and
            predictions can be drawn and checked on the right axis.
        class_names: names of the classes (linked from the datamodule), saved with the model so that
            predictions on new spectra can be reported by name.
        optimizer: ``adam`` (the paper's, L2 weight decay) or ``adamw`` (decoupled weight decay).
        lr_schedule: ``none`` (the paper's constant rate), ``cosine`` (to 0 over ``max_epochs``) or ``plateau``
            (halve the rate when ``val/loss`` stalls for 10 epochs).
    """

    #: Submodule whose output (batch, channels, positions) Grad-CAM reads; ``"input"`` for the spectrum itself
    #: (gradient x input) when no layer keeps positions along the spectrum.
    attribution_layer: str | None = None

    def __init__(
        self,
        spectrum_length: int = 4023,
        num_classes: int = 2,
        lr: float = 2e-3,
        weight_decay: float = 2e-5,
        x_axis: Sequence[float] | None = None,
        class_names: Sequence[str] | None = None,
        optimizer: str = "adam",
        lr_schedule: str = "none",
    ) -> None:
        super().__init__()
        if optimizer not in ("adam", "adamw") or lr_schedule not in ("none", "cosine", "plateau"):
            raise ValueError(
                f"optimizer adam|adamw and lr_schedule none|cosine|plateau; got {optimizer}, {lr_schedule}"
            )
        if num_classes < 2:
            raise ValueError(f"num_classes must be at least 2, got {num_classes}")
        if not lr > 0:  # Adam would refuse it only when fit starts, with a traceback
            raise SpectraConfigError(f"model.init_args.lr must be above 0, got {lr}")
        if not weight_decay >= 0:
            raise SpectraConfigError(f"model.init_args.weight_decay must be 0 or more, got {weight_decay}")
        self.save_hyperparameters(ignore=["x_axis"])
        self.spectrum_length = spectrum_length
        self.num_classes = num_classes
        self.class_names = list(class_names) if class_names else [str(i) for i in range(num_classes)]
        if len(self.class_names) != num_classes:
            raise ValueError(f"{len(self.class_names)} class names for {num_classes} classes")
        self.out_features = 1 if num_classes == 2 else num_classes
        axis = torch.as_tensor(x_axis if x_axis is not None else range(spectrum_length), dtype=torch.float64)
        self.register_buffer("x_axis", axis, persistent=True)
        self.val_series = SeriesConfidence()
        self.test_series = SeriesConfidence()

    # ------------------------------------------------------------------ model-facing helpers
    @property
    def num_trainable_parameters(self) -> int:
        """Trainable parameters, counted as the paper does (unused layers included)."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """BCE on one logit for two classes (the paper's sigmoid + BCELoss, in its stable form), else CE."""
        if self.out_features == 1:
            return F.binary_cross_entropy_with_logits(logits[:, 0], target.to(logits.dtype))
        return F.cross_entropy(logits, target.long())

    def probabilities(self, logits: torch.Tensor) -> torch.Tensor:
        """Class probabilities ``(B, num_classes)`` from logits."""
        if self.out_features == 1:
            p = torch.sigmoid(logits[:, 0])
            return torch.stack([1 - p, p], dim=1)
        return torch.softmax(logits, dim=1)

    def predict_labels(self, logits: torch.Tensor) -> torch.Tensor:
        if self.out_features == 1:
            return (logits[:, 0] > 0).long()  # sigmoid(z) > 0.5, as in the paper
        return logits.argmax(dim=1)

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

    def on_fit_start(self) -> None:
        for logger in self.loggers:  # self.log() is not allowed this early; the count is a one-off anyway
            logger.log_metrics({"trainable_parameters": float(self.num_trainable_parameters)}, step=0)

    def training_step(self, batch: Batch, batch_idx: int) -> torch.Tensor:
        x, y, _ = batch
        logits = self(x)
        loss = self.loss(logits, y)
        accuracy = (self.predict_labels(logits) == y).float().mean()
        self.log("train/loss", loss, on_step=False, on_epoch=True, prog_bar=True, batch_size=len(y))
        self.log("train/accuracy", accuracy, on_step=False, on_epoch=True, prog_bar=True, batch_size=len(y))
        return loss

    def _evaluate(self, batch: Batch, stage: str, series: SeriesConfidence) -> None:
        x, y, index = batch
        logits = self(x)
        if bool((y >= 0).all()):
            self.log(f"{stage}/loss", self.loss(logits, y), on_epoch=True, sync_dist=True, batch_size=len(y))
        series.update(self.predict_labels(logits), index, y)

    def _log_series(self, stage: str, series: SeriesConfidence) -> None:
        for name, value in series.compute().items():
            self.log(f"{stage}/{name}", value, prog_bar=name == "confidence")
        series.reset()

    def on_validation_epoch_start(self) -> None:
        # BatchNorm's running averages after a handful of full-batch steps are far from the statistics of
        # the final weights, so eval-mode predictions would be poor (the paper sidestepped this by testing
        # in train mode). Recompute them exactly on the training set ("precise BN") before evaluating.
        has_batchnorm = any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in self.modules())
        if self.trainer.state.fn == "fit" and has_batchnorm:
            update_bn(self.trainer.train_dataloader, self, device=self.device)

    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        self._evaluate(batch, "val", self.val_series)

    def on_validation_epoch_end(self) -> None:
        self._log_series("val", self.val_series)

    def test_step(self, batch: Batch, batch_idx: int) -> None:
        self._evaluate(batch, "test", self.test_series)

    def on_test_epoch_end(self) -> None:
        self._log_series("test", self.test_series)

    def predict_step(self, batch: Batch, batch_idx: int, dataloader_idx: int = 0) -> dict[str, torch.Tensor]:
        x, y, index = batch
        logits = self(x)
        return {"index": index, "probabilities": self.probabilities(logits), "target": y}


def require_length(model: str, spectrum_length: int, output_length: Callable[[int], int]) -> None:
    """Refuse spectra too short for a model whose layers shrink them to ``output_length(n)`` positions,
    naming the shortest length that works (found by trying lengths upwards: the layers are cheap to count)."""
    if output_length(spectrum_length) >= 1:
        return
    minimum = next((n for n in range(spectrum_length + 1, 1_000_000) if output_length(n) >= 1), None)
    raise SpectraConfigError(
        f"spectra of {spectrum_length} points are too short for the {model}; it needs at least {minimum}"
    )


def init_normal_(module: nn.Module, std: float = 0.05) -> None:
    """The paper's init for conv models: Conv1d and Linear weights ~ N(0, std); biases keep their defaults."""
    for m in module.modules():
        if isinstance(m, nn.Conv1d | nn.Linear):
            nn.init.normal_(m.weight, 0.0, std)
