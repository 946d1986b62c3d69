"""The figure functions draw without pyplot and write PNGs that read back."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from lightning_spectra import plots

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def read_back(path: Path) -> np.ndarray:
    from matplotlib.image import imread

    assert path.read_bytes()[:8] == PNG_SIGNATURE
    return imread(path)


@pytest.fixture
def curves() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = np.linspace(9.5, 25.5, 300)
    spectra = np.exp(-((x[None, :] - np.array([[12.0], [14.0], [20.0]])) ** 2) / 0.05) + 0.1
    maps = rng.normal(size=(3, 300)) * np.array([[1e-3], [1.0], [0.0]])  # tiny, ordinary and all-zero maps
    return x, spectra, maps


def test_feature_importance_figures(tmp_path: Path, curves) -> None:
    x, spectra, maps = curves
    for scale in ("linear", "symlog"):
        fig = plots.plot_feature_importance(
            x, {"a": spectra[0], "b": spectra[1]}, maps[1] * 1e-6, maps[1] ** 2 * 1e-12, scale=scale, title="t"
        )
        image = read_back(plots.save_figure(fig, tmp_path / f"fi_{scale}.png", dpi=60))
        assert image.shape[1] == 600  # 10 inches at 60 dpi
    fig = plots.plot_feature_importance(x, {}, np.zeros_like(x), scale="symlog")  # degenerate input still draws
    read_back(plots.save_figure(fig, tmp_path / "zero.png", dpi=40))
    read_back(plots.save_figure(plots.plot_gradient_heatmap(x, maps), tmp_path / "heat.png", dpi=40))


def test_gradcam_figures(tmp_path: Path, curves) -> None:
    x, spectra, maps = curves
    fig = plots.plot_gradcam_spectra(x, spectra, maps, ["a", "b", "c"], classic=maps / 2, xlabel="wavenumber")
    assert fig.axes[5].get_xlabel() == "wavenumber"  # the last of the 6 plot axes (colour bars come after)
    read_back(plots.save_figure(fig, tmp_path / "spectra.png", dpi=50))
    means = np.vstack([maps[:2], np.full(300, np.nan)])  # a class without spectra is left out
    fig = plots.plot_gradcam_class_means(x, spectra, means, ["p", "q", "r"], [4, 2, 0], classic=means)
    read_back(plots.save_figure(fig, tmp_path / "means.png", dpi=50))


def test_linear_fit_recovers_slope_intercept_and_r2() -> None:
    reference = np.linspace(0, 10, 21)
    slope, intercept, r2 = plots.linear_fit(reference, 0.9 * reference + 0.5)
    assert (slope, intercept, r2) == pytest.approx((0.9, 0.5, 1.0))
    noisy = 0.9 * reference + 0.5 + np.random.default_rng(0).normal(0, 1.0, 21)
    assert plots.linear_fit(reference, noisy)[2] == pytest.approx(np.corrcoef(reference, noisy)[0, 1] ** 2)


def test_parity_and_series_figures(tmp_path: Path) -> None:
    reference = np.linspace(2, 12, 30)
    fig = plots.plot_parity(reference, {"CNN": 0.9 * reference + 0.5, "PLS": reference + 0.1}, target="fat")
    parity, residuals = fig.axes[:2]
    legend = [t.get_text() for t in parity.get_legend().get_texts()]
    assert "CNN fit: slope 0.900, intercept 0.5, R² 1.000" in legend
    assert "PLS (RMSEP 0.1, bias +0.1, RPD 30.36)" in legend  # SD of the reference, 3.036, over RMSEP 0.1
    assert residuals.get_xlabel() == "reference fat" and parity.get_ylabel() == "predicted fat"
    np.testing.assert_allclose(residuals.collections[0].get_offsets()[:, 1], -0.1 * reference + 0.5)
    read_back(plots.save_figure(fig, tmp_path / "parity.png", dpi=50))
    fig = plots.plot_series_prediction(reference[::-1], reference, target="fat")
    read_back(plots.save_figure(fig, tmp_path / "series.png", dpi=50))


def test_no_pyplot_state() -> None:
    assert "matplotlib.pyplot" not in sys.modules or not __import__("matplotlib.pyplot").pyplot.get_fignums()
