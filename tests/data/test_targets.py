"""Target encoding: classes or numeric targets fitted on the training split, through the files datamodule."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lightning_spectra.data import SpectraFilesDataModule
from lightning_spectra.data.formats import SpectraSource, normalise_label
from lightning_spectra.data.targets import TargetEncoder
from lightning_spectra.errors import SpectraDataError

SPECTRA = np.arange(24.0).reshape(6, 4)


def source(labels=None, targets=None, target_names=None) -> SpectraSource:
    n = len(SPECTRA)
    return SpectraSource(
        Path("data.csv"),
        SPECTRA,
        labels,
        [f"s{i}" for i in range(n)],
        [f"data.csv, row {i + 2}" for i in range(n)],
        targets=targets,
        target_names=target_names,
    )


def test_regression_encoder_keeps_units_and_the_training_statistics() -> None:
    train = source(labels=["1", "2", "3", "4", "5", "6.5"])
    encoder = TargetEncoder.fit(train, "regression", ["fat"])
    assert encoder.target_names == ["fat"] and encoder.class_names == []
    np.testing.assert_allclose(encoder.mean, [3.5833333])
    np.testing.assert_allclose(encoder.scale, [np.std([1, 2, 3, 4, 5, 6.5], ddof=1)])
    np.testing.assert_allclose(encoder.encode(train, "training")[:, 0], [1, 2, 3, 4, 5, 6.5])
    assert np.isnan(encoder.unknown(2)).all() and encoder.unknown(2).shape == (2, 1)


def test_several_targets_and_their_names() -> None:
    y = np.column_stack([np.arange(6.0), 10 - np.arange(6.0) ** 2])
    encoder = TargetEncoder.fit(source(targets=y, target_names=["a", "b"]), "regression")
    assert encoder.names == ["a", "b"]
    np.testing.assert_allclose(encoder.mean, y.mean(0))
    unnamed = TargetEncoder.fit(source(targets=y), "regression")
    assert unnamed.names == ["target_0", "target_1"]
    with pytest.raises(SpectraDataError, match="data.csv: the test data have 1 targets but the training data have 2"):
        encoder.encode(source(labels=["1"] * 6), "test")


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (["1", "2", "x", "4", "5", "6"], r"data\.csv, row 4: target 'x' is not a number"),
        (["2"] * 6, r"data\.csv: every training spectrum has target = 2; a regressor needs targets that vary"),
        (None, r"data\.csv: the training data have no labels"),
    ],
)
def test_bad_regression_targets(labels, message: str) -> None:
    with pytest.raises(SpectraDataError, match=message):
        TargetEncoder.fit(source(labels=labels), "regression")


def test_classification_is_as_before() -> None:
    encoder = TargetEncoder.fit(source(labels=["b", "10", "a", "2", "b", "a"]), "classification")
    assert encoder.class_names == ["2", "10", "a", "b"] and encoder.target_names == []
    assert encoder.encode(source(labels=["a", "2", "b", "10", "a", "a"]), "test").tolist() == [2, 0, 3, 1, 2, 2]
    with pytest.raises(SpectraDataError, match="a classifier needs at least two classes"):
        TargetEncoder.fit(source(labels=["a"] * 6), "classification")


def test_files_datamodule_regression_from_a_named_column(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    fat = rng.uniform(5, 25, 40)
    rows = ["fat,1000,1002,1004,1006,1008"] + [
        f"{f:.3f}," + ",".join(f"{v:.4f}" for v in rng.normal(size=5)) for f in fat
    ]
    (tmp_path / "nir.csv").write_text("\n".join(rows) + "\n")
    raw = {"smoothing_window": 0, "derivative": 0, "normalization": "none", "scaling": "none"}  # 5-point spectra
    data = SpectraFilesDataModule(
        str(tmp_path / "nir.csv"), task="regression", label_column="fat", progress=False, preprocessing=raw
    )
    splits = data.splits
    assert data.task == "regression" and data.target_names == ["fat"] and data.class_names == []
    assert splits.train.labels.dtype.is_floating_point and splits.train.labels.shape == (24, 1)
    assert len(splits.val) == 8 and len(splits.test) == 8
    pieces = np.concatenate([s.labels.numpy()[:, 0] for s in (splits.train, splits.val, splits.test)])
    np.testing.assert_allclose(np.sort(pieces), np.sort(fat.round(3)), rtol=1e-6)  # a partition of the file
    np.testing.assert_allclose(data.target_mean, [splits.train.labels.double().mean()], rtol=1e-6)
    renamed = SpectraFilesDataModule(
        str(tmp_path / "nir.csv"),
        task="regression",
        label_column="fat",
        rename_targets=["fat_percent"],
        progress=False,
        preprocessing=raw,
    )
    assert renamed.target_names == ["fat_percent"]


# ---------------------------------------------------------------------------------------------- labels as written
def test_codes_with_leading_zeros_are_classes_in_numeric_order() -> None:
    """Plate codes ``01``, ``02`` were read as the numbers 1 and 2 and named so."""
    labels = [normalise_label(v) for v in ("02", "01", "10", "02", "01", "10")]
    assert TargetEncoder.fit(source(labels=labels), "classification").class_names == ["01", "02", "10"]


def test_one_number_spelt_two_ways_is_refused_naming_both_rows() -> None:
    """``01`` and ``1`` in one file: merging could join two samples, keeping them apart could split a class."""
    with pytest.raises(
        SpectraDataError,
        match=r"data\.csv, row 5: label '1' is the number of label '01' \(data\.csv, row 3\) spelt another way",
    ):
        TargetEncoder.fit(source(labels=["a", "01", "a", "1", "01", "a"]), "classification")


def test_twenty_digit_labels_are_sorted_by_their_exact_value() -> None:
    """As floats both are 1e20, and the tie fell to text order, which puts the larger number first."""
    big = ["100000000000000000001", "99999999999999999999"]
    encoder = TargetEncoder.fit(source(labels=big * 3), "classification")
    assert encoder.class_names == ["99999999999999999999", "100000000000000000001"]


def test_a_numeric_label_column_for_a_classifier_is_named(tmp_path: Path) -> None:
    """Every spectrum its own class left no validation spectra, and the error blamed val_fraction."""
    rng = np.random.default_rng(0)
    rows = ["sample,fat,1000,1002,1004"] + [
        f"s{i},{rng.uniform(5, 25):.3f}," + ",".join(f"{v:.4f}" for v in rng.normal(size=3)) for i in range(20)
    ]
    (tmp_path / "nir.csv").write_text("\n".join(rows) + "\n")
    data = SpectraFilesDataModule(str(tmp_path / "nir.csv"), label_column="fat", progress=False)
    with pytest.raises(
        SpectraDataError,
        match=r"nir\.csv: label column 'fat' holds numbers, 20 different ones among 20 training spectra.*"
        r"use task: regression",
    ):
        data.build_splits()
