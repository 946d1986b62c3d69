"""Regression figures: predicted against reference with the calibration numbers, and the value along a series."""

from __future__ import annotations

import numpy as np
import pytest

from lightning_spectra.plots.regression import linear_fit, plot_parity, plot_series_prediction


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
    (bars,) = [c for c in parity.collections if c.get_label() == "ensemble interval"]
    segments = np.array(bars.get_segments())
    np.testing.assert_allclose(segments[:, 0, 0], reference)  # one vertical bar at each reference value
    np.testing.assert_allclose(segments[:, :, 1], np.stack([predicted - 1, predicted + 1], axis=1))
    assert "ensemble interval" in [t.get_text() for t in parity.get_legend().get_texts()]
