"""How a regressor carries its classical calibration: fitted when the fit starts, blended into every evaluation
output, its share chosen on the validation split for the weights each checkpoint holds, rebuilt from a checkpoint.

- :func:`attach_classical` (``SpectraModel.on_fit_start``): choose and fit the classical calibration on the
  training split (:mod:`~lightning_spectra.classical.selection`) and keep it as ``model.classical``, a
  :class:`~lightning_spectra.classical.calibration.ClassicalCalibration` whose arrays are buffers: every
  checkpoint written from then on holds it.
- :func:`blend_outputs` (a forward hook): outside training, the model's output is
  ``w * network + (1 - w) * classical`` in the task's standardised units, so ``test``, ``predict``, ``watch``, the
  ensemble, attribution and the exported graph all see the blend. While a fit trains and validates, the network
  alone (validation picks the network's best epoch).
- :func:`record_blend_weight` (``SpectraModel.on_save_checkpoint``): ``w`` chosen on the validation split for the
  weights being saved (:func:`~lightning_spectra.classical.blend.choose_weight`), so each checkpoint's blend fits
  its own network.
- :func:`restore_classical` (``SpectraModel.on_load_checkpoint``): the module rebuilt from a checkpoint's arrays.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from lightning_spectra.classical.blend import choose_weight
from lightning_spectra.classical.calibration import ClassicalCalibration
from lightning_spectra.classical.selection import FAMILIES, Selection, select_classical
from lightning_spectra.data.base import SpectraDataModule
from lightning_spectra.interpret.model_modes import evaluation_mode
from lightning_spectra.runtime.progress import phase

if TYPE_CHECKING:
    from lightning_spectra.models.base import SpectraModel

PREFIX = "classical."


def point_scaling(datamodule: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """The datamodule's fitted per-point scaling as ``(mean, scale)``, or ``None`` without one."""
    scaler = getattr(datamodule, "scaler", None)
    if scaler is None or getattr(scaler, "mean", None) is None:
        return None
    return np.asarray(scaler.mean, np.float64), np.asarray(scaler.scale, np.float64)


def unscaled(datamodule: Any, spectra: torch.Tensor) -> np.ndarray:
    """``spectra`` of one of ``datamodule``'s splits as they were before its per-point scaling."""
    values = spectra.detach().cpu().double().numpy()
    scaling = point_scaling(datamodule)
    return values if scaling is None else values * scaling[1] + scaling[0]


def unscaled_training_split(datamodule: Any) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray] | None]:
    """The training spectra before the datamodule's per-point scaling, its targets, and that scaling's
    ``(mean, scale)`` (``None`` without one)."""
    train = datamodule.splits.train
    spectra = unscaled(datamodule, train.spectra)
    return spectra, train.labels.detach().cpu().double().numpy().reshape(len(spectra), -1), point_scaling(datamodule)


def fit_selection(datamodule: Any, verbose: bool = True) -> tuple[Selection, tuple | None]:
    """:func:`~lightning_spectra.classical.selection.select_classical` on ``datamodule``'s training split, with
    a line before and after (seconds to a minute on a few hundred spectra)."""
    spectra, targets, scaling = unscaled_training_split(datamodule)
    families = " and ".join(FAMILIES.values())
    with phase(
        f"classical calibrations: {families}, each on the preprocessing its 5-fold CV on the {len(spectra)} "
        "training spectra picks",
        enabled=verbose,
    ):
        selection = select_classical(spectra, targets)
    return selection, scaling


def attach_classical(model: SpectraModel) -> None:
    """Fit the classical calibration on the training split and attach it as ``model.classical`` (kept when a
    resumed fit restored one from its checkpoint). Nothing for classifiers or without a spectra datamodule."""
    datamodule = model.trainer.datamodule
    if not model.task.carries_classical or not isinstance(datamodule, SpectraDataModule):
        return
    if not model.classical_blend and type(model).blends_with_classical:
        return  # the network alone, as asked; the summary still fits and prints the classical models
    if getattr(model, "classical", None) is not None:
        return
    verbose = model.trainer.is_global_zero
    selection, scaling = fit_selection(datamodule, verbose)
    best = selection.best
    mean, scale = scaling if scaling is not None else (None, None)
    model.classical = ClassicalCalibration.from_candidate(best, mean, scale).to(model.device)
    model.classical.network_weight.fill_(1.0)  # the network alone until a checkpoint chooses the share
    model.classical_selection = selection
    if verbose:
        others = ", ".join(f"{c.name} {c.rmsecv:.4g}" for c in selection.families.values() if c is not best)
        print(f"classical calibration: {best.name}, RMSECV {best.rmsecv:.4g} (beside it: {others})", flush=True)


def blending(model: SpectraModel) -> bool:
    """Whether ``model``'s outputs are the blend now: a classical part, outside training and a fit's validation."""
    return (
        type(model).blends_with_classical
        and getattr(model, "classical", None) is not None
        and not model.training
        and model.blend_outputs
    )


def blend_outputs(model: SpectraModel, args: tuple, outputs: torch.Tensor) -> torch.Tensor | None:
    """Forward hook: ``w * outputs + (1 - w) * classical`` in the task's standardised units (see module doc)."""
    if not blending(model) or not isinstance(outputs, torch.Tensor):
        return None
    weight = model.classical.network_weight
    if not torch.onnx.is_in_onnx_export() and not torch.compiler.is_compiling() and float(weight) == 1.0:
        return None  # the network alone: skip the kernel's cost (a graph keeps the blend whatever the weight)
    # (values - mean) / scale without the task's reshape: a traced len() would freeze the batch size in a graph
    classical = ((model.classical(args[0]) - model.task.mean) / model.task.scale).to(outputs.dtype)
    weight = weight.to(outputs.dtype)
    return weight * outputs + (1 - weight) * classical


def network_and_classical(model: SpectraModel, spectra: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """The network's and the classical part's values ``(N, T)`` in the targets' units for ``spectra``."""
    previous = model.blend_outputs
    model.blend_outputs = False
    try:
        with torch.no_grad(), evaluation_mode(model):
            spectra = spectra.to(model.device)
            network = model.predict_values(model.prediction_outputs(spectra)).double().cpu().numpy()
            classical = model.classical(spectra).cpu().numpy()
    finally:
        model.blend_outputs = previous
    return network, classical


def record_blend_weight(model: SpectraModel, checkpoint: dict[str, Any]) -> None:
    """Choose the network's share on the validation split for the weights being saved; into the checkpoint."""
    trainer = model._trainer
    if not type(model).blends_with_classical or getattr(model, "classical", None) is None:
        return
    if trainer is None or trainer.datamodule is None:
        return
    val = getattr(model.trainer.datamodule, "splits", None)
    val = None if val is None else val.val
    if val is None or len(val.spectra) == 0:
        weight = 1.0  # nothing to choose on: the network alone, as trained
    else:
        model.refresh_batchnorm()
        network, classical = network_and_classical(model, val.spectra)
        weight = choose_weight(network, classical, val.labels.double().cpu().numpy())
    model.classical.network_weight.fill_(weight)
    checkpoint["state_dict"][PREFIX + "network_weight"] = model.classical.network_weight.detach().clone()


def restore_classical(model: SpectraModel, state_dict: Mapping[str, torch.Tensor]) -> None:
    """Rebuild ``model.classical`` from a checkpoint's arrays before Lightning loads the state dict."""
    if PREFIX + "family_code" not in state_dict:
        return
    model.classical = ClassicalCalibration.from_state(state_dict, PREFIX).to(model.device)  # shapes as stored
