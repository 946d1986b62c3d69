"""What a model learns from the labels of a spectra file: classes or numeric targets.

A :class:`TargetEncoder` is fitted on the training split only and then encodes every split alike:

- ``classification`` (:class:`ClassEncoder`): labels (strings or integers) become class indices in a stable
  sorted order (numbers numerically, then text) taken from the training data; a label the training data lack
  is an error naming the file and row.
- ``regression`` (:class:`ValueEncoder`): labels are numbers, one or several targets per spectrum (a ``.npz``
  ``y`` of shape ``(N, T)``); they stay in their own units in the datamodule. The encoder keeps the training
  split's per-target mean and standard deviation, which the model uses to standardise its targets and to
  restore every output (metrics, predictions, attribution) to the targets' units.
- ``multilabel`` (:class:`MultiLabelEncoder`): a spectrum holds a *set* of labels (the phases present in an XRD
  pattern of a mixture, the components of a Raman spectrum of a blend). A label cell joins them with ``;``
  (``quartz;calcite``); ``-`` is the empty set (an empty cell stays a missing label, an error in training data,
  so a forgotten cell is never read as "nothing present"). A ``.npz`` ``y`` of 0/1 columns ``(N, L)`` is read as
  indicator columns, named by its ``target_names`` (or ``rename_targets``). Labels are numbered in the stable
  sorted order of :func:`sorted_classes` (or ``class_order``); the encoded targets are 0/1 rows ``(N, L)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import ClassVar

import numpy as np

from lightning_spectra.data.formats import SpectraSource, normalise_label
from lightning_spectra.errors import SpectraConfigError, SpectraDataError
from lightning_spectra.tasks import ClassificationTask, RegressionTask


def _number(label: str) -> Decimal | None:
    """The label's value as an exact decimal (a float would make 20-digit labels equal), or ``None``."""
    try:
        number = Decimal(label)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def sorted_classes(labels: list[str]) -> list[str]:
    """Distinct labels in a stable order: numbers numerically (``2`` before ``10``), then text."""

    def key(label: str) -> tuple:
        number = _number(label)
        return (1, Decimal(0), label) if number is None else (0, number, label)

    return sorted(set(labels), key=key)


def check_spellings(source: SpectraSource) -> None:
    """Refuse labels that spell one number two ways (``01`` and ``1``, ``2.5`` and ``2.50``).

    Labels with leading zeros are kept as text (codes, see :func:`~lightning_spectra.data.formats.normalise_label`);
    merging them with the plain number could join two samples, keeping them apart could split a class whose
    leading zero a spreadsheet dropped in some rows. Neither is safe to guess, so the file has to say.
    """
    first: dict[Decimal, tuple[str, int]] = {}
    for i, label in enumerate(source.labels):
        number = _number(label)
        if number is None:
            continue
        seen, at = first.setdefault(number, (label, i))
        if seen != label:
            raise SpectraDataError(
                f"{source.where[i]}: label {label!r} is the number of label {seen!r} ({source.where[at]}) spelt "
                "another way; write every label of a class alike (codes with leading zeros stay text)"
            )


def check_enough_per_class(source: SpectraSource, classes: list[str]) -> None:
    """Refuse classification on numeric labels with fewer than two spectra per class on average: such a label
    column holds measured values (targets), and no class could be split for validation."""
    if len(classes) < 3 or len(classes) * 2 <= len(source) or any(_number(c) is None for c in classes):
        return
    where = source.label_origin or "the label column"
    raise SpectraDataError(
        f"{source.path}: {where} holds numbers, {len(classes)} different ones among {len(source)} training "
        "spectra, so hardly any class repeats; for numeric targets use task: regression"
    )


def ordered_classes(labels: list[str], class_order: list[str] | None, where: str) -> list[str]:
    """``class_order`` checked against the labels (every label listed), else :func:`sorted_classes`."""
    if not class_order:
        return sorted_classes(labels)
    order = [str(c) for c in class_order]
    missing = [c for c in sorted_classes(labels) if c not in order]
    if missing or len(set(order)) != len(order):
        problem = f"labels {', '.join(missing)} are not in it" if missing else "it repeats a class"
        raise SpectraDataError(f"{where}: class_order {order} does not fit the training labels: {problem}")
    return order


def require_labels(source: SpectraSource, split: str) -> list[str]:
    """``source``'s labels, or an error saying how to give them."""
    if source.labels is None and source.targets is None:
        raise SpectraDataError(
            f"{source.path}: the {split} data have no labels; give a label column "
            "(label_column), a labels file (labels_path) or a format with labels"
        )
    return source.labels


def encode_labels(source: SpectraSource, classes: list[str], split: str) -> np.ndarray:
    """Class indices of ``source``'s labels; an unknown label names the file and row."""
    require_labels(source, split)
    index = {c: i for i, c in enumerate(classes)}
    encoded = np.empty(len(source), dtype=np.int64)
    for i, label in enumerate(source.labels):
        if label not in index:
            raise SpectraDataError(
                f"{source.where[i]}: label {label!r} is not a class of the training data ({', '.join(classes)})"
            )
        encoded[i] = index[label]
    return encoded


def numeric_targets(source: SpectraSource, split: str) -> np.ndarray:
    """``source``'s targets as floats ``(N, T)``; a label that is not a number names the file and row."""
    if source.targets is not None:
        return np.asarray(source.targets, dtype=np.float64).reshape(len(source), -1)
    labels = require_labels(source, split)
    values = np.empty((len(source), 1), dtype=np.float64)
    for i, label in enumerate(labels):
        try:
            values[i, 0] = float(label)
        except ValueError:
            raise SpectraDataError(
                f"{source.where[i]}: target {label!r} is not a number (task: regression needs numeric targets)"
            ) from None
        if not np.isfinite(values[i, 0]):
            raise SpectraDataError(f"{source.where[i]}: target {label!r} is not finite")
    return values


@dataclass
class TargetEncoder:
    """Classes or numeric targets, fitted on the training split (see the module docstring); one subclass per
    task (:class:`ClassEncoder`, :class:`ValueEncoder`), named by the task's name.

    Attributes:
        task: the task's name.
        names: class names, or target names (one per regression output).
        mean, scale: per-target mean and standard deviation of the training targets (values only).
    """

    task: ClassVar[str]

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if "task" in cls.__dict__ and "ENCODERS" in globals():  # the package's own enter ENCODERS below
            ENCODERS[cls.task] = cls

    #: Label cells of a table this encoder reads, as documentation and for the task contract's check.
    example_labels: ClassVar[tuple[str, ...]]
    #: Whether a table's named label column (``fat``) names the target.
    named_by_label_column: ClassVar[bool] = False
    names: list[str]
    mean: np.ndarray | None = None
    scale: np.ndarray | None = None

    @staticmethod
    def fit(
        train: SpectraSource,
        task: str = ClassificationTask.name,
        target_names: Sequence[str] | None = None,
        class_order: Sequence[str] | None = None,
    ) -> TargetEncoder:
        """The encoder of ``train``'s labels for ``task`` (classes in ``class_order`` where given); a training
        set a model cannot learn from is an error."""
        return encoder_class(task).fitted(train, target_names, class_order)

    @classmethod
    def fitted(
        cls, train: SpectraSource, target_names: Sequence[str] | None, class_order: Sequence[str] | None
    ) -> TargetEncoder:
        raise NotImplementedError

    def standardised_on(self, values: np.ndarray, path: Path | str) -> TargetEncoder:
        """The encoder with the statistics of the training split's encoded targets ``values`` (a task without
        statistics: itself); call it once validation/test spectra have been split off the training file."""
        return self

    def encode(self, source: SpectraSource, split: str) -> np.ndarray:
        """Class indices ``(N,)`` or targets in their units ``(N, T)``."""
        raise NotImplementedError

    def unknown(self, count: int) -> np.ndarray:
        """Placeholder targets of new spectra."""
        raise NotImplementedError

    def strata(self, encoded: np.ndarray) -> np.ndarray:
        """Integer strata of encoded training targets for stratified splits and folds."""
        raise NotImplementedError

    @property
    def class_names(self) -> list[str]:
        return []

    @property
    def target_names(self) -> list[str]:
        return []


@dataclass
class ClassEncoder(TargetEncoder):
    """Labels as class indices in a stable order; new spectra get class -1."""

    task: ClassVar[str] = ClassificationTask.name
    example_labels: ClassVar[tuple[str, ...]] = ("quartz", "calcite", "dolomite")

    @classmethod
    def fitted(
        cls, train: SpectraSource, target_names: Sequence[str] | None, class_order: Sequence[str] | None
    ) -> ClassEncoder:
        labels = require_labels(train, "training")
        check_spellings(train)
        classes = ordered_classes(labels, list(class_order) if class_order else None, str(train.path))
        if len(classes) < 2:
            raise SpectraDataError(
                f"{train.path}: all {len(train)} training spectra have label {classes[0]!r}; "
                "a classifier needs at least two classes"
            )
        check_enough_per_class(train, classes)
        return cls(classes)

    def encode(self, source: SpectraSource, split: str) -> np.ndarray:
        return encode_labels(source, self.names, split)

    def unknown(self, count: int) -> np.ndarray:
        return np.full(count, -1)

    def strata(self, encoded: np.ndarray) -> np.ndarray:
        return encoded  # every split keeps the classes' shares

    @property
    def class_names(self) -> list[str]:
        return self.names


@dataclass
class ValueEncoder(TargetEncoder):
    """Numeric targets in their own units, with the training split's per-target mean and standard deviation;
    new spectra get NaN."""

    task: ClassVar[str] = RegressionTask.name
    example_labels: ClassVar[tuple[str, ...]] = ("12.5", "3.25", "7.0", "18.75")
    named_by_label_column: ClassVar[bool] = True

    @classmethod
    def fitted(
        cls, train: SpectraSource, target_names: Sequence[str] | None, class_order: Sequence[str] | None
    ) -> ValueEncoder:
        values = numeric_targets(train, "training")
        count = values.shape[1]
        names = list(target_names) if target_names else list(train.target_names or [])
        if not names:
            names = ["target"] if count == 1 else [f"target_{t}" for t in range(count)]
        if len(names) != count:
            raise SpectraDataError(f"{train.path}: {len(names)} target names ({', '.join(names)}) for {count} targets")
        return cls(names).standardised_on(values, train.path)

    def standardised_on(self, values: np.ndarray, path: Path | str) -> ValueEncoder:
        if len(values) < 2:
            raise SpectraDataError(f"{path}: regression needs at least 2 training spectra, got {len(values)}")
        mean, scale = values.mean(axis=0), values.std(axis=0, ddof=1)
        flat = np.flatnonzero(~(scale > 0))
        if len(flat):
            raise SpectraDataError(
                f"{path}: every training spectrum has {self.names[flat[0]]} = {mean[flat[0]]:g}; "
                "a regressor needs targets that vary"
            )
        check_float32(values, self.names, path)
        return replace(self, mean=mean, scale=scale)

    def encode(self, source: SpectraSource, split: str) -> np.ndarray:
        values = numeric_targets(source, split)
        if values.shape[1] != len(self.names):
            raise SpectraDataError(
                f"{source.path}: the {split} data have {values.shape[1]} targets but the training data "
                f"have {len(self.names)} ({', '.join(self.names)})"
            )
        return values

    def unknown(self, count: int) -> np.ndarray:
        return np.full((count, len(self.names)), np.nan)

    def strata(self, encoded: np.ndarray) -> np.ndarray:
        return np.zeros(len(encoded), dtype=np.int64)  # values have no classes: plain random splits

    @property
    def target_names(self) -> list[str]:
        return self.names


#: The label cell of a spectrum that holds none of the labels (multilabel): explicit, as an empty cell is a
#: missing label.
EMPTY_SET = "-"
#: What joins the labels of one cell (multilabel): ``quartz;calcite``.
SET_SEPARATOR = ";"
#: A combination of labels shared by fewer training spectra than this joins the most common combination's
#: stratum: a stratified split or fold split needs several spectra per stratum, and mixtures rarely repeat.
MIN_STRATUM = 10


def label_set(cell: str, where: str) -> list[str]:
    """The labels of one multilabel cell (``quartz;calcite``: ``["quartz", "calcite"]``, ``-``: none), each
    normalised like a class label; an empty part or a label given twice is an error naming ``where``."""
    if cell.strip() == EMPTY_SET:
        return []
    parts = [normalise_label(part) for part in cell.split(SET_SEPARATOR)]
    if None in parts or EMPTY_SET in parts:
        raise SpectraDataError(
            f"{where}: label set {cell!r} has an empty part; join labels with {SET_SEPARATOR!r} "
            f"and write {EMPTY_SET!r} alone for a spectrum with none"
        )
    if len(set(parts)) != len(parts):
        twice = next(p for p in parts if parts.count(p) > 1)
        raise SpectraDataError(f"{where}: label set {cell!r} names {twice!r} twice")
    return parts


def indicator_targets(source: SpectraSource, split: str) -> np.ndarray | None:
    """``source``'s 0/1 indicator columns ``(N, L)`` (a ``.npz`` ``y`` of several columns), ``None`` when its labels
    are label cells; a value other than 0 or 1 names the file and row."""
    if source.targets is None:
        return None
    values = np.asarray(source.targets, dtype=np.float64).reshape(len(source), -1)
    bad = np.argwhere((values != 0) & (values != 1))
    if len(bad):
        row, column = bad[0]
        raise SpectraDataError(
            f"{source.where[row]}: indicator {values[row, column]:g} in column {column} of the {split} labels is "
            "not 0 or 1 (task: multilabel reads several label columns as indicators)"
        )
    return values.astype(np.int64)


@dataclass
class MultiLabelEncoder(TargetEncoder):
    """Label sets as 0/1 rows ``(N, L)``, one column per label in a stable order; new spectra get rows of -1
    (unknown, unlike 0: absent)."""

    task: ClassVar[str] = "multilabel"
    example_labels: ClassVar[tuple[str, ...]] = ("quartz;calcite", "calcite", "-", "dolomite;quartz;calcite")

    @classmethod
    def fitted(
        cls, train: SpectraSource, target_names: Sequence[str] | None, class_order: Sequence[str] | None
    ) -> MultiLabelEncoder:
        indicators = indicator_targets(train, "training")
        if indicators is not None:
            names = list(target_names or train.target_names or [f"label_{j}" for j in range(indicators.shape[1])])
            if len(names) != indicators.shape[1]:
                raise SpectraDataError(
                    f"{train.path}: {len(names)} label names ({', '.join(names)}) for {indicators.shape[1]} "
                    "indicator columns"
                )
        else:
            if target_names:  # label sets name their labels; renaming them would misname the columns silently
                raise SpectraConfigError(
                    "data.init_args.rename_targets names the indicator columns of a .npz y; label sets "
                    f"({train.label_origin or 'the label column'} of {train.path}) name their own labels"
                )
            labels = require_labels(train, "training")
            seen = [label for i, cell in enumerate(labels) for label in label_set(cell, train.where[i])]
            names = ordered_classes(seen, list(class_order) if class_order else None, str(train.path))
        if len(names) < 2:
            only = f"only label {names[0]!r}" if names else f"no label (every cell is {EMPTY_SET!r})"
            raise SpectraDataError(
                f"{train.path}: the training spectra have {only}; multilabel needs at least two labels "
                "(one label present or absent is task: classification)"
            )
        return cls(names)

    def encode(self, source: SpectraSource, split: str) -> np.ndarray:
        indicators = indicator_targets(source, split)
        if indicators is not None:
            if indicators.shape[1] != len(self.names):
                raise SpectraDataError(
                    f"{source.path}: the {split} data have {indicators.shape[1]} indicator columns but the "
                    f"training data have {len(self.names)} labels ({', '.join(self.names)})"
                )
            return indicators
        labels = require_labels(source, split)
        index = {name: j for j, name in enumerate(self.names)}
        encoded = np.zeros((len(source), len(self.names)), dtype=np.int64)
        for i, cell in enumerate(labels):
            for label in label_set(cell, source.where[i]):
                if label not in index:
                    raise SpectraDataError(
                        f"{source.where[i]}: label {label!r} is not a label of the training data "
                        f"({', '.join(self.names)})"
                    )
                encoded[i, index[label]] = 1
        return encoded

    def unknown(self, count: int) -> np.ndarray:
        return np.full((count, len(self.names)), -1, dtype=np.int64)

    def strata(self, encoded: np.ndarray) -> np.ndarray:
        """One stratum per combination of labels shared by at least :data:`MIN_STRATUM` spectra; rarer
        combinations join the most common one's, so every stratum can be split (all rare: a plain random split)."""
        combinations, strata, counts = np.unique(encoded, axis=0, return_inverse=True, return_counts=True)
        strata = strata.reshape(-1)
        rare = counts < MIN_STRATUM
        strata[rare[strata]] = int(np.argmax(counts))
        return np.unique(strata, return_inverse=True)[1].reshape(-1).astype(np.int64)  # 0..S-1: bincount-able

    @property
    def class_names(self) -> list[str]:
        return self.names


#: The encoder of every task, by the task's name.
#: Every task's encoder by the task's name: a subclass of :class:`TargetEncoder` that sets ``task`` enters it
#: when it is defined (as a task enters :data:`lightning_spectra.tasks.TASKS`).
ENCODERS: dict[str, type[TargetEncoder]] = {
    encoder.task: encoder for encoder in (ClassEncoder, ValueEncoder, MultiLabelEncoder)
}


def encoder_class(task: str) -> type[TargetEncoder]:
    """The encoder of ``task``; another name is a one-line error naming the option and the tasks there are."""
    if task not in ENCODERS:
        raise SpectraConfigError(f"data.init_args.task must be one of {', '.join(map(repr, ENCODERS))}, got {task!r}")
    return ENCODERS[task]


def check_float32(values: np.ndarray, names: Sequence[str], path: Path | str) -> None:
    """Refuse targets ``(N, T)`` that float32, which the model computes in, cannot hold: beyond its range
    (the loss would be infinite and blamed on the learning rate) or varying too little for their size (all
    become one value, and the metrics read a perfect fit)."""
    with np.errstate(over="ignore"):  # an overflow is what is looked for
        stored = values.astype(np.float32)
    for t, name in enumerate(names):
        low, high = values[:, t].min(), values[:, t].max()
        if not np.isfinite(stored[:, t]).all():
            raise SpectraDataError(
                f"{path}: {name} ranges from {low:g} to {high:g}, beyond float32's {np.finfo(np.float32).max:g}; "
                "rescale the targets (other units)"
            )
        sd, sd32 = values[:, t].std(), stored[:, t].astype(np.float64).std()
        if abs(sd32 - sd) > 0.01 * sd:
            raise SpectraDataError(
                f"{path}: {name} ranges from {low:g} to {high:g}; float32, which the model computes in, cannot "
                f"resolve a spread of {sd:g} at that size; subtract an offset (e.g. {low:g}) or rescale the targets"
            )
