"""The configurable preprocessing every split and every new spectrum goes through: baseline, smoothing, scale.

:class:`Preprocessing` works on one spectrum at a time and learns nothing from the data set, so training,
test, prediction and the ``watch`` command transform a spectrum identically: the settings saved with the
datamodule's hyperparameters are all that is needed to repeat it.

Order: baseline removal (asymmetric least squares, as for the HED ramp) -> Savitzky-Golay smoothing or
derivative -> normalisation (``max``: peak height 1; ``area``: unit area under ``|y|``; ``standard`` or its
alias ``snv``: zero mean and unit standard deviation per spectrum, the "standard normal variate").

:class:`PointScaler` is the one step that learns from data: per-point standardisation (every point of the
spectrum to zero mean and unit variance over the *training* spectra, chemometrics' "autoscaling"). It is
fitted on the training split only, and its means and scales travel in the checkpoint (the datamodule's
state), so test, ``predict`` and ``watch`` reuse the training statistics.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields

import numpy as np

from lightning_spectra.data.baseline import remove_baseline
from lightning_spectra.data.ranges import Selection
from lightning_spectra.errors import SpectraDataError

BASELINES = ("none", "asls")
NORMALIZATIONS = ("none", "max", "area", "standard", "snv")
SCALINGS = ("none", "standard")


@dataclass(frozen=True)
class Preprocessing:
    """Settings of the preprocessing pipeline; calling it transforms ``(N, L)`` spectra.

    Args:
        baseline: ``none`` or ``asls`` (asymmetric least squares via pybaselines).
        baseline_lam, baseline_p, baseline_iterations: ALS smoothness, asymmetry and reweightings.
        smoothing_window: Savitzky-Golay window in points; 0 turns smoothing off.
        smoothing_order: Savitzky-Golay polynomial order (less than the window).
        derivative: Savitzky-Golay derivative order (0: smoothing only; 1 or 2 remove offsets and slopes);
            needs ``smoothing_window`` and ``derivative <= smoothing_order``.
        normalization: ``none``, ``max``, ``area`` or ``standard`` (= ``snv``).
    """

    baseline: str = "none"
    baseline_lam: float = 1e5
    baseline_p: float = 0.002
    baseline_iterations: int = 10
    smoothing_window: int = 0
    smoothing_order: int = 2
    derivative: int = 0
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
        if self.derivative < 0 or (self.derivative and not self.smoothing_window):
            raise SpectraDataError(
                f"derivative {self.derivative} needs a smoothing_window (the Savitzky-Golay filter computes it)"
            )
        if self.derivative > self.smoothing_order:
            raise SpectraDataError(
                f"derivative ({self.derivative}) must not exceed smoothing_order ({self.smoothing_order})"
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
        # Baseline and smoothing scale with each spectrum and normalisation does not depend on its scale: the
        # rows are worked on near 1 (a power of two: exact) and given their scale back at the end, so spectra
        # around 1e300 or 1e-300 neither overflow nor underflow on the way.
        out, exponent = _unit_rows(np.array(spectra, dtype=np.float64, ndmin=2))
        length = out.shape[1]
        x = np.arange(length, dtype=np.float64) if x is None else np.asarray(x, dtype=np.float64)
        if self.baseline == "asls":
            out = remove_baseline(
                x, out, lam=self.baseline_lam, p=self.baseline_p, iterations=self.baseline_iterations, progress=progress
            )
        if self.smoothing_window:
            if self.smoothing_window > length:
                raise SpectraDataError(
                    f"smoothing_window {self.smoothing_window} is longer than the spectra ({length} points)"
                )
            from scipy.signal import savgol_filter

            out = savgol_filter(out, self.smoothing_window, self.smoothing_order, deriv=self.derivative, axis=1)
        if self.normalization == "none":
            return np.ldexp(out, exponent)
        return normalize(out, x, self.normalization)


def normalize(spectra: np.ndarray, x: np.ndarray, method: str) -> np.ndarray:
    """Scale each spectrum (row) by ``method``; an all-zero spectrum is left as it is rather than made NaN.

    Every method is independent of a spectrum's scale, so each row is first brought to a largest ``|value|``
    in [0.5, 1) by a power of two (exact: the result is the same bits): spectra around 1e300 or 1e-300 are
    normalised like any other instead of overflowing (or underflowing) in the squares and sums.
    """
    if method == "none":
        return spectra
    spectra, _ = _unit_rows(spectra)
    if method in ("standard", "snv"):
        centred = spectra - spectra.mean(axis=1, keepdims=True)
        return centred / _safe(centred.std(axis=1, keepdims=True))
    if method == "max":
        return spectra / _safe(np.abs(spectra).max(axis=1, keepdims=True))
    if method == "area":
        # |.| of the integral: axes may run downwards (IR wavenumbers), which makes the trapezoid negative.
        area = np.abs(np.trapezoid(np.abs(spectra), x, axis=1))[:, None]
        return spectra / _safe(area)
    raise SpectraDataError(f"normalization must be one of {', '.join(NORMALIZATIONS)}; got {method!r}")


def _unit_rows(spectra: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``spectra`` with each row multiplied by the power of two that brings its largest ``|value|`` to [0.5, 1),
    and the powers (``np.ldexp(rows, exponent)`` gives the spectra back exactly)."""
    _, exponent = np.frexp(np.abs(spectra).max(axis=1, keepdims=True))  # all-zero rows: exponent 0
    return np.ldexp(spectra, -exponent), exponent


#: The smallest spread a point is divided by, as a share of the median point's spread over the training spectra.
#: Points that hardly vary in training (a lab calibration of 21 standards, then process spectra) would otherwise be
#: blown up by 1 / (almost 0) wherever new spectra differ there: a PLS baseline of 691 where raw PLS gives 21.8.
SPREAD_FLOOR = 0.01


def floored_spread(spread: np.ndarray) -> np.ndarray:
    """``spread`` with every value raised to at least :data:`SPREAD_FLOOR` times the median (1 where all are 0)."""
    spread = np.asarray(spread, dtype=np.float64)
    floor = SPREAD_FLOOR * float(np.median(spread))
    return np.maximum(spread, floor) if floor > 0 else np.where(spread > 0, spread, 1.0)


def _safe(scale: np.ndarray) -> np.ndarray:
    return np.where(scale > 0, scale, 1.0)


class PointScaler:
    """Per-point standardisation fitted on training spectra: ``(spectra - mean) / scale`` point by point.

    ``scaling="none"`` is the identity. No point is divided by less than 1 % of the median point's spread
    (:data:`SPREAD_FLOOR`): points that hardly vary in training would
    otherwise amplify every difference of a new spectrum there (a calibration transfer) by 1 / (almost 0).
    """

    def __init__(self, scaling: str = "none") -> None:
        if scaling not in SCALINGS:
            raise SpectraDataError(f"scaling must be one of {', '.join(SCALINGS)}; got {scaling!r}")
        self.scaling = scaling
        self.mean: np.ndarray | None = None
        self.scale: np.ndarray | None = None

    @property
    def fitted(self) -> bool:
        return self.scaling == "none" or self.mean is not None

    def fit(self, spectra: np.ndarray) -> PointScaler:
        if self.scaling == "standard":
            self.mean = spectra.mean(axis=0)
            self.scale = floored_spread(spectra.std(axis=0))
        return self

    def __call__(self, spectra: np.ndarray) -> np.ndarray:
        if self.scaling == "none":
            return spectra
        if self.mean is None:
            raise RuntimeError("PointScaler used before fit (or before its state was loaded)")
        if spectra.shape[-1] != len(self.mean):
            raise SpectraDataError(
                f"spectra have {spectra.shape[-1]} points but the scaler was fitted on {len(self.mean)}"
            )
        return (spectra - self.mean) / self.scale

    def state_dict(self) -> dict:
        if self.mean is None:
            return {}
        return {"point_mean": self.mean.tolist(), "point_scale": self.scale.tolist()}

    def load_state_dict(self, state: Mapping) -> None:
        if "point_mean" in state:
            self.mean = np.asarray(state["point_mean"], dtype=np.float64)
            self.scale = np.asarray(state["point_scale"], dtype=np.float64)


class FittedPreprocessing:
    """The spectral ranges' :class:`~lightning_spectra.data.ranges.Selection`, :class:`Preprocessing`, then a fitted
    :class:`PointScaler`: how a trained model expects new raw spectra.

    Built from a checkpoint by :meth:`lightning_spectra.runs.checkpoint.TrainedModel.fitted_preprocessing`.
    """

    def __init__(
        self, preprocessing: Preprocessing, scaler: PointScaler | None = None, selection: Selection | None = None
    ) -> None:
        self.preprocessing = preprocessing
        self.scaler = scaler if scaler is not None else PointScaler("none")
        self.selection = selection

    @property
    def raw_x(self) -> np.ndarray | None:
        """The full axis raw spectra must be on when a selection cuts them (``None``: the model's own axis)."""
        return None if self.selection is None else self.selection.raw_x

    def __call__(self, x: np.ndarray | None, spectra: np.ndarray, progress: bool = False) -> np.ndarray:
        """The model's input for raw ``spectra`` on axis ``x`` (the full raw axis when a selection cuts them)."""
        if self.selection is not None:
            spectra, x = self.selection(spectra), self.selection.x
        return self.scaler(self.preprocessing(x, spectra, progress=progress))

    @classmethod
    def from_state(
        cls, preprocessing: Preprocessing, state: Mapping, selection: Selection | None = None
    ) -> FittedPreprocessing:
        """``preprocessing`` then the per-point scaling a datamodule saved as its state (none if it has none)."""
        scaler = PointScaler("standard" if "point_mean" in state else "none")
        scaler.load_state_dict(state)
        return cls(preprocessing, scaler, selection)
