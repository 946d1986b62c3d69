"""European XFEL run directories: one spectrum per pulse of one source and key, in train-id order.

``SpectraRunDataModule`` reads an EXtra-data run directory (``/gpfs/exfel/exp/HED/.../raw/r0042``, or a folder of
its ``.h5`` files) with :func:`extra_data.RunDirectory`, takes one source and key holding spectra, and lays them
out pulse by pulse in train-id order: ``train 10023 pulse 4`` is the fifth spectrum recorded in train 10023. The
key may hold one spectrum per entry (``(points,)``, several entries a train: entry ``k`` of a train is pulse
``k``) or one ``(pulses, points)`` array per train. A run is an ordered series, so ``data.ordered`` is on: the
paper's classification boundary and confidence are reported along it.

Labels for ``fit`` and ``test`` come from a CSV of train-id ranges (``labels``, columns ``first_train,
last_train,label``, both ends included; spectra of trains in no range are left out of ``fit`` and ``test``, with
one warning saying how many) or from a key (``label_key`` of ``label_source``, by default the spectra's source:
one value per entry, per pulse, or per train, matched by train id). Validation and test spectra are a stratified
share of the run, each kept in train-id order; preprocessing and the other options are those of
:class:`~lightning_spectra.data.files.SpectraFilesDataModule`.

``predict`` classifies ``predict_run`` (another run directory with the same source and key; by default, with
``--ckpt_path``, the training run itself, every pulse of it), and ``predictions.csv`` names each spectrum by
``train_id`` and ``pulse`` columns. The x axis (``axis``) is a key of the source (its first entry; every entry
must agree), a ``.npy`` or text file of one value per point, or left out (the point index).

EXtra-data is the optional ``xfel`` extra (``pip install lightning-spectra[xfel]``), imported only when a run is
read::

    python train.py fit --config configs/examples/xfel_run.yaml --data.init_args.run /path/to/r0042 \\
        --data.init_args.labels phases.csv
    python train.py predict --config logs/xfel_run/version_0/config.yaml \\
        --ckpt_path logs/xfel_run/version_0/checkpoints/best.ckpt --data.init_args.predict_run /path/to/r0043
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from lightning.pytorch.utilities import rank_zero_warn

from lightning_spectra.data.augment import Augmentation
from lightning_spectra.data.base import SpectraSplits
from lightning_spectra.data.files import SpectraFilesDataModule
from lightning_spectra.data.formats import SpectraSource, normalise_label
from lightning_spectra.data.options import PreprocessingOptions, SplitOptions
from lightning_spectra.data.ranges import SpectralRanges
from lightning_spectra.errors import SpectraConfigError, SpectraDataError

#: The names of run spectra; :meth:`SpectraRunDataModule.prediction_index_columns` reads train and pulse back.
NAME = re.compile(r"train (\d+) pulse (\d+)")
LABEL_COLUMNS = ("first_train", "last_train", "label")


def _extra_data() -> Any:
    """The ``extra_data`` module, imported on first use: the rest of the package works without the extra."""
    try:
        import extra_data
    except ImportError:
        raise SpectraConfigError(
            "reading an EuXFEL run directory needs EXtra-data: pip install lightning-spectra[xfel]"
        ) from None
    return extra_data


def open_run(path: str | Path) -> Any:
    """The :class:`extra_data.DataCollection` of the run directory ``path`` (one line naming it if it is none)."""
    extra_data = _extra_data()
    path = Path(path)
    if not path.is_dir():
        raise SpectraDataError(f"{path}: no such run directory")
    try:
        return extra_data.RunDirectory(str(path))
    except Exception as err:  # EXtra-data raises several kinds (no files, unreadable files); one line for all
        raise SpectraDataError(f"{path}: not a readable EuXFEL run directory ({err})") from None


def _key_data(run: Any, path: Path, source: str, key: str, what: str) -> Any:
    """``run[source, key]``, or one line naming the run and the missing source or key (and what there is)."""
    if source not in run.all_sources:
        known = ", ".join(sorted(run.all_sources)[:8])
        raise SpectraDataError(f"{path}: {what} source {source!r} is not in the run (its sources: {known})")
    keys = run.keys_for_source(source)
    if key not in keys:
        known = ", ".join(sorted(keys)[:12])
        raise SpectraDataError(f"{path}: {what} key {key!r} is not a key of {source} (its keys: {known})")
    return run[source, key]


@dataclass(frozen=True)
class RunSpectra:
    """The spectra of one source and key of a run, pulse by pulse in train-id order."""

    path: Path
    spectra: np.ndarray  # (N, L) float64
    train_ids: np.ndarray  # (N,) the train of each spectrum
    pulses: np.ndarray  # (N,) its pulse within the train, from 0
    entry: np.ndarray  # (N,) the key's entry (train-ordered) each spectrum comes from
    entry_train_ids: np.ndarray  # (E,) the train of each entry of the key

    def where(self, i: int) -> str:
        return f"{self.path}, train {self.train_ids[i]} pulse {self.pulses[i]}"

    def names(self) -> list[str]:
        return [f"train {t} pulse {p}" for t, p in zip(self.train_ids.tolist(), self.pulses.tolist(), strict=True)]


def read_run_spectra(path: str | Path, source: str, key: str) -> RunSpectra:
    """Every spectrum of ``source``/``key`` of the run at ``path``: entries of ``(points,)`` (pulses are the entries
    of one train) or ``(pulses, points)`` (one entry a train), ordered by train id; non-finite values refused."""
    path = Path(path)
    data = _key_data(open_run(path), path, source, key, "spectrum")
    values = np.asarray(data.ndarray(), dtype=np.float64)
    entry_train_ids = np.asarray(data.train_id_coordinates(), dtype=np.int64)
    if len(values) == 0:
        raise SpectraDataError(f"{path}: {source} {key} holds no data")
    if values.ndim == 2:  # one spectrum an entry: pulse k of a train is its k-th entry
        entry = np.arange(len(values))
        starts = np.flatnonzero(np.r_[True, entry_train_ids[1:] != entry_train_ids[:-1]])
        pulses = entry - np.repeat(starts, np.diff(np.r_[starts, len(values)]))
        spectra, train_ids = values, entry_train_ids
    elif values.ndim == 3:  # one (pulses, points) array a train
        n_entries, n_pulses, points = values.shape
        entry = np.repeat(np.arange(n_entries), n_pulses)
        pulses = np.tile(np.arange(n_pulses), n_entries)
        spectra, train_ids = values.reshape(n_entries * n_pulses, points), entry_train_ids[entry]
    else:
        raise SpectraDataError(
            f"{path}: {source} {key} has entries of shape {values.shape[1:]}; spectra are (points,) or (pulses, points)"
        )
    # EXtra-data returns trains in order already; a stable sort makes the series order a guarantee, not a habit
    order = np.argsort(train_ids, kind="stable")
    run = RunSpectra(path, spectra[order], train_ids[order], pulses[order], entry[order], entry_train_ids)
    bad = np.argwhere(~np.isfinite(run.spectra))
    if len(bad):
        raise SpectraDataError(f"{run.where(bad[0][0])}, point {bad[0][1]}: value is not finite (NaN or inf)")
    return run


def read_label_ranges(path: str | Path, run: RunSpectra) -> list[str | None]:
    """The label of every spectrum of ``run`` from a CSV of ``first_train,last_train,label`` rows (ends included);
    ``None`` where no range holds its train. A range that holds no train of the run, overlapping ranges and bad
    cells are one line naming the file and row."""
    path = Path(path)
    if not path.is_file():
        raise SpectraDataError(f"{path}: no such labels file")
    with open(path, newline="") as f:
        rows = [row for row in csv.reader(f) if any(cell.strip() for cell in row)]
    header = [cell.strip().lower() for cell in rows[0]] if rows else []
    if tuple(header[:3]) != LABEL_COLUMNS:
        raise SpectraDataError(f"{path}: labels by train id need the header {','.join(LABEL_COLUMNS)}; got {header}")
    labels: list[str | None] = [None] * len(run.train_ids)
    taken: list[tuple[int, int, int]] = []  # (first, last, row) of the ranges read so far
    for number, row in enumerate(rows[1:], start=2):
        where = f"{path}, row {number}"
        if len(row) < 3:
            raise SpectraDataError(f"{where}: needs first_train, last_train and label; got {row}")
        try:
            first, last = int(row[0]), int(row[1])
        except ValueError:
            raise SpectraDataError(f"{where}: train ids must be integers; got {row[0]!r}, {row[1]!r}") from None
        label = normalise_label(row[2])
        if first > last or label is None:
            raise SpectraDataError(f"{where}: needs first_train <= last_train and a label; got {row}")
        for other_first, other_last, other in taken:
            if first <= other_last and other_first <= last:
                raise SpectraDataError(
                    f"{where}: trains {first}-{last} overlap row {other} ({other_first}-{other_last})"
                )
        taken.append((first, last, number))
        inside = np.flatnonzero((run.train_ids >= first) & (run.train_ids <= last))
        if len(inside) == 0:
            span = f"{run.train_ids.min()}-{run.train_ids.max()}"
            raise SpectraDataError(f"{where}: trains {first}-{last} are not in the run {run.path} (trains {span})")
        for i in inside:
            labels[i] = label
    return labels


def read_label_key(path: str | Path, source: str, key: str, spectra: RunSpectra) -> list[str]:
    """The label of every spectrum from ``source``/``key``: one value per entry of the spectra's key (the same
    trains), one per pulse of such an entry, or one per train (another source, e.g. a motor's control data)."""
    path = Path(path)
    data = _key_data(open_run(path), path, source, key, "label")
    values = np.asarray(data.ndarray())
    train_ids = np.asarray(data.train_id_coordinates(), dtype=np.int64)
    if len(train_ids) == len(spectra.entry_train_ids) and np.array_equal(train_ids, spectra.entry_train_ids):
        per_entry = values[spectra.entry]
    elif len(np.unique(train_ids)) == len(train_ids):  # one value per train: looked up by train id
        at = {t: i for i, t in enumerate(train_ids.tolist())}
        missing = [t for t in np.unique(spectra.train_ids).tolist() if t not in at]
        if missing:
            raise SpectraDataError(f"{path}: label key {source} {key} has no value for train {missing[0]}")
        per_entry = values[[at[t] for t in spectra.train_ids.tolist()]]
    else:
        raise SpectraDataError(
            f"{path}: label key {source} {key} has {len(train_ids)} entries; it needs one per entry of the spectra's "
            "key or one per train"
        )
    if per_entry.ndim == 2:  # a value per pulse of each entry
        if per_entry.shape[1] <= spectra.pulses.max():
            raise SpectraDataError(
                f"{path}: label key {source} {key} has {per_entry.shape[1]} values per entry; the spectra have "
                f"{spectra.pulses.max() + 1} pulses"
            )
        per_entry = per_entry[np.arange(len(per_entry)), spectra.pulses]
    elif per_entry.ndim != 1:
        raise SpectraDataError(f"{path}: label key {source} {key} has entries of shape {per_entry.shape[1:]}")
    labels = [normalise_label(v) for v in per_entry.tolist()]
    if None in labels:
        raise SpectraDataError(f"{spectra.where(labels.index(None))}: label key {source} {key} has no label")
    return labels


def read_axis(axis: str, path: Path, source: str, length: int) -> np.ndarray:
    """The x axis ``axis`` names: a key of ``source`` (its first entry; every entry must agree) or a ``.npy`` or
    text file of one value per point."""
    run = open_run(path)
    if axis in run.keys_for_source(source):
        values = np.asarray(run[source, axis].ndarray(), dtype=np.float64).reshape(-1, length)
        if not np.allclose(values, values[0]):
            raise SpectraDataError(f"{path}: axis key {source} {axis} changes during the run; give the axis as a file")
        x = values[0]
    elif Path(axis).is_file():
        x = np.load(axis) if axis.endswith(".npy") else np.loadtxt(axis, delimiter=None, ndmin=1)
        x = np.asarray(x, dtype=np.float64).ravel()
    else:
        raise SpectraDataError(f"data.init_args.axis {axis!r}: neither a key of {source} in {path} nor a file")
    if len(x) != length:
        raise SpectraDataError(f"{axis}: the x axis has {len(x)} values but the spectra of {path} have {length} points")
    return x


class SpectraRunDataModule(SpectraFilesDataModule):
    """Spectra of one source and key of an EuXFEL run directory, one per pulse in train-id order (see the module
    documentation).

    Args:
        run: the run directory to train and test on (and, with ``--ckpt_path`` and no ``predict_run``, to predict).
        source: the source holding the spectra (``HED_EXP_SPEC/DET/1:output``).
        key: the key of ``source`` holding them (``data.spectrum``).
        labels: a CSV of train-id ranges, ``first_train,last_train,label`` (both ends included).
        label_key: a key holding the labels, instead of ``labels``; of ``label_source``.
        label_source: the source of ``label_key`` (default: ``source``).
        axis: the x axis: a key of ``source``, a ``.npy`` or text file, or ``None`` (the point index).
        predict_run: the run directory ``predict`` classifies (the same source and key).
        class_order: class names in the order the model numbers them; default: as they first appear along the run
            (class 0 the state it starts in).
        ranges, preprocessing, augmentation, split, cache_dir, batch_size, shuffle, linear_baseline,
            task, rename_targets, x_label: as :class:`~lightning_spectra.data.files.SpectraFilesDataModule`.
        ordered: a run is a time series (default on): the state change along the predictions is reported.
    """

    def __init__(
        self,
        run: str | None = None,
        source: str | None = None,
        key: str | None = None,
        labels: str | None = None,
        label_key: str | None = None,
        label_source: str | None = None,
        axis: str | None = None,
        predict_run: str | None = None,
        class_order: list[str] | None = None,
        ranges: SpectralRanges = SpectralRanges(),  # noqa: B008 - frozen, so one shared default is safe
        preprocessing: PreprocessingOptions = PreprocessingOptions(),  # noqa: B008 - frozen, so one shared default is safe
        augmentation: Augmentation = Augmentation(),  # noqa: B008 - frozen, so one shared default is safe
        split: SplitOptions = SplitOptions(),  # noqa: B008 - frozen, so one shared default is safe
        cache_dir: str | None = None,
        ordered: bool = True,
        batch_size: int | None = 32,
        shuffle: bool = True,
        linear_baseline: bool = True,
        task: str = "classification",
        rename_targets: list[str] | None = None,
        x_label: str | None = None,
        **kwargs,
    ) -> None:
        if source is None or key is None:
            raise SpectraConfigError("data.init_args.source and data.init_args.key name the spectra of the run")
        if labels is not None and label_key is not None:
            raise SpectraConfigError("data.init_args.labels and data.init_args.label_key both give labels; give one")
        super().__init__(
            train_path=run,
            predict_path=predict_run,
            class_order=class_order,
            ranges=ranges,
            preprocessing=preprocessing,
            augmentation=augmentation,
            split=split,
            cache_dir=cache_dir,
            ordered=ordered,
            batch_size=batch_size,
            shuffle=shuffle,
            linear_baseline=linear_baseline,
            task=task,
            rename_targets=rename_targets,
            x_label=x_label,
            **kwargs,
        )
        # save_hyperparameters collects the files datamodule's arguments too; a run has no such files
        files_only = (
            "train_path",
            "val_path",
            "test_path",
            "predict_path",
            "labels_path",
            "layout",
            "label_column",
            "label_columns",
        )
        for name in (*files_only, "name_column", "header"):
            self.hparams.pop(name, None)
        self.run, self.predict_run = run, predict_run
        self.spectra_source, self.key, self.axis = source, key, axis
        self.labels, self.label_key, self.label_source = labels, label_key, label_source or source
        self._read: dict[str, RunSpectra] = {}  # each run directory read once, for training and predicting alike

    def build_splits(self) -> SpectraSplits:
        # predict with a checkpoint and no other run classifies every pulse of the training run
        serving = self.trained is not None and self.trained.predicting
        self.paths["predict"] = self.predict_run or (self.run if serving else None)
        if self.paths["train"] is None and not (serving and self.paths["predict"]):
            raise SpectraDataError("data.init_args.run is required (the run directory to train on)")
        return super().build_splits()

    def _run_spectra(self, path: str) -> RunSpectra:
        if path not in self._read:
            self._read[path] = read_run_spectra(path, self.spectra_source, self.key)
        return self._read[path]

    def read(self, split: str) -> SpectraSource | None:
        """The spectra of a split's run (``train``: the labelled pulses of ``run``; ``predict``: every pulse)."""
        path = self.paths[split]
        if path is None:
            return None
        run = self._run_spectra(path)
        x = None if self.axis is None else read_axis(self.axis, run.path, self.spectra_source, run.spectra.shape[1])
        source = SpectraSource(
            path=run.path,
            spectra=run.spectra,
            labels=None,
            names=run.names(),
            where=[run.where(i) for i in range(len(run.train_ids))],
            x=x,
            x_label=self.axis if self.axis is not None and not Path(self.axis).is_file() else None,
        )
        if split == "predict":
            return source
        if self.labels is not None:
            labels = read_label_ranges(self.labels, run)
        elif self.label_key is not None:
            labels = read_label_key(run.path, self.label_source, self.label_key, run)
        else:
            raise SpectraConfigError("training on a run needs data.init_args.labels (train-id ranges) or label_key")
        source = replace(source, labels=labels, label_origin=f"labels {self.labels or self.label_key}")
        if self.class_order is None and self.requested_task == "classification":
            # A run is a series: classes numbered as they appear along it (class 0 the state it starts in, as
            # class_order is advised for a series) keep its order in figures, tables and the confusion matrix.
            self.class_order = list(dict.fromkeys(label for label in labels if label is not None))
        kept = [i for i, label in enumerate(labels) if label is not None]
        if len(kept) < len(labels):
            rank_zero_warn(
                f"{run.path}: {len(labels) - len(kept)} of {len(labels)} spectra are in no train range of "
                f"{self.labels}; they are left out of fit and test"
            )
        return source.subset(kept)

    def prediction_index_columns(self, split: str) -> dict[str, list[int]]:
        """The ``train_id`` and ``pulse`` of every spectrum of ``split``, for ``predictions.csv``."""
        names = [NAME.fullmatch(name) for name in self.spectrum_names(split)]
        return {"train_id": [int(m[1]) for m in names], "pulse": [int(m[2]) for m in names]}
