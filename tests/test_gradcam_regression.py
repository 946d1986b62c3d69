"""1D Grad-CAM on a regressor's predicted value, with captum as the oracle, and the target-range averages."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from captum.attr import LayerGradCam, LayerGradientXActivation

from lightning_spectra.interpret import grad_cam, integrated_gradients
from lightning_spectra.interpret.receptive_field import upsample_by_receptive_field
from lightning_spectra.interpret.target_ranges import target_ranges
from lightning_spectra.models import CNN, MSResNet


def regressors() -> list[torch.nn.Module]:
    torch.manual_seed(0)
    stats = {"target_mean": [5.0, -2.0], "target_scale": [3.0, 0.5]}
    cnn = CNN(spectrum_length=256, task="regression", target_names=["fat", "water"], **stats)
    resnet = MSResNet(spectrum_length=1024, task="regression", target_names=["fat", "water"], **stats)
    return [cnn.eval(), resnet.eval()]


@pytest.mark.parametrize("model", regressors(), ids=lambda m: type(m).__name__)
def test_regression_maps_match_captum_on_the_predicted_value(model) -> None:
    torch.manual_seed(3)
    x = torch.randn(3, model.spectrum_length)
    layer = model.get_submodule(model.attribution_layer)
    predicted_value = lambda inputs: model.predict_values(model(inputs))  # noqa: E731 - in the targets' units
    for t in (0, 1):
        ours = grad_cam(model, x, target=t)
        oracle = LayerGradientXActivation(predicted_value, layer).attribute(x, target=t).sum(dim=1)
        torch.testing.assert_close(ours.layer_maps, oracle, rtol=1e-5, atol=1e-7)
        assert ours.layer_maps.abs().max() > 0
        up, _ = upsample_by_receptive_field(oracle, ours.fields)  # maps are placed by receptive field
        torch.testing.assert_close(ours.maps, up, rtol=1e-5, atol=1e-7)
        classic = LayerGradCam(predicted_value, layer).attribute(x, target=t, relu_attributions=False)
        up_classic, _ = upsample_by_receptive_field(classic[:, 0], ours.fields)
        torch.testing.assert_close(ours.classic, up_classic, rtol=1e-5, atol=1e-7)


def test_regression_maps_are_in_the_targets_units_and_default_to_the_first_target() -> None:
    """Maps of the restored value are the standardised output's maps times the target's scale."""
    model = regressors()[0]
    x = torch.randn(2, model.spectrum_length)
    default = grad_cam(model, x)
    assert default.target.tolist() == [0, 0]
    raw = LayerGradientXActivation(model, model.conv3).attribute(x, target=1).sum(dim=1)
    torch.testing.assert_close(grad_cam(model, x, target=1).layer_maps, 0.5 * raw, rtol=1e-5, atol=1e-7)


def test_target_ranges_split_by_quantiles() -> None:
    values = np.array([1.0, 2, 3, 4, 5, 6, np.nan])
    groups, labels = target_ranges(values, 3, "fat")
    assert groups.tolist() == [0, 0, 1, 1, 2, 2, -1]
    assert labels == ["fat 1 to 2.667", "fat 2.667 to 4.333", "fat 4.333 to 6"]
    assert target_ranges(np.array([2.0, 2.0]), 3)[1] == ["target = 2"]


def test_integrated_gradients_of_a_regressor_add_up_to_its_predicted_value() -> None:
    """Completeness in the target's units: IG explains the same number as the regressor's Grad-CAM maps."""
    model = regressors()[0]
    torch.manual_seed(4)
    reference, grid = torch.randn(3, model.spectrum_length), torch.arange(model.spectrum_length)
    # a peak added to the reference: a short path, which 64 steps integrate well through the ReLUs
    x = reference + torch.tensor([[1.0], [2.0], [3.0]]) * torch.exp(-0.5 * ((grid - 80) / 8) ** 2)
    ig = integrated_gradients(model, x, torch.zeros(3, dtype=torch.long), reference, n_steps=64)
    with torch.no_grad():
        difference = model.predict_values(model(x))[:, 0] - model.predict_values(model(reference))[:, 0]
    torch.testing.assert_close(ig.sum(dim=1), difference, rtol=2e-2, atol=2e-3)
