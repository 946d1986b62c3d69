"""1D Grad-CAM against captum as an oracle, and both attribution callbacks in a real fit + test."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import SimpleNamespace

import lightning.pytorch as L
import numpy as np
import pytest
import torch
from captum.attr import LayerAttribution, LayerGradCam, LayerGradientXActivation
from lightning.pytorch.loggers import CSVLogger
from torch import nn

from lightning_spectra.apps.paper_report import read_columns
from lightning_spectra.callbacks import FeatureImportance, GradCAM, Timing
from lightning_spectra.data import HEDDataModule
from lightning_spectra.interpret import class_means, grad_cam, layer_gradients
from lightning_spectra.interpret.gradcam import classic_informative, method_name
from lightning_spectra.interpret.groups import predicted_change
from lightning_spectra.interpret.receptive_field import upsample_by_receptive_field
from lightning_spectra.models import CNN
from lightning_spectra.tasks import Targets

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def assert_png(path: Path) -> None:
    from matplotlib.image import imread

    assert path.read_bytes()[:8] == PNG_SIGNATURE
    image = imread(path)
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100


def models() -> list[nn.Module]:
    torch.manual_seed(0)
    out = [CNN(spectrum_length=256), CNN(spectrum_length=256, targets=Targets.classes(3))]
    if importlib.util.find_spec("lightning_spectra.models.resnet") is not None:
        from lightning_spectra.models.resnet import MSResNet

        out.append(MSResNet(spectrum_length=1024))  # 28 positions at its multi-scale layer
    return [m.eval() for m in out]


@pytest.mark.parametrize("model", models(), ids=lambda m: f"{type(m).__name__}-{m.out_features}")
def test_matches_captum(model: nn.Module) -> None:
    torch.manual_seed(3)
    x = torch.randn(3, model.spectrum_length)
    layer = model.get_submodule(model.attribution_layer)
    classes = range(model.out_features) if model.out_features > 1 else [1]
    for c in classes:
        captum_target = c if model.out_features > 1 else 0  # a single logit: index 0 is class 1's score
        ours = grad_cam(model, x, target=c)
        oracle = LayerGradientXActivation(model, layer).attribute(x, target=captum_target).sum(dim=1)
        classic = LayerGradCam(model, layer).attribute(x, target=captum_target, relu_attributions=False)
        torch.testing.assert_close(ours.layer_maps, oracle, rtol=1e-5, atol=1e-7)
        assert ours.layer_maps.abs().max() > 0
        up, _ = upsample_by_receptive_field(oracle, ours.fields)  # placed by receptive field (own tests)
        torch.testing.assert_close(ours.maps, up, rtol=1e-5, atol=1e-7)
        up_classic, _ = upsample_by_receptive_field(classic[:, 0], ours.fields)
        torch.testing.assert_close(ours.classic, up_classic, rtol=1e-5, atol=1e-7)
        relu = grad_cam(model, x, target=c, relu=True, fields=ours.fields).classic  # ReLU at the layer, then up
        with_relu = LayerGradCam(model, layer).attribute(x, target=captum_target, relu_attributions=True)
        up_relu, _ = upsample_by_receptive_field(with_relu[:, 0], ours.fields)
        torch.testing.assert_close(relu, up_relu, rtol=1e-5, atol=1e-7)
        equal_cells = LayerAttribution.interpolate(oracle.unsqueeze(1), (model.spectrum_length,), "linear")
        assert not torch.allclose(ours.maps, equal_cells.squeeze(1))  # not the equal-cell interpolation
        assert ours.maps.shape == (3, model.spectrum_length)


def test_binary_sign_convention_and_predicted_target() -> None:
    model = models()[0]
    x = torch.randn(6, 256)
    one, zero = grad_cam(model, x, target=1), grad_cam(model, x, target=0)
    torch.testing.assert_close(zero.maps, -one.maps)  # class 0's score is -z
    default = grad_cam(model, x)
    predicted = (model(x)[:, 0] > 0).long()
    assert torch.equal(default.target, predicted)
    expected = torch.where(predicted[:, None] == 1, one.maps, zero.maps)
    torch.testing.assert_close(default.maps, expected)


def test_inference_mode_and_model_modes() -> None:
    model = models()[0].train()
    x = torch.randn(4, 256)
    with torch.inference_mode():
        inside = grad_cam(model, x.clone(), target=1)
    assert model.training and all(m.training for m in model.modules())  # eval for the maps, then restored
    torch.testing.assert_close(inside.maps, grad_cam(model, x, target=1).maps)


def test_rows_of_a_sequence_get_their_own_gradient() -> None:
    pytest.importorskip("lightning_spectra.models.conv_sct_attention")
    from lightning_spectra.models import ConvSCTAttention

    torch.manual_seed(5)
    model = ConvSCTAttention(
        spectrum_length=128,
        embed_dim=32,
        temporal_heads=4,
        temporal_feedforward=64,
        dim_feedforward=64,
        eval_sequence="whole",  # the paper's layout: the spectra of the batch form one sequence
    ).eval()
    with torch.no_grad():  # open the ReZero gates so that the spectra of the sequence really interact
        model.temporal.attention_gate.fill_(0.8)
        model.temporal.feed_forward_gate.fill_(0.5)
    x = torch.randn(9, 128)
    a, g, target, _ = layer_gradients(model, x)
    captured = []
    handle = model.get_submodule(model.attribution_layer).register_forward_hook(lambda m, i, o: captured.append(o))
    scores = model(x.clone().requires_grad_())[:, 0] * (2 * target - 1)
    handle.remove()
    brute = torch.stack([torch.autograd.grad(scores[i], captured[0], retain_graph=True)[0][i] for i in range(9)])
    torch.testing.assert_close(g, brute, rtol=1e-5, atol=1e-8)
    summed = torch.autograd.grad(scores.sum(), captured[0])[0]
    assert (summed - brute).abs().max() > 1e-4  # the batch-sum shortcut would have been wrong here
    assert "to_sequences" not in vars(model)


def test_no_attribution_layer_and_class_means() -> None:
    with pytest.raises(ValueError, match="attribution_layer"):
        grad_cam(nn.Linear(4, 1), torch.randn(2, 4))
    values = torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    means = class_means(values, torch.tensor([0, 0, 2]), 3)
    torch.testing.assert_close(means[0], torch.tensor([2.0, 3.0]))
    assert torch.isnan(means[1]).all()
    torch.testing.assert_close(means[2], torch.tensor([5.0, 6.0]))


# ------------------------------------------------------------------------------------------ callbacks
class ImageLogger(CSVLogger):
    """A CSV logger that also takes images, the way WandbLogger's ``log_image`` does."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.images: dict[str, list[str]] = {}

    def log_image(self, key: str, images: list, step: int | None = None, **kwargs) -> None:
        assert all(len(v) == len(images) for v in kwargs.values())
        self.images[key] = images


@pytest.fixture(scope="module")
def fitted_and_tested(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("attribution")
    data = HEDDataModule(simulated_points=512, noise_copies=2, progress=False, cache_dir=str(root / "cache"))
    L.seed_everything(12345)
    model = CNN(
        spectrum_length=data.spectrum_length,
        targets=data.targets,
        x_axis=data.x_axis,
    )
    importance = FeatureImportance(on_test=True)
    gradcam = GradCAM(
        on_test=True,
        indices=[0, -1, 5000],
        integrated_gradients=True,
        ig_steps=4,
        deletion_regions=16,
        deletion_steps=4,
        random_orders=2,
    )
    logger = ImageLogger(root, name="run")
    trainer = L.Trainer(
        max_epochs=2,
        logger=logger,
        callbacks=[Timing(), importance, gradcam],
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
        num_sanity_val_steps=0,
        log_every_n_steps=1,
    )  # inference_mode=True: the default
    trainer.fit(model, datamodule=data)
    fit_maps = gradcam.results["test"]["maps"].copy()
    trainer.test(model, datamodule=data, verbose=False)
    return trainer, model, data, importance, gradcam, logger, fit_maps


def test_callbacks_write_arrays_figures_and_summary(fitted_and_tested) -> None:
    trainer, model, data, importance, gradcam, logger, fit_maps = fitted_and_tested
    folder = Path(logger.log_dir)
    summary = json.loads((folder / "summary.json").read_text())
    for split in ("train", "test"):  # train at fit end, test at test end (under inference mode)
        figures = [Path(p) for p in summary[f"feature_importance_{split}_figures"]]
        assert len(figures) == 2  # the importance and the grouped input gradients (symlog: an option)
        for png in figures:
            assert png.parent == folder / "figures"
            assert_png(png)
        table = np.genfromtxt(summary[f"feature_importance_{split}_files"]["csv"], delimiter=",", names=True)
        assert table.dtype.names == ("x", "signed_sum", "mean_square")
        np.testing.assert_allclose(table["x"], data.x_axis, rtol=1e-6)
        np.testing.assert_allclose(table["signed_sum"], importance.results[split]["signed_sum"], rtol=1e-6, atol=1e-12)
        assert summary[f"feature_importance_{split}_loss"] > 0
    for png in summary["gradcam_test_figures"]:
        assert_png(Path(png))
    groups = {"/".join(key.split("/")[:2]) for key in logger.images}  # one image per key: <kind>/<split>/<figure>
    assert groups == {"feature_importance/train", "feature_importance/test", "gradcam/test"}
    assert "gradcam/test/class_mean" in logger.images and all(len(v) == 1 for v in logger.images.values())

    files = summary["gradcam_test_files"]
    maps = np.load(files["maps"])
    assert maps.shape == (349, 512) and np.abs(maps).max() > 0
    assert Path(files["maps"]).parent == folder / "attribution"
    np.testing.assert_allclose(maps, fit_maps, rtol=1e-5, atol=1e-6)  # same weights at fit end and test end
    with open(files["selected_csv"]) as f:
        header = f.readline().strip().split(",")
    classic = ["gradcam_classic[0]"] if "classic" in files else []
    assert header[: 3 + len(classic)] == ["x", "spectrum[0]", "gradcam[0]", *classic]
    assert header[-2 - len(classic) :][:2] == ["spectrum[348]", "gradcam[348]"]
    assert len(header) == 1 + 2 * (2 + len(classic))  # index 5000 skipped
    assert summary["gradcam_test_layer"] == "conv3"
    assert summary["gradcam_test_method"] == "1D Grad-CAM"
    assert set(summary["gradcam_test_peak_x"]) == set(data.class_names)
    names = [Path(p).name for p in summary["gradcam_test_figures"]]
    assert "gradcam_test_series.png" in names and "gradcam_test_deletion.png" in names
    for prefix in ("gradcam_test", "gradcam_test_ig"):
        area, chance = summary[f"{prefix}_deletion_attribution_area"], summary[f"{prefix}_ground_truth_chance"]
        assert 0 <= area <= 1 and 0 <= summary[f"{prefix}_deletion_random_area"] <= 1
        assert 0 < chance < 1 and 0 <= summary[f"{prefix}_ground_truth_share"] <= 1
    peaks = np.genfromtxt(files["peaks_csv"], delimiter=",", names=True, dtype=None, encoding="utf-8")
    assert len(peaks) >= 3 and {"position", "found_in"} <= set(peaks.dtype.names)


def test_callback_maps_equal_a_direct_computation(fitted_and_tested) -> None:
    _, model, data, importance, gradcam, _, _ = fitted_and_tested
    test = data.splits.test
    direct = grad_cam(model, test.spectra, test.labels)
    np.testing.assert_allclose(gradcam.results["test"]["maps"], direct.maps.numpy(), rtol=1e-5, atol=1e-6)
    assert (gradcam.results["test"]["target"] == test.labels.numpy()).all()
    from lightning_spectra.interpret import input_gradient_importance

    signed, _ = input_gradient_importance(model, data.splits.train.spectra, data.splits.train.labels, model.loss)
    np.testing.assert_allclose(importance.results["train"]["signed_sum"], signed.numpy(), rtol=1e-5, atol=1e-10)


def test_maps_explain_the_label_even_where_the_model_is_wrong(
    fitted_and_tested, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A model whose single logit is negated predicts the wrong class for every spectrum: the maps must still
    explain the *label* (and so differ in sign from the maps of the prediction), and every spectrum is flagged."""
    import copy

    trainer, model, data, _, _, _, _ = fitted_and_tested
    wrong = copy.deepcopy(model)
    with torch.no_grad():
        wrong.head[-1].weight.neg_()
        wrong.head[-1].bias.neg_()
    test = data.splits.test
    from lightning_spectra.callbacks import gradcam as module

    summary: dict = {}  # this run's files and summary go aside, not over the fixture run's
    monkeypatch.setattr(module, "output_dirs", lambda _trainer: (tmp_path / "attribution", tmp_path / "figures"))
    monkeypatch.setattr(module, "update_summary", lambda _trainer, values: summary.update(values))
    callback = GradCAM(faithfulness=False, log_images=False)
    callback.run(trainer, wrong, "test")
    maps = callback.results["test"]["maps"]
    by_label = grad_cam(wrong, test.spectra, test.labels).maps.numpy()
    by_prediction = grad_cam(wrong, test.spectra).maps.numpy()
    predicted = (wrong(test.spectra)[:, 0] > 0).long()
    assert bool((predicted != test.labels).all())
    np.testing.assert_allclose(maps, by_label, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(maps, -by_prediction, rtol=1e-5, atol=1e-6)  # one logit: class 0's score is -z
    assert summary["gradcam_test_misclassified"] == len(test.labels)


def test_class_means_are_signed_means_of_each_class_on_the_two_theta_axis(fitted_and_tested) -> None:
    trainer, model, data, _, gradcam, logger, _ = fitted_and_tested
    result = gradcam.results["test"]
    maps, targets = result["maps"], result["target"]
    assert (maps < 0).any() and (maps > 0).any()  # signed maps: an abs() in the means would show
    summary = json.loads((Path(logger.log_dir) / "summary.json").read_text())
    table = read_columns(Path(summary["gradcam_test_files"]["class_mean_csv"]))
    np.testing.assert_allclose(table["x"], data.x_axis, rtol=1e-7)  # 2 theta, not point indices
    for c, name in enumerate(data.class_names):
        expected = maps[targets == c].mean(axis=0)
        np.testing.assert_allclose(result["class_mean_maps"][c], expected, rtol=1e-5, atol=1e-7)
        column = read_columns(Path(summary["gradcam_test_files"]["class_mean_csv"]))[f"gradcam[{name}]"]
        np.testing.assert_allclose(column, expected, rtol=1e-5, atol=1e-7)
        # the peak is the default map's: Integrated Gradients (the model class's measured default), every point
        assert summary["gradcam_test_default_map"] == "integrated gradients"
        default = result["integrated_gradients"][targets == c].mean(axis=0)
        peak = float(np.asarray(data.x_axis)[np.argmax(default)])
        assert summary["gradcam_test_peak_x"][name] == pytest.approx(peak)


def test_deletion_in_integrated_gradients_order_beats_a_random_order(fitted_and_tested) -> None:
    """A sign check end to end: removing the evidence *for* the class first (by Integrated Gradients, whose
    points add up to the score difference) must lower its probability faster than a random order; a flipped
    sign removes the evidence against it first. (The 2-epoch model's Grad-CAM does not pass this: that is
    what the deletion number is for; see BENCHMARKS.md for the trained models.)"""
    curves = fitted_and_tested[4].results["test"]["deletion"]
    curve = curves["integrated gradients"]
    assert curve.attribution_area < curve.random_area
    for name, other in curves.items():
        assert other.attribution[0] == pytest.approx(other.random[0]), name  # both start from the same spectra


def test_predicted_change_of_a_series() -> None:
    assert predicted_change(np.array([0, 0, 0, 1, 1])) == 3
    assert predicted_change(np.array([0, 0, 1, 0, 0, 1, 1, 1])) == 5  # a flicker does not move it
    assert predicted_change(np.array([1, 1, 1])) is None
    assert predicted_change(np.array([0, 0, 2, 2, 1])) == 2


def test_gradcam_skips_models_without_a_layer(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    class NoLayer(CNN):
        attribution_layer = None

    data = HEDDataModule(simulated_points=512, noise_copies=2, progress=False, cache_dir=str(tmp_path / "cache"))
    model = NoLayer(spectrum_length=data.spectrum_length, x_axis=data.x_axis, targets=data.targets)
    trainer = L.Trainer(
        max_epochs=1,
        logger=CSVLogger(tmp_path),
        callbacks=[GradCAM()],
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
        num_sanity_val_steps=0,
        limit_val_batches=0,
    )
    with caplog.at_level("INFO"):
        trainer.fit(model, datamodule=data)
    assert "no attribution_layer" in caplog.text
    assert not (Path(trainer.logger.log_dir) / "figures").exists()


def test_input_layer_map_is_gradient_times_input() -> None:
    """No positional layer: the map is taken at the input, where 1D Grad-CAM is captum's InputXGradient."""
    from captum.attr import InputXGradient

    from lightning_spectra.models import FCNN1D

    torch.manual_seed(0)
    model, x = FCNN1D(spectrum_length=64).eval(), torch.randn(5, 64)
    result = grad_cam(model, x, target=1)
    oracle = InputXGradient(model).attribute(x.clone().requires_grad_(), target=0)
    torch.testing.assert_close(result.maps, oracle)


def test_input_layer_maps_are_named_gradient_x_input_and_their_classic_curve_is_zero() -> None:
    """After an input LayerNorm the input gradient sums to 0, so the classic (GAP) curve is identically 0."""
    from lightning_spectra.models import FCNN1D

    torch.manual_seed(0)
    model, x = FCNN1D(spectrum_length=64).eval(), torch.randn(5, 64)
    result = grad_cam(model, x, target=1)
    assert method_name(model) == "gradient x input" and method_name(CNN(spectrum_length=256)) == "1D Grad-CAM"
    assert result.classic.abs().max() < 1e-5 * result.maps.abs().max()
    torch.testing.assert_close(result.maps.sum(dim=1), torch.zeros(5), atol=1e-5, rtol=0)  # half of it negative
    assert not classic_informative(result, "input")


@pytest.fixture(scope="module")
def wavenumber_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray, dict]:
    """A fit on a table of independent spectra on a wavenumber axis (400-4000 cm-1, counts around 1000) with
    both attribution callbacks; the model reads them as a standardised first derivative. Returns the run
    folder, the file's spectra and the figures drawn, by file name."""
    from conftest import fit_files_tiny, recorded_figures

    rng = np.random.default_rng(0)
    x = np.linspace(400.0, 4000.0, 300)
    labels = ["a", "b"] * 30
    spectra = 1000 + 0.1 * x + rng.normal(0, 5, (60, 300))
    spectra += np.array([[300.0] if label == "b" else [50.0] for label in labels]) * np.exp(-(((x - 1100) / 40) ** 2))
    train = tmp_path_factory.mktemp("wavenumbers") / "cm.csv"
    rows = [",".join(["label", *(f"{v:.2f}" for v in x)])]
    rows += [",".join([label, *(f"{v:.6f}" for v in row)]) for label, row in zip(labels, spectra, strict=True)]
    train.write_text("\n".join(rows) + "\n")
    with pytest.MonkeyPatch.context() as patch:
        drawn = recorded_figures(patch)
        callbacks = ("FeatureImportance", "GradCAM")
        run = fit_files_tiny(
            tmp_path_factory,
            train,
            "--data.init_args.preprocessing.derivative",
            "1",
            *(f"--trainer.callbacks+=lightning_spectra.callbacks.{name}" for name in callbacks),
            epochs=2,
        )
    return run, spectra, drawn


def test_figures_of_wavenumber_data_draw_the_spectra_as_read_and_no_series(wavenumber_run) -> None:
    run, spectra, drawn = wavenumber_run
    figure = drawn["gradcam_test_spectra.png"]
    titles = [ax.get_title(loc="left") for ax in figure.axes if ax.get_ylabel() == "intensity"]
    lines = [ax.lines[0].get_ydata() for ax in figure.axes if ax.get_ylabel() == "intensity"]
    assert len(lines) == 2  # unordered: the first and the last test spectrum, not spectra around a "change"
    for title, line in zip(titles, lines, strict=True):
        row = int(title.split(": ", 1)[1].split(" | ")[0].split()[-1]) - 2  # "cm.csv row 7": spectrum 5
        np.testing.assert_allclose(line, spectra[row], atol=1e-5)  # in counts, not the derivative the model read
    references = [line.get_ydata() for line in drawn["feature_importance_train.png"].axes[0].lines]
    assert len(references) == 2 and all(np.all(r > 900) for r in references)  # class means in counts
    assert "gradcam_test_series.png" not in drawn  # independent samples: no series image, no predicted change
    summary = json.loads((run / "summary.json").read_text())
    assert "gradcam_test_predicted_change" not in summary


def test_figures_of_wavenumber_data_never_say_two_theta_and_label_every_axis(wavenumber_run) -> None:
    _, _, drawn = wavenumber_run
    assert {"gradcam_test_spectra.png", "gradcam_test_class_mean.png", "feature_importance_train.png"} <= set(drawn)
    for name, figure in drawn.items():
        texts = [figure.get_suptitle()]
        for ax in figure.axes:
            texts += [ax.get_xlabel(), ax.get_ylabel(), ax.get_title(), ax.get_title(loc="left")]
        assert not any("2θ" in text or "theta" in text for text in texts), name
        assert all(ax.get_ylabel() for ax in figure.axes), name  # every panel and colour bar says what it shows
        panels = [ax for ax in figure.axes if ax.get_label() != "<colorbar>"]
        if "deletion" not in name and "learning_curve" not in name:  # their x: regions replaced, epochs
            assert panels[-1].get_xlabel() == "x", name  # the data module's label: a table does not name its axis


def test_the_deletion_curves_get_a_line_at_each_end_while_progress_is_shown(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    from mapped_splits import small_mapped_split

    import lightning_spectra.callbacks.gradcam as gradcam_module

    monkeypatch.setattr(gradcam_module, "check_maps", lambda *args, **kwargs: (None, {}))  # the long step itself
    callback, groups = GradCAM(), small_mapped_split().groups
    scores = SimpleNamespace(attribution_score=None, deletion_score=None, deletion_score_name="probability")
    for shown, printed in ((True, ["GradCAM: deletion curves of 4 spectra ..."]), (False, [])):
        callback.progress_shown = shown
        module = SimpleNamespace(task=scores)
        callback._checks(module, torch.rand(4, 12), torch.zeros(4, 12), torch.zeros(4), groups, "1D Grad-CAM", False)
        lines = capsys.readouterr().out.splitlines()
        assert lines[:1] == printed and len(lines) == 2 * len(printed)
