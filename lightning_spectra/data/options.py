"""The option groups of :class:`~lightning_spectra.data.files.SpectraFilesDataModule`, as small dataclasses.

A config sets a group's fields under its name (``data.init_args.preprocessing.smoothing_window: 11``, or
``--data.init_args.preprocessing.smoothing_window 15`` on the command line); fields left out keep their
defaults. The augmentation group is :class:`~lightning_spectra.data.augment.Augmentation` itself.

The previous release took these options flat (``data.init_args.smoothing_window``) and its checkpoints saved
them flat: :data:`MOVED_OPTIONS` says where each one lives now, and :func:`nested_settings` reads either form.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, is_dataclass
from typing import Any, Literal, TypeVar

from lightning_spectra.data.baseline import check_asls
from lightning_spectra.data.preprocess import PointScaler, Preprocessing
from lightning_spectra.errors import SpectraDataError

Options = TypeVar("Options")


@dataclass(frozen=True)
class PreprocessingOptions:
    """What every split and every new spectrum goes through (see :mod:`lightning_spectra.data.preprocess`).

    The defaults are a recipe for small real sets: Savitzky-Golay first derivative (window 11), SNV, then
    per-point standardisation fitted on the training split.

    Args:
        baseline: baseline removal: ``none`` or ``asls`` (asymmetric least squares).
        baseline_lam: ALS smoothness (larger: stiffer baseline).
        baseline_p: ALS asymmetry (weight of points above the baseline).
        baseline_iterations: ALS reweightings.
        smoothing_window: Savitzky-Golay window in points (0: no smoothing).
        smoothing_order: Savitzky-Golay polynomial order (below the window).
        derivative: Savitzky-Golay derivative order computed with ``smoothing_window`` (0: none).
        normalization: per-spectrum scaling: ``none``, ``max`` (peak 1), ``area`` (unit area) or ``standard``
            / ``snv`` (zero mean, unit standard deviation).
        scaling: per-point scaling fitted on the training split: ``standard`` (each point to zero mean and
            unit variance over the training spectra) or ``none``.
    """

    baseline: Literal["none", "asls"] = "none"
    baseline_lam: float = 1e5
    baseline_p: float = 0.002
    baseline_iterations: int = 10
    smoothing_window: int = 11
    smoothing_order: int = 2
    derivative: int = 1
    normalization: Literal["none", "max", "area", "standard", "snv"] = "snv"
    scaling: Literal["none", "standard"] = "standard"

    def __post_init__(self) -> None:
        self.steps  # noqa: B018 - building the steps checks the settings
        if self.baseline == "asls":  # checked here, before any file is read (pybaselines would stop on it later)
            check_asls(self.baseline_lam, self.baseline_p)
        PointScaler(self.scaling)

    @property
    def steps(self) -> Preprocessing:
        """The per-spectrum steps (everything but the per-point scaling, which is fitted on data)."""
        return Preprocessing(**{k: v for k, v in asdict(self).items() if k != "scaling"})


@dataclass(frozen=True)
class SplitOptions:
    """How validation and test spectra are cut from the training file when they have no file of their own.

    Args:
        val_fraction: share of the training file split off for validation when ``val_path`` is not given.
        test_fraction: share of the training file split off for testing when ``test_path`` is not given.
        seed: seed of the random split (and of the fold split).
        folds: cross-validation: cut the training file into this many stratified folds (0: off) and test on
            fold ``fold``; validation is then ``val_fraction`` of the other folds. ``python -m
            lightning_spectra.apps.cross_validation`` runs every fold.
        fold: which fold is the test split (0-based, below ``folds``).
    """

    val_fraction: float = 0.2
    test_fraction: float = 0.2
    seed: int = 0
    folds: int = 0
    fold: int = 0

    def __post_init__(self) -> None:
        for name in ("val_fraction", "test_fraction"):
            if not 0 < getattr(self, name) < 1:
                raise SpectraDataError(f"split.{name} must be between 0 and 1, got {getattr(self, name)}")
        if self.val_fraction + self.test_fraction >= 1:
            total = self.val_fraction + self.test_fraction
            raise SpectraDataError(f"split.val_fraction + split.test_fraction must be below 1, got {total}")
        if self.folds and not (self.folds >= 2 and 0 <= self.fold < self.folds):
            raise SpectraDataError(
                f"split.folds must be 0 (off) or >= 2 with 0 <= split.fold < split.folds; got folds={self.folds}, "
                f"fold={self.fold}"
            )


#: Each flat option of the previous release and where it lives now (``group.field``).
MOVED_OPTIONS: dict[str, str] = {
    **{name: f"preprocessing.{name}" for name in (f.name for f in fields(PreprocessingOptions))},
    **{f"augment_{name}": f"augmentation.{name}" for name in ("noise", "offset", "slope", "scale", "shift")},
    "val_fraction": "split.val_fraction",
    "test_fraction": "split.test_fraction",
    "split_seed": "split.seed",
    "folds": "split.folds",
    "fold": "split.fold",
}


def nested_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """``settings`` (saved datamodule hyperparameters) with every flat option of the previous release moved into
    its group; settings already nested are returned as they are."""
    nested = {k: v for k, v in settings.items() if k not in MOVED_OPTIONS}
    for old, new in MOVED_OPTIONS.items():
        if old in settings:
            group, _, name = new.partition(".")
            nested[group] = {**nested.get(group, {}), name: settings[old]}
    return nested


def as_options(cls: type[Options], value: Options | Mapping[str, Any]) -> Options:
    """``value`` as the option group ``cls``: a mapping of its fields (saved hyperparameters) is taken too."""
    return cls(**value) if isinstance(value, Mapping) else value


def plain(value: Any) -> Any:
    """An option group as a plain mapping (what a checkpoint saves: it loads without unpickling classes)."""
    return asdict(value) if is_dataclass(value) and not isinstance(value, type) else value
