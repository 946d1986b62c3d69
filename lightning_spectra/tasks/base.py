"""What a model's outputs mean: class logits or standardised regression values.

Every model builds its head with ``out_features`` outputs and returns them from ``forward``; the task object
turns those outputs into a loss, training metrics, a split's evaluation metrics and predictions. That keeps
the eight architectures free of task-specific code: any of them is a classifier or a regressor by its
``task`` argument alone.

- :class:`ClassificationTask`: one logit for two classes (the paper's sigmoid output), else one per class.
- :class:`RegressionTask`: one output per target, in *standardised* units (targets minus the training
  split's mean, divided by its standard deviation, both held by the model as buffers), so every target
  weighs alike in the loss and the heads' usual initialisation fits; :meth:`RegressionTask.restore` turns
  outputs back into the targets' units for metrics, predictions and attribution. Targets reach the model
  in their own units.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn
from torch.nn import functional as F
from torchmetrics import Metric

from lightning_spectra.metrics import RegressionMetrics, SeriesConfidence

TaskName = Literal["classification", "regression"]
RegressionLoss = Literal["mse", "huber"]


class ClassificationTask(nn.Module):
    """Class logits: BCE on one logit for two classes (the paper's sigmoid + BCELoss, stable form), else CE."""

    name: TaskName = "classification"

    def __init__(self, num_classes: int) -> None:
        super().__init__()
        if num_classes < 2:
            raise ValueError(f"num_classes must be at least 2, got {num_classes}")
        self.num_classes = num_classes
        self.out_features = 1 if num_classes == 2 else num_classes

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
        if self.out_features == 1:
            return (logits[:, 0] > 0).long()  # sigmoid(z) > 0.5, as in the paper
        return logits.argmax(dim=1)

    def known(self, target: torch.Tensor) -> bool:
        """Whether every target of a batch is known (new spectra carry label -1)."""
        return bool((target >= 0).all())

    def train_metrics(self, logits: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"accuracy": (self.predict_labels(logits) == target).float().mean()}

    def evaluation_metric(self, names: list[str]) -> Metric:
        return SeriesConfidence()

    def update(self, metric: Metric, logits: torch.Tensor, target: torch.Tensor, index: torch.Tensor) -> None:
        metric.update(self.predict_labels(logits), index, target)

    def predictions(self, logits: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"probabilities": self.probabilities(logits)}


class RegressionTask(nn.Module):
    """One output per target, standardised with the training split's mean and standard deviation.

    Args:
        num_targets: targets predicted per spectrum.
        mean, scale: per-target mean and standard deviation of the training targets (``None``: 0 and 1).
        loss_name: ``mse`` or ``huber`` (robust to a few bad reference values).
        huber_delta: Huber's switch from squared to absolute error, in standard deviations of the target.
    """

    name: TaskName = "regression"

    def __init__(
        self,
        num_targets: int,
        mean: list[float] | None = None,
        scale: list[float] | None = None,
        loss_name: RegressionLoss = "mse",
        huber_delta: float = 1.0,
    ) -> None:
        super().__init__()
        if num_targets < 1:
            raise ValueError(f"a regressor needs at least one target, got {num_targets}")
        if loss_name not in ("mse", "huber"):
            raise ValueError(f"regression_loss must be 'mse' or 'huber', got {loss_name!r}")
        self.out_features = num_targets
        self.loss_name, self.huber_delta = loss_name, huber_delta
        mean_t = torch.zeros(num_targets, dtype=torch.float64) if mean is None else torch.as_tensor(mean)
        scale_t = torch.ones(num_targets, dtype=torch.float64) if scale is None else torch.as_tensor(scale)
        for what, values in (("target_mean", mean_t), ("target_scale", scale_t)):
            if values.shape != (num_targets,):
                raise ValueError(f"{what} has {values.numel()} values for {num_targets} targets")
        if not bool((scale_t > 0).all()):
            raise ValueError(f"target_scale must be positive, got {scale_t.tolist()}")
        # Buffers: saved in checkpoints and moved with the model, so a loaded model restores units alone.
        self.register_buffer("mean", mean_t.to(torch.float32))
        self.register_buffer("scale", scale_t.to(torch.float32))

    def standardise(self, target: torch.Tensor) -> torch.Tensor:
        return (target.reshape(len(target), -1) - self.mean) / self.scale

    def restore(self, outputs: torch.Tensor) -> torch.Tensor:
        """Model outputs ``(B, T)`` in the targets' units."""
        return outputs * self.scale + self.mean

    def loss(self, outputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        z = self.standardise(target).to(outputs.dtype)
        if self.loss_name == "huber":
            return F.huber_loss(outputs, z, delta=self.huber_delta)
        return F.mse_loss(outputs, z)

    def known(self, target: torch.Tensor) -> bool:
        """Whether every target of a batch is known (new spectra carry NaN)."""
        return bool(torch.isfinite(target).all())

    def train_metrics(self, outputs: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
        error = self.restore(outputs.detach()) - target.reshape(len(target), -1)
        return {"rmse": error.square().mean(dim=0).sqrt().mean()}

    def evaluation_metric(self, names: list[str]) -> Metric:
        return RegressionMetrics(names)

    def update(self, metric: Metric, outputs: torch.Tensor, target: torch.Tensor, index: torch.Tensor) -> None:
        metric.update(self.restore(outputs), target)

    def predictions(self, outputs: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"values": self.restore(outputs)}

    def probabilities(self, outputs: torch.Tensor) -> torch.Tensor:
        raise TypeError("a regressor predicts values, not class probabilities: use predict_values")

    predict_labels = probabilities

    def value_score(self, outputs: torch.Tensor, target: torch.Tensor | None = None) -> torch.Tensor:
        """Mean predicted value of the first target, in its units: what attribution differentiates."""
        return self.restore(outputs)[:, 0].mean()
