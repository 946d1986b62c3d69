"""A seed ensemble's spread as a prediction interval, calibrated on held-out spectra (normalised split conformal).

Members trained with different seeds agree with each other more than with the reference values, so their raw
spread is too narrow to be an interval. Split conformal prediction scales it: on a calibration split (the
validation spectra) each spectrum's score is ``|reference - mean| / spread``; the interval of a new spectrum is
``mean +- factor x spread``, with ``factor`` the ``ceil((n + 1) x coverage) / n`` quantile of those scores, so
that, for spectra exchangeable with the calibration ones, at least ``coverage`` of them fall inside. With
several targets each target gets its own factor.

With ``n`` calibration spectra no interval can promise more than ``n / (n + 1)``: 12 validation spectra hold a
99 % interval to 92 %. :func:`calibrate` refuses a coverage its spectra cannot give (:func:`spectra_needed` says
how many it needs); :func:`attainable_coverage` is what a caller labels the interval with instead.

Validation also chose each member's best epoch, so its residuals are a little optimistic: the test coverage
``lightning-spectra-ensemble`` reports says how far that goes on the user's own data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

DEFAULT_COVERAGE = 0.9


@dataclass(frozen=True)
class EnsemblePrediction:
    """Per spectrum and target ``(N, T)``: the members' mean, their standard deviation, and the interval
    ``mean +- factor x spread`` (``factor`` per target, ``(T,)``)."""

    mean: np.ndarray
    spread: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    factor: np.ndarray

    def covered(self, reference: np.ndarray) -> np.ndarray:
        """Whether each reference value ``(N, T)`` lies inside its interval."""
        reference = np.asarray(reference, dtype=np.float64).reshape(self.mean.shape)
        return (reference >= self.lower) & (reference <= self.upper)


def _as_members(values: np.ndarray) -> np.ndarray:
    """``(K, N, T)`` float64 from ``(K, N)`` or ``(K, N, T)``; at least two members."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 2:
        values = values[:, :, None]
    if values.ndim != 3 or len(values) < 2:
        raise ValueError(f"need the predictions of 2 or more members as (K, N[, T]), got shape {values.shape}")
    return values


def member_spread(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and sample standard deviation over members ``(K, N, T)``, the spread floored above zero.

    Members that agree exactly would otherwise give a zero-width interval and an infinite score: the floor is a
    millionth of the mean's typical size per target."""
    values = _as_members(values)
    mean = values.mean(axis=0)
    floor = 1e-12 + 1e-6 * np.abs(mean).mean(axis=0, keepdims=True)
    return mean, values.std(axis=0, ddof=1) + floor


def spectra_needed(coverage: float) -> int:
    """The fewest calibration spectra ``n`` for which split conformal can promise ``coverage``:
    ``ceil((n + 1) x coverage) <= n`` (9 for 0.9, 99 for 0.99). With fewer, the largest score is all there is."""
    if not 0 < coverage < 1:
        raise ValueError(f"coverage must lie between 0 and 1, got {coverage}")
    n = max(1, math.ceil(coverage / (1 - coverage) - 1e-9))
    while math.ceil((n + 1) * coverage - 1e-9) > n:  # guard the float rounding of the closed form
        n += 1
    return n


def attainable_coverage(n: int, coverage: float) -> float:
    """``coverage`` where ``n`` calibration spectra suffice for it, else the ``n / (n + 1)`` they can promise:
    the share an interval calibrated on them may be labelled with."""
    return coverage if n >= spectra_needed(coverage) else n / (n + 1)


def calibrate(values: np.ndarray, reference: np.ndarray, coverage: float = DEFAULT_COVERAGE) -> np.ndarray:
    """The factor per target ``(T,)`` by which the members' spread is widened so that ``coverage`` of the
    calibration spectra fall inside ``mean +- factor x spread``.

    Args:
        values: the members' predictions of the calibration spectra, ``(K, N)`` or ``(K, N, T)``.
        reference: their reference values, ``(N,)`` or ``(N, T)``.
        coverage: the share of new spectra the interval should hold, between 0 and 1; at most ``n / (n + 1)``
            for ``n`` calibration spectra (:func:`attainable_coverage`), else a ValueError: the largest score
            would silently give a narrower interval than the one asked for.
    """
    needed = spectra_needed(coverage)
    mean, spread = member_spread(values)
    reference = np.asarray(reference, dtype=np.float64).reshape(mean.shape)
    scores = np.sort(np.abs(reference - mean) / spread, axis=0)
    if len(scores) < needed:
        raise ValueError(
            f"a {coverage:.0%} interval needs at least {needed} calibration spectra, got {len(scores)} "
            f"(they can promise {len(scores) / (len(scores) + 1):.1%})"
        )
    # The k-th smallest score, k = ceil((n + 1) x coverage): the finite-sample correction.
    k = int(np.ceil((len(scores) + 1) * coverage - 1e-9))
    return scores[k - 1]


def ensemble_prediction(values: np.ndarray, factor: np.ndarray) -> EnsemblePrediction:
    """The members' mean, spread and the interval ``mean +- factor x spread`` (``factor`` from :func:`calibrate`)."""
    mean, spread = member_spread(values)
    factor = np.asarray(factor, dtype=np.float64).reshape(-1)
    half = factor.reshape(1, -1) * spread
    return EnsemblePrediction(mean=mean, spread=spread, lower=mean - half, upper=mean + half, factor=factor)
