"""Regression metrics of a split, in the targets' own units: RMSE, MAE, R^2, bias and RPD.

RPD (ratio of performance to deviation) is the chemometrics figure ``SD(reference) / RMSE``: how many times
smaller the prediction error is than the spread of the reference values (above ~2 is usually read as good
enough for screening, above ~3 for quantitative use). Bias is ``mean(predicted - reference)``.

RMSE, MAE and R^2 come from torchmetrics' functional API; the predictions and references of a whole split are
collected first (``cat`` states, gathered across processes under DDP) because R^2 and RPD need the split's
spread. With several targets every metric is reported per target (``rmse[fat]``) and as the mean over targets
(``rmse``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torchmetrics import Metric
from torchmetrics.functional import mean_absolute_error, mean_squared_error, r2_score
from torchmetrics.utilities import dim_zero_cat

METRIC_NAMES = ("rmse", "mae", "r2", "bias", "rpd")


def regression_metrics(predicted: torch.Tensor, reference: torch.Tensor) -> dict[str, torch.Tensor]:
    """RMSE, MAE, R^2, bias and RPD per target ``(T,)`` of predictions and references ``(N, T)`` (or ``(N,)``)."""
    p = predicted.double().reshape(len(predicted), -1)
    r = reference.double().reshape(len(reference), -1)
    if p.shape != r.shape:
        raise ValueError(f"predictions {tuple(p.shape)} and references {tuple(r.shape)} differ in shape")
    if len(p) < 2:
        raise ValueError(f"regression metrics need at least 2 spectra, got {len(p)}")
    rmse = torch.stack([mean_squared_error(p[:, t], r[:, t], squared=False) for t in range(p.shape[1])])
    mae = torch.stack([mean_absolute_error(p[:, t], r[:, t]) for t in range(p.shape[1])])
    r2 = torch.stack([r2_score(p[:, t], r[:, t]) for t in range(p.shape[1])])
    bias = (p - r).mean(dim=0)
    rpd = r.std(dim=0, unbiased=True) / rmse
    return {"rmse": rmse, "mae": mae, "r2": r2, "bias": bias, "rpd": rpd}


def flatten_metrics(per_target: dict[str, torch.Tensor], target_names: Sequence[str]) -> dict[str, float]:
    """``{"rmse": mean over targets, "rmse[name]": per target (only with several targets), ...}``."""
    out: dict[str, float] = {}
    for name, values in per_target.items():
        out[name] = float(values.mean())
        if len(values) > 1:
            out.update({f"{name}[{t}]": float(v) for t, v in zip(target_names, values, strict=True)})
    return out


class RegressionMetrics(Metric):
    """Collects predicted and reference values ``(B, T)`` over a split; :meth:`compute` gives the metrics.

    Rows whose reference is not finite (unknown targets of new spectra) are left out.
    """

    full_state_update = False

    def __init__(self, target_names: Sequence[str] = ("target",)) -> None:
        super().__init__()
        self.target_names = list(target_names)
        self.add_state("predicted", default=[], dist_reduce_fx="cat")
        self.add_state("reference", default=[], dist_reduce_fx="cat")

    def update(self, predicted: torch.Tensor, reference: torch.Tensor) -> None:
        p = predicted.detach().reshape(len(predicted), -1)
        r = reference.detach().to(p.dtype).reshape(len(reference), -1)
        known = torch.isfinite(r).all(dim=1)
        self.predicted.append(p[known])
        self.reference.append(r[known])

    def compute(self) -> dict[str, float]:
        predicted, reference = dim_zero_cat(self.predicted), dim_zero_cat(self.reference)
        if len(reference) < 2:
            return {}
        return flatten_metrics(regression_metrics(predicted, reference), self.target_names)
