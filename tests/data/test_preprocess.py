"""The preprocessing pipeline: each step against its reference, the order of steps, and bad settings."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import savgol_filter

from lightning_spectra.data.baseline import remove_baseline
from lightning_spectra.data.preprocess import Preprocessing
from lightning_spectra.errors import SpectraDataError

X = np.linspace(10.0, 30.0, 200)
RNG = np.random.default_rng(0)
SPECTRA = np.stack(
    [
        np.exp(-0.5 * ((X - c) / 0.8) ** 2) * h + 0.02 * X + RNG.normal(0, 0.01, X.size)
        for c, h in ((15, 1.0), (20, 3.0), (25, 0.5))
    ]
)


def test_default_is_identity() -> None:
    steps = Preprocessing()
    assert steps.is_identity
    np.testing.assert_array_equal(steps(X, SPECTRA), SPECTRA)


def test_normalizations() -> None:
    peak = Preprocessing(normalization="max")(X, SPECTRA)
    np.testing.assert_allclose(np.abs(peak).max(axis=1), 1.0)
    area = Preprocessing(normalization="area")(X[::-1], SPECTRA)  # a falling axis (IR wavenumbers) too
    np.testing.assert_allclose(np.abs(np.trapezoid(np.abs(area), X, axis=1)), 1.0)
    snv = Preprocessing(normalization="standard")(X, SPECTRA)
    np.testing.assert_allclose(snv.mean(axis=1), 0.0, atol=1e-12)
    np.testing.assert_allclose(snv.std(axis=1), 1.0)


def test_flat_spectrum_stays_finite() -> None:
    for method in ("max", "area", "standard"):
        out = Preprocessing(normalization=method)(X, np.zeros((1, X.size)))
        assert np.isfinite(out).all()


def test_steps_match_their_references_in_order() -> None:
    steps = Preprocessing(
        baseline="asls",
        baseline_lam=1e4,
        baseline_p=0.01,
        baseline_iterations=5,
        smoothing_window=11,
        smoothing_order=3,
        normalization="max",
    )
    expected = remove_baseline(X, SPECTRA, lam=1e4, p=0.01, iterations=5, progress=False)
    expected = savgol_filter(expected, 11, 3, axis=1)
    expected /= np.abs(expected).max(axis=1, keepdims=True)
    np.testing.assert_allclose(steps(X, SPECTRA), expected)


def test_one_spectrum_and_no_axis() -> None:
    out = Preprocessing(smoothing_window=5)(None, SPECTRA[0])
    assert out.shape == (1, X.size)
    np.testing.assert_allclose(out[0], savgol_filter(SPECTRA[0], 5, 2))


def test_round_trip_through_hyperparameters() -> None:
    steps = Preprocessing(baseline="asls", smoothing_window=7, normalization="area")
    saved = {**steps.as_dict(), "train_path": "data.csv", "_class_path": "x.Y"}
    assert Preprocessing.from_hparams(saved) == steps


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"normalization": "l2"}, "normalization must be one of none, max, area, standard"),
        ({"baseline": "rubberband"}, "baseline must be one of none, asls"),
        ({"smoothing_window": 3, "smoothing_order": 3}, "larger than smoothing_order"),
        ({"baseline_iterations": 0}, "baseline_iterations must be at least 1"),
    ],
)
def test_bad_settings(settings: dict, message: str) -> None:
    with pytest.raises(SpectraDataError, match=message):
        Preprocessing(**settings)


def test_window_longer_than_spectra() -> None:
    with pytest.raises(SpectraDataError, match="smoothing_window 301 is longer than the spectra"):
        Preprocessing(smoothing_window=301)(X, SPECTRA)


@pytest.mark.parametrize(("method", "scale"), [("snv", 1e300), ("snv", 1e-300), ("area", 1e306)])
def test_normalisation_does_not_depend_on_the_spectra_scale(method: str, scale: float) -> None:
    """Spectra around 1e300 overflowed in SNV's squares (1e-300 underflowed, 1e306 overflowed the area's
    integral): normalised like any other."""
    from lightning_spectra.data.preprocess import normalize

    rng = np.random.default_rng(0)
    spectra, x = 2 + rng.normal(size=(4, 60)), np.linspace(400, 800, 60)
    with np.errstate(all="raise"):  # no overflow, underflow or invalid value on the way
        scaled = normalize(spectra * scale, x, method)
    np.testing.assert_allclose(scaled, normalize(spectra, x, method), rtol=1e-12, atol=1e-12)


def test_the_whole_pipeline_does_not_depend_on_the_spectra_scale() -> None:
    """Savitzky-Golay's edge fit overflowed on spectra around 1e300 before SNV was reached."""
    rng = np.random.default_rng(1)
    spectra, x = 2 + rng.normal(size=(3, 80)), np.linspace(400, 800, 80)
    pipeline = Preprocessing(smoothing_window=11, derivative=1, normalization="snv")
    with np.errstate(all="raise"):
        huge = pipeline(x, spectra * 1e300)
    np.testing.assert_allclose(huge, pipeline(x, spectra), rtol=1e-9, atol=1e-9)
    unnormalised = Preprocessing(smoothing_window=11)
    with np.errstate(all="raise"):
        np.testing.assert_allclose(unnormalised(x, spectra * 2.0**-1000) * 2.0**1000, unnormalised(x, spectra))
