import numpy as np

from lightning_spectra.data.simulate import simulate_ramp, two_theta_axis


def test_shape_and_axis_like_the_real_data() -> None:
    x, spectra = simulate_ramp()
    assert spectra.shape == (349, 4023)
    assert x[0] == 9.5604 and abs(x[-1] - 25.55) < 0.01
    np.testing.assert_allclose(two_theta_axis(), x)


def test_deterministic_and_seed_dependent() -> None:
    a, b, c = (simulate_ramp(n_points=300, seed=s)[1] for s in (0, 0, 1))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_phase_transition_changes_the_pattern_at_the_transition_index() -> None:
    _, spectra = simulate_ramp(transition_index=185)
    before, after = spectra[180:185].mean(0), spectra[185:190].mean(0)
    within = np.abs(spectra[175:180].mean(0) - before).max()
    assert np.abs(after - before).max() > 3 * within


def test_peaks_shift_to_higher_angle_under_compression() -> None:
    x, spectra = simulate_ramp()
    region = (x > 10.5) & (x < 11.5)  # the strongest low-pressure reflection
    first, last = (x[region][np.argmax(spectra[i, region])] for i in (0, 180))
    assert last > first


def test_default_ramp_is_the_same_as_earlier_releases() -> None:
    """Sums and samples of the 512-point default ramp (SIMULATOR_VERSION 3), to float tolerance: NumPy's SIMD
    kernels differ in the last bits between CPUs (AVX2, AVX512), so bytes or hashes cannot be compared."""
    spectra = simulate_ramp(n_points=512)[1]
    found = [
        spectra.sum(),
        np.square(spectra).sum(),
        spectra[184].sum(),
        spectra[185].sum(),
        spectra[:, 100].sum(),
        spectra[0, 0],
        spectra[348, 511],
        spectra[200, 255],
    ]
    expected = [
        2141934.369744069,
        27284270.478840075,
        6126.610161502822,
        6127.71213957755,
        4539.289944722453,
        16.127445213361874,
        7.760497527641057,
        12.846181183946333,
    ]
    np.testing.assert_allclose(found, expected, rtol=1e-10)


def test_hard_ramp_phases_coexist_for_tens_of_frames_around_the_label_change() -> None:
    from lightning_spectra.data.simulate import high_pressure_fraction

    share = high_pressure_fraction(349, 185, 40)
    assert share[184] < 0.5 < share[185]  # the label (t >= 185) is the majority phase
    mixed = np.flatnonzero((share > 0.1) & (share < 0.9))
    assert 35 <= len(mixed) <= 45


def test_hard_ramp_smears_the_transition_over_tens_of_frames_and_nothing_else() -> None:
    """Against the same generator with an (almost) instantaneous transition: same spectra away from it, others
    twenty frames either side of it."""
    from lightning_spectra.data.simulate import simulate_hard_ramp

    smeared = simulate_hard_ramp(n_points=500)[1]
    with np.errstate(over="ignore"):
        sharp = simulate_hard_ramp(n_points=500, transition_frames=0.01)[1]
    change = np.abs(smeared - sharp).max(axis=1)
    assert change[:130].max() < 0.05 and change[240:].max() < 0.05
    assert change[165] > 0.3 and change[205] > 0.3
    np.testing.assert_array_equal(simulate_hard_ramp(n_points=300)[1], simulate_hard_ramp(n_points=300)[1])
