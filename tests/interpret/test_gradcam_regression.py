"""1D Grad-CAM on a regressor's predicted value, with captum as the oracle, the target-range averages, and the
GradCAM callback's outputs for a regressor (the same run path as a classifier's)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from captum.attr import LayerGradCam, LayerGradientXActivation
from conftest import memory_datamodule

from lightning_spectra.apps.paper_report import read_columns
from lightning_spectra.callbacks import GradCAM
from lightning_spectra.callbacks import gradcam as gradcam_module
from lightning_spectra.interpret import grad_cam, integrated_gradients, reference_spectra
from lightning_spectra.interpret.receptive_field import upsample_by_receptive_field
from lightning_spectra.interpret.target_ranges import target_ranges
from lightning_spectra.models import CNN, MSResNet
from lightning_spectra.tasks import Targets


def regressors() -> list[torch.nn.Module]:
    torch.manual_seed(0)
    targets = Targets.values(["fat", "water"], mean=[5.0, -2.0], scale=[3.0, 0.5])
    cnn = CNN(spectrum_length=256, targets=targets)
    resnet = MSResNet(spectrum_length=1024, targets=targets)
    return [cnn.eval(), resnet.eval()]


@pytest.mark.parametrize("model", regressors(), ids=lambda m: type(m).__name__)
def test_regression_maps_match_captum_on_the_predicted_value(model) -> None:
    torch.manual_seed(3)
    x = torch.randn(3, model.spectrum_length)
    layer = model.get_submodule(model.attribution_layer)
    predicted_value = lambda inputs: model.predict_values(model(inputs))  # noqa: E731 - in the targets' units
    for t in (0, 1):
        ours = grad_cam(model, x, target=t, score=model.task.attribution_score)
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
    task = model.task
    default = grad_cam(model, x, score=task.attribution_score, default_target=task.default_attribution_target)
    assert default.target.tolist() == [0, 0]
    raw = LayerGradientXActivation(model, model.conv3).attribute(x, target=1).sum(dim=1)
    in_units = grad_cam(model, x, target=1, score=task.attribution_score).layer_maps
    torch.testing.assert_close(in_units, 0.5 * raw, rtol=1e-5, atol=1e-7)


def test_without_the_task_s_score_the_outputs_are_read_as_class_logits() -> None:
    """interpret/ knows no task: the score is the caller's, and by default a class logit (here output 1 as is,
    standardised, where the task's score is in the target's units)."""
    model = regressors()[0]
    x = torch.randn(2, model.spectrum_length)
    raw = LayerGradientXActivation(model, model.conv3).attribute(x, target=1).sum(dim=1)
    torch.testing.assert_close(grad_cam(model, x, target=1).layer_maps, raw, rtol=1e-5, atol=1e-7)


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
    # a peak added to the reference: a short path, which 256 steps integrate well through the ReLUs (without an
    # input LayerNorm, a regressor's default, the path crosses more ReLU kinks than with one)
    x = reference + torch.tensor([[1.0], [2.0], [3.0]]) * torch.exp(-0.5 * ((grid - 80) / 8) ** 2)
    target = torch.zeros(3, dtype=torch.long)
    ig = integrated_gradients(model, x, target, reference, n_steps=256, score=model.task.attribution_score)
    with torch.no_grad():
        difference = model.predict_values(model(x))[:, 0] - model.predict_values(model(reference))[:, 0]
    torch.testing.assert_close(ig.sum(dim=1), difference, rtol=2e-2, atol=2e-3)


# ------------------------------------------------------------------------------------------ callback
LENGTH = 256


@pytest.fixture(scope="module")
def regression_run(tmp_path_factory: pytest.TempPathFactory):
    """The GradCAM callback on a CNN regressor's test split: its results, summary and output folder."""
    tmp = tmp_path_factory.mktemp("gradcam_regression")
    grid = torch.arange(LENGTH, dtype=torch.float32)
    target = torch.linspace(1, 9, 24)
    spectra = target[:, None] * torch.exp(-0.5 * ((grid - 80) / 8) ** 2) + 0.05 * torch.randn(24, LENGTH)
    torch.manual_seed(0)
    model = CNN(spectrum_length=LENGTH, targets=Targets.values(["fat"], mean=[5.0], scale=[2.0]))
    model.eval()
    datamodule = memory_datamodule(test=SimpleNamespace(spectra=spectra, labels=target[:, None]))
    datamodule.ordered = True  # a series (a reaction followed in time): its figure is drawn
    trainer = SimpleNamespace(
        is_global_zero=True,
        datamodule=datamodule,
        strategy=SimpleNamespace(root_device=torch.device("cpu")),
        loggers=[],
    )
    summary: dict = {}
    callback = GradCAM(deletion_regions=16, deletion_steps=4, random_orders=2)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(gradcam_module, "output_dirs", lambda _trainer: (tmp / "attribution", tmp / "figures"))
        patch.setattr(gradcam_module, "update_summary", lambda _trainer, values: summary.update(values))
        callback.run(trainer, model, "test")
    return callback.results["test"], summary, model, spectra


def test_regression_run_writes_the_unseen_points(regression_run) -> None:
    result, summary, _, _ = regression_run
    unseen = np.load(summary["gradcam_test_files"]["unseen"])
    assert unseen.shape == (LENGTH,) and unseen.dtype == bool
    np.testing.assert_array_equal(unseen, result["unseen"])
    assert summary["gradcam_test_unseen_points"] == int(unseen.sum())
    assert np.all(result["maps"][:, unseen] == 0)  # no layer position reads them
    assert result["change"] is None and "gradcam_test_misclassified" not in summary  # no classes to get wrong


def test_regression_run_writes_the_deletion_curve_of_the_predicted_value(regression_run) -> None:
    result, summary, model, spectra = regression_run
    table = read_columns(Path(summary["gradcam_test_files"]["deletion_csv"]))
    # the layer map and the default map (Integrated Gradients, computed for it), each against random orders
    assert list(table) == [
        "fraction",
        "1D_Grad-CAM_order",
        "1D_Grad-CAM_random",
        "integrated_gradients_order",
        "integrated_gradients_random",
    ]
    assert summary["gradcam_test_default_map"] == "integrated gradients"
    ig = result["deletion"]["integrated gradients"]
    assert summary["gradcam_test_default_deletion_gap"] == pytest.approx(ig.gap, abs=1e-6)
    curve = result["deletion"]["1D Grad-CAM"]
    np.testing.assert_allclose(table["1D_Grad-CAM_order"], curve.attribution, rtol=1e-6)
    assert summary["gradcam_test_deletion_gap"] == pytest.approx(curve.gap, abs=1e-6)
    assert summary["gradcam_test_deletion_reference"] == "lowest_group_mean"  # a regressor's: reference auto
    # it follows the predicted value in the target's units, from the spectra to the lowest range's mean
    reference = reference_spectra(spectra, "lowest_group_mean", *[torch.as_tensor(result["groups"])] * 2)
    with torch.no_grad():
        before, after = (model.predict_values(model(v))[:, 0].mean().item() for v in (spectra, reference))
    assert summary["gradcam_test_deletion_value_before"] == pytest.approx(before, rel=1e-5)
    assert summary["gradcam_test_deletion_value_all_replaced"] == pytest.approx(after, rel=1e-5)
    assert "gradcam_test_deletion_probability_before" not in summary
    names = [Path(p).name for p in summary["gradcam_test_figures"]]
    assert "gradcam_test_deletion.png" in names


def test_regression_run_draws_the_series(regression_run) -> None:
    _, summary, _, _ = regression_run
    figures = {Path(p).name: Path(p) for p in summary["gradcam_test_figures"]}
    assert {"gradcam_test_spectra.png", "gradcam_test_range_mean.png", "gradcam_test_series.png"} <= set(figures)
    assert figures["gradcam_test_series.png"].read_bytes()[:4] == b"\x89PNG"


def test_regression_summary_names_the_method_and_the_layer(regression_run) -> None:
    result, summary, _, _ = regression_run
    assert summary["gradcam_test_method"] == "1D Grad-CAM"
    assert summary["gradcam_test_layer"] == "conv3"
    assert summary["gradcam_test_layer_positions"] == result["layer_positions"] > 0
    assert set(summary["gradcam_test_peak_x"]) == {"fat 1 to 3.667", "fat 3.667 to 6.333", "fat 6.333 to 9"}
    assert (result["target"] == 0).all()  # every map explains the first predicted value
