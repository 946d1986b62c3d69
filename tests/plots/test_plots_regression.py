"""Regression figures: predicted against reference with the calibration numbers, and the value along a series."""

from __future__ import annotations

import numpy as np
import pytest

from lightning_spectra.plots.regression import interval_summary, linear_fit, plot_parity, plot_series_prediction


def test_linear_fit_recovers_slope_intercept_and_r2() -> None:
    reference = np.linspace(0, 10, 21)
    slope, intercept, r2 = linear_fit(reference, 0.9 * reference + 0.5)
    assert (slope, intercept, r2) == pytest.approx((0.9, 0.5, 1.0))
    noisy = 0.9 * reference + 0.5 + np.random.default_rng(0).normal(0, 1.0, 21)
    assert linear_fit(reference, noisy)[2] == pytest.approx(np.corrcoef(reference, noisy)[0, 1] ** 2)


def test_parity_legend_gives_the_calibration_numbers_and_residuals_below() -> None:
    reference = np.linspace(2, 12, 30)
    fig = plot_parity(reference, {"CNN": 0.9 * reference + 0.5, "PLS": reference + 0.1}, target="fat")
    parity, residuals = fig.axes[:2]
    legend = [t.get_text() for t in parity.get_legend().get_texts()]
    assert "CNN fit: slope 0.900, intercept 0.5, R² 1.000" in legend
    assert "PLS (RMSEP 0.1, bias +0.1, RPD 30.36)" in legend  # SD of the reference, 3.036, over RMSEP 0.1
    assert residuals.get_xlabel() == "reference fat" and parity.get_ylabel() == "predicted fat"
    np.testing.assert_allclose(residuals.collections[0].get_offsets()[:, 1], -0.1 * reference + 0.5)


def test_series_prediction_draws_reference_and_predicted_along_the_series() -> None:
    reference = np.linspace(2, 12, 30)
    fig = plot_series_prediction(reference[::-1], reference, target="fat")
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.lines] == ["reference", "predicted"]
    np.testing.assert_array_equal(ax.lines[1].get_ydata(), reference[::-1])
    assert ax.get_ylabel() == "fat" and ax.get_xlabel() == "position in the series"


def test_a_prediction_interval_is_a_bar_through_each_point_of_its_model() -> None:
    reference = np.linspace(2, 12, 10)
    predicted = reference + 0.2
    fig = plot_parity(reference, {"ensemble": predicted}, intervals={"ensemble": (predicted - 1, predicted + 1)})
    parity = fig.axes[0]
    (bars,) = [c for c in parity.collections if c.get_label().startswith("ensemble interval")]
    segments = np.array(bars.get_segments())
    np.testing.assert_allclose(segments[:, 0, 0], reference)  # one vertical bar at each reference value
    np.testing.assert_allclose(segments[:, :, 1], np.stack([predicted - 1, predicted + 1], axis=1))
    assert bars.get_label() in [t.get_text() for t in parity.get_legend().get_texts()]


def test_the_axes_hold_every_interval_whole_and_the_legend_gives_its_width_and_coverage() -> None:
    """An interval wider than the targets' range runs past the points: the axes reach its ends instead of cutting
    it (and hiding how wide it is), and the legend says its mean width, the share of references inside and how
    many intervals are wider than the references' range (10)."""
    reference = np.linspace(2, 12, 10)
    predicted = reference + 0.2
    lower, upper = predicted - 1, predicted + 1
    lower[3], upper[7] = -25.0, 40.0  # two intervals far wider than the range
    lower[5] = upper[5] = predicted[5]  # one interval misses its reference
    fig = plot_parity(reference, {"ensemble": predicted}, intervals={"ensemble": (lower, upper)})
    parity = fig.axes[0]
    for limits in (parity.get_ylim(), parity.get_xlim()):
        assert limits[0] < -25.0 and limits[1] > 40.0
    texts = [t.get_text() for t in parity.get_legend().get_texts()]
    width = float(np.mean(upper - lower))
    assert (
        f"ensemble interval: mean width {width:.3g}, holds 90% of the 10 references; 2 wider than their range" in texts
    )
    assert interval_summary(reference, lower, upper) == pytest.approx((width, 0.9, 2))
    fig.draw_without_rendering()  # the legend sits above the panel: it hides no bar
    assert parity.get_legend().get_window_extent().y0 >= parity.get_window_extent().y1 - 1
    assert interval_summary(reference, predicted - 1, predicted + 1) == pytest.approx((2.0, 1.0, 0))


def test_every_baseline_stays_visible_over_a_model_predicting_the_same() -> None:
    """PLS and kernel ridge often predict nearly the same values: the first model is drawn filled, the others open,
    each with its own marker, later ones on top; their fitted lines are dashed."""
    reference = np.linspace(2, 12, 20)
    models = {"CNN": reference + 0.3, "PLS (3 comp.)": reference + 0.01, "kernel ridge (RBF)": reference + 0.01}
    fig = plot_parity(reference, models, target="fat")
    for ax in fig.axes[:2]:
        points = [c for c in ax.collections if c.get_label() in models or c.get_label().split(" (RMSEP")[0] in models]
        assert len(points) == 3
        shapes = [tuple(np.round(c.get_paths()[0].vertices, 3).ravel()) for c in points]
        assert len(set(shapes)) == 3  # a marker each
        assert points[0].get_facecolors()[0][3] > 0  # the network filled
        assert all(len(c.get_facecolors()) == 0 or c.get_facecolors()[0][3] == 0 for c in points[1:])  # baselines open
        assert [c.get_zorder() for c in points] == sorted(c.get_zorder() for c in points)  # baselines on top
    fits = [line for line in fig.axes[0].lines if " fit: " in line.get_label()]
    assert fits[0].get_linestyle() == "-" and all(line.get_linestyle() != "-" for line in fits[1:])
