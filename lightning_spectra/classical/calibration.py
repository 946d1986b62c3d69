"""A fitted classical calibration as a torch module: arrays in the checkpoint, never a pickle, and a graph ONNX
export holds.

The module takes what the network takes (spectra after the datamodule's per-point scaling), puts the scaling back,
applies the preparation its cross-validation chose (:mod:`~lightning_spectra.classical.preparations`), then

- PLS: a linear map, ``(prepared - x_mean) @ coefficients + intercept`` (scikit-learn's ``PLSRegression.predict``);
- kernel ridge: the RBF kernel of the standardised prepared spectrum against the stored standardised training
  spectra, times the dual coefficients, in the targets' standardised units, then restored.

Everything runs in float64, as scikit-learn does, so the module equals scikit-learn's predictions to about 1e-9
(the kernel's exponentials and the dual coefficients' sums lose float32's digits). Its output is the targets in
their units ``(N, T)``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from torch import nn

from lightning_spectra.classical.preparations import PREPARATIONS, Preparation
from lightning_spectra.classical.selection import FAMILIES, Candidate

KINDS = ("pls", "krr")


def _tensor(values) -> torch.Tensor:
    return torch.as_tensor(np.asarray(values, dtype=np.float64))


class ClassicalCalibration(nn.Module):
    """The calibration of :class:`~lightning_spectra.classical.selection.Candidate` ``family`` as a module.

    Built with :meth:`from_candidate` after a fit, or :meth:`from_state` from a checkpoint's arrays (the codes of
    the family and preparation are buffers too, so the state dict alone rebuilds it).

    Buffers: ``input_mean``/``input_scale`` (the datamodule's per-point scaling, undone first), ``feature_mean``/
    ``feature_scale`` (PLS's centring; kernel ridge's standardisation), ``coefficients`` ``(L, T)`` and
    ``intercept`` ``(T,)`` (PLS), ``support`` ``(N, L)``, ``dual`` ``(N, T)``, ``gamma``, ``target_mean``/
    ``target_scale`` (kernel ridge), and ``network_weight``: the network's share where the calibration is blended
    with a network (:mod:`~lightning_spectra.classical.blend`; 0 alone).
    """

    def __init__(self, family: str, preparation: str, length: int, targets: int, support: int = 0) -> None:
        super().__init__()
        if family not in KINDS:
            raise ValueError(f"family must be one of {', '.join(KINDS)}; got {family!r}")
        self.family, self.preparation = family, preparation
        self.prepare = Preparation(preparation, length)
        shapes = {
            "family_code": (),
            "preparation_code": (),
            "input_mean": (length,),
            "input_scale": (length,),
            "feature_mean": (length,),
            "feature_scale": (length,),
            "coefficients": (length, targets),
            "intercept": (targets,),
            "support": (support, length),
            "dual": (support, targets),
            "gamma": (),
            "target_mean": (targets,),
            "target_scale": (targets,),
            "network_weight": (),
        }
        for name, shape in shapes.items():
            self.register_buffer(name, torch.zeros(shape, dtype=torch.float64))
        self.family_code.fill_(KINDS.index(family))
        self.preparation_code.fill_(PREPARATIONS.index(preparation))
        for name in ("input_scale", "feature_scale", "target_scale"):
            getattr(self, name).fill_(1.0)

    @property
    def name(self) -> str:
        """``kernel ridge (sg1)``."""
        return f"{FAMILIES[self.family]} ({self.preparation})"

    @classmethod
    def from_candidate(
        cls, candidate: Candidate, input_mean: np.ndarray | None = None, input_scale: np.ndarray | None = None
    ) -> ClassicalCalibration:
        """The fitted ``candidate`` for inputs scaled point by point with ``input_mean``/``input_scale``."""
        if candidate.family == "pls":
            pls = candidate.fit.model
            coefficients = np.asarray(pls.coef_, dtype=np.float64).T  # scikit-learn stores (targets, points)
            module = cls("pls", candidate.preparation, coefficients.shape[0], coefficients.shape[1])
            module.feature_mean.copy_(_tensor(pls._x_mean))
            module.feature_scale.copy_(_tensor(pls._x_std))  # 1 with scale=False; kept should that change
            module.coefficients.copy_(_tensor(coefficients))
            module.intercept.copy_(_tensor(np.ravel(pls.intercept_)))
        else:
            regressor = candidate.fit.model
            scaler, ridge = regressor.regressor_["scale"], regressor.regressor_["ridge"]
            support = np.asarray(ridge.X_fit_, dtype=np.float64)
            dual = np.asarray(ridge.dual_coef_, dtype=np.float64).reshape(len(support), -1)
            module = cls("krr", candidate.preparation, support.shape[1], dual.shape[1], len(support))
            module.feature_mean.copy_(_tensor(scaler.mean_))
            module.feature_scale.copy_(_tensor(scaler.scale_))
            module.support.copy_(_tensor(support))
            module.dual.copy_(_tensor(dual))
            module.gamma.fill_(float(ridge.gamma))
            module.target_mean.copy_(_tensor(np.ravel(regressor.transformer_.mean_)))
            module.target_scale.copy_(_tensor(np.ravel(regressor.transformer_.scale_)))
        if input_mean is not None:
            module.input_mean.copy_(_tensor(input_mean))
            module.input_scale.copy_(_tensor(input_scale))
        return module

    @classmethod
    def from_state(cls, state: Mapping[str, torch.Tensor], prefix: str = "") -> ClassicalCalibration:
        """The module whose arrays a state dict holds under ``prefix`` (its buffers, then loaded as usual)."""
        family = KINDS[int(state[prefix + "family_code"])]
        preparation = PREPARATIONS[int(state[prefix + "preparation_code"])]
        length, targets = state[prefix + "coefficients"].shape
        return cls(family, preparation, length, targets, len(state[prefix + "support"]))

    def forward(self, spectra: torch.Tensor) -> torch.Tensor:
        """Targets ``(N, T)`` in their units (float64) of network inputs ``(N, L)``."""
        unscaled = spectra.to(torch.float64) * self.input_scale + self.input_mean
        features = (self.prepare(unscaled) - self.feature_mean) / self.feature_scale
        if self.family == "pls":
            return features @ self.coefficients + self.intercept
        # |a - b|^2 expanded, as scikit-learn's euclidean_distances, clipped at 0 against rounding
        distances = (
            features.square().sum(1, keepdim=True) - 2 * features @ self.support.T + self.support.square().sum(1)
        ).clamp_min(0)
        return torch.exp(-self.gamma * distances) @ self.dual * self.target_scale + self.target_mean
