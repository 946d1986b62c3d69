"""Spectral ranges: the x windows of the raw spectra a model sees, chosen in the axis's own units.

The ``ranges`` option group of :class:`~lightning_spectra.data.files.SpectraFilesDataModule` keeps one or several
windows (``keep: [[1100, 1400], [1600, 1800]]``) and/or drops some (``drop: [[1380, 1450]]``, a water band).
Windows are inclusive at both ends, may be written either way round, and work on rising or falling axes
(wavenumbers often fall). The points chosen keep the raw axis's order, so a kept band stays a spectrum.

The selection is made on the raw spectra, before any preprocessing: a baseline, a Savitzky-Golay filter and a
normalisation then see only the chosen points, and the model's ``spectrum_length`` and ``x_axis`` are those of
the selection. Windows kept apart are joined end to end; the filters run across the joint, as they would on a
spectrum measured on the joined axis.

A trained model keeps the raw axis it was trained on (the datamodule's state, ``raw_x_axis``) and its
``ranges`` (the datamodule's hyperparameters), so ``predict``, ``watch`` and the exported graph take raw spectra
on the full axis and cut them with the same :class:`Selection`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lightning_spectra.errors import SpectraConfigError

Window = Sequence[float]


def _checked_windows(name: str, windows: Sequence[Window] | None) -> list[list[float]] | None:
    """``windows`` as ``[[low, high], ...]`` (each sorted), or a one-line error naming ``ranges.<name>``."""
    if windows is None:
        return None
    if isinstance(windows, (str, bytes)) or not isinstance(windows, Sequence) or not windows:
        raise SpectraConfigError(f"ranges.{name} must be a non-empty list of [low, high] windows, got {windows!r}")
    checked = []
    for window in windows:
        try:
            low, high = (float(v) for v in window)
        except (TypeError, ValueError):
            raise SpectraConfigError(f"ranges.{name}: each window is two numbers [low, high], got {window!r}") from None
        if not (np.isfinite(low) and np.isfinite(high)):
            raise SpectraConfigError(f"ranges.{name}: window {window!r} is not two finite numbers")
        checked.append(sorted([low, high]))
    return checked


@dataclass(frozen=True)
class SpectralRanges:
    """The x windows of the raw spectra to keep or drop, in the axis's units (see the module docstring).

    Args:
        keep: windows ``[low, high]`` whose points are kept (every other point is dropped); ``None``: all points.
        drop: windows ``[low, high]`` whose points are dropped from what ``keep`` left.
    """

    keep: list[list[float]] | None = None
    drop: list[list[float]] | None = None

    def __post_init__(self) -> None:
        # Plain lists of floats: what a checkpoint saves and what jsonargparse hands over compare equal.
        object.__setattr__(self, "keep", _checked_windows("keep", self.keep))
        object.__setattr__(self, "drop", _checked_windows("drop", self.drop))

    @property
    def active(self) -> bool:
        return self.keep is not None or self.drop is not None

    def indices(self, x: np.ndarray | None, source: object = "the data") -> np.ndarray | None:
        """The positions on axis ``x`` the windows choose, in axis order (``None`` when no window is set).

        A window holding no point of ``x``, a selection left empty, or windows on spectra without an x axis are
        one-line :class:`~lightning_spectra.errors.SpectraConfigError` naming the option.
        """
        if not self.active:
            return None
        name = "keep" if self.keep is not None else "drop"
        if x is None:
            raise SpectraConfigError(
                f"ranges.{name}: {source} has no x axis (only point numbers), so there are no x windows to cut; "
                "give the data an x axis or remove the ranges"
            )
        x = np.asarray(x, dtype=np.float64)
        span = f"{x.min():g}..{x.max():g}"
        chosen = np.ones(len(x), dtype=bool)
        for name, windows, keeping in (("keep", self.keep, True), ("drop", self.drop, False)):
            if windows is None:
                continue
            inside = np.zeros(len(x), dtype=bool)
            for low, high in windows:
                here = (x >= low) & (x <= high)
                if not here.any():
                    raise SpectraConfigError(
                        f"ranges.{name}: window [{low:g}, {high:g}] holds no point of the x axis of {source} ({span})"
                    )
                inside |= here
            chosen &= inside if keeping else ~inside
        if not chosen.any():
            raise SpectraConfigError(f"ranges: keep {self.keep} and drop {self.drop} leave no point of {span}")
        return np.flatnonzero(chosen)

    def selection(self, x: np.ndarray | None, source: object = "the data") -> Selection | None:
        """The :class:`Selection` of these windows on raw axis ``x`` (``None`` when no window is set)."""
        indices = self.indices(x, source)
        return None if indices is None else Selection(np.asarray(x, dtype=np.float64), indices)


@dataclass(frozen=True, eq=False)
class Selection:
    """The points ``indices`` of raw spectra on axis ``raw_x``: what a model trained with ranges takes."""

    raw_x: np.ndarray
    indices: np.ndarray

    @property
    def x(self) -> np.ndarray:
        """The selected axis (the model's ``x_axis``)."""
        return self.raw_x[self.indices]

    def __call__(self, spectra: np.ndarray) -> np.ndarray:
        """The selected points of raw ``spectra`` ``(N, len(raw_x))``."""
        return np.asarray(spectra)[..., self.indices]
