"""``label_columns``: a table's 0/1 indicator columns as a multi-label spectrum's label set (data/formats.py,
data/files.py); the reader, its one-line errors, and fit, test and predict through the CLI on such a table."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import cli_failure, fit_files_tiny, tiny_args

from lightning_spectra.cli import main
from lightning_spectra.data import SpectraFilesDataModule
from lightning_spectra.data.formats import read_spectra
from lightning_spectra.errors import SpectraConfigError, SpectraDataError

PHASES = ("quartz", "calcite", "dolomite")
CENTRES = {"quartz": 500.0, "calcite": 600.0, "dolomite": 700.0}  # one well-separated peak per phase


def write_table(path: Path, rows: list[list]) -> Path:
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows(rows)
    return path


def small_table(path: Path, cells: list[list[str]] | None = None, header: list[str] | None = None) -> Path:
    """Three spectra of three points under ``name, quartz, calcite, 400, 401, 402`` (or ``header``)."""
    cells = cells or [["1", "0"], ["0", "1"], ["1.0", "1"]]
    header = header or ["name", "quartz", "calcite", "400", "401", "402"]
    rows = [[f"s{i}", *c, *(f"{0.1 * (i + k):.2f}" for k in range(3))] for i, c in enumerate(cells, start=1)]
    return write_table(path, [header, *rows])


# ---------------------------------------------------------------------------------------------- the reader
def test_indicator_columns_become_the_targets_named_by_their_headers_and_are_not_points(tmp_path: Path) -> None:
    # the option's order, not the file's: every file's columns then come in one order
    source = read_spectra(small_table(tmp_path / "t.csv"), label_columns=["calcite", "Quartz"])
    np.testing.assert_array_equal(source.targets, [[0, 1], [1, 0], [1, 1]])
    assert source.target_names == ["calcite", "quartz"] and source.labels is None
    np.testing.assert_allclose(source.spectra, [[0.1, 0.2, 0.3], [0.2, 0.3, 0.4], [0.3, 0.4, 0.5]])
    np.testing.assert_allclose(source.x, [400, 401, 402])  # the indicator headers are not x values
    assert source.names == ["s1", "s2", "s3"] and source.label_origin == "label columns 'calcite', 'quartz'"
    assert source.subset([2]).targets.tolist() == [[1.0, 1.0]]


def test_a_columns_layout_table_has_indicator_rows(tmp_path: Path) -> None:
    rows = [
        ["x", "s1", "s2"],
        ["quartz", "1", "0"],
        ["calcite", "1", "1"],
        ["400", "0.1", "0.2"],
        ["401", "0.3", "0.4"],
    ]
    source = read_spectra(write_table(tmp_path / "t.csv", rows), layout="columns", label_columns=PHASES[:2])
    np.testing.assert_array_equal(source.targets, [[1, 1], [0, 1]])
    np.testing.assert_allclose(source.spectra, [[0.1, 0.3], [0.2, 0.4]])


@pytest.mark.parametrize(
    ("cells", "message"),
    [
        ([["1", "0"], ["0", "2"], ["1", "1"]], r"t\.csv, row 3, column 3: '2' is not 0 or 1"),
        ([["1", "0"], ["0", "1"], ["yes", "1"]], r"t\.csv, row 4, column 2: 'yes' is not 0 or 1"),
        ([["1", "0.5"], ["0", "1"], ["1", "1"]], r"t\.csv, row 2, column 3: '0\.5' is not 0 or 1"),
        ([["1", "0"], ["", "1"], ["1", "1"]], r"t\.csv, row 3, column 2: missing label"),
    ],
)
def test_a_cell_that_is_not_0_or_1_names_file_row_and_column(tmp_path: Path, cells, message: str) -> None:
    with pytest.raises(SpectraDataError, match=message):
        read_spectra(small_table(tmp_path / "t.csv", cells), label_columns=["quartz", "calcite"])


def test_a_missing_column_lists_the_headers_there_are(tmp_path: Path) -> None:
    path = small_table(tmp_path / "t.csv")
    with pytest.raises(SpectraDataError) as error:
        read_spectra(path, label_columns=["quartz", "dolomite"])
    assert str(error.value) == (
        f"{path}: label_columns 'dolomite' is not a column; its headers are 'name', 'quartz', 'calcite' and 3 "
        "numbers (the x axis)"
    )


def test_new_spectra_may_lack_the_columns_or_leave_them_empty(tmp_path: Path) -> None:
    header = ["name", "400", "401", "402"]
    new = write_table(tmp_path / "new.csv", [header, ["n1", "0.1", "0.2", "0.3"], ["n2", "0.2", "0.3", "0.4"]])
    source = read_spectra(new, label_columns=PHASES[:2], labels_required=False)
    assert source.targets is None and source.spectra.shape == (2, 3)
    blank = small_table(tmp_path / "blank.csv", [["", ""], ["", ""], ["", ""]])
    assert read_spectra(blank, label_columns=PHASES[:2], labels_required=False).targets is None
    with pytest.raises(SpectraDataError, match="'quartz', 'calcite' are not columns"):
        read_spectra(new, label_columns=PHASES[:2])  # labelled data must have them


@pytest.mark.parametrize(
    ("header", "options", "message"),
    [
        (["label", "quartz", "calcite", "400", "401", "402"], {}, "has label column 'label' and label_columns"),
        (["quartz", "quartz2", "calcite", "400", "401", "402"], {"name_column": "quartz"}, "is one of the label"),
        (None, {"label_columns": ["quartz", "QUARTZ"]}, "names a column twice"),
    ],
)
def test_ambiguous_label_columns_are_refused(tmp_path: Path, header, options: dict, message: str) -> None:
    path = small_table(tmp_path / "t.csv", header=header)
    with pytest.raises(SpectraDataError, match=message):
        read_spectra(path, **{"label_columns": ["quartz", "calcite"], **options})


def test_label_columns_need_a_table_with_a_header(tmp_path: Path) -> None:
    headerless = write_table(tmp_path / "t.csv", [["1", "0", "0.1", "0.2"], ["0", "1", "0.3", "0.4"]])
    with pytest.raises(SpectraDataError, match="are header names, but the table has no header row"):
        read_spectra(headerless, label_columns=["quartz", "calcite"])
    npz = tmp_path / "t.npz"
    np.savez(npz, spectra=np.zeros((2, 3)), y=np.eye(2))
    with pytest.raises(SpectraDataError, match=r"t\.npz: label_columns name the indicator columns of a table"):
        read_spectra(npz, label_columns=["quartz", "calcite"])


def test_a_labels_file_beside_label_columns_is_refused(tmp_path: Path) -> None:
    labels = write_table(tmp_path / "labels.csv", [["name", "label"], ["s1", "quartz"]])
    with pytest.raises(SpectraDataError, match=r"labels\.csv: labels for .*t\.csv, whose label_columns give"):
        read_spectra(small_table(tmp_path / "t.csv"), label_columns=["quartz", "calcite"], labels_path=labels)


def test_indicator_columns_read_in_blocks_as_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A table longer than one block: every block's indicators are kept, in order."""
    from lightning_spectra.data import formats

    monkeypatch.setattr(formats, "TABLE_BLOCK", 2)
    cells = [[str(i % 2), str((i // 2) % 2)] for i in range(7)]
    header = ["name", "quartz", "calcite", "400", "401", "402"]
    rows = [[f"s{i}", *c, "0.1", "0.2", "0.3"] for i, c in enumerate(cells)]
    source = read_spectra(write_table(tmp_path / "t.csv", [header, *rows]), label_columns=["quartz", "calcite"])
    np.testing.assert_array_equal(source.targets, np.asarray(cells, dtype=float))


# ---------------------------------------------------------------------------------------------- the datamodule
def test_label_columns_with_another_task_is_one_line() -> None:
    with pytest.raises(SpectraConfigError, match="need task: multilabel .task is 'classification'"):
        SpectraFilesDataModule(train_path="t.csv", label_columns=["quartz", "calcite"])


def mixtures(n: int, seed: int = 0, length: int = 120) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` spectra cycling through every set of the three phases (one peak each, on an offset, with noise), and
    their 0/1 rows in :data:`PHASES` order."""
    rng = np.random.default_rng(seed)
    x = np.linspace(400.0, 800.0, length)
    held = np.array([[((i % 8) >> k) & 1 for k in range(3)] for i in range(n)])
    spectra = rng.normal(0, 0.03, (n, length)) + rng.uniform(0, 0.3, (n, 1))
    for i, row in enumerate(held):
        for phase, present in zip(PHASES, row, strict=True):
            if present:
                centre = CENTRES[phase] + rng.normal(0, 4)
                spectra[i] += rng.uniform(0.6, 1.2) * np.exp(-0.5 * ((x - centre) / 15) ** 2)
    return x, spectra, held


def write_indicator_table(path: Path, x: np.ndarray, spectra: np.ndarray, held: np.ndarray | None) -> Path:
    """``name, <a column per phase>, <x values>``; the phase columns at the end for new spectra (``held`` None:
    none), so reading the table needs them named, not guessed."""
    header = ["sample", *(PHASES if held is not None else ()), *(f"{v:.3f}" for v in x)]
    rows = [
        [f"m{i}", *([str(v) for v in held[i]] if held is not None else []), *(f"{v:.5f}" for v in spectrum)]
        for i, spectrum in enumerate(spectra)
    ]
    return write_table(path, [header, *rows])


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny multi-label fit, with the test after it, on 96 spectra whose label sets are indicator columns."""
    data = tmp_path_factory.mktemp("indicators")
    train = write_indicator_table(data / "train.csv", *mixtures(96))
    return fit_files_tiny(
        tmp_path_factory,
        train,
        "--data.init_args.task",
        "multilabel",
        "--data.init_args.label_columns",
        json.dumps(list(PHASES)),
        "--test_after_fit",
        "true",
        epochs=12,
    )


def test_fit_learns_every_label_of_the_indicator_columns(fitted: Path) -> None:
    summary = json.loads((fitted / "summary.json").read_text())
    assert summary["macro_f1"] >= 0.8
    for phase in PHASES:
        assert summary[f"test_f1_{phase}"] >= 0.7, phase
    hparams = (fitted / "hparams.yaml").read_text()
    assert "names:\n  - quartz\n  - calcite\n  - dolomite" in hparams  # the headers, in label_columns' order


def test_test_and_predict_on_the_checkpoint(fitted: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    ckpt = str(fitted / "checkpoints" / "last.ckpt")
    main(["test", "--config", str(fitted / "config.yaml"), "--ckpt_path", ckpt])
    assert "labels quartz 48, calcite 48, dolomite 48" in capsys.readouterr().out
    x, spectra, held = mixtures(16, seed=3)
    new = write_indicator_table(tmp_path / "new.csv", x, spectra, None)  # new spectra: no indicator columns
    main(
        [
            "predict",
            "--config",
            str(fitted / "config.yaml"),
            "--ckpt_path",
            ckpt,
            "--data.init_args.predict_path",
            str(new),
        ]
    )
    with open(fitted / "predict" / "predictions.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["spectrum"] for r in rows] == [f"m{i}" for i in range(16)]
    claimed = np.array([[phase in r["predicted"].split(";") for phase in PHASES] for r in rows])
    assert (claimed == held.astype(bool)).mean() >= 0.8  # each label of each spectrum, read from its own column


def test_the_cli_refuses_label_columns_for_a_classifier_in_one_line(tmp_path: Path, capsys) -> None:
    train = write_indicator_table(tmp_path / "train.csv", *mixtures(16))
    args = tiny_args(
        "fit",
        tmp_path,
        "files_tiny.yaml",
        "--data.init_args.train_path",
        str(train),
        "--data.init_args.label_columns",
        "[quartz, calcite]",
    )
    code, line = cli_failure(args, capsys)
    assert code == 2 and "label_columns ['quartz', 'calcite'] are 0/1 indicator columns" in line
