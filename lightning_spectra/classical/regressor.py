"""The classical calibration alone, as a model of the framework: ``fit``, ``test``, ``predict``, ``watch``, the
ensemble and export treat it as they treat a network.

    python train.py fit --config configs/examples/files_regression.yaml \\
        --model lightning_spectra.classical.ClassicalRegressor --trainer.max_epochs 1

``fit`` chooses and fits PLS or RBF kernel ridge on the training split when it starts (each on the preprocessing
its own 5-fold RMSECV picks, the family with the lower RMSECV: :mod:`~lightning_spectra.classical.selection`);
there is nothing to train by gradient, so one epoch only runs validation. The checkpoint holds the calibration as
arrays (:class:`~lightning_spectra.classical.calibration.ClassicalCalibration`), never a pickle, and the exported
ONNX graph computes it (the linear map, or the RBF kernel against the stored spectra times the dual coefficients).
"""

from __future__ import annotations

import warnings
from typing import ClassVar

import torch

from lightning_spectra.errors import SpectraConfigError, SpectraRunError
from lightning_spectra.models.base import SpectraModel


class ClassicalRegressor(SpectraModel):
    """PLS or kernel ridge, chosen by cross-validation on the training split, as a (parameter-free) model.

    Takes the datamodule's facts and the common settings of :class:`~lightning_spectra.models.base.SpectraModel`
    (the learning rate and optimiser settings do nothing here).
    """

    attribution_layer = "input"  # no layer keeps positions: gradient x input, Integrated Gradients
    label = "classical calibration"
    blends_with_classical: ClassVar[bool] = False  # it is the classical part
    trains_by_gradient: ClassVar[bool] = False

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        # Lightning's warnings about a fit without optimiser or loss are this model's design, not the user's slip
        for message in (".*configure_optimizers.* returned .None.", ".*training_step.* returned .None."):
            warnings.filterwarnings("ignore", message=message)
        if not self.task.carries_classical:
            raise SpectraConfigError(
                "ClassicalRegressor predicts values: set data.init_args.task to regression (a classifier's classical "
                "baselines are printed beside every run)"
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        classical = getattr(self, "classical", None)
        if classical is None:
            raise SpectraRunError("ClassicalRegressor has no calibration yet: run fit, or load a checkpoint of one")
        return ((classical(x) - self.task.mean) / self.task.scale).to(x.dtype)  # the task's standardised units

    def configure_optimizers(self) -> None:
        return None  # no parameters: the calibration is fitted in closed form when the fit starts

    def training_step(self, batch, batch_idx: int) -> None:
        return None  # nothing to learn by gradient
