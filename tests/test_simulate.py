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
