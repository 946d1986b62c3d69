"""The attribution layer a model names, and the forward hook that records its output."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lightning_spectra.interpret.layers import attribution_layer, layer_name, recorded_outputs


class Named(nn.Sequential):
    attribution_layer = "1"


def test_attribution_layer_is_the_named_submodule_or_the_input() -> None:
    model = Named(nn.Conv1d(1, 2, 3), nn.Conv1d(2, 2, 3))
    assert attribution_layer(model) is model[1]
    assert attribution_layer(model, "0") is model[0]
    assert attribution_layer(model, "input") is None
    assert layer_name(model) == "1" and layer_name(model, "0") == "0"
    with pytest.raises(ValueError, match="Linear has no attribution_layer"):
        attribution_layer(nn.Linear(2, 1))


def test_recorded_outputs_keeps_each_pass_and_removes_its_hook() -> None:
    conv = nn.Conv1d(1, 2, 3)
    x = torch.randn(4, 1, 10)
    with recorded_outputs(conv) as outputs:
        conv(x)
        conv(x[:2])
    assert [tuple(o.shape) for o in outputs] == [(4, 2, 8), (2, 2, 8)]
    conv(x)
    assert len(outputs) == 2 and not conv._forward_hooks
