"""Feature-importance figures: reference spectra, the signed importance as a filled line, the mean square."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from matplotlib.collections import LineCollection

from lightning_spectra.plots.figure import save_figure
from lightning_spectra.plots.importance import (
    GradientOf,
    plot_feature_importance,
    plot_gradient_heatmap,
    symlog_threshold,
)


@pytest.fixture
def importance() -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
    x = np.linspace(9.5, 25.5, 300)
    references = {"a": np.exp(-((x - 12) ** 2) / 0.05), "b": np.exp(-((x - 20) ** 2) / 0.05)}
    signed = np.random.default_rng(0).normal(size=300) * 1e-6  # changes sign at almost every point
    return x, references, signed


@pytest.mark.parametrize("scale", ["linear", "symlog"])
def test_signed_importance_is_a_line_with_its_fill_on_either_scale(importance, scale: str) -> None:
    x, references, signed = importance
    fig = plot_feature_importance(x, references, signed, signed**2, xlabel="wavenumber (cm⁻¹)", scale=scale)
    spectra, panel, mean_square = fig.axes
    assert [line.get_label() for line in spectra.lines] == ["a", "b"]
    np.testing.assert_array_equal(panel.lines[0].get_ydata(), signed)
    assert len(panel.collections) == 2  # the red and blue fills
    assert not any(isinstance(c, LineCollection) for c in panel.collections)  # no stems: no red/blue barcode
    assert panel.get_yscale() == scale and mean_square.get_yscale() == ("log" if scale == "symlog" else "linear")
    assert [ax.get_ylabel() for ax in fig.axes] == ["intensity", "Σ ∂L/∂x", "mean (∂L/∂x)²"]
    assert mean_square.get_xlabel() == "wavenumber (cm⁻¹)"


def test_without_mean_square_there_are_two_panels_and_zeros_still_draw(tmp_path: Path, importance) -> None:
    x, _, _ = importance
    fig = plot_feature_importance(x, {}, np.zeros_like(x), xlabel="x", scale="symlog")
    assert len(fig.axes) == 2 and fig.axes[1].get_xlabel() == "x"
    assert save_figure(fig, tmp_path / "zero.png", dpi=40).stat().st_size > 0


def test_symlog_ticks_only_outside_the_linear_range(importance) -> None:
    x, references, signed = importance
    top = float(np.abs(signed).max())
    fig = plot_feature_importance(x, references, signed, xlabel="x", scale="symlog", linthresh=top * 1e-2)
    ticks = fig.axes[1].get_yticks()
    assert 0.0 in ticks and np.all((ticks == 0) | (np.abs(ticks) >= top * 1e-2))


def test_symlog_threshold_is_relative_to_the_largest_magnitude() -> None:
    assert symlog_threshold(np.array([-4.0, 2.0])) == pytest.approx(4e-3)
    assert symlog_threshold(np.zeros(3)) == 1.0


def test_gradient_heatmap_shows_every_spectrum_on_the_x_axis() -> None:
    x, gradients = np.linspace(10, 20, 40), np.random.default_rng(1).normal(size=(3, 40))
    fig = plot_gradient_heatmap(x, gradients, xlabel="2θ (°)")
    ax = fig.axes[1]
    np.testing.assert_array_equal(ax.images[0].get_array(), gradients)
    assert ax.images[0].get_extent()[:2] == [10.0, 20.0] and ax.get_xlabel() == "2θ (°)"


def test_gradient_heatmap_groups_its_rows_and_draws_each_groups_mean() -> None:
    """Rows in stored order mix the classes into noise: the image holds class 0's spectra, then class 1's (stored
    order within each), its blocks are labelled, and a curve per class is the class's mean gradient."""
    rng = np.random.default_rng(2)
    x, gradients = np.linspace(400, 800, 40), rng.normal(size=(7, 40))
    groups = np.array([1, 0, 1, -1, 0, 1, 0])
    fig = plot_gradient_heatmap(x, gradients, groups, ["quartz", "calcite"], xlabel="Raman shift (cm⁻¹)")
    curves, image = fig.axes[:2]
    np.testing.assert_array_equal(image.images[0].get_array(), gradients[[1, 4, 6, 0, 2, 5, 3]])
    assert [t.get_text() for t in image.get_yticklabels()] == ["quartz", "calcite", "no label"]
    np.testing.assert_allclose(image.get_yticks(), [1.0, 4.0, 6.0])  # the middle of each block of rows
    assert [line.get_label() for line in curves.lines[:3]] == ["quartz (3)", "calcite (3)", "no label (1)"]
    np.testing.assert_allclose(curves.lines[1].get_ydata(), gradients[[0, 2, 5]].mean(axis=0))
    assert "raises the loss" in curves.get_title(loc="left") and image.get_ylabel() == "spectra by class"


def test_a_long_gradient_is_drawn_as_means_of_runs_and_its_colours_end_at_a_percentile() -> None:
    """A gradient that changes sign at every point reads as speckle: columns are means of consecutive points, and
    one extreme spectrum does not wash the rest out to white."""
    from lightning_spectra.plots.importance import HEATMAP_COLUMNS, column_means

    length = 3 * HEATMAP_COLUMNS + 10
    gradients = np.random.default_rng(3).normal(size=(50, length))
    gradients[0] *= 1000
    fig = plot_gradient_heatmap(np.arange(length, dtype=float), gradients, np.zeros(50), ["a"], xlabel="x")
    curves, image = fig.axes[:2]
    binned, width = column_means(gradients)
    assert width == 4 and binned.shape == (50, -(-length // 4)) and binned.shape[1] <= HEATMAP_COLUMNS
    np.testing.assert_allclose(binned[:, -1], gradients[:, -2:].mean(axis=1))  # a shorter last run
    np.testing.assert_allclose(image.images[0].get_array(), binned)
    low, high = image.images[0].get_clim()
    assert high == -low == pytest.approx(np.percentile(np.abs(binned), 99)) and high < np.abs(gradients[0]).max()
    np.testing.assert_allclose(curves.lines[0].get_ydata(), binned.mean(axis=0))
    assert "means of every 4 points" in curves.get_title(loc="left")


def test_a_regressors_figures_say_predicted_value_and_never_loss(importance) -> None:
    x, references, signed = importance
    fat = GradientOf.predicted("fat")
    figures = [
        plot_feature_importance(x, references, signed, signed**2, xlabel="x", gradient_of=fat),
        plot_feature_importance(x, references, signed, signed**2, xlabel="x", gradient_of=fat, scale="symlog"),
        plot_gradient_heatmap(
            x, np.tile(signed, (4, 1)), np.array([0, 1, 2, 0]), ["low", "mid", "high"], xlabel="x", gradient_of=fat
        ),
    ]
    for fig in figures:
        texts = [fig.get_suptitle()] + [
            text for ax in fig.axes for text in (ax.get_title(loc="left"), ax.get_ylabel(), ax.get_title())
        ]
        assert not any("loss" in text or "∂L" in text for text in texts)
        assert any("raises the predicted fat" in text for text in texts)
    assert figures[0].axes[1].get_ylabel() == "Σ ∂Ŷ/∂x" and figures[2].axes[0].get_ylabel() == "mean ∂ŷ/∂x"
    assert figures[2].axes[1].get_ylabel() == "spectra by range of fat"


def test_a_long_symlog_trace_is_drawn_as_each_bins_highest_and_lowest_value() -> None:
    """4023 points changing sign at each one fill a symlog panel as a barcode; the envelope stays readable."""
    from lightning_spectra.plots.importance import ENVELOPE_BINS

    length = 10 * ENVELOPE_BINS + 23
    x = np.linspace(9.5, 25.5, length)
    signed = np.where(np.arange(length) % 2, -1.0, 1.0) * np.linspace(1e-6, 1e-3, length)
    panel = plot_feature_importance(x, {}, signed, xlabel="x", scale="symlog").axes[1]
    assert all(len(line.get_ydata()) < length for line in panel.lines)  # no line through every point
    upper, lower = (np.concatenate([p.vertices[:, 1] for p in c.get_paths()]) for c in panel.collections[:2])
    assert upper.max() == pytest.approx(signed.max()) and lower.min() == pytest.approx(signed.min())
    assert upper.min() >= 0 and lower.max() <= 0
    assert len(np.unique(upper)) <= ENVELOPE_BINS + 1  # one height per bin, not per point
    assert "highest and lowest of every 10 points" in panel.get_title(loc="left")
