"""The shared LightningModule: loss, optimiser, metrics and predict logic for every spectrum classifier.

A classifier subclasses :class:`SpectraClassifier`, builds its layers in ``__init__`` from
``self.spectrum_length`` and ``self.out_features`` and implements ``forward(x) -> logits``. Binary problems
use one logit (the paper's single sigmoid output); ``C > 2`` classes use ``C`` logits.
"""

from __future__ import annotations

from collections.abc import Sequence

import lightning.pytorch as L
import torch
from torch import nn
from torch.nn import functional as F
from torch.optim.swa_utils import update_bn

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
    ) -> None:
        super().__init__()
        if num_classes < 2:
            raise ValueError(f"num_classes must be at least 2, got {num_classes}")
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
    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=self.hparams.lr, weight_decay=self.hparams.weight_decay)

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
        loader = trainer.train_dataloader
        if loader is None and hasattr(trainer.datamodule, "train_dataloader"):
            loader = trainer.datamodule.train_dataloader()
        if loader is not None:
            update_bn(loader, self, device=self.device)
            self._batchnorm_step = trainer.global_step

    def on_validation_epoch_start(self) -> None:
        self.refresh_batchnorm()

    def on_test_epoch_start(self) -> None:
        self.refresh_batchnorm()

    def on_predict_epoch_start(self) -> None:
        self.refresh_batchnorm()

    def on_train_end(self) -> None:
        self.refresh_batchnorm()

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


def init_normal_(module: nn.Module, std: float = 0.05) -> None:
    """The paper's init for conv models: Conv1d and Linear weights ~ N(0, std); biases keep their defaults."""
    for m in module.modules():
        if isinstance(m, nn.Conv1d | nn.Linear):
            nn.init.normal_(m.weight, 0.0, std)
