"""Bring your own spectra: a datamodule over tables, NumPy files, ``.xy`` folders and UCR/UEA files.

Any number of classes and any spectrum length: labels (strings or integers) are mapped to indices in a
stable sorted order (numbers numerically, then text) taken from the training data, and saved with the model
as ``class_names`` so predictions on new spectra are reported by name. Validation and test data come from
their own files or from a stratified, seeded random split of the training file; each split keeps the order
of its file, so a time series stays a time series. The same preprocessing (see
:mod:`lightning_spectra.data.preprocess`) is applied to every split and to prediction data.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal

import numpy as np
from lightning.pytorch.utilities import rank_zero_warn

from lightning_spectra.data.base import InMemorySpectra, SpectraDataModule, SpectraSplits
from lightning_spectra.data.cache import cached_arrays, default_cache_dir
from lightning_spectra.data.errors import SpectraDataError
from lightning_spectra.data.formats import SpectraSource, read_spectra
from lightning_spectra.data.preprocess import Preprocessing
from lightning_spectra.data.targets import TargetEncoder, encode_labels, require_labels, sorted_classes  # noqa: F401


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


class SpectraFilesDataModule(SpectraDataModule):
    """Spectra from your own files, for any classifier.

    Args:
        train_path: training spectra with labels: a table (``.csv``/``.tsv``), ``.npz``, a folder of ``.xy``
            files, a UCR ``.ts`` file or a UCR ``<Name>_TRAIN`` file.
        val_path: validation spectra; by default ``val_fraction`` of the training file (stratified).
        test_path: test spectra; by default ``test_fraction`` of the training file (stratified).
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
        val_fraction: share of the training file split off for validation when ``val_path`` is not given.
        test_fraction: share of the training file split off for testing when ``test_path`` is not given.
        split_seed: seed of the random split.
        baseline: baseline removal: ``none`` or ``asls`` (asymmetric least squares).
        baseline_lam: ALS smoothness (larger: stiffer baseline).
        baseline_p: ALS asymmetry (weight of points above the baseline).
        baseline_iterations: ALS reweightings.
        smoothing_window: Savitzky-Golay window in points (0: no smoothing).
        smoothing_order: Savitzky-Golay polynomial order (below the window).
        normalization: per-spectrum scaling: ``none``, ``max`` (peak 1), ``area`` (unit area) or ``standard``
            (zero mean, unit standard deviation).
        cache_dir: where baseline-corrected arrays are cached (default: ``$LIGHTNING_SPECTRA_CACHE`` or
            ``~/.cache/lightning-spectra``).
        ordered: the test and prediction spectra form a time-ordered series (a ramp, a measurement run),
            so a state change along them means something; exposed as ``ordered`` for reports to consult.
        task: ``classification`` (labels are classes) or ``regression`` (labels are numbers: the label
            column, a labels file, a ``.npz`` ``y`` of one or several targets, a ``.ts`` ``@targetLabel``); the
            validation/test shares are then random rather than stratified.
        rename_targets: names of the regression targets (default: the label column's name, the ``.npz``
            ``target_names``, or ``target``); predictions are written under these names.
    """

    def __init__(
        self,
        train_path: str,
        val_path: str | None = None,
        test_path: str | None = None,
        predict_path: str | None = None,
        labels_path: str | None = None,
        layout: Literal["rows", "columns"] = "rows",
        label_column: int | str | None = "label",
        name_column: int | str | None = None,
        header: bool | None = None,
        val_fraction: float = 0.2,
        test_fraction: float = 0.2,
        split_seed: int = 0,
        baseline: Literal["none", "asls"] = "none",
        baseline_lam: float = 1e5,
        baseline_p: float = 0.002,
        baseline_iterations: int = 10,
        smoothing_window: int = 0,
        smoothing_order: int = 2,
        normalization: Literal["none", "max", "area", "standard"] = "none",
        cache_dir: str | None = None,
        ordered: bool = False,
        task: Literal["classification", "regression"] = "classification",
        rename_targets: list[str] | None = None,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.save_hyperparameters()
        self.paths = {"train": train_path, "val": val_path, "test": test_path, "predict": predict_path}
        self.labels_path = labels_path
        self.table_options = {
            "layout": layout,
            "label_column": label_column,
            "name_column": name_column,
            "header": header,
        }
        for name, fraction in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
            if not 0 < fraction < 1:
                raise SpectraDataError(f"{name} must be between 0 and 1, got {fraction}")
        if val_fraction + test_fraction >= 1:
            raise SpectraDataError(f"val_fraction + test_fraction must be below 1, got {val_fraction + test_fraction}")
        self.val_fraction, self.test_fraction, self.split_seed = val_fraction, test_fraction, split_seed
        self.preprocessing = Preprocessing(
            baseline=baseline,
            baseline_lam=baseline_lam,
            baseline_p=baseline_p,
            baseline_iterations=baseline_iterations,
            smoothing_window=smoothing_window,
            smoothing_order=smoothing_order,
            normalization=normalization,
        )
        self.cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
        self.ordered = ordered
        if task not in ("classification", "regression"):
            raise SpectraDataError(f"task must be 'classification' or 'regression', got {task!r}")
        self.requested_task, self.rename_targets = task, rename_targets

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
        if source.length != train.length:
            what = "the model expects" if split == "predict" else "the training spectra have"
            raise SpectraDataError(
                f"{source.path}: {split} spectra have {source.length} points but {what} "
                f"{train.length} (training data: {train.path})"
            )
        if source.x is not None and train.x is not None and not np.allclose(source.x, train.x, rtol=1e-4, atol=1e-8):
            rank_zero_warn(
                f"{source.path}: x axis differs from the training data's ({train.path}); the model "
                "compares spectra point by point"
            )

    # ------------------------------------------------------------------ splits
    def build_splits(self) -> SpectraSplits:
        train = self.read("train")
        targets = TargetEncoder.fit(train, self.requested_task, self.rename_targets or self._label_column_name(train))
        sources = {"val": self.read("val"), "test": self.read("test"), "predict": self.read("predict")}
        for split, source in sources.items():
            if source is not None:
                self._check_shape(source, train, split)

        train_labels = targets.encode(train, "training")
        missing = [s for s in ("val", "test") if sources[s] is None]
        if missing:
            fractions = tuple(self.val_fraction if s == "val" else self.test_fraction for s in missing)
            strata = train_labels if targets.task == "classification" else np.zeros(len(train_labels))
            rest, *parts = stratified_split(strata, fractions, self.split_seed)
            for split, part in zip(missing, parts, strict=True):
                sources[split] = train.subset(part)
            train, train_labels = train.subset(rest), train_labels[rest]
            targets = targets.standardised_on(train_labels, train.path)  # regression: the training split's own
        for split in ("val", "test"):
            if len(sources[split]) < 2:
                raise SpectraDataError(
                    f"{sources[split].path}: the {split} split has {len(sources[split])} spectra; it needs at "
                    f"least 2 (give {split}_path or a larger {split}_fraction)"
                )

        x = train.x
        arrays = {"train": (self.preprocess(train, x), train_labels)}
        for split in ("val", "test"):
            arrays[split] = (self.preprocess(sources[split], x), targets.encode(sources[split], split))
        predict = sources["predict"]
        return SpectraSplits(
            x_axis=x if x is not None else np.arange(train.length, dtype=np.float64),
            train=InMemorySpectra(*arrays["train"]),
            val=InMemorySpectra(*arrays["val"]),
            test=InMemorySpectra(*arrays["test"]),
            predict=None
            if predict is None
            else InMemorySpectra(self.preprocess(predict, x), targets.unknown(len(predict))),
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

    def _label_column_name(self, train: SpectraSource) -> list[str] | None:
        """A table's named label column names its single regression target (``fat``, ``moisture``)."""
        column = self.table_options["label_column"]
        named = isinstance(column, str) and column.lower() != "label" and train.targets is None
        return [column] if named and self.requested_task == "regression" else None

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
