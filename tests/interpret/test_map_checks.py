"""Integrated Gradients and deletion curves next to a set of maps."""

from __future__ import annotations

import torch
from torch import nn

from lightning_spectra.interpret.map_checks import check_maps


def linear_classifier() -> nn.Linear:
    torch.manual_seed(0)
    return nn.Linear(16, 2)


def test_ig_of_a_linear_model_is_input_minus_reference_times_the_weights() -> None:
    model = linear_classifier()
    x, reference, target = torch.randn(3, 16), torch.randn(3, 16), torch.tensor([0, 1, 1])
    maps = torch.randn(3, 16)
    ig, curves = check_maps(model, x, maps, "1D Grad-CAM", target, reference, ig_steps=8)
    torch.testing.assert_close(ig, (x - reference) * model.weight.detach()[target])
    assert curves == {}


def test_a_deletion_curve_per_method_the_map_s_first() -> None:
    model = linear_classifier()
    x, target = torch.randn(4, 16), torch.tensor([0, 1, 0, 1])
    deletion = {"regions": 4, "steps": 2, "random_orders": 1}
    ig, curves = check_maps(model, x, x, "gradient x input", target, torch.zeros(4, 16), deletion=deletion)
    assert ig is None and list(curves) == ["gradient x input"]
    _, both = check_maps(model, x, x, "gradient x input", target, torch.zeros(4, 16), ig_steps=4, deletion=deletion)
    assert list(both) == ["gradient x input", "integrated gradients"]
    assert len(both["integrated gradients"].fractions) == 3
