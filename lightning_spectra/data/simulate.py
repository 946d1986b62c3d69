"""A deterministic stand-in for the HED ramp-compression XRD series, so everything runs with no network.

Physics, in brief: a two-phase sample is compressed while X-ray diffraction patterns are taken in time order.
Each phase has a set of Bragg reflections; compression shrinks lattice spacings d, so by Bragg's law
(lambda = 2 d sin theta) every peak moves to higher 2 theta as pressure rises, here linearly with time.
At the transition index the low-pressure phase converts: its peaks fade out over a few frames while the
high-pressure phase's peaks (at other angles, broader because of strain) appear. Each frame also has a
smooth amorphous/air-scatter background, an X-ray intensity that drifts from shot to shot, detector noise,
and Debye-ring texture that makes individual peak heights jitter. Positions and heights follow the real
data's description (docs/paper.md §2.2a): 2 theta from 9.5604 deg in steps of 0.003975 deg (4023 points),
class-0 peaks up to about 19 counts near bins 1, 2, 3, 8, 9.5, 11, 11.6 of 1.07 deg, class-1 peaks near
bins 1.3-1.5, 2.5, 3.5-3.8, 4.3. The true transition is known, so boundaries can be scored exactly.

Two presets (:data:`PRESETS`): ``default`` (:func:`simulate_ramp`, a sharp transition every model finds) and
``hard`` (:func:`simulate_hard_ramp`, a sluggish transition through tens of frames of coexisting phases whose
reflections overlap, under stronger drift; there the models' boundaries differ).
"""

from __future__ import annotations

import numpy as np

# Bump whenever the generator's output changes, so cached ramps from older versions are not reused.
SIMULATOR_VERSION = 3
TWO_THETA_START = 9.5604
TWO_THETA_STEP = 0.003975
BIN_WIDTH = 1.0717  # degrees; the 15 bins of the paper's binned model over the real axis

# (position in units of BIN_WIDTH, height, FWHM in degrees), read off the real spectra (hed-real-spectra.png).
LOW_PRESSURE_PEAKS = (
    (1.1, 19.0, 0.06),
    (2.05, 5.0, 0.07),
    (2.9, 17.0, 0.06),
    (3.8, 1.6, 0.12),
    (7.8, 6.0, 0.08),
    (8.05, 3.5, 0.08),
    (9.4, 0.8, 0.1),
    (10.9, 1.2, 0.1),
    (11.6, 2.3, 0.1),
)
HIGH_PRESSURE_PEAKS = (
    (1.4, 7.5, 0.1),
    (1.55, 5.0, 0.1),
    (2.5, 3.3, 0.08),
    (2.62, 3.0, 0.08),
    (3.5, 16.0, 0.07),
    (3.8, 11.5, 0.08),
    (4.3, 1.2, 0.15),
)
DETECTOR_EDGE = (14.45, 6.5, 0.05)  # a feature both phases share: it must not drive the decision


def two_theta_axis(n_points: int = 4023) -> np.ndarray:
    """The real data's 2 theta axis (degrees), or a proportionally coarser one for fewer points."""
    step = TWO_THETA_STEP * (4023 - 1) / max(n_points - 1, 1)
    return TWO_THETA_START + step * np.arange(n_points)


def _pseudo_voigt(x: np.ndarray, centre: np.ndarray, fwhm: float, eta: float = 0.4) -> np.ndarray:
    """Peak shape of powder diffraction lines: a Gaussian/Lorentzian mix, height 1."""
    dx = (x[None, :] - centre[:, None]) / fwhm
    return (1 - eta) * np.exp(-4 * np.log(2) * dx**2) + eta / (1 + 4 * dx**2)


def simulate_ramp(
    n_spectra: int = 349,
    n_points: int = 4023,
    transition_index: int = 185,
    transition_frames: int = 4,
    shift_degrees: float = 0.12,
    noise_level: float = 0.12,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(two_theta, intensities (n_spectra, n_points))`` of a simulated ramp, background included.

    Spectrum ``transition_index`` is the first of the high-pressure phase; the low-pressure phase is gone
    ``transition_frames`` later. Same arguments, same arrays, on every machine.
    """
    rng = np.random.default_rng(seed)
    x = two_theta_axis(n_points)
    t = np.arange(n_spectra)
    pressure = t / max(n_spectra - 1, 1)  # 0 -> 1 over the ramp
    # Share of the sample in the high-pressure phase: over half from the transition on, all of it a few frames later.
    progress = np.clip((t - transition_index + 1) / transition_frames, 0, 1)
    converted = (t >= transition_index) * (0.55 + 0.45 * progress)

    spectra = np.zeros((n_spectra, n_points))
    phases = ((LOW_PRESSURE_PEAKS, 1 - converted), (HIGH_PRESSURE_PEAKS, converted), ((DETECTOR_EDGE,), 1.0))
    for peaks, share in phases:
        for position, height, width in peaks:
            centre = TWO_THETA_START + (position + 0.5) * BIN_WIDTH
            centre = centre + shift_degrees * pressure * centre / x[-1]  # Bragg: shift grows with angle
            texture = 1 + 0.06 * rng.standard_normal(n_spectra)
            spectra += (share * height * texture)[:, None] * _pseudo_voigt(x, centre, width)

    beam = 1 + 0.08 * np.cumsum(rng.standard_normal(n_spectra)) / np.sqrt(n_spectra)  # slow intensity drift
    u = (x - x[0]) / (x[-1] - x[0])
    background = 6 + 10 * np.exp(-3 * u) + 4 * np.exp(-(((u - 0.55) / 0.25) ** 2))  # air scatter + amorphous hump
    spectra = (spectra + background[None, :]) * beam[:, None]
    spectra += noise_level * rng.standard_normal(spectra.shape)
    return x, spectra


def differing_peak_windows(shift_degrees: float = 0.12, margin_fwhm: float = 1.0) -> list[tuple[float, float]]:
    """2 theta intervals (degrees) holding the reflections that differ between the phases: the ground truth of
    where a classifier of the simulated ramp should look (the shared detector edge is left out).

    Each interval spans a peak from its position at the start of the ramp to its shifted position at the end,
    widened by ``margin_fwhm`` of its FWHM on both sides; overlapping intervals are merged.
    """
    end = two_theta_axis()[-1]
    windows = []
    for position, _height, width in LOW_PRESSURE_PEAKS + HIGH_PRESSURE_PEAKS:
        centre = TWO_THETA_START + (position + 0.5) * BIN_WIDTH
        windows.append((centre - margin_fwhm * width, centre + shift_degrees * centre / end + margin_fwhm * width))
    merged: list[tuple[float, float]] = []
    for lo, hi in sorted(windows):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def high_pressure_fraction(n_spectra: int, transition_index: int, transition_frames: float) -> np.ndarray:
    """Share of the sample in the high-pressure phase per frame: a logistic that crosses 1/2 between
    ``transition_index - 1`` and ``transition_index`` and rises from 10 % to 90 % over ``transition_frames``.

    A sluggish first-order transition under a pressure ramp proceeds by nucleation and growth, so both phases
    coexist for many frames; the class label (``t >= transition_index``) is the majority phase.
    """
    scale = transition_frames / (2 * np.log(9))  # 10 % -> 90 % of a logistic spans 2 ln 9 scales
    return 1 / (1 + np.exp(-(np.arange(n_spectra) - transition_index + 0.5) / scale))


def simulate_hard_ramp(
    n_spectra: int = 349,
    n_points: int = 4023,
    transition_index: int = 185,
    transition_frames: float = 40.0,
    shift_degrees: float = 0.35,
    noise_level: float = 0.2,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """A harder ramp: same axis and phases as :func:`simulate_ramp`, with the transition smeared out.

    Physics, beyond :func:`simulate_ramp`:

    - **Coexisting phases.** The high-pressure share follows :func:`high_pressure_fraction` (10 % -> 90 % over
      ``transition_frames``, 40 by default), so about 40 frames around the boundary hold both phases and the
      frames on either side of it differ by a few percent of converted sample.
    - **Overlapping reflections.** The high-pressure phase is mostly a small distortion of the low-pressure
      lattice (as the cubic -> rhombohedral distortion of (Mg,Fe)O/FeO under pressure): every low-pressure
      reflection splits into two components 0.03 bin widths (about 0.03 degrees, less than a peak width) either
      side of it, broadened by strain; the distinct high-pressure reflections of :data:`HIGH_PRESSURE_PEAKS`
      are there at a third of their height. Telling the phases apart means reading peak shapes, not presence.
    - **Stronger drift.** Compression shifts every peak by up to ``shift_degrees`` (0.35, three times the
      default), the beam intensity drifts three times as much, the amorphous hump grows by half along the ramp
      (the pressure medium densifies), texture jitters peak heights by 15 % and the detector noise is higher.
    """
    rng = np.random.default_rng(seed)
    x = two_theta_axis(n_points)
    t = np.arange(n_spectra)
    pressure = t / max(n_spectra - 1, 1)
    converted = high_pressure_fraction(n_spectra, transition_index, transition_frames)
    split_peaks = tuple(
        (position + side * 0.03, 0.5 * height, 1.5 * width)
        for position, height, width in LOW_PRESSURE_PEAKS
        for side in (-1, 1)
    )
    distinct_peaks = tuple((position, height / 3, width) for position, height, width in HIGH_PRESSURE_PEAKS)

    spectra = np.zeros((n_spectra, n_points))
    phases = (
        (LOW_PRESSURE_PEAKS, 1 - converted),
        (split_peaks + distinct_peaks, converted),
        ((DETECTOR_EDGE,), np.ones(n_spectra)),
    )
    for peaks, share in phases:
        for position, height, width in peaks:
            centre = TWO_THETA_START + (position + 0.5) * BIN_WIDTH
            centre = centre + shift_degrees * pressure * centre / x[-1]
            texture = 1 + 0.15 * rng.standard_normal(n_spectra)
            spectra += (share * height * texture)[:, None] * _pseudo_voigt(x, centre, width)

    beam = 1 + 0.24 * np.cumsum(rng.standard_normal(n_spectra)) / np.sqrt(n_spectra)
    u = (x - x[0]) / (x[-1] - x[0])
    hump = 4 * (1 + 0.5 * pressure)[:, None] * np.exp(-(((u[None, :] - 0.55) / 0.25) ** 2))
    background = 6 + 10 * np.exp(-3 * u)[None, :] + hump
    spectra = (spectra + background) * beam[:, None]
    spectra += noise_level * rng.standard_normal(spectra.shape)
    return x, spectra


#: Ramp generators by preset name (the datamodule's ``simulation_preset``).
PRESETS = {"default": simulate_ramp, "hard": simulate_hard_ramp}
