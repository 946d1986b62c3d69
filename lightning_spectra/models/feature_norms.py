"""Which per-spectrum feature normalisations a model keeps, and how a checkpoint that had them gets them back.

A LayerNorm over one spectrum's features (the CNN's and MSResNet's head, FCNN1D's dense blocks, the sequence
models' spectrum embedding, the LSTM's head, the Transformer's encoder layers, Conv SC's and Conv SCT's
embedding and fusion norms) divides every spectrum by its own spread. For a classifier under a drifting beam
that is the point; for a regressor it removes, one layer after the input, the magnitude that carries the amount
(Beer-Lambert), although ``input_normalization: none`` promised to keep it: replacing only the CNN's head
LayerNorm by the identity cut the tablet set's test RMSE by 15-22 % (issue 33). So:

- a **classifier** keeps every such layer, exactly as the paper built it (parameter counts, the authors'
  weights);
- a **regressor** keeps them only with ``input_normalization: layer`` (it asked for per-spectrum normalisation);
  with ``none`` or ``point`` they are identities, at the same place, so state-dict keys and indices do not move.

BatchNorm is another matter (it normalises over the batch, not within a spectrum: in eval mode it is a fixed
affine map): the convolutional models' ``batch_norm`` switch (:func:`uses_batch_norm`) turns it off.

A regression checkpoint saved while those layers were LayerNorms (or BatchNorms) still loads:
:func:`restore_stored_norms` puts a layer of the stored shape back wherever the checkpoint holds weights for
what is an identity here (``SpectraModel.on_load_checkpoint``). This module defines no model, so the registry
(:mod:`lightning_spectra.models.registry`) finds none here.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import TYPE_CHECKING

import torch
from torch import nn

from lightning_spectra.tasks.regression import RegressionTask

if TYPE_CHECKING:
    from lightning_spectra.models.base import SpectraModel

#: Whether a regressor's CNN and MSResNet keep their BatchNorm when ``batch_norm`` is unset. Off: on three public
#: NIR sets (BENCHMARKS.md, "Regression: hidden normalisation and BatchNorm") it lowered the validation RMSE in 2
#: of 3 sets for each model (geometric mean over the sets -8.6 % CNN, -4.7 % MSResNet; test -4 % and -6 %), and
#: MSResNet trains in about half the time; on the smallest set (64 training spectra) the CNN did better with it.
REGRESSION_BATCH_NORM = False


def is_regressor(model: SpectraModel) -> bool:
    return isinstance(model.task, RegressionTask)


def keeps_feature_norms(model: SpectraModel) -> bool:
    """Whether ``model`` normalises each spectrum's hidden features: always for a classifier (the paper's
    layers), for a regressor only with ``input_normalization: layer``."""
    return not is_regressor(model) or model.input_normalization == "layer"


def feature_norm(model: SpectraModel, dim: int | tuple[int, ...]) -> nn.LayerNorm | nn.Identity:
    """``nn.LayerNorm(dim)`` where ``model`` keeps per-spectrum feature norms (:func:`keeps_feature_norms`),
    else the identity in its place (same index in a Sequential, so the other layers' keys stay)."""
    return nn.LayerNorm(dim) if keeps_feature_norms(model) else nn.Identity()


def uses_batch_norm(model: SpectraModel, batch_norm: bool | None) -> bool:
    """The convolutional models' ``batch_norm`` switch: ``None`` is the task's choice, BatchNorm for a
    classifier (the paper's) and :data:`REGRESSION_BATCH_NORM` for a regressor."""
    if batch_norm is not None:
        return batch_norm
    return REGRESSION_BATCH_NORM if is_regressor(model) else True


def batch_norm_layer(channels: int, on: bool) -> nn.BatchNorm1d | nn.Identity:
    return nn.BatchNorm1d(channels) if on else nn.Identity()


def restore_stored_norms(model: nn.Module, state_dict: Mapping[str, torch.Tensor]) -> list[str]:
    """Put a norm layer of the stored shape wherever ``state_dict`` holds weights for a module that is an
    identity in ``model``: a BatchNorm1d where running statistics were stored, else a LayerNorm. Returns the
    names of the modules replaced. Run before ``load_state_dict``, so nothing the checkpoint holds is lost
    (a regression model saved before its feature norms became identities computes what it computed then)."""
    restored = []
    # where the model is now (the checkpoint may be mapped elsewhere); a classical calibration has buffers only
    device = next(itertools.chain(model.parameters(), model.buffers()), torch.empty(0)).device
    for name, module in list(model.named_modules()):
        weight = state_dict.get(f"{name}.weight")
        if not isinstance(module, nn.Identity) or weight is None:
            continue
        if f"{name}.running_mean" in state_dict:
            layer: nn.Module = nn.BatchNorm1d(weight.shape[0])
        else:
            layer = nn.LayerNorm(tuple(weight.shape))
        model.set_submodule(name, layer.to(device=device, dtype=weight.dtype))
        restored.append(name)
    return restored
