"""Values: one output per target, in *standardised* units.

Outputs are the targets minus the training split's mean, divided by its standard deviation (both held as
buffers, so a loaded model restores units alone): every target weighs alike in the loss and the heads' usual
initialisation fits. :meth:`RegressionTask.restore` turns outputs back into the targets' units for metrics,
predictions and attribution; targets reach the model in their own units. The classical baselines are PLS and
RBF kernel ridge (:mod:`lightning_spectra.baselines`), with parity figures
(:mod:`lightning_spectra.callbacks.regression_outputs`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np
import torch
from torch.nn import functional as F
from torchmetrics import Metric

from lightning_spectra.interpret.groups import Groups, range_groups
from lightning_spectra.interpret.target_ranges import target_ranges
from lightning_spectra.metrics import RegressionMetrics
from lightning_spectra.tasks.base import Direction, SummaryField, Targets, Task

if TYPE_CHECKING:
    pass


RegressionLoss = Literal["mse", "huber"]
#: A regressor's input normalisation unless its config says otherwise (BENCHMARKS.md, "Regression"): a
#: LayerNorm over each spectrum divides out the spectrum's own level and scale, and with them the absorbance
#: that carries the amount (Beer-Lambert), so a regressor reads the spectra as the datamodule prepared them.
REGRESSION_INPUT_NORMALIZATION = "none"

SUMMARY_FIELDS: tuple[SummaryField, ...] = (
    ("versus_baselines", "test RMSE", "{}"),
    ("rmse", "RMSE (test)", "{:.4g}"),
    ("blend", "blend of network and classical model", "{}"),
    ("no_skill", "warning", "{}"),
    ("mae", "MAE (test)", "{:.4g}"),
    ("r2", "R^2 (test)", "{:.4f}"),
    ("bias", "bias (test)", "{:.4g}"),
    ("rpd", "RPD = SD / RMSE (test)", "{:.3f}"),
    ("pls_components", "PLS baseline: components (CV on train)", "{}"),
    ("pls_preparation", "PLS baseline: preprocessing (CV on train)", "{}"),
    ("pls_rmse", "PLS baseline: RMSE (test)", "{:.4g}"),
    ("pls_r2", "PLS baseline: R^2 (test)", "{:.4f}"),
    ("pls_rpd", "PLS baseline: RPD (test)", "{:.3f}"),
    ("krr_preparation", "kernel ridge (RBF) baseline: preprocessing (CV on train)", "{}"),
    ("krr_rmse", "kernel ridge (RBF) baseline: RMSE (test)", "{:.4g}"),
    ("krr_r2", "kernel ridge (RBF) baseline: R^2 (test)", "{:.4f}"),
    ("krr_rpd", "kernel ridge (RBF) baseline: RPD (test)", "{:.3f}"),
    ("classical_best_method", "best classical baseline (chosen without the test split)", "{}"),
)


class RegressionTask(Task):
    """One output per target, standardised with the training split's mean and standard deviation.

    Args:
        targets: the target names and the training split's per-target mean and scale (``None``: 0 and 1).
        loss_name: ``mse`` or ``huber`` (robust to a few bad reference values).
        huber_delta: Huber's switch from squared to absolute error, in standard deviations of the target.
    """

    name: ClassVar[str] = "regression"
    #: RegressionMetrics' values (metrics/regression.py), means over the targets.
    metrics: ClassVar[dict[str, Direction]] = {"rmse": "min", "mae": "min", "r2": "max", "bias": None, "rpd": "max"}
    score_key: ClassVar[str] = "rmse"
    output_name: ClassVar[str] = "values"
    deletion_score_name: ClassVar[str] = "value"
    trains_in_bf16: ClassVar[bool] = False  # calibrations need float32's digits
    combines_parts_by_vote: ClassVar[bool] = False  # a value, not a vote: parts' predictions are averaged
    carries_classical: ClassVar[bool] = True  # blended with the CV-chosen PLS or kernel ridge calibration

    def __init__(self, targets: Targets, loss_name: RegressionLoss = "mse", huber_delta: float = 1.0) -> None:
        super().__init__(targets)
        num_targets = len(targets.names)
        if num_targets < 1:
            raise ValueError(f"a regressor needs at least one target, got {num_targets}")
        if loss_name not in ("mse", "huber"):
            raise ValueError(f"regression_loss must be 'mse' or 'huber', got {loss_name!r}")
        self.out_features = num_targets
        self.loss_name, self.huber_delta = loss_name, huber_delta
        mean, scale = targets.mean, targets.scale
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

    @classmethod
    def build(
        cls, targets: Targets, regression_loss: RegressionLoss = "mse", huber_delta: float = 1.0, **settings: Any
    ) -> RegressionTask:
        return cls(targets, regression_loss, huber_delta)

    @classmethod
    def earlier_targets(cls, hparams: dict[str, Any]) -> Targets:
        names = hparams.get("target_names") or ["target"]
        return Targets.values(names, hparams.get("target_mean"), hparams.get("target_scale"))

    @property
    def target_names(self) -> list[str]:
        return list(self.targets.names)

    def input_normalization(self, model_default: str) -> str:
        return REGRESSION_INPUT_NORMALIZATION

    def standardise(self, target: torch.Tensor) -> torch.Tensor:
        return (target.reshape(len(target), -1) - self.mean) / self.scale

    def restore(self, outputs: torch.Tensor) -> torch.Tensor:
        """Model outputs ``(B, T)`` in the targets' units."""
        return outputs * self.scale + self.mean

    # ------------------------------------------------------------------ training and evaluation
    def loss(self, outputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        z = self.standardise(target).to(outputs.dtype)
        if self.loss_name == "huber":
            return F.huber_loss(outputs, z, delta=self.huber_delta)
        return F.mse_loss(outputs, z)

    def known(self, target: torch.Tensor) -> bool:
        return bool(torch.isfinite(target).all())  # new spectra carry NaN

    def train_metrics(self, outputs: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
        error = self.restore(outputs.detach()) - target.reshape(len(target), -1)
        return {"rmse": error.square().mean(dim=0).sqrt().mean()}

    def evaluation_metric(self) -> Metric:
        return RegressionMetrics(self.target_names)

    def update(self, metric: Metric, outputs: torch.Tensor, target: torch.Tensor, index: torch.Tensor) -> None:
        metric.update(self.restore(outputs), target)

    def exported(self, outputs: torch.Tensor) -> torch.Tensor:
        return self.restore(outputs)

    def prediction_columns(self, exported: np.ndarray) -> dict[str, list[str]]:
        """``predicted_<target>`` per target, in the target's units."""
        values = np.asarray(exported, dtype=np.float64).reshape(len(exported), -1)
        return {f"predicted_{name}": [f"{v:.6g}" for v in values[:, t]] for t, name in enumerate(self.target_names)}

    def headline(self, columns: dict[str, list[str]]) -> str:
        """The mean predicted value of each target."""
        return ", ".join(f"mean {name} {np.mean([float(v) for v in cells]):.4g}" for name, cells in columns.items())

    @classmethod
    def cross_validation_columns(cls) -> tuple[SummaryField, ...]:
        return (
            ("rmse", "model RMSE", "{:.4g}"),
            ("r2", "model R^2", "{:.3f}"),
            ("rpd", "model RPD", "{:.2f}"),
            ("pls_rmse", "PLS RMSE", "{:.4g}"),
            ("krr_rmse", "kernel ridge RMSE", "{:.4g}"),
        )

    @classmethod
    def cross_validation_scores(cls, summary: dict[str, Any]) -> dict[str, float | None]:
        """The columns' and metrics' numbers, and the baselines' R^2."""
        return super().cross_validation_scores(summary) | {key: summary.get(key) for key in ("pls_r2", "krr_r2")}

    def probabilities(self, outputs: torch.Tensor) -> torch.Tensor:
        raise TypeError("a regressor predicts values, not class probabilities: use predict_values")

    # ------------------------------------------------------------------ attribution
    def attribution_score(self, outputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Per row, the predicted value of output ``target[i]`` in its units: positive map values mark regions
        that raise the predicted value (concentration, fat, purity)."""
        values = self.restore(outputs)
        return (values * F.one_hot(target.to(values.device).long(), values.shape[1]).to(values.dtype)).sum(dim=1)

    def default_attribution_target(self, outputs: torch.Tensor) -> torch.Tensor:
        return torch.zeros(len(outputs), dtype=torch.long)  # the first target

    def deletion_score(self, outputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.attribution_score(outputs, target)  # no probability: the value its maps explain

    def importance_objective(self, outputs: torch.Tensor, target: torch.Tensor | None = None) -> torch.Tensor:
        """Mean predicted value of the first target, in its units (signed: where a rise raises the prediction)."""
        return self.restore(outputs)[:, 0].mean()

    def importance_targets(self, labels: torch.Tensor, predicted: Callable[[], torch.Tensor]) -> torch.Tensor:
        return labels  # the objective does not read them; the reference ranges do, unknown ones as NaN

    def labelled_attribution_target(self, labels: torch.Tensor, predicted: Callable[[], torch.Tensor]) -> torch.Tensor:
        return self.default_attribution_target(labels)  # every map explains the first predicted value

    def attribution_groups(
        self, outputs: torch.Tensor, explained: torch.Tensor, labels: torch.Tensor, target: str, ranges: int
    ) -> Groups:
        return range_groups(self.target_names[0], self.restore(outputs), labels, target, ranges)

    def reference_groups(self, labels: np.ndarray) -> tuple[np.ndarray, list[str]]:
        """Three quantile ranges of the first target."""
        return target_ranges(labels.reshape(len(labels), -1)[:, 0], 3, self.target_names[0])

    # ------------------------------------------------------------------ the run's report
    def summary_fields(self) -> tuple[SummaryField, ...]:
        return SUMMARY_FIELDS

    def versus_baselines(self, summary: dict[str, Any]) -> dict[str, str]:
        """``CNN 0.52 | best classical 0.59 (kernel ridge) | PLS 2.25``."""
        if summary.get("rmse") is None or summary.get("pls_rmse") is None:
            return {}
        line = f"{summary.get('model', 'model')} {summary['rmse']:.4g}"
        if (best := summary.get("classical_best_method")) is not None:
            line += f" | best classical {summary['classical_best_rmse']:.4g} ({best})"
        return {"versus_baselines": line + f" | PLS {summary['pls_rmse']:.4g}"}

    def export_description(self) -> dict[str, Any]:
        return {
            "output_name": "values",
            "names": {"target_names": self.target_names},
            "post_processing": "restore targets' units",
            "output": "values (N, T) in the targets' units",
        }
