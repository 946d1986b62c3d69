"""Multi-label targets (data/targets.py ``MultiLabelEncoder``): label sets joined by ``;``, ``-`` for none, 0/1
indicator columns, strata for split and folds, and the files datamodule's ``task`` option."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lightning_spectra.data import SpectraFilesDataModule
from lightning_spectra.data.formats import SpectraSource
from lightning_spectra.data.targets import MIN_STRATUM, MultiLabelEncoder, TargetEncoder, encoder_class
from lightning_spectra.errors import SpectraConfigError, SpectraDataError

CELLS = ["quartz;calcite", "calcite", "-", "quartz", "dolomite;quartz", "calcite;dolomite"]


def source(labels=None, targets=None, target_names=None) -> SpectraSource:
    n = len(labels) if labels is not None else len(targets) if targets is not None else 2
    return SpectraSource(
        Path("mix.csv"),
        np.zeros((n, 4)),
        labels,
        [f"s{i}" for i in range(n)],
        [f"mix.csv, row {i + 2}" for i in range(n)],
        targets=targets,
        target_names=target_names,
    )


def test_label_sets_become_indicator_rows_in_sorted_label_order() -> None:
    encoder = TargetEncoder.fit(source(CELLS), "multilabel")
    assert isinstance(encoder, MultiLabelEncoder) and encoder.task == "multilabel"
    assert encoder.class_names == ["calcite", "dolomite", "quartz"] and encoder.target_names == []
    encoded = encoder.encode(source(CELLS), "training")
    assert encoded.dtype == np.int64
    assert encoded.tolist() == [[1, 0, 1], [1, 0, 0], [0, 0, 0], [0, 0, 1], [0, 1, 1], [1, 1, 0]]
    # spaces around the separator and the order inside a cell do not matter; numbers are normalised like classes
    assert encoder.encode(source([" quartz ; calcite", "calcite;quartz"]), "test").tolist() == [[1, 0, 1]] * 2
    numeric = TargetEncoder.fit(source(["10;2", "2.0", "1"]), "multilabel")
    assert numeric.names == ["1", "2", "10"]


def test_class_order_sets_the_label_order() -> None:
    encoder = TargetEncoder.fit(source(CELLS), "multilabel", class_order=["quartz", "calcite", "dolomite"])
    assert encoder.encode(source(["quartz;calcite"]), "test").tolist() == [[1, 1, 0]]


def test_new_spectra_are_unknown_not_empty_sets() -> None:
    """-1 (unknown) and 0 (absent) must differ: a new spectrum's placeholder is not "nothing present"."""
    encoder = TargetEncoder.fit(source(CELLS), "multilabel")
    assert encoder.unknown(2).tolist() == [[-1, -1, -1]] * 2


@pytest.mark.parametrize(
    ("cells", "message"),
    [
        (["a;b", "a;;b"], r"mix\.csv, row 3: label set 'a;;b' has an empty part"),
        (["a;b", "a;"], r"mix\.csv, row 3: label set 'a;' has an empty part"),
        (["a;b", "a;-"], r"mix\.csv, row 3: label set 'a;-' has an empty part"),
        (["a;b", "b;a;b"], r"mix\.csv, row 3: label set 'b;a;b' names 'b' twice"),
        (["a", "a", "-"], r"mix\.csv: the training spectra have only label 'a'; multilabel needs at least two"),
        (["-", "-"], r"mix\.csv: the training spectra have no label \(every cell is '-'\)"),
        (None, r"mix\.csv: the training data have no labels"),
    ],
)
def test_bad_label_sets_name_the_file_and_row(cells, message: str) -> None:
    with pytest.raises(SpectraDataError, match=message):
        TargetEncoder.fit(source(cells), "multilabel")


def test_a_label_the_training_data_lack_names_file_and_row() -> None:
    encoder = TargetEncoder.fit(source(CELLS), "multilabel")
    with pytest.raises(SpectraDataError, match=r"mix\.csv, row 3: label 'halite' is not a label of the training data"):
        encoder.encode(source(["quartz", "quartz;halite"]), "test")


def test_indicator_columns_are_read_as_label_sets() -> None:
    y = np.array([[1, 0, 1], [0, 0, 0], [0, 1, 1], [1, 1, 1]], dtype=np.float64)
    encoder = TargetEncoder.fit(source(targets=y, target_names=["calcite", "dolomite", "quartz"]), "multilabel")
    assert encoder.names == ["calcite", "dolomite", "quartz"]
    assert encoder.encode(source(targets=y), "test").tolist() == y.astype(int).tolist()
    renamed = TargetEncoder.fit(source(targets=y), "multilabel", target_names=["a", "b", "c"])
    assert renamed.names == ["a", "b", "c"]
    assert TargetEncoder.fit(source(targets=y), "multilabel").names == ["label_0", "label_1", "label_2"]
    with pytest.raises(SpectraDataError, match=r"mix\.csv, row 3: indicator 0\.5 in column 1 .* is not 0 or 1"):
        encoder.encode(source(targets=np.array([[1, 0, 1], [0, 0.5, 0]])), "test")
    with pytest.raises(SpectraDataError, match="the test data have 2 indicator columns but the training data have 3"):
        encoder.encode(source(targets=np.ones((2, 2))), "test")
    with pytest.raises(SpectraConfigError, match="rename_targets names the indicator columns"):
        TargetEncoder.fit(source(CELLS), "multilabel", target_names=["a", "b", "c"])


def test_strata_keep_common_combinations_and_pool_rare_ones() -> None:
    common = [[1, 0]] * MIN_STRATUM + [[0, 1]] * (MIN_STRATUM + 2)
    rare = [[1, 1]] * 3 + [[0, 0]]
    strata = MultiLabelEncoder(["a", "b"]).strata(np.array(common + rare))
    assert strata.dtype == np.int64 and sorted(set(strata.tolist())) == [0, 1]
    assert len(set(strata[:MIN_STRATUM])) == 1 and len(set(strata[MIN_STRATUM : 2 * MIN_STRATUM + 2])) == 1
    assert strata[0] != strata[MIN_STRATUM]
    assert (strata[-4:] == strata[MIN_STRATUM]).all()  # the rare ones joined the most common combination


def test_the_task_option_takes_every_registered_task_and_names_the_others() -> None:
    assert encoder_class("multilabel") is MultiLabelEncoder
    with pytest.raises(SpectraConfigError, match=r"data\.init_args\.task must be one of 'classification', "):
        SpectraFilesDataModule("x.csv", task="clustering", progress=False)


def test_files_datamodule_reads_a_semicolon_table(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    sets = ["a", "b", "a;b", "-"] * 10
    rows = ["label,1,2,3,4,5"] + [f"{s}," + ",".join(f"{v:.4f}" for v in rng.normal(size=5)) for s in sets]
    (tmp_path / "mix.csv").write_text("\n".join(rows) + "\n")
    raw = {"smoothing_window": 0, "derivative": 0, "normalization": "none", "scaling": "none"}  # 5-point spectra
    data = SpectraFilesDataModule(str(tmp_path / "mix.csv"), task="multilabel", progress=False, preprocessing=raw)
    splits = data.splits
    assert data.task == "multilabel" and data.class_names == ["a", "b"]
    assert data.targets.kind == "multilabel" and data.targets.names == ("a", "b")
    assert not splits.train.labels.is_floating_point()  # indicators stay exact; -1 marks unknown
    assert splits.train.labels.shape == (24, 2) and len(splits.val) == 8 and len(splits.test) == 8
    # every combination (10 spectra each) is a stratum: each split keeps the file's shares, 2 of every one
    for split in (splits.val, splits.test):
        rows = [tuple(row) for row in split.labels.tolist()]
        assert sorted(rows.count(c) for c in {(1, 0), (0, 1), (1, 1), (0, 0)}) == [2, 2, 2, 2]


def test_files_datamodule_reads_npz_indicator_columns_and_cuts_folds(tmp_path: Path) -> None:
    """A ``.npz`` ``y`` of 0/1 columns named by ``target_names`` is a multi-label set; folds keep each
    combination's share (every combination holds 10 spectra: one stratum each)."""
    rng = np.random.default_rng(1)
    y = np.array([[1, 0, 0], [0, 1, 0], [1, 1, 0], [0, 0, 1]] * 10, dtype=np.float64)
    np.savez(tmp_path / "mix.npz", spectra=rng.normal(size=(40, 5)), y=y, target_names=["a", "b", "c"])
    raw = {"smoothing_window": 0, "derivative": 0, "normalization": "none", "scaling": "none"}
    data = SpectraFilesDataModule(
        str(tmp_path / "mix.npz"), task="multilabel", progress=False, preprocessing=raw, split={"folds": 5, "fold": 2}
    )
    splits = data.splits
    assert data.class_names == ["a", "b", "c"] and splits.test.labels.shape == (8, 3)
    rows = [tuple(row) for row in splits.test.labels.tolist()]
    assert sorted(rows.count(c) for c in {(1, 0, 0), (0, 1, 0), (1, 1, 0), (0, 0, 1)}) == [2, 2, 2, 2]
