"""The RBF kernel baselines: they learn what a linear model cannot, and never look at the test split."""

from __future__ import annotations

import numpy as np

from lightning_spectra.baselines.kernel import fit_kernel_ridge, svc_baseline
from lightning_spectra.baselines.linear import classification_baseline
from lightning_spectra.baselines.regression import fit_pls

GRID = np.linspace(0, 1, 60)


def band_spectra(position: np.ndarray, height: np.ndarray, seed: int) -> np.ndarray:
    """A Gaussian band of the given position and height on a noisy floor."""
    rng = np.random.default_rng(seed)
    band = height[:, None] * np.exp(-0.5 * ((GRID[None, :] - position[:, None]) / 0.05) ** 2)
    return band + 0.01 * rng.standard_normal(band.shape)


def test_krr_learns_a_curved_calibration_that_pls_cannot() -> None:
    """The target is the square of the band's height: no linear model of the spectra follows the curve."""
    rng = np.random.default_rng(0)
    train_h, test_h = rng.uniform(0.1, 1.0, 150), rng.uniform(0.15, 0.95, 50)
    train, test = band_spectra(np.full(150, 0.5), train_h, 1), band_spectra(np.full(50, 0.5), test_h, 2)
    krr = fit_kernel_ridge(train, train_h**2)
    krr_rmse = np.sqrt(np.mean((krr.predict(test)[:, 0] - test_h**2) ** 2))
    pls_rmse = np.sqrt(np.mean((fit_pls(train, train_h**2).predict(test)[:, 0] - test_h**2) ** 2))
    assert krr_rmse < 0.5 * pls_rmse
    assert {"alpha", "gamma"} == set(krr.params)


def test_krr_choice_never_depends_on_the_test_split() -> None:
    rng = np.random.default_rng(1)
    at = rng.uniform(0.2, 0.8, 80)
    spectra = band_spectra(at, np.ones(80), 3)
    assert fit_kernel_ridge(spectra, at).params == fit_kernel_ridge(spectra, at).params  # deterministic
    assert fit_kernel_ridge(spectra, np.column_stack([at, 2 * at])).predict(spectra).shape == (80, 2)


def test_svc_separates_classes_a_linear_model_cannot() -> None:
    """Class 1 is a band in the middle, class 0 one at either end: no hyperplane of the spectra splits them."""
    rng = np.random.default_rng(2)

    def sample(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        labels = np.arange(n) % 2
        ends = np.where(rng.random(n) < 0.5, 0.2, 0.8)
        position = np.where(labels == 1, 0.5, ends) + 0.02 * rng.standard_normal(n)
        return band_spectra(position, rng.uniform(0.5, 1.5, n), seed), labels

    train, val, test = sample(120, 4), sample(40, 5), sample(60, 6)
    kernel = svc_baseline(train, test, val)
    linear = classification_baseline(train, test, val)
    assert kernel["accuracy"] >= 0.95 and kernel["val_accuracy"] >= 0.95
    assert {"C", "gamma"} <= set(kernel)
    assert linear["accuracy"] <= kernel["accuracy"]
