"""The configurable preprocessing every split and every new spectrum goes through: baseline, smoothing, scale.

Each step works on one spectrum at a time and learns nothing from the data set, so training, test,
prediction and the ``watch`` command transform a spectrum identically without storing fitted statistics:
the settings saved with the datamodule's hyperparameters are all that is needed to repeat it.

Order: baseline removal (asymmetric least squares, as for the HED ramp) -> Savitzky-Golay smoothing ->
normalisation (``max``: peak height 1; ``area``: unit area under ``|y|``; ``standard``: zero mean and unit
standard deviation per spectrum, the "standard normal variate" of spectroscopy).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields

import numpy as np

from lightning_spectra.data.errors import SpectraDataError

BASELINES = ("none", "asls")
NORMALIZATIONS = ("none", "max", "area", "standard")


@dataclass(frozen=True)
class Preprocessing:
    """Settings of the preprocessing pipeline; calling it transforms ``(N, L)`` spectra.

    Args:
        baseline: ``none`` or ``asls`` (asymmetric least squares via pybaselines).
        baseline_lam, baseline_p, baseline_iterations: ALS smoothness, asymmetry and reweightings.
        smoothing_window: Savitzky-Golay window in points; 0 turns smoothing off.
        smoothing_order: Savitzky-Golay polynomial order (less than the window).
        normalization: ``none``, ``max``, ``area`` or ``standard``.
    """

    baseline: str = "none"
    baseline_lam: float = 1e5
    baseline_p: float = 0.002
    baseline_iterations: int = 10
    smoothing_window: int = 0
    smoothing_order: int = 2
    normalization: str = "none"

    def __post_init__(self) -> None:
        if self.baseline not in BASELINES:
            raise SpectraDataError(f"baseline must be one of {', '.join(BASELINES)}; got {self.baseline!r}")
        if self.normalization not in NORMALIZATIONS:
            raise SpectraDataError(
                f"normalization must be one of {', '.join(NORMALIZATIONS)}; got {self.normalization!r}"
            )
        if self.smoothing_window < 0 or (self.smoothing_window and self.smoothing_order >= self.smoothing_window):
            raise SpectraDataError(
                f"smoothing_window ({self.smoothing_window}) must be 0 (off) or larger than "
                f"smoothing_order ({self.smoothing_order})"
            )
        if self.baseline_iterations < 1:
            raise SpectraDataError(f"baseline_iterations must be at least 1, got {self.baseline_iterations}")

    @classmethod
    def from_hparams(cls, hparams: Mapping) -> Preprocessing:
        """The pipeline described by a datamodule's (saved) hyperparameters; absent keys keep defaults."""
        return cls(**{f.name: hparams[f.name] for f in fields(cls) if f.name in hparams})

    def as_dict(self) -> dict:
        return asdict(self)

    @property
    def is_identity(self) -> bool:
        return self.baseline == "none" and not self.smoothing_window and self.normalization == "none"

    def __call__(self, x: np.ndarray | None, spectra: np.ndarray, progress: bool = False) -> np.ndarray:
        """Transformed copy of ``spectra`` ``(N, L)``; ``x`` is their axis (``None``: point index)."""
        out = np.array(spectra, dtype=np.float64, ndmin=2)
        length = out.shape[1]
        x = np.arange(length, dtype=np.float64) if x is None else np.asarray(x, dtype=np.float64)
        if self.baseline == "asls":
            from lightning_spectra.data.baseline import remove_baseline

            out = remove_baseline(
                x, out, lam=self.baseline_lam, p=self.baseline_p, iterations=self.baseline_iterations, progress=progress
            )
        if self.smoothing_window:
            if self.smoothing_window > length:
                raise SpectraDataError(
                    f"smoothing_window {self.smoothing_window} is longer than the spectra ({length} points)"
                )
            from scipy.signal import savgol_filter

            out = savgol_filter(out, self.smoothing_window, self.smoothing_order, axis=1)
        return normalize(out, x, self.normalization)


def normalize(spectra: np.ndarray, x: np.ndarray, method: str) -> np.ndarray:
    """Scale each spectrum (row) by ``method``; an all-zero spectrum is left as it is rather than made NaN."""
    if method == "none":
        return spectra
    if method == "standard":
        centred = spectra - spectra.mean(axis=1, keepdims=True)
        return centred / _safe(centred.std(axis=1, keepdims=True))
    if method == "max":
        return spectra / _safe(np.abs(spectra).max(axis=1, keepdims=True))
    if method == "area":
        # |.| of the integral: axes may run downwards (IR wavenumbers), which makes the trapezoid negative.
        area = np.abs(np.trapezoid(np.abs(spectra), x, axis=1))[:, None]
        return spectra / _safe(area)
    raise SpectraDataError(f"normalization must be one of {', '.join(NORMALIZATIONS)}; got {method!r}")


def _safe(scale: np.ndarray) -> np.ndarray:
    return np.where(scale > 0, scale, 1.0)
