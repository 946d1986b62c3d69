"""Feature-importance figures: reference spectra, the signed importance as a filled line, the mean square."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from matplotlib.collections import LineCollection

from lightning_spectra.plots.figure import save_figure
from lightning_spectra.plots.importance import plot_feature_importance, plot_gradient_heatmap, symlog_threshold


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
    ax = fig.axes[0]
    np.testing.assert_array_equal(ax.images[0].get_array(), gradients)
    assert ax.images[0].get_extent()[:2] == [10.0, 20.0] and ax.get_xlabel() == "2θ (°)"


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
