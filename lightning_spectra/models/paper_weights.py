"""Load the authors' published weights (``CNN.pth``, ``ConvSC_Att.pth``) into :class:`CNN` and :class:`ConvSCAttention`.

The files are dicts ``{"model_state": state_dict}`` saved from the paper's notebooks, whose modules had other
names than ours (``LayerNorm`` for our ``input_norm``, ``embeding`` for ``encoder.embedding``, ...). The maps
below rename every tensor; nothing is reshaped, so a model built with the wrong sizes fails with the key named.

- ``CNN.pth`` is the authors' later "2mpool3" CNN (max-pool 3 in the second block, 22,803 parameters, a
  328-long head), not the paper's 23,307-parameter version: build ``CNN(pools=(2, 3, 2))`` for it.
- ``ConvSC_Att.pth`` holds the never-trained feed-forward block (see :mod:`.conv_sc_attention`). It is loaded
  into a model built with ``include_unused_layer=True`` and skipped otherwise (it does not change any output).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor

from lightning_spectra.errors import SpectraDataError
from lightning_spectra.models.base import SpectraModel
from lightning_spectra.models.cnn import CNN
from lightning_spectra.models.conv_sc_attention import ConvSCAttention

# Prefix of a tensor name in the authors' notebook -> the same tensor's name in our module (first match wins).
CNN_KEYS = (
    ("LayerNorm.", "input_norm."),
    ("conv1.", "conv1."),
    ("conv2.", "conv2."),
    ("conv3.", "conv3."),
    ("fc1.0.", "head.1."),  # the head's LayerNorm (our head.0 is the Flatten)
    ("fc1.1.", "head.2."),
)
CONV_SC_KEYS = (
    ("conv1.", "encoder.conv1."),
    ("conv3.", "encoder.conv3."),
    ("embeding.", "encoder.embedding."),
    ("MultiHeadAttention.", "encoder.attention.spatial."),
    ("C_Attention_F.", "encoder.attention.channel."),
    ("LayerNorm.", "encoder.norm."),
    ("dec_conv3.", "encoder.dec_conv3."),
    ("fc1.0.", "fc1."),
    ("norm1.", "encoder.feed_forward.norm1."),
    ("linear1.", "encoder.feed_forward.linear1."),
    ("linear2.", "encoder.feed_forward.linear2."),
    ("norm2.", "encoder.feed_forward.norm2."),
)
UNUSED_PREFIX = "encoder.feed_forward."


def _rename(state: dict[str, Tensor], keys: tuple[tuple[str, str], ...], path: Path) -> dict[str, Tensor]:
    renamed = {}
    for name, tensor in state.items():
        prefix = next((p for p in keys if name.startswith(p[0])), None)
        if prefix is None:
            raise SpectraDataError(f"{path}: unexpected tensor {name!r} for this model")
        renamed[prefix[1] + name[len(prefix[0]) :]] = tensor
    return renamed


def load_paper_weights(model: SpectraModel, path: str | Path) -> SpectraModel:
    """Copy the authors' weights in ``path`` into ``model`` (a :class:`CNN` or :class:`ConvSCAttention`) and return it.

    Every tensor of ``model`` must come from the file and every tensor of the file must fit ``model`` (the
    Conv SC feed-forward block excepted, see the module docstring), with the same shape; otherwise a
    :class:`SpectraDataError` names the first tensor that does not.
    """
    path = Path(path)
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError) as error:
        raise SpectraDataError(f"{path}: cannot read the weights ({error})") from None
    state = saved.get("model_state", saved) if isinstance(saved, dict) else None
    if not isinstance(state, dict):
        raise SpectraDataError(f"{path}: expected a state dict (or {{'model_state': state dict}})")
    if isinstance(model, CNN):
        state = _rename(state, CNN_KEYS, path)
    elif isinstance(model, ConvSCAttention):
        state = _rename(state, CONV_SC_KEYS, path)
        if not hasattr(model.encoder, "feed_forward"):
            state = {k: v for k, v in state.items() if not k.startswith(UNUSED_PREFIX)}
    else:
        raise TypeError(f"the authors published weights for CNN and ConvSCAttention only, not {type(model).__name__}")
    ours = model.state_dict()
    own = {k for k in ours if k != "x_axis"}  # our buffer of the spectra's x values; not part of the notebook's model
    missing = sorted(own - state.keys())
    if missing:
        raise SpectraDataError(f"{path}: no tensor for {missing[0]!r}")
    for name, tensor in state.items():
        if name not in ours:
            raise SpectraDataError(f"{path}: tensor {name!r} has no place in {type(model).__name__}")
        if ours[name].shape != tensor.shape:
            hint = " (the file holds the 2mpool3 CNN: build CNN(pools=(2, 3, 2)))" if name == "head.1.weight" else ""
            raise SpectraDataError(
                f"{path}: {name!r} is {tuple(tensor.shape)} in the file, {tuple(ours[name].shape)} in the model{hint}"
            )
    model.load_state_dict(state, strict=False)
    return model
