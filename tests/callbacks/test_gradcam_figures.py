"""The draw step of GradCAM: one PNG per figure of a mapped split."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from mapped_splits import small_mapped_split

from lightning_spectra.callbacks.gradcam_figures import draw_gradcam_figures
from lightning_spectra.interpret.faithfulness import DeletionCurve
from lightning_spectra.plots import figure

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_chosen_spectra_group_means_series_and_deletion(tmp_path: Path) -> None:
    pngs = draw_gradcam_figures(
        small_mapped_split(), [0, 2], ["a", "b"], "CNN", tmp_path, "2θ (°)", "other_class_mean", dpi=40
    )
    names = [p.name for p in pngs]
    assert names == [
        "gradcam_test_spectra.png", "gradcam_test_class_mean.png", "gradcam_test_series.png",
        "gradcam_test_deletion.png",
    ]  # fmt: skip
    assert all(p.read_bytes()[:8] == PNG_SIGNATURE for p in pngs)


def test_no_chosen_spectra_and_no_curves_draw_no_such_figures(tmp_path: Path) -> None:
    mapped = small_mapped_split(curves=False)
    pngs = draw_gradcam_figures(mapped, [], [], "CNN", tmp_path, "x", "background", dpi=40)
    assert [p.name for p in pngs] == ["gradcam_test_class_mean.png", "gradcam_test_series.png"]


@pytest.fixture
def drawn_figures(monkeypatch: pytest.MonkeyPatch) -> dict:
    """The matplotlib figures the draw step saves, by file name."""
    figures, save = {}, figure.save_figure

    def keep(fig, path, dpi=150):
        figures[Path(path).name] = fig
        return save(fig, path, dpi)

    monkeypatch.setattr(figure, "save_figure", keep)
    return figures


def spectrum_lines(fig) -> list[np.ndarray]:
    """The y data of the spectrum line of each spectrum panel (the panels labelled ``intensity``)."""
    return [ax.lines[0].get_ydata() for ax in fig.axes if ax.get_ylabel() == "intensity"]


def test_the_spectra_drawn_are_the_raw_spectra_in_their_own_units(tmp_path: Path, drawn_figures: dict) -> None:
    mapped = small_mapped_split()
    raw = 1000.0 + 50.0 * np.arange(4)[:, None] + np.arange(12.0)[None, :]  # counts, not the model's input
    draw_gradcam_figures(mapped, [0, 2], ["a", "b"], "CNN", tmp_path, "x", "background", dpi=40, drawn=raw)
    chosen = spectrum_lines(drawn_figures["gradcam_test_spectra.png"])
    np.testing.assert_array_equal(np.stack(chosen), raw[[0, 2]])
    means = spectrum_lines(drawn_figures["gradcam_test_class_mean.png"])
    np.testing.assert_allclose(np.stack(means), [raw[:2].mean(axis=0), raw[2:].mean(axis=0)])  # per class


def test_without_raw_spectra_the_model_input_is_drawn(tmp_path: Path, drawn_figures: dict) -> None:
    mapped = small_mapped_split()
    draw_gradcam_figures(mapped, [1], ["a", "b"], "CNN", tmp_path, "x", "background", dpi=40)
    [line] = spectrum_lines(drawn_figures["gradcam_test_spectra.png"])
    np.testing.assert_array_equal(line, mapped.per_spectrum["spectrum"][1])


def test_unordered_data_get_no_series_figure(tmp_path: Path) -> None:
    pngs = draw_gradcam_figures(small_mapped_split(), [0], ["a"], "CNN", tmp_path, "x", "background", ordered=False)
    assert [p.name for p in pngs] == [
        "gradcam_test_spectra.png", "gradcam_test_class_mean.png", "gradcam_test_deletion.png",
    ]  # fmt: skip


def test_a_map_of_one_layer_position_gets_no_map_figure(tmp_path: Path, drawn_figures: dict) -> None:
    mapped = small_mapped_split()
    curve = mapped.curves["1D Grad-CAM"]
    ig = DeletionCurve(curve.fractions, curve.attribution - 0.1, curve.random)
    one = replace(mapped, positions=1, curves={"1D Grad-CAM": curve, "integrated gradients": ig})
    pngs = draw_gradcam_figures(one, [0, 2], ["a", "b"], "CNN", tmp_path, "x", "background", dpi=40)
    assert [p.name for p in pngs] == ["gradcam_test_deletion.png"]  # no spectra, class means or series
    [ax] = drawn_figures["gradcam_test_deletion.png"].axes
    assert {line.get_label().partition(":")[0] for line in ax.lines} == {"integrated gradients"}  # an arbitrary order


def test_every_panel_of_every_figure_is_labelled(tmp_path: Path, drawn_figures: dict) -> None:
    draw_gradcam_figures(small_mapped_split(), [0, 2], ["a", "b"], "CNN", tmp_path, "x", "background", dpi=40)
    for name, fig in drawn_figures.items():
        for ax in fig.axes:
            assert ax.get_ylabel(), f"{name}: a panel without a y label"
        panels = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
        assert panels[-1].get_xlabel(), f"{name}: no x label"  # the shared x axis is labelled at the bottom


def with_integrated_gradients(mapped):
    """``mapped`` with Integrated Gradients as its default map (peaking at point 6 for every spectrum)."""
    ig = np.zeros_like(mapped.per_spectrum["gradcam"])
    ig[:, 6] = 3.0
    curves = mapped.curves | {"integrated gradients": next(iter(mapped.curves.values()))}
    per_spectrum = mapped.per_spectrum | {"integrated_gradients": ig}
    return replace(mapped, per_spectrum=per_spectrum, curves=curves, default="integrated_gradients")


def test_the_default_map_is_drawn_first_and_the_layer_map_beside_it(tmp_path: Path, drawn_figures: dict) -> None:
    mapped = with_integrated_gradients(small_mapped_split())
    pngs = draw_gradcam_figures(mapped, [0, 2], ["a", "b"], "CNN", tmp_path, "2θ (°)", "other_class_mean", dpi=40)
    assert "gradcam_test_class_mean_layer.png" in [p.name for p in pngs]
    means = drawn_figures["gradcam_test_class_mean.png"]
    assert means.get_suptitle().startswith("CNN: integrated gradients averaged per class")
    maps = [ax for ax in drawn_figures["gradcam_test_spectra.png"].axes if ax.get_ylabel() == "map"]
    drawn = maps[0].lines[0].get_ydata()  # the signed fill's outline: the default map of spectrum 0
    np.testing.assert_allclose(drawn, mapped.per_spectrum["integrated_gradients"][0])
    layer = drawn_figures["gradcam_test_class_mean_layer.png"].get_suptitle()
    assert "1D Grad-CAM at layer 'conv3'" in layer and "not the default map" in layer


def test_every_map_figure_says_how_far_to_trust_it(tmp_path: Path, drawn_figures: dict) -> None:
    from lightning_spectra.callbacks.gradcam_figures import map_captions
    from lightning_spectra.callbacks.gradcam_summary import gradcam_summary

    mapped = with_integrated_gradients(small_mapped_split())
    numbers = gradcam_summary(mapped, [(12.75, 13.25)], "other_class_mean")
    captions = map_captions(mapped, numbers, "weights of epoch 7 (best val/loss)")
    layer, ig = captions["gradcam"].replace("\n", " | "), captions["integrated_gradients"].replace("\n", " | ")
    assert "1D Grad-CAM at layer 'conv3': 3 positions, ~4 points per position" in layer
    assert f"deletion gap {numbers['gradcam_test_deletion_gap']:+.3g}" in layer
    assert "integrated gradients from the other class mean, every point" in ig
    share, chance = numbers["gradcam_test_ig_ground_truth_share"], numbers["gradcam_test_ig_ground_truth_chance"]
    assert share == pytest.approx(1.0) and f"{share:.0%} on the known peaks (chance {chance:.0%})" in ig
    assert all(c.endswith("weights of epoch 7 (best val/loss)") for c in captions.values())
    assert numbers["gradcam_test_default_map"] == "integrated gradients"
    assert numbers["gradcam_test_peak_x"] == {"low": 13.0, "high": 13.0}  # the default map's peak (point 6)
    worse = replace(mapped, curves={"1D Grad-CAM": DeletionCurve(*[np.linspace(0, 1, 3)] * 2 + [np.zeros(3)])})
    assert "(no better than chance)" in map_captions(worse, gradcam_summary(worse, None, "x"), "")["gradcam"]
    draw_gradcam_figures(mapped, [0], ["a"], "CNN", tmp_path, "x", "other_class_mean", dpi=40, captions=captions)
    assert drawn_figures["gradcam_test_spectra.png"].get_suptitle().endswith(captions["integrated_gradients"])
