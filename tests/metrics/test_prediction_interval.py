import numpy as np
import pytest

from lightning_spectra.metrics.prediction_interval import calibrate, ensemble_prediction, member_spread


def noisy_members(rng: np.random.Generator, n: int, members: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Members that scatter by 0.1 around a prediction that misses the reference by ~0.5 (their spread alone is
    five times too narrow), with a spread that varies between spectra as the error does."""
    scale = rng.uniform(0.5, 2.0, n)
    reference = rng.normal(0, 3, n)
    centre = reference + rng.normal(0, 0.5, n) * scale
    return centre + rng.normal(0, 0.1, (members, n)) * scale, reference


def test_the_calibrated_interval_holds_the_asked_share_of_new_spectra() -> None:
    rng = np.random.default_rng(0)
    calibration, calibration_reference = noisy_members(rng, 2000)
    new, new_reference = noisy_members(rng, 4000)
    for coverage in (0.8, 0.9):
        factor = calibrate(calibration, calibration_reference, coverage)
        assert 2 < float(factor[0]) < 15  # the raw spread is far too narrow: widened
        inside = ensemble_prediction(new, factor).covered(new_reference).mean()
        assert inside == pytest.approx(coverage, abs=0.03)
    raw = ensemble_prediction(new, np.ones(1)).covered(new_reference).mean()
    assert raw < 0.4  # the members' own spread covers far less


def test_the_factor_is_the_finite_sample_quantile_of_the_scores() -> None:
    # 9 calibration spectra, spread 1 each: scores are |reference - mean| = 1..9. ceil(10 * 0.9) / 9 = 1.0 -> 9.
    values = np.stack([np.zeros(9) - 1, np.zeros(9) + 1]) / np.sqrt(2)  # mean 0, sample sd 1
    reference = np.arange(1.0, 10.0)
    assert calibrate(values, reference, 0.9)[0] == pytest.approx(9.0, rel=1e-5)
    assert calibrate(values, reference, 0.5)[0] == pytest.approx(5.0, rel=1e-5)  # ceil(10 * 0.5) / 9 -> 5th


def test_each_target_gets_its_own_factor_and_the_interval_brackets_the_mean() -> None:
    rng = np.random.default_rng(1)
    first, ref_first = noisy_members(rng, 200)
    second, ref_second = noisy_members(rng, 200)
    values = np.stack([first, second * 0], axis=-1) + np.stack([0 * first, second], axis=-1)
    reference = np.stack([ref_first, ref_second * 0 + ref_second], axis=-1)
    factor = calibrate(values, reference)
    assert factor.shape == (2,)
    assert factor[0] == pytest.approx(calibrate(first, ref_first)[0])
    assert factor[1] == pytest.approx(calibrate(second, ref_second)[0])
    prediction = ensemble_prediction(values, factor)
    assert prediction.mean.shape == (200, 2)
    assert np.all(prediction.lower < prediction.mean) and np.all(prediction.mean < prediction.upper)


def test_members_that_agree_exactly_give_a_narrow_interval_not_a_division_by_zero() -> None:
    values = np.ones((3, 4)) * 5.0
    mean, spread = member_spread(values)
    assert np.all(mean == 5.0) and np.all(spread > 0) and np.all(spread < 1e-4)
    factor = calibrate(values, np.full(4, 5.0), coverage=0.8)  # 4 spectra can promise 80 %, not 90 %
    assert np.isfinite(factor).all()


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="2 or more members"):
        member_spread(np.ones((1, 4)))
    with pytest.raises(ValueError, match="coverage"):
        calibrate(np.ones((2, 4)), np.ones(4), coverage=90)


def test_a_coverage_the_calibration_spectra_cannot_promise_is_refused() -> None:
    """12 spectra promise at most 12/13: 0.99 gave their largest score, a 92 % interval, silently (issue 35)."""
    from lightning_spectra.metrics.prediction_interval import attainable_coverage, spectra_needed

    assert [spectra_needed(c) for c in (0.5, 0.9, 0.95, 0.99)] == [1, 9, 19, 99]
    assert attainable_coverage(12, 0.99) == pytest.approx(12 / 13) and attainable_coverage(12, 0.9) == 0.9
    rng = np.random.default_rng(0)
    values, reference = rng.normal(size=(3, 12)), rng.normal(size=12)
    with pytest.raises(ValueError, match="a 99% interval needs at least 99 calibration spectra, got 12"):
        calibrate(values, reference, 0.99)
    _, spread = member_spread(values)
    assert calibrate(values, reference, attainable_coverage(12, 0.99))[0] == pytest.approx(
        np.max(np.abs(reference - values.mean(axis=0)) / spread[:, 0])
    )
