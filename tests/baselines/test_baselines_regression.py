"""The PLS baseline: components chosen by cross-validation on the training data only."""

from __future__ import annotations

import numpy as np

from lightning_spectra.baselines.regression import fit_pls


def latent_spectra(n: int, seed: int, rank: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Spectra mixing ``rank`` fixed peak shapes; the target is a linear function of the mixing weights."""
    rng = np.random.default_rng(seed)
    grid = np.arange(200)
    shapes = np.stack([np.exp(-0.5 * ((grid - c) / 8) ** 2) for c in (40, 100, 160)][:rank])
    weights = rng.uniform(0, 1, (n, rank))
    spectra = weights @ shapes + 0.002 * rng.normal(size=(n, len(grid)))
    return spectra, weights @ np.array([2.0, -1.0, 0.5])[:rank]


def test_cross_validation_picks_the_latent_rank_and_predicts_new_spectra() -> None:
    x, y = latent_spectra(60, seed=0)
    fit = fit_pls(x, y, max_components=8)
    assert fit.components == 3  # fewer underfits, more only fits the noise
    assert fit.rmsecv[2] < 0.5 * fit.rmsecv[1] and len(fit.rmsecv) == 8
    x_new, y_new = latent_spectra(20, seed=1)
    assert np.sqrt(np.mean((fit.predict(x_new)[:, 0] - y_new) ** 2)) < 0.05 * y_new.std()


def test_small_training_sets_cap_the_components() -> None:
    x, y = latent_spectra(6, seed=2)
    fit = fit_pls(x, np.column_stack([y, 2 * y]), max_components=20)
    assert len(fit.rmsecv) <= 3 and fit.predict(x).shape == (6, 2)
