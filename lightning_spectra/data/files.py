"""Bring your own spectra: a datamodule over tables, NumPy files, ``.xy`` folders and UCR/UEA files.

Any number of classes and any spectrum length: labels (strings or integers) are mapped to indices in a
stable sorted order (numbers numerically, then text) taken from the training data, and saved with the model
as ``class_names`` so predictions on new spectra are reported by name. Validation and test data come from
their own files or from a stratified, seeded random split of the training file (or one fold of a
stratified k-fold split, for cross-validation); each split keeps the order of its file, so a time series
stays a time series. The same preprocessing (see :mod:`lightning_spectra.data.preprocess`) is applied to
every split and to prediction data; per-point standardisation is fitted on the training split only and
saved in the checkpoint with the datamodule's state.

The defaults are a recipe for small real sets (measured in BENCHMARKS.md, "Real spectra"): Savitzky-Golay
first derivative (window 11), SNV, standardised point by point, shuffled mini-batches of 32; the example
configs add early stopping on the validation loss with the best weights restored and a learning-rate schedule.
"""

from __future__ import annotations

import hashlib
from dataclasses import fields, replace
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from lightning.pytorch.utilities import rank_zero_warn
from torch.utils.data import DataLoader

from lightning_spectra.data.augment import Augmentation
from lightning_spectra.data.base import InMemorySpectra, SpectraDataModule, SpectraSplits, _batch_as_is
from lightning_spectra.data.cache import cached_arrays, default_cache_dir
from lightning_spectra.data.formats import SpectraSource, axis_row_as_x, check_same_axis, model_axis, read_spectra
from lightning_spectra.data.options import (
    MOVED_OPTIONS,
    PreprocessingOptions,
    SplitOptions,
    as_options,
    nested_settings,
    plain,
)
from lightning_spectra.data.preprocess import PointScaler, Preprocessing
from lightning_spectra.data.ranges import Selection, SpectralRanges
from lightning_spectra.data.targets import MultiLabelEncoder, TargetEncoder, encoder_class
from lightning_spectra.errors import SpectraConfigError, SpectraDataError


def stratified_split(labels: np.ndarray, fractions: tuple[float, ...], seed: int) -> list[np.ndarray]:
    """Indices ``[rest, part_1, part_2, ...]``: each class shuffled with ``seed`` and cut by ``fractions``.

    Every class keeps at least one spectrum in ``rest`` (the training set); each part is sorted, so the
    spectra keep their file order.
    """
    rng = np.random.default_rng(seed)
    parts: list[list[np.ndarray]] = [[] for _ in range(len(fractions) + 1)]
    for c in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == c))
        start = 0
        for k, fraction in enumerate(fractions, start=1):
            n = min(int(round(fraction * len(members))), len(members) - start - 1)
            parts[k].append(members[start : start + max(n, 0)])
            start += max(n, 0)
        parts[0].append(members[start:])
    return [np.sort(np.concatenate(p)) for p in parts]


def fold_split(labels: np.ndarray, folds: int, fold: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``(rest, test)`` indices of fold ``fold`` of a stratified, shuffled ``folds``-fold split seeded by ``seed``."""
    from sklearn.model_selection import StratifiedKFold

    smallest = int(np.bincount(labels).min())
    if smallest < folds:
        raise SpectraDataError(
            f"{folds} folds need at least {folds} spectra of every class; the smallest has {smallest}"
        )
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    rest, test = list(splitter.split(np.zeros(len(labels)), labels))[fold]
    return np.sort(rest), np.sort(test)


class SpectraFilesDataModule(SpectraDataModule):
    """Spectra from your own files, for any classifier.

    Args:
        train_path: training spectra with labels: a table (``.csv``/``.tsv``), ``.npz``, a folder of ``.xy``
            files, a UCR ``.ts`` file or a UCR ``<Name>_TRAIN`` file. Not needed (not read) by ``predict``
            with ``--ckpt_path`` and ``predict_path``: the checkpoint holds what it needs.
        val_path: validation spectra; by default ``split.val_fraction`` of the training file (stratified).
        test_path: test spectra; by default ``split.test_fraction`` of the training file (stratified).
        predict_path: new, unlabelled spectra (a file or a folder of ``.xy`` files) for ``predict``; by
            default ``predict`` classifies the test split.
        labels_path: labels for files without them: ``name,label`` rows (e.g. ``scan_1.xy,quartz``) or one
            label per row in spectrum order. A folder of ``.xy`` files uses its ``labels.csv`` by default.
        layout: tables hold one spectrum per ``rows`` or per ``columns``.
        label_column: header name or 0-based index of the label column of tables (label row in columns
            layout); a named column that is absent means the table has no labels.
        name_column: header name or 0-based index of a column naming the spectra (default: a first column
            of text, else ``<file> row <n>``).
        header: whether tables start with a header row (default: detected).
        class_order: class names in the order the model numbers them; for an ordered series, the state it
            starts in first. Default: sorted labels (numbers numerically, then text).
        ranges: the x windows of the raw spectra to ``keep`` and/or ``drop`` before any preprocessing, in the
            axis's units (:class:`~lightning_spectra.data.ranges.SpectralRanges`); the model's length and x axis
            are then the selection's.
        preprocessing: baseline removal, Savitzky-Golay smoothing or derivative, per-spectrum normalisation
            and per-point scaling (:class:`~lightning_spectra.data.options.PreprocessingOptions`).
        augmentation: random changes to training batches (:class:`~lightning_spectra.data.augment.Augmentation`:
            ``noise``, ``offset``, ``slope``, ``scale``, ``shift``); 0 turns each off.
        split: validation and test shares of the training file, their seed, and cross-validation folds
            (:class:`~lightning_spectra.data.options.SplitOptions`).
        cache_dir: where baseline-corrected arrays are cached (default: ``$LIGHTNING_SPECTRA_CACHE`` or
            ``~/.cache/lightning-spectra``).
        ordered: the test and prediction spectra form a time-ordered series (a ramp, a measurement run),
            so a state change along them means something (see :attr:`SpectraDataModule.ordered`).
        batch_size: training spectra per batch (``None``: full batch, the paper's protocol).
        shuffle: reshuffle the training spectra every epoch.
        linear_baseline: fit a linear model (logistic regression or PLS-DA, chosen on the validation split)
            on the same preprocessed splits at the end of ``fit`` and report its test accuracy beside the
            model's.
        task: ``classification`` (labels are classes), ``regression`` (labels are numbers: the label
            column, a labels file, a ``.npz`` ``y`` of one or several targets, a ``.ts`` ``@targetLabel``; the
            validation/test shares are then random rather than stratified) or ``multilabel`` (a label cell holds
            a set, ``quartz;calcite``, ``-`` for none, or a ``.npz`` ``y`` holds 0/1 indicator columns; see
            :class:`~lightning_spectra.data.targets.MultiLabelEncoder`). Any task of
            :data:`~lightning_spectra.data.targets.ENCODERS`; another name is a one-line error.
        rename_targets: names of the regression targets (default: the label column's name, the ``.npz``
            ``target_names``, or ``target``); predictions are written under these names.
        x_label: the label of the x axis in figures (``wavenumber (cm⁻¹)``); default: the name the training
            file gives its axis (an ``.xy`` column header, the x column's header cell of a table in columns
            layout, an ``.npz`` ``x_label``/``x_unit``; saved in the checkpoint for ``predict`` on files that
            name no axis), else ``x``.
        label_columns: header names of a table's 0/1 indicator columns, one per label (``[quartz, calcite,
            dolomite]``), for ``task: multilabel``: a spectrum's label set is the headers of its 1 cells, in this
            order; the columns are not spectrum points. New spectra (``predict_path``) may lack them.

    The four groups take their dataclass or a mapping of its fields (saved hyperparameters).
    """

    #: The flat options of the previous release and where they live now (one-line errors name the new place).
    moved_options = MOVED_OPTIONS

    def __init__(
        self,
        train_path: str | None = None,
        val_path: str | None = None,
        test_path: str | None = None,
        predict_path: str | None = None,
        labels_path: str | None = None,
        layout: Literal["rows", "columns"] = "rows",
        label_column: int | str | None = "label",
        name_column: int | str | None = None,
        header: bool | None = None,
        class_order: list[str] | None = None,
        ranges: SpectralRanges = SpectralRanges(),  # noqa: B008 - frozen, so one shared default is safe
        preprocessing: PreprocessingOptions = PreprocessingOptions(),  # noqa: B008 - frozen, so one shared default is safe
        augmentation: Augmentation = Augmentation(),  # noqa: B008 - frozen, so one shared default is safe
        split: SplitOptions = SplitOptions(),  # noqa: B008 - frozen, so one shared default is safe
        cache_dir: str | None = None,
        ordered: bool = False,
        batch_size: int | None = 32,
        shuffle: bool = True,
        linear_baseline: bool = True,
        task: str = "classification",
        rename_targets: list[str] | None = None,
        x_label: str | None = None,
        label_columns: list[str] | None = None,
        **kwargs,
    ) -> None:
        if moved := [k for k in kwargs if k in MOVED_OPTIONS]:
            raise SpectraConfigError(f"{moved[0]} is now {MOVED_OPTIONS[moved[0]]}")
        super().__init__(batch_size=batch_size, **kwargs)
        self.save_hyperparameters()
        for group in ("preprocessing", "augmentation", "split"):  # saved as plain values: weights_only loads them
            self.hparams[group] = plain(self.hparams[group])
        self.paths = {"train": train_path, "val": val_path, "test": test_path, "predict": predict_path}
        self.labels_path = labels_path
        self.table_options = {
            "layout": layout,
            "label_column": label_column,
            "name_column": name_column,
            "header": header,
            "label_columns": label_columns,
        }
        split = as_options(SplitOptions, split)
        self.val_fraction, self.test_fraction, self.split_seed = split.val_fraction, split.test_fraction, split.seed
        if split.folds and test_path is not None:
            raise SpectraDataError("split.folds cut the test split from train_path; leave test_path empty")
        self.folds, self.fold, self.class_order = split.folds, split.fold, class_order
        self.ranges = as_options(SpectralRanges, ranges)
        self.hparams["ranges"] = plain(self.ranges)  # windows as [low, high] floats, however they were given
        self._selection: Selection | None = None  # the ranges' points on the training data's raw axis, once read
        preprocessing = as_options(PreprocessingOptions, preprocessing)
        self.preprocessing = preprocessing.steps
        self.scaler = PointScaler(preprocessing.scaling)
        self.augmentation = as_options(Augmentation, augmentation)
        self.shuffle = shuffle
        self.linear_baseline = linear_baseline
        self._unscaled: dict[str, np.ndarray] = {}  # each split before per-point scaling, to redo it on load
        self._as_read: dict[str, np.ndarray] = {}  # each split as read from its file, for the figures
        self.cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
        self.ordered = ordered
        encoder = encoder_class(task)  # an unknown task is refused before any file is read
        if label_columns and not issubclass(encoder, MultiLabelEncoder):  # columns of 0/1 are label sets, no other
            raise SpectraConfigError(
                f"data.init_args.label_columns {list(label_columns)} are 0/1 indicator columns of a label set; they "
                f"need task: {MultiLabelEncoder.task} (task is {task!r}; label_column names one label column)"
            )
        self.requested_task, self.rename_targets = task, rename_targets
        self.x_label_option = x_label
        self._data_x_label: str | None = None  # the name the training (or prediction) file gives its x axis

    @property
    def x_label(self) -> str:
        """The x axis label of figures: the ``x_label`` option, else the data's own name for its axis, else ``x``."""
        return self.x_label_option or self._data_x_label or "x"

    @staticmethod
    def _saved_preprocessing(hparams: dict) -> PreprocessingOptions:
        """The preprocessing group saved settings describe, nested or (previous release) flat."""
        return as_options(PreprocessingOptions, nested_settings(hparams).get("preprocessing", {}))

    @classmethod
    def preprocessing_from_hparams(cls, hparams: dict) -> Preprocessing:
        """The per-spectrum steps saved settings describe."""
        return cls._saved_preprocessing(hparams).steps

    @classmethod
    def scaling_from_hparams(cls, hparams: dict) -> str:
        """The per-point scaling saved settings describe."""
        return cls._saved_preprocessing(hparams).scaling

    @staticmethod
    def ranges_from_hparams(hparams: dict) -> SpectralRanges:
        """The spectral ranges saved settings describe (checkpoints of the previous release have none)."""
        return as_options(SpectralRanges, hparams.get("ranges") or {})

    # ------------------------------------------------------------------ reading
    def read(self, split: str) -> SpectraSource | None:
        """The raw spectra of a split's own file (``None`` when the split has no path)."""
        path = self.paths[split]
        if path is None:
            return None
        new = split == "predict"  # unlabelled: no labels file, and empty label cells are fine
        return read_spectra(
            path,
            labels_path=None if new else self.labels_path,
            progress=self.progress,
            labels_required=not new,
            **self.table_options,
        )

    def preprocess(self, source: SpectraSource, x: np.ndarray | None) -> np.ndarray:
        """``source``'s spectra through the pipeline, on their own x axis if they have one (else ``x``).

        Baseline-corrected results are cached on disk, keyed by the data and the settings.
        """
        x = source.x if source.x is not None else x
        if self.preprocessing.baseline == "none":
            return self.preprocessing(x, source.spectra, progress=self.progress)
        digest = hashlib.sha256(np.ascontiguousarray(source.spectra).tobytes())
        digest.update(b"" if x is None else np.ascontiguousarray(x, dtype=np.float64).tobytes())
        parts = {"data": digest.hexdigest(), "shape": source.spectra.shape, **self.preprocessing.as_dict()}
        build = lambda: {"spectra": self.preprocessing(x, source.spectra, progress=self.progress)}  # noqa: E731
        return cached_arrays(self.cache_dir, "files-preprocessed", parts, build)["spectra"]

    def _check_shape(self, source: SpectraSource, train: SpectraSource, split: str) -> None:
        """``source`` must have the training spectra's length and x axis, and the checkpoint's axis if one is given."""
        if source.length != train.length:
            what = "the model expects" if split == "predict" else "the training spectra have"
            raise SpectraDataError(
                f"{source.path}: {split} spectra have {source.length} points but {what} "
                f"{train.length} (training data: {train.path})"
            )
        check_same_axis(source, train.x, f"the training data's ({train.path})")
        if self.trained is not None:  # raw spectra: the full axis the model's ranges were cut from
            check_same_axis(source, model_axis(self.trained.raw_x_axis), f"the model's ({self.trained.path})")

    @staticmethod
    def _cut(source: SpectraSource | None, selection: Selection | None) -> SpectraSource | None:
        """``source`` with only the points ``selection`` chooses (as it is when there is no selection)."""
        if source is None or selection is None:
            return source
        return replace(source, spectra=selection(source.spectra), x=None if source.x is None else selection.x)

    # ------------------------------------------------------------------ splits
    def build_splits(self) -> SpectraSplits:
        if self.trained is not None and self.trained.predicting and self.paths["predict"] is not None:
            return self.predict_only_splits()
        if self.paths["train"] is None:
            raise SpectraDataError("data.init_args.train_path is required (only predict with --ckpt_path needs none)")
        self._take_trained_preprocessing(statistics=False)
        train = self.read("train")
        targets = TargetEncoder.fit(
            train, self.requested_task, self.rename_targets or self._label_column_name(train), self.class_order
        )
        sources = {"val": self.read("val"), "test": self.read("test"), "predict": self.read("predict")}
        for split, source in sources.items():
            if source is not None:
                self._check_shape(source, train, split)
        self._data_x_label = train.x_label
        self._selection = self.ranges.selection(train.x, train.path)  # the same points of every split's raw axis
        train = self._cut(train, self._selection)
        sources = {split: self._cut(source, self._selection) for split, source in sources.items()}

        train_labels = targets.encode(train, "training")
        if self.folds:
            strata = targets.strata(train_labels)
            rest, test_part = fold_split(strata, self.folds, self.fold, self.split_seed)
            sources["test"] = train.subset(test_part)
            train, train_labels = train.subset(rest), train_labels[rest]
        missing = [s for s in ("val", "test") if sources[s] is None]
        if missing:
            fractions = tuple(self.val_fraction if s == "val" else self.test_fraction for s in missing)
            strata = targets.strata(train_labels)
            rest, *parts = stratified_split(strata, fractions, self.split_seed)
            for split, part in zip(missing, parts, strict=True):
                sources[split] = train.subset(part)
            train, train_labels = train.subset(rest), train_labels[rest]
            targets = targets.standardised_on(train_labels, train.path)  # regression: the training split's own
        for split in ("val", "test"):
            if len(sources[split]) < 2:
                raise SpectraDataError(
                    f"{sources[split].path}: the {split} split has {len(sources[split])} spectra; it needs at "
                    f"least 2 (give {split}_path or a larger split.{split}_fraction)"
                )

        x = train.x
        predict = sources["predict"]
        # the spectra as read, in the file's units: what figures draw, whatever the model reads (raw_spectra)
        read = {"train": train, **sources}
        self._as_read = {split: source.spectra for split, source in read.items() if source is not None}
        self._unscaled = {"train": self.preprocess(train, x)}
        for split in ("val", "test"):
            self._unscaled[split] = self.preprocess(sources[split], x)
        if predict is not None:
            self._unscaled["predict"] = self.preprocess(predict, x)
        if not self.scaler.fitted:  # a checkpoint's state, when loaded first, is kept
            self.scaler.fit(self._unscaled["train"])
        scaled = {split: self.scaler(spectra) for split, spectra in self._unscaled.items()}
        self.augmentation.check_length(scaled["train"].shape[1])  # the batches it shifts are these
        labels = {"train": train_labels}
        for split in ("val", "test"):
            labels[split] = targets.encode(sources[split], split)
        return SpectraSplits(
            x_axis=x if x is not None else np.arange(train.length, dtype=np.float64),
            train=InMemorySpectra(scaled["train"], labels["train"]),
            val=InMemorySpectra(scaled["val"], labels["val"]),
            test=InMemorySpectra(scaled["test"], labels["test"]),
            predict=None if predict is None else InMemorySpectra(scaled["predict"], targets.unknown(len(predict))),
            class_names=targets.class_names,
            task=targets.task,
            target_names=targets.target_names,
            target_mean=None if targets.mean is None else targets.mean.tolist(),
            target_scale=None if targets.scale is None else targets.scale.tolist(),
            names={
                "train": train.names,
                "val": sources["val"].names,
                "test": sources["test"].names,
                **({"predict": predict.names} if predict is not None else {}),
            },
        )

    def predict_only_splits(self) -> SpectraSplits:
        """New spectra for a trained model: sizes, x axis, class names, preprocessing and the per-point scaling
        fitted on its training split come from its checkpoint, so the training file is not read (it may have
        moved or been relabelled since)."""
        trained, predict = self.trained, self.read("predict")
        fitted = trained.fitted_preprocessing(type(self))  # what predict, watch and export all apply
        if fitted.selection is None:
            trained.check_length(predict.length, predict.path)
        elif predict.length != len(fitted.selection.raw_x):
            raise SpectraConfigError(
                f"{trained.path}: the model was trained on raw spectra of {len(fitted.selection.raw_x)} points (its "
                f"ranges choose {trained.spectrum_length}), but {predict.path} has spectra of {predict.length}"
            )
        x = model_axis(trained.raw_x_axis)  # None: trained on spectra without an x axis (the point index)
        predict = axis_row_as_x(predict, x)
        check_same_axis(predict, x, f"the model's ({trained.path})")
        saved_ranges = type(self).ranges_from_hparams(trained.datamodule_hparams)
        if saved_ranges != self.ranges:
            rank_zero_warn(f"using the ranges saved in {trained.path} ({saved_ranges}), not the configured one")
        self._take_trained_preprocessing(statistics=True)
        self.ranges = saved_ranges
        # the new file's own axis name, else the training file's (saved in the checkpoint)
        self._selection = fitted.selection
        self._data_x_label = predict.x_label or trained.datamodule_state.get("x_label")
        predict = self._cut(predict, fitted.selection)
        self._as_read = {"predict": predict.spectra}  # the chosen points as read, for the figures
        x = x if fitted.selection is None else fitted.selection.x
        self._unscaled = {"predict": self.preprocess(predict, x)}
        empty = InMemorySpectra(np.zeros((0, trained.spectrum_length)), np.zeros(0))
        described = trained.targets
        targets = encoder_class(described.kind)(list(described.names))
        return SpectraSplits(
            x_axis=x if x is not None else np.arange(trained.spectrum_length, dtype=np.float64),
            train=empty,
            val=empty,
            test=empty,
            predict=InMemorySpectra(self.scaler(self._unscaled["predict"]), targets.unknown(len(predict))),
            class_names=targets.class_names,
            task=targets.task,
            target_names=targets.target_names,
            target_mean=None if described.mean is None else list(described.mean),
            target_scale=None if described.scale is None else list(described.scale),
            names={"predict": predict.names},
        )

    def _take_trained_preprocessing(self, statistics: bool) -> None:
        """Prepare spectra as the served checkpoint's model was trained: its saved preprocessing and per-point
        scaling replace the configured ones, for every subcommand given ``--ckpt_path`` (a ``test`` with other
        options scored the model on otherwise prepared spectra, without a word), with one warning naming each
        setting that differs. Applied as the datamodule's own steps, so a baseline correction is cached like the
        training data's, and saved as its settings, so a resumed fit's checkpoints say what was applied.
        A checkpoint without these settings keeps the configured ones.

        ``statistics``: take the checkpoint's per-point statistics now (predicting new spectra, no training
        split); else the scaling is fitted on the training split, once its length has been checked against the
        model, and replaced by the checkpoint's statistics when Lightning restores this datamodule's state."""
        trained = self.trained
        if trained is None or not trained.datamodule_hparams:
            return
        if not statistics and "preprocessing" not in nested_settings(trained.datamodule_hparams):
            return  # a checkpoint of a datamodule without these options: the data are its own
        saved = self._saved_preprocessing(trained.datamodule_hparams)
        configured = as_options(PreprocessingOptions, self.hparams["preprocessing"])
        differ = [
            f"preprocessing.{f.name} {getattr(saved, f.name)!r} (configured: {getattr(configured, f.name)!r})"
            for f in fields(saved)
            if getattr(saved, f.name) != getattr(configured, f.name)
        ]
        if differ:
            rank_zero_warn(f"using the preprocessing saved in {trained.path}: {', '.join(differ)}")
        fitted = trained.fitted_preprocessing(type(self))
        self.preprocessing = fitted.preprocessing
        self.scaler = fitted.scaler if statistics else PointScaler(saved.scaling)
        self.hparams["preprocessing"] = plain(saved)

    def _label_column_name(self, train: SpectraSource) -> list[str] | None:
        """A table's named label column names its single regression target (``fat``, ``moisture``)."""
        column = self.table_options["label_column"]
        named = isinstance(column, str) and column.lower() != "label" and train.targets is None
        return [column] if named and encoder_class(self.requested_task).named_by_label_column else None

    def raw_spectra(self, split: str) -> np.ndarray | None:
        """The spectra of ``split`` as read from their file (before any preprocessing), in series order."""
        self.splits  # noqa: B018 - building the splits reads the files
        return self._as_read.get("test" if split == "predict" and "predict" not in self._as_read else split)

    def setup(self, stage: str) -> None:
        """Before ``predict``, check the new spectra against the loaded model's spectrum length."""
        if stage != "predict" or self.trainer is None or self.trainer.lightning_module is None:
            return
        expected = getattr(self.trainer.lightning_module, "spectrum_length", None)
        data = self.splits.predict if self.splits.predict is not None else self.splits.test
        if expected is not None and data.spectra.shape[1] != expected:
            path = self.paths["predict"] or self.paths["test"] or self.paths["train"]
            raise SpectraDataError(
                f"{path}: spectra have {data.spectra.shape[1]} points but the model expects {expected}"
            )

    # ------------------------------------------------------------------ training batches and saved state
    def train_dataloader(self) -> DataLoader:
        train = self.splits.train
        if self.on_device and self.trainer is not None:
            train.to(self.trainer.strategy.root_device)
        batch_size = self.batch_size or len(train)
        # A last batch of one spectrum breaks BatchNorm in training mode; dropping it loses one spectrum per epoch.
        drop_last = batch_size < len(train) and len(train) % batch_size == 1
        return DataLoader(
            train, batch_size=batch_size, shuffle=self.shuffle, drop_last=drop_last, collate_fn=_batch_as_is
        )

    def on_after_batch_transfer(self, batch, dataloader_idx: int):
        if self.trainer is not None and self.trainer.training and not self.augmentation.is_identity:
            x, *rest = batch
            return (self.augmentation(x), *rest)
        return batch

    def state_dict(self) -> dict:
        """The per-point scaling fitted on the training split, saved in every checkpoint, and the training data's
        raw x axis where spectral ranges cut it (new raw spectra are checked against it and cut alike)."""
        if (self.scaler.scaling != "none" and not self.scaler.fitted) or self.ranges.active:
            self.splits  # noqa: B018 - building the splits fits the scaler and finds the raw axis
        state = self.scaler.state_dict()
        if self._selection is not None:
            state["raw_x_axis"] = self._selection.raw_x.tolist()
        if self._data_x_label:  # the training file's own axis name: a predict-only run's figures use it too
            state["x_label"] = self._data_x_label
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        """Reuse a checkpoint's training statistics; splits built before (the CLI builds them early) are redone."""
        self.scaler.load_state_dict(state_dict)
        if self._splits is None or not self._unscaled:
            return
        for split, spectra in self._unscaled.items():
            data = getattr(self._splits, split)
            data.spectra = torch.as_tensor(self.scaler(spectra), dtype=torch.float32, device=data.spectra.device)
