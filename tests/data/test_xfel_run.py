"""EuXFEL run directories: a mock run written by EXtra-data's own writer, read pulse by pulse in train-id order,
labelled by train-id ranges or a key, and fitted, tested and predicted through the CLI."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import cli_failure, run_folder
from xfel_runs import (
    CAMERA,
    CHANGE,
    FIRST_TRAIN,
    KEY,
    POINTS,
    PULSES,
    SOURCE,
    TRAINS,
    tiny_run_config,
    write_labels,
    write_run,
)

from lightning_spectra.cli import main
from lightning_spectra.data import SpectraRunDataModule
from lightning_spectra.errors import SpectraConfigError, SpectraDataError
from lightning_spectra.runs.checkpoint import package_datamodule

pytest.importorskip("extra_data")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_run(tmp_path_factory.mktemp("runs") / "r0042")


@pytest.fixture(scope="module")
def labels(run: Path) -> Path:
    return write_labels(run.parent / "phases.csv", (10000, 10019, "before"), (10020, 10039, "after"))


def datamodule(run: Path, **kwargs) -> SpectraRunDataModule:
    return SpectraRunDataModule(run=str(run), source=SOURCE, key=KEY, progress=False, **kwargs)


# ---------------------------------------------------------------------------------------------- reading
def test_spectra_are_pulses_in_train_order_labelled_by_train_ranges(run: Path, labels: Path) -> None:
    dm = datamodule(run, labels=str(labels))
    source = dm.read("train")
    assert len(source) == TRAINS * PULSES and source.length == POINTS
    assert source.names[:5] == [f"train 10000 pulse {p}" for p in range(4)] + ["train 10001 pulse 0"]
    assert source.labels[4 * 19 + 3] == "before" and source.labels[4 * 20] == "after"
    assert np.argmax(source.spectra[0]) in range(15, 26) and np.argmax(source.spectra[-1]) in range(35, 46)
    splits = dm.splits
    assert splits.class_names == ["before", "after"] and dm.ordered  # as they appear along the run
    for split in ("train", "val", "test"):  # each split a series in train-id order
        index = dm.prediction_index_columns(split)
        keys = list(zip(index["train_id"], index["pulse"], strict=True))
        assert keys == sorted(keys) and len(keys) == len(getattr(splits, split))


def test_labels_from_a_key_and_the_axis_from_a_key(run: Path) -> None:
    dm = datamodule(run, label_key="data.phase", axis="data.energy")
    source = dm.read("train")
    trains = np.repeat(np.arange(FIRST_TRAIN, FIRST_TRAIN + TRAINS), PULSES)
    assert source.labels == ["1" if t >= CHANGE else "0" for t in trains]
    np.testing.assert_allclose(source.x, np.linspace(7000.0, 7100.0, POINTS))
    assert source.x_label == "data.energy"


def test_a_pulses_by_points_array_a_train_reads_as_the_same_pulses(run: Path) -> None:
    spectra = datamodule(run, label_key="data.phase").read("train")
    image = SpectraRunDataModule(run=str(run), source=CAMERA, key="data.image", label_key="data.phase").read("train")
    assert image.names == spectra.names and image.labels == spectra.labels
    np.testing.assert_array_equal(image.spectra, spectra.spectra)


def test_labels_from_a_key_of_another_source_are_matched_by_train(run: Path) -> None:
    by_train = datamodule(run, label_key="data.phase", label_source=CAMERA).read("train")
    assert by_train.labels == datamodule(run, label_key="data.phase").read("train").labels


def test_trains_in_no_range_are_left_out_with_a_warning(run: Path, tmp_path: Path) -> None:
    partial = write_labels(tmp_path / "partial.csv", (10000, 10009, "before"), (10030, 10039, "after"))
    with pytest.warns(UserWarning, match="80 of 160 spectra are in no train range"):
        source = datamodule(run, labels=str(partial)).read("train")
    assert len(source) == 80 and "train 10010 pulse 0" not in source.names


# ---------------------------------------------------------------------------------------------- bad input
def test_an_unknown_source_or_key_is_one_line_naming_it(run: Path, labels: Path) -> None:
    with pytest.raises(SpectraDataError, match=r"r0042: spectrum source 'HED_TEST/NOPE:output' is not in the run"):
        SpectraRunDataModule(run=str(run), source="HED_TEST/NOPE:output", key=KEY, labels=str(labels)).read("train")
    with pytest.raises(SpectraDataError, match=r"spectrum key 'data.nope' is not a key of HED_TEST/SPEC/1:output"):
        SpectraRunDataModule(run=str(run), source=SOURCE, key="data.nope", labels=str(labels)).read("train")


def test_a_labels_range_outside_the_run_is_one_line_naming_the_row(run: Path, tmp_path: Path) -> None:
    bad = write_labels(tmp_path / "bad.csv", (10000, 10019, "before"), (20000, 20010, "after"))
    with pytest.raises(SpectraDataError) as error:
        datamodule(run, labels=str(bad)).read("train")
    assert str(error.value) == f"{bad}, row 3: trains 20000-20010 are not in the run {run} (trains 10000-10039)"


def test_overlapping_ranges_and_a_wrong_header_are_refused(run: Path, tmp_path: Path) -> None:
    overlap = write_labels(tmp_path / "overlap.csv", (10000, 10020, "before"), (10020, 10039, "after"))
    with pytest.raises(SpectraDataError, match=r"row 3: trains 10020-10039 overlap row 2 \(10000-10020\)"):
        datamodule(run, labels=str(overlap)).read("train")
    header = tmp_path / "header.csv"
    header.write_text("start,stop,label\n10000,10039,a\n")
    with pytest.raises(SpectraDataError, match="need the header first_train,last_train,label"):
        datamodule(run, labels=str(header)).read("train")


def test_a_nan_in_a_spectrum_names_its_train_pulse_and_point(tmp_path: Path, labels: Path) -> None:
    import h5py

    folder = write_run(tmp_path / "r0043")
    with h5py.File(folder / "RAW-R0042-DA01-S00000.h5", "r+") as f:
        f[f"INSTRUMENT/{SOURCE}/data/spectrum"][4 * 7 + 2, 13] = np.nan  # train 10007, pulse 2
    with pytest.raises(SpectraDataError) as error:
        datamodule(folder, labels=str(labels)).read("train")
    assert str(error.value) == f"{folder}, train 10007 pulse 2, point 13: value is not finite (NaN or inf)"


def test_missing_options_are_one_line() -> None:
    with pytest.raises(SpectraConfigError, match="source and data.init_args.key"):
        SpectraRunDataModule(run="r0042")
    with pytest.raises(SpectraConfigError, match="labels and data.init_args.label_key both"):
        SpectraRunDataModule(run="r0042", source=SOURCE, key=KEY, labels="a.csv", label_key="data.phase")


def test_without_extra_data_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch, run: Path) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "extra_data", None)  # import extra_data now raises ImportError
    with pytest.raises(SpectraConfigError, match=r"pip install lightning-spectra\[xfel\]"):
        datamodule(run, labels="x.csv").read("train")


# ---------------------------------------------------------------------------------------------- the CLI
@pytest.fixture(scope="module")
def fitted(run: Path, labels: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("fit")
    with pytest.MonkeyPatch.context() as env:  # module fixtures run before conftest's per-test cache setting
        env.setenv("LIGHTNING_SPECTRA_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
        main(["fit", "--config", str(tiny_run_config(folder, run, labels))])
    return run_folder(folder / "logs", "xfel_run")


def test_fit_and_test_on_a_run_classify_its_two_phases(fitted: Path) -> None:
    summary = json.loads((fitted / "summary.json").read_text())
    assert summary["accuracy"] >= 0.9
    # the test split is a series in train-id order: its state change is found where the labels put it
    assert summary["confidence"] >= 0.9 and summary["boundary_error"] <= 2
    # the checkpoint names the class; predict, watch and export look it up in the package's allow-list
    ckpt = torch.load(fitted / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    settings = ckpt["datamodule_hyper_parameters"]
    assert package_datamodule(settings["_class_path"], "the test") is SpectraRunDataModule
    assert settings["source"] == SOURCE and settings["key"] == KEY and "train_path" not in settings


def test_testing_the_checkpoint_on_the_run_scores_its_test_split(fitted: Path, tmp_path: Path) -> None:
    checkpoint = fitted / "checkpoints" / "last.ckpt"
    config, logs = str(fitted / "config.yaml"), str(tmp_path / "logs")
    main(["test", "--config", config, "--ckpt_path", str(checkpoint), "--trainer.logger.init_args.save_dir", logs])
    summary = json.loads((run_folder(tmp_path / "logs", "xfel_run") / "summary.json").read_text())
    assert summary["spectra"] == 32 and summary["accuracy"] >= 0.9


def predictions(fitted: Path, save_dir: Path, *extra: str) -> list[dict[str, str]]:
    checkpoint = fitted / "checkpoints" / "last.ckpt"
    main(["predict", "--config", str(fitted / "config.yaml"), "--ckpt_path", str(checkpoint), *extra])
    with open(fitted / "predict" / "predictions.csv") as f:
        return list(csv.DictReader(f))


def test_predict_on_the_run_writes_train_id_and_pulse_of_every_prediction(fitted: Path, tmp_path: Path) -> None:
    rows = predictions(fitted, tmp_path)
    assert [(int(r["train_id"]), int(r["pulse"])) for r in rows] == [
        (t, p) for t in range(FIRST_TRAIN, FIRST_TRAIN + TRAINS) for p in range(PULSES)
    ]
    assert "spectrum" not in rows[0]
    # the run is a series starting in "before": the state changes after the last pulse before train CHANGE
    summary = json.loads((fitted / "predict" / "summary.json").read_text())
    assert abs(summary["predict_boundary"] - ((CHANGE - FIRST_TRAIN) * PULSES - 1)) <= PULSES
    right = sum(r["predicted_class"] == ("after" if int(r["train_id"]) >= CHANGE else "before") for r in rows)
    assert right >= 0.9 * len(rows)


def test_predict_on_another_run_names_its_trains(fitted: Path, tmp_path: Path) -> None:
    other = write_run(tmp_path / "r0043", trains=10, first=10015, seed=3)
    rows = predictions(fitted, tmp_path, "--data.init_args.predict_run", str(other))
    assert [int(r["train_id"]) for r in rows] == np.repeat(np.arange(10015, 10025), PULSES).tolist()
    assert [int(r["pulse"]) for r in rows] == list(range(PULSES)) * 10
    right = sum(r["predicted_class"] == ("after" if int(r["train_id"]) >= CHANGE else "before") for r in rows)
    assert right >= 0.9 * len(rows)


def test_a_bad_key_through_the_cli_is_one_line(fitted: Path, capsys: pytest.CaptureFixture) -> None:
    args = ["fit", "--config", str(fitted / "config.yaml"), "--data.init_args.key", "data.nope"]
    code, line = cli_failure(args, capsys)
    assert code == 2 and line.startswith("error: ") and "spectrum key 'data.nope' is not a key of" in line
