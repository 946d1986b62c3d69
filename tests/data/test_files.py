"""Bring-your-own-spectra datamodule: splits, labels, preprocessing, prediction data, and the CLI end to end."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import fit_files_tiny, run_folder, tiny_args, write_xy
from spectra_tables import CENTRES, peak_spectra, write_table

from lightning_spectra.cli import main
from lightning_spectra.data import SpectraFilesDataModule
from lightning_spectra.data.augment import Augmentation
from lightning_spectra.data.formats import read_spectra
from lightning_spectra.data.options import PreprocessingOptions, SplitOptions
from lightning_spectra.errors import SpectraConfigError, SpectraDataError


@pytest.fixture(scope="module")
def train_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_table(tmp_path_factory.mktemp("data") / "train.csv", *peak_spectra(90))


def datamodule(train_path: Path, **kwargs) -> SpectraFilesDataModule:
    return SpectraFilesDataModule(train_path=str(train_path), progress=False, **kwargs)


# ---------------------------------------------------------------------------------------------- splits
def test_stratified_split_keeps_file_order_and_every_class(train_csv: Path) -> None:
    dm = datamodule(train_csv, split=SplitOptions(val_fraction=0.2, test_fraction=0.2, seed=3))
    assert dm.class_names == ["alpha", "beta", "gamma"] and dm.num_classes == 3 and dm.spectrum_length == 240
    splits = dm.splits
    rows = {s: [int(n.split()[-1]) for n in dm.spectrum_names(s)] for s in ("train", "val", "test")}
    assert [len(rows[s]) for s in ("train", "val", "test")] == [54, 18, 18]
    assert sorted(rows["train"] + rows["val"] + rows["test"]) == list(range(2, 92))  # file rows 2..91
    assert all(r == sorted(r) for r in rows.values())
    for split in ("val", "test"):
        assert torch.bincount(getattr(splits, split).labels).tolist() == [6, 6, 6]
    assert datamodule(train_csv, split=SplitOptions(seed=3)).spectrum_names("val") == dm.spectrum_names("val")
    assert datamodule(train_csv, split=SplitOptions(seed=4)).spectrum_names("val") != dm.spectrum_names("val")
    np.testing.assert_allclose(dm.x_axis, np.linspace(400, 800, 240), atol=1e-4)


def test_integer_labels_sort_numerically(tmp_path: Path) -> None:
    x, spectra, _ = peak_spectra(30)
    labels = [("10", "2", "1")[i % 3] for i in range(30)]
    dm = datamodule(write_table(tmp_path / "ints.csv", x, spectra, labels))
    assert dm.class_names == ["1", "2", "10"]
    labels_by_name = {
        n: int(y)
        for split in ("train", "val", "test")
        for n, y in zip(dm.spectrum_names(split), getattr(dm.splits, split).labels, strict=True)
    }
    assert [labels_by_name[f"ints.csv row {r}"] for r in (2, 3, 4)] == [2, 1, 0]  # "10", "2", "1"


def test_given_validation_and_test_files_in_other_formats(tmp_path: Path, train_csv: Path) -> None:
    x, spectra, labels = peak_spectra(12, seed=1)
    np.savez(tmp_path / "val.npz", spectra=spectra, labels=np.asarray(labels), x_axis=x)
    folder = tmp_path / "test_scans"
    folder.mkdir()
    for i, spectrum in enumerate(spectra[:6]):
        write_xy(folder / f"scan_{i}.xy", x, spectrum)
    (folder / "labels.csv").write_text("".join(f"scan_{i},{labels[i]}\n" for i in range(6)))
    dm = datamodule(train_csv, val_path=str(tmp_path / "val.npz"), test_path=str(folder))
    assert (len(dm.splits.train), len(dm.splits.val), len(dm.splits.test)) == (90, 12, 6)
    assert dm.spectrum_names("test") == [f"scan_{i}.xy" for i in range(6)]
    assert dm.splits.test.labels.tolist() == [0, 1, 2, 0, 1, 2]


def test_a_test_file_on_another_x_axis_is_refused(tmp_path: Path, train_csv: Path) -> None:
    """Only a warning among Lightning's lines, and the model was tested on other positions."""
    x, spectra, labels = peak_spectra(6, seed=1)
    x[3:] += 50
    np.savez(tmp_path / "test.npz", spectra=spectra, labels=np.asarray(labels), x_axis=x)
    with pytest.raises(
        SpectraDataError,
        match=r"test\.npz: x axis differs from the training data's \(.*train\.csv\): point 3 is at 455\.021 here "
        r"but 405\.021 there",
    ):
        datamodule(train_csv, test_path=str(tmp_path / "test.npz")).build_splits()


# ---------------------------------------------------------------------------------------------- bad input
def test_unknown_label_in_test_file_names_file_and_row(tmp_path: Path, train_csv: Path) -> None:
    x, spectra, labels = peak_spectra(6, seed=2)
    labels[4] = "delta"
    test = write_table(tmp_path / "test.csv", x, spectra, labels)
    with pytest.raises(
        SpectraDataError,
        match=r"test\.csv, row 6: label 'delta' is not a class of the training "
        r"data \(alpha, beta, gamma\)",
    ):
        datamodule(train_csv, test_path=str(test)).build_splits()


def test_single_class_and_missing_labels(tmp_path: Path) -> None:
    x, spectra, _ = peak_spectra(10)
    one = write_table(tmp_path / "one.csv", x, spectra, ["alpha"] * 10)
    with pytest.raises(SpectraDataError, match=r"one\.csv: all 10 training spectra have label 'alpha'"):
        datamodule(one).build_splits()
    unlabelled = write_table(tmp_path / "unlabelled.csv", x, spectra, None)
    with pytest.raises(SpectraDataError, match=r"unlabelled\.csv: the training data have no labels"):
        datamodule(unlabelled).build_splits()


def test_too_few_spectra_for_a_validation_split(tmp_path: Path) -> None:
    x, spectra, labels = peak_spectra(6)
    with pytest.raises(SpectraDataError, match=r"the val split has 0 spectra; it needs at least 2"):
        datamodule(
            write_table(tmp_path / "tiny.csv", x, spectra, labels), split=SplitOptions(val_fraction=0.1)
        ).build_splits()


def test_bad_options() -> None:
    with pytest.raises(SpectraDataError, match="split.val_fraction \\+ split.test_fraction must be below 1"):
        SpectraFilesDataModule(train_path="x.csv", split=SplitOptions(val_fraction=0.5, test_fraction=0.5))
    with pytest.raises(SpectraDataError, match="normalization must be one of"):
        SpectraFilesDataModule(train_path="x.csv", preprocessing=PreprocessingOptions(normalization="l1"))
    with pytest.raises(SpectraDataError, match="^smoothing_window is now preprocessing.smoothing_window$"):
        SpectraFilesDataModule(train_path="x.csv", smoothing_window=9)


# ---------------------------------------------------------------------------------------------- prediction data
def test_predict_split_has_names_no_labels_and_the_same_preprocessing(tmp_path: Path, train_csv: Path) -> None:
    x, spectra, _ = peak_spectra(90)
    folder = tmp_path / "new"
    folder.mkdir()
    for i in (0, 1, 2):
        write_xy(folder / f"new_{i + 1}.xy", x, spectra[i])
    dm = datamodule(
        train_csv,
        predict_path=str(folder),
        preprocessing=PreprocessingOptions(
            smoothing_window=9, normalization="standard", baseline="asls", baseline_lam=1e4
        ),
    )
    assert dm.spectrum_names("predict") == ["new_1.xy", "new_2.xy", "new_3.xy"]
    assert dm.splits.predict.labels.tolist() == [-1, -1, -1]
    everywhere = {
        n: s
        for split in ("train", "val", "test")
        for n, s in zip(dm.spectrum_names(split), getattr(dm.splits, split).spectra, strict=True)
    }
    for i, row in enumerate(everywhere[f"train.csv row {r}"] for r in (2, 3, 4)):  # the same spectra, from train
        torch.testing.assert_close(dm.splits.predict.spectra[i], row, atol=1e-4, rtol=0)
    again = datamodule(
        train_csv,
        predict_path=str(folder),
        preprocessing=PreprocessingOptions(
            smoothing_window=9, normalization="standard", baseline="asls", baseline_lam=1e4
        ),
    )
    torch.testing.assert_close(again.splits.predict.spectra, dm.splits.predict.spectra)  # from the cache


def test_predict_spectra_of_another_length_are_refused(tmp_path: Path, train_csv: Path) -> None:
    x, spectra, _ = peak_spectra(3, length=100)
    new = write_table(tmp_path / "new.csv", x, spectra, None)
    with pytest.raises(
        SpectraDataError,
        match=r"new\.csv: predict spectra have 100 points but the model expects "
        r"240 \(training data: .*train\.csv\)",
    ):
        datamodule(train_csv, predict_path=str(new)).build_splits()


# ---------------------------------------------------------------------------------------------- the CLI
@pytest.fixture(scope="module")
def fitted(train_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    save_dir = tmp_path_factory.mktemp("fit")
    with pytest.MonkeyPatch.context() as env:  # module fixtures run before conftest's per-test cache setting
        env.setenv("LIGHTNING_SPECTRA_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
        main(tiny_args("fit", save_dir, "files_tiny.yaml", "--data.init_args.train_path", str(train_csv)))
    return run_folder(save_dir, "files_tiny")


def test_three_classes_train_to_high_test_accuracy(fitted: Path) -> None:
    summary = json.loads((fitted / "summary.json").read_text())
    assert summary["accuracy"] >= 0.9 and summary["spectra"] == 18
    ckpt = torch.load(fitted / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    assert ckpt["hyper_parameters"]["targets"]["names"] == ["alpha", "beta", "gamma"]
    assert ckpt["datamodule_hyper_parameters"]["preprocessing"]["normalization"] == "max"


def test_predict_on_a_folder_of_new_files_writes_class_names(fitted: Path, tmp_path: Path) -> None:
    x, spectra, labels = peak_spectra(6, seed=7, jitter=0.5)
    folder = tmp_path / "incoming"
    folder.mkdir()
    for i, spectrum in enumerate(spectra):
        write_xy(folder / f"scan_{i + 1}.xy", x, spectrum)
    predict(fitted, folder, tmp_path / "logs")
    with open(fitted / "predict" / "predictions.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["spectrum"] for r in rows] == [f"scan_{i}.xy" for i in range(1, 7)]
    assert sum(r["predicted_class"] == label for r, label in zip(rows, labels, strict=True)) >= 5
    assert all(float(r["probability"]) >= 1 / 3 for r in rows)


def test_bad_file_exits_with_code_2_and_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    x, spectra, labels = peak_spectra(12)
    path = write_table(tmp_path / "bad.csv", x, spectra, labels)
    lines = path.read_text().splitlines()
    cells = lines[4].split(",")
    cells[10] = "nan"
    lines[4] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(SystemExit) as exit_info:
        main(tiny_args("fit", tmp_path, "files_tiny.yaml", "--data.init_args.train_path", str(path)))
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert [line for line in err.splitlines() if line.startswith("error:")] == [
        f"error: {path}, row 5, column 11: value is not finite (NaN or inf): 'nan'"
    ]


# ---------------------------------------------------------------------------------------------- the recipe
def test_folds_are_stratified_disjoint_and_cover_every_spectrum(train_csv: Path) -> None:
    tests = []
    for fold in range(3):
        dm = datamodule(train_csv, split=SplitOptions(folds=3, fold=fold, seed=4))
        names = {s: set(dm.spectrum_names(s)) for s in ("train", "val", "test")}
        assert not (names["train"] & names["test"]) and not (names["val"] & names["test"])
        assert not (names["train"] & names["val"])
        assert np.bincount(dm.splits.test.labels.numpy()).tolist() == [10, 10, 10]  # 90 spectra, 3 classes
        tests.append(names["test"])
    assert set.union(*tests) == {f"train.csv row {r}" for r in range(2, 92)}
    again = datamodule(train_csv, split=SplitOptions(folds=3, fold=1, seed=4))
    assert set(again.spectrum_names("test")) == tests[1]  # seeded
    other = datamodule(train_csv, split=SplitOptions(folds=3, fold=1, seed=5))
    assert set(other.spectrum_names("test")) != tests[1]  # another repeat, another split


def test_fold_options_are_checked(train_csv: Path) -> None:
    with pytest.raises(SpectraDataError, match="folds must be 0"):
        datamodule(train_csv, split=SplitOptions(folds=3, fold=3))
    with pytest.raises(SpectraDataError, match="leave test_path empty"):
        datamodule(train_csv, split=SplitOptions(folds=3), test_path=str(train_csv))
    with pytest.raises(SpectraDataError, match="40 folds need at least 40 spectra of every class"):
        datamodule(train_csv, split=SplitOptions(folds=40)).build_splits()


def test_class_order_numbers_the_classes(train_csv: Path) -> None:
    dm = datamodule(train_csv, class_order=["gamma", "alpha", "beta"])
    assert dm.class_names == ["gamma", "alpha", "beta"]
    with pytest.raises(SpectraDataError, match="labels beta are not in it"):
        datamodule(train_csv, class_order=["gamma", "alpha"]).build_splits()


def test_point_scaling_is_fitted_on_training_spectra_and_restored_from_state(train_csv: Path) -> None:
    dm = datamodule(train_csv, preprocessing=PreprocessingOptions(derivative=1, smoothing_window=9))
    train = dm.splits.train.spectra.double()
    torch.testing.assert_close(train.mean(0), torch.zeros(train.shape[1], dtype=torch.float64), atol=1e-5, rtol=0)
    assert abs(float(dm.splits.test.spectra.mean())) > 1e-4  # test data use the training statistics
    state = dm.state_dict()
    other = datamodule(
        train_csv, preprocessing=PreprocessingOptions(derivative=1, smoothing_window=9), split=SplitOptions(seed=3)
    )  # other training spectra
    assert not torch.allclose(other.splits.test.spectra, dm.splits.test.spectra[: len(other.splits.test)])
    before = other.splits.predict if other.splits.predict is not None else other.splits.test
    unscaled_test = other._unscaled["test"]
    other.load_state_dict(state)  # what a checkpoint restores: now scaled with dm's statistics
    expected = (unscaled_test - np.asarray(state["point_mean"])) / np.asarray(state["point_scale"])
    torch.testing.assert_close(before.spectra, torch.as_tensor(expected, dtype=torch.float32))


def test_a_shift_longer_than_the_spectra_is_refused_before_training(train_csv: Path) -> None:
    """``augmentation.shift`` 500 on 240-point spectra flattened every training batch into edge values (issue 35)."""
    dm = datamodule(train_csv, augmentation=Augmentation(shift=500))
    with pytest.raises(
        SpectraDataError, match=r"^augmentation.shift 500 is not shorter than the spectra \(240 points\)"
    ):
        dm.build_splits()


def test_augmentation_touches_training_batches_only(train_csv: Path) -> None:
    dm = datamodule(train_csv, augmentation=Augmentation(noise=0.5))
    batch = (dm.splits.train.spectra[:4], dm.splits.train.labels[:4], torch.arange(4))

    class Trainer:
        training = True

    dm.trainer = Trainer()
    augmented = dm.on_after_batch_transfer(batch, 0)
    assert not torch.equal(augmented[0], batch[0]) and torch.equal(augmented[1], batch[1])
    Trainer.training = False
    assert dm.on_after_batch_transfer(batch, 0)[0] is batch[0]


def test_summary_shows_the_linear_baseline_beside_the_model(fitted: Path, capsys: pytest.CaptureFixture) -> None:
    summary = json.loads((fitted / "summary.json").read_text())
    assert summary["linear_baseline_accuracy"] >= 0.9
    assert summary["linear_baseline_method"].startswith(("logistic regression", "PLS-DA"))


def test_linear_baseline_can_be_turned_off(train_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    main(
        tiny_args(
            "fit",
            tmp_path,
            "files_tiny.yaml",
            "--data.init_args.train_path",
            str(train_csv),
            "--data.init_args.linear_baseline",
            "false",
            "--trainer.max_epochs",
            "1",
        )
    )
    summary = json.loads((run_folder(tmp_path, "files_tiny") / "summary.json").read_text())
    assert "linear_baseline_accuracy" not in summary and "linear baseline" not in capsys.readouterr().out


def test_watch_applies_the_scaling_saved_in_the_checkpoint(fitted: Path, train_csv: Path) -> None:
    from lightning_spectra.apps.watch import load_classifier

    _, preprocessing = load_classifier(fitted / "checkpoints" / "last.ckpt")
    source = read_spectra(str(train_csv), progress=False)
    dm = datamodule(
        train_csv, preprocessing=PreprocessingOptions(normalization="max")
    )  # files_tiny.yaml's settings and split
    names = dm.spectrum_names("train")
    rows = [int(name.rsplit(" ", 1)[1]) - 2 for name in names[:3]]  # "train.csv row N": N-2 is the index
    expected = dm.splits.train.spectra[:3].double().numpy()
    np.testing.assert_allclose(preprocessing(source.x, source.spectra[rows]), expected, atol=1e-4)


def predict(fitted: Path, predict_path: Path, save_dir: Path) -> None:
    """``predict`` with the fitted run's last checkpoint on ``predict_path``."""
    main(
        [
            "predict",
            "--config",
            str(fitted / "config.yaml"),
            "--ckpt_path",
            str(fitted / "checkpoints" / "last.ckpt"),
            "--data.init_args.predict_path",
            str(predict_path),
            "--trainer.logger.init_args.save_dir",
            str(save_dir),
        ]
    )


def test_predict_on_another_x_axis_exits_2_with_one_line(
    fitted: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """A warning among Lightning's lines, predictions written and exit 0 before."""
    x, spectra, _ = peak_spectra(2, seed=7)
    folder = tmp_path / "shifted"
    folder.mkdir()
    for i, spectrum in enumerate(spectra):
        write_xy(folder / f"scan_{i + 1}.xy", x + 50, spectrum)
    with pytest.raises(SystemExit) as exit_info:
        predict(fitted, folder, tmp_path / "logs")
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert [line for line in err.splitlines() if line.startswith("error:")] == [
        f"error: {folder}: x axis differs from the model's ({fitted / 'checkpoints' / 'last.ckpt'}): point 0 is at "
        "450 here but 400 there (here 450..850, there 400..800)"
    ]
    assert not list((tmp_path / "logs").rglob("predictions.csv"))


def test_a_predict_table_whose_first_row_is_the_x_axis_is_not_a_spectrum(fitted: Path, tmp_path: Path) -> None:
    """Numbers only, so header detection took the axis row for a spectrum and classified it."""
    x, spectra, labels = peak_spectra(3, seed=8, jitter=0.5)
    path = tmp_path / "new.csv"
    rows = [x, *spectra]
    path.write_text("".join(",".join(f"{v:.6f}" for v in row) + "\n" for row in rows))
    predict(fitted, path, tmp_path / "logs")
    with open(fitted / "predict" / "predictions.csv") as f:
        predicted = list(csv.DictReader(f))
    assert [r["spectrum"] for r in predicted] == ["new.csv row 2", "new.csv row 3", "new.csv row 4"]
    assert [r["predicted_class"] for r in predicted] == labels


def _test_with_checkpoint(fitted: Path, tmp_path: Path, capsys: pytest.CaptureFixture, *args: str) -> list[str]:
    """The ``error:`` lines of ``test --ckpt_path <the fitted run's last.ckpt>`` with ``args`` (it must exit 2)."""
    with pytest.raises(SystemExit) as exit_info:
        main(
            [
                "test",
                "--config",
                str(fitted / "config.yaml"),
                "--trainer.logger.init_args.save_dir",
                str(tmp_path),
                "--ckpt_path",
                str(fitted / "checkpoints" / "last.ckpt"),
                *args,
            ]
        )
    assert exit_info.value.code == 2
    return [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]


def test_testing_a_checkpoint_on_files_of_another_x_axis_exits_2(
    fitted: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """Training and test files agree with each other but not with the axis the model was trained on."""
    x, spectra, labels = peak_spectra(12, seed=9)
    train = write_table(tmp_path / "train.csv", x + 50, spectra, labels)
    test = write_table(tmp_path / "test.csv", x + 50, spectra, labels)
    args = ("--data.init_args.train_path", str(train), "--data.init_args.test_path", str(test))
    assert _test_with_checkpoint(fitted, tmp_path, capsys, *args) == [
        f"error: {test}: x axis differs from the model's ({fitted / 'checkpoints' / 'last.ckpt'}): point 0 is at "
        "450 here but 400 there (here 450..850, there 400..800)"
    ]


def test_testing_a_checkpoint_on_a_training_file_of_another_x_axis_exits_2(
    fitted: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """The test split cut from a training file on another axis than the model's: refused like a test file."""
    x, spectra, labels = peak_spectra(12, seed=9)
    train = write_table(tmp_path / "train.csv", x + 50, spectra, labels)
    assert _test_with_checkpoint(fitted, tmp_path, capsys, "--data.init_args.train_path", str(train)) == [
        "error: the SpectraFilesDataModule data: x axis differs from the model's "
        f"({fitted / 'checkpoints' / 'last.ckpt'}): point 0 is at 450 here but 400 there (here 450..850, there "
        "400..800)"
    ]


def test_raw_spectra_are_each_splits_file_rows_as_read(train_csv: Path, tmp_path: Path) -> None:
    _, spectra, _ = peak_spectra(90)
    for split_options in (SplitOptions(seed=3), SplitOptions(folds=3, fold=1)):  # by fractions, or a fold
        dm = datamodule(train_csv, split=split_options)  # the model reads a standardised first derivative
        for split in ("train", "val", "test"):
            rows = [int(name.split()[-1]) - 2 for name in dm.spectrum_names(split)]  # file row 2: spectrum 0
            raw = dm.raw_spectra(split)
            np.testing.assert_allclose(raw, spectra[rows], atol=1e-6)  # the CSV keeps 6 decimals
            assert not np.allclose(raw, getattr(dm.splits, split).spectra.numpy(), atol=1e-3)
        np.testing.assert_array_equal(dm.raw_spectra("predict"), dm.raw_spectra("test"))  # predict: the test series
    x, new, _ = peak_spectra(4, seed=1)
    dm = datamodule(train_csv, predict_path=str(write_table(tmp_path / "new.csv", x, new, None)))
    np.testing.assert_allclose(dm.raw_spectra("predict"), new, atol=1e-6)


# ---------------------------------------------------------------------------------------------- spectral ranges
KEEP, DROP = [[450.0, 650.0], [700.0, 760.0]], [[500.0, 520.0]]


def chosen_points(x: np.ndarray) -> np.ndarray:
    """Positions of ``x`` inside a ``KEEP`` window and outside ``DROP``, counted here without the ranges module."""
    kept = ((x >= 450) & (x <= 650)) | ((x >= 700) & (x <= 760))
    return np.flatnonzero(kept & ~((x >= 500) & (x <= 520)))


def test_ranges_cut_every_split_before_preprocessing_as_a_pre_cut_file_would(tmp_path: Path, train_csv: Path) -> None:
    """The derivative, SNV and per-point scaling see only the chosen points: the same splits as a file holding
    only those points (written with the same digits) gives."""
    x, spectra, labels = peak_spectra(12, seed=1)
    np.savez(tmp_path / "test.npz", spectra=spectra, labels=np.asarray(labels), x_axis=x)
    dm = datamodule(train_csv, test_path=str(tmp_path / "test.npz"), ranges={"keep": KEEP, "drop": DROP})
    raw = read_spectra(train_csv, progress=False)
    points = chosen_points(raw.x)
    cut = write_table(tmp_path / "cut.csv", raw.x[points], raw.spectra[:, points], raw.labels)
    np.savez(tmp_path / "cut_test.npz", spectra=spectra[:, points], labels=np.asarray(labels), x_axis=x[points])
    reference = datamodule(cut, test_path=str(tmp_path / "cut_test.npz"))
    assert dm.spectrum_length == len(points) == reference.spectrum_length < 240
    np.testing.assert_array_equal(dm.x_axis, raw.x[points])
    for split in ("train", "val", "test"):
        np.testing.assert_allclose(
            getattr(dm.splits, split).spectra, getattr(reference.splits, split).spectra, atol=1e-5
        )
    assert dm.state_dict()["raw_x_axis"] == raw.x.tolist()
    assert "raw_x_axis" not in reference.state_dict()  # no ranges: the model's axis is the raw one


def test_ranges_on_spectra_without_an_x_axis_are_one_line_naming_the_option(tmp_path: Path) -> None:
    _, spectra, labels = peak_spectra(30)
    np.savez(tmp_path / "no_axis.npz", spectra=spectra, labels=np.asarray(labels))
    with pytest.raises(SpectraConfigError, match=r"ranges\.drop: .*no_axis\.npz has no x axis"):
        datamodule(tmp_path / "no_axis.npz", ranges={"drop": DROP}).build_splits()


@pytest.fixture(scope="module")
def fitted_ranges(train_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    keep, drop = json.dumps(KEEP), json.dumps(DROP)
    options = ("--data.init_args.ranges.keep", keep, "--data.init_args.ranges.drop", drop)
    return fit_files_tiny(tmp_path_factory, train_csv, *options)


def test_ranges_are_saved_and_predict_cuts_a_raw_file_of_the_full_axis_alike(
    fitted_ranges: Path, tmp_path: Path
) -> None:
    """predict's probabilities are the model's on the chosen points of the raw spectra, preprocessed as in training
    (files_tiny.yaml: Savitzky-Golay derivative, max normalisation, per-point scaling of the checkpoint)."""
    from scipy.signal import savgol_filter

    from lightning_spectra.runs.checkpoint import read_trained_model

    ckpt = fitted_ranges / "checkpoints" / "last.ckpt"
    saved = torch.load(ckpt, map_location="cpu", weights_only=True)
    assert saved["datamodule_hyper_parameters"]["ranges"] == {"keep": KEEP, "drop": DROP}
    raw_x = np.asarray(saved["SpectraFilesDataModule"]["raw_x_axis"])
    points = chosen_points(raw_x)
    np.testing.assert_array_equal(saved["state_dict"]["x_axis"].double().numpy(), raw_x[points])

    x, spectra, _ = peak_spectra(6, seed=7, jitter=0.5)
    new = write_table(tmp_path / "new.csv", x, spectra, None)
    predict(fitted_ranges, new, tmp_path / "logs")
    with open(fitted_ranges / "predict" / "predictions.csv") as f:
        predicted = np.array([[float(r[f"p({c})"]) for c in CENTRES] for r in csv.DictReader(f)])

    chosen = read_spectra(new, labels_required=False, progress=False).spectra[:, points]
    steps = savgol_filter(chosen, 11, 2, deriv=1, axis=1)
    steps /= np.abs(steps).max(axis=1, keepdims=True)
    state = saved["SpectraFilesDataModule"]
    steps = (steps - np.asarray(state["point_mean"])) / np.asarray(state["point_scale"])
    model = read_trained_model(ckpt).load_model()
    with torch.no_grad():
        expected = model.probabilities(model(torch.as_tensor(steps, dtype=torch.float32))).numpy()
    np.testing.assert_allclose(predicted, expected, atol=1e-4)


def test_predict_cuts_with_the_saved_ranges_and_says_so_when_the_config_has_others(
    fitted_ranges: Path, tmp_path: Path
) -> None:
    x, spectra, labels = peak_spectra(3, seed=8, jitter=0.5)
    new = write_table(tmp_path / "new.csv", x, spectra, None)
    unranged = '{"keep": null, "drop": null}'
    with pytest.warns(UserWarning, match=r"using the ranges saved in .*last\.ckpt \(SpectralRanges\(keep=\[\[450\.0"):
        main(
            [
                "predict",
                "--config",
                str(fitted_ranges / "config.yaml"),
                "--ckpt_path",
                str(fitted_ranges / "checkpoints" / "last.ckpt"),
                "--data.init_args.predict_path",
                str(new),
                "--data.init_args.ranges",
                unranged,
                "--trainer.logger.init_args.save_dir",
                str(tmp_path / "logs"),
            ]
        )
    with open(fitted_ranges / "predict" / "predictions.csv") as f:
        assert len(list(csv.DictReader(f))) == 3


def test_predict_on_spectra_already_cut_to_the_ranges_exits_2_naming_the_raw_length(
    fitted_ranges: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    x, spectra, _ = peak_spectra(3, seed=7)
    points = chosen_points(x)
    new = write_table(tmp_path / "cut.csv", x[points], spectra[:, points], None)
    with pytest.raises(SystemExit) as exit_info:
        predict(fitted_ranges, new, tmp_path / "logs")
    assert exit_info.value.code == 2
    assert [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")] == [
        f"error: {fitted_ranges / 'checkpoints' / 'last.ckpt'}: the model was trained on raw spectra of 240 points "
        f"(its ranges choose {len(points)}), but {new} has spectra of {len(points)}"
    ]


def test_testing_a_ranged_checkpoint_needs_its_ranges(fitted_ranges: Path, tmp_path: Path, capsys) -> None:
    """With the run's config the test split is cut as in training; without the ranges its spectra are longer."""
    ckpt = fitted_ranges / "checkpoints" / "last.ckpt"
    args = ["test", "--config", str(fitted_ranges / "config.yaml"), "--ckpt_path", str(ckpt)]
    main([*args, "--trainer.logger.init_args.save_dir", str(tmp_path / "same")])
    summary = json.loads((run_folder(tmp_path / "same", "files_tiny") / "summary.json").read_text())
    assert summary["spectra"] == 18
    capsys.readouterr()
    unranged = ("--data.init_args.ranges", '{"keep": null, "drop": null}')  # the whole group: a config's ranges off
    points = len(chosen_points(np.linspace(400.0, 800.0, 240)))
    assert _test_with_checkpoint(fitted_ranges, tmp_path / "whole", capsys, *unranged) == [
        f"error: {ckpt}: the model was trained on spectra of {points} points, but the SpectraFilesDataModule data has "
        "spectra of 240"
    ]


def test_a_window_outside_the_axis_exits_2_with_one_line(
    train_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    args = ("--data.init_args.train_path", str(train_csv), "--data.init_args.ranges.keep", "[[1100, 1400]]")
    with pytest.raises(SystemExit) as exit_info:
        main(tiny_args("fit", tmp_path, "files_tiny.yaml", *args))
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert [line for line in err.splitlines() if line.startswith("error:")] == [
        f"error: ranges.keep: window [1100, 1400] holds no point of the x axis of {train_csv} (400..800)"
    ]


# ---------------------------------------------------------------------------------------------- the x axis label
def test_the_x_label_comes_from_the_file_and_the_option_wins(tmp_path: Path) -> None:
    x, spectra, labels = peak_spectra(30)
    np.savez(
        tmp_path / "ir.npz", spectra=spectra, labels=np.asarray(labels), x_axis=x, x_label="wavenumber", x_unit="cm⁻¹"
    )
    assert datamodule(tmp_path / "ir.npz").x_label == "x"  # before the data is read: nothing known yet
    dm = datamodule(tmp_path / "ir.npz")
    dm.build_splits()
    assert dm.x_label == "wavenumber (cm⁻¹)"
    chosen = datamodule(tmp_path / "ir.npz", x_label="Raman shift (cm⁻¹)")
    chosen.build_splits()
    assert chosen.x_label == "Raman shift (cm⁻¹)"


def test_a_rows_table_names_its_axis_by_a_titles_line_and_the_option_wins(tmp_path: Path) -> None:
    table = write_table(tmp_path / "raman.csv", *peak_spectra(30))
    table.write_text("# Raman shift (cm-1), counts\n" + table.read_text())
    dm = datamodule(table)
    dm.build_splits()
    assert dm.x_label == "Raman shift (cm-1)"
    chosen = datamodule(table, x_label="wavenumber (cm⁻¹)")  # --data.init_args.x_label
    chosen.build_splits()
    assert chosen.x_label == "wavenumber (cm⁻¹)"


def test_a_predict_only_run_keeps_the_training_files_axis_name(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """New spectra in a file that names no axis are drawn under the name the training file gave it (saved in the
    checkpoint); a new file that names its axis keeps its own name."""
    from lightning_spectra.runs.checkpoint import read_trained_model

    x, spectra, labels = peak_spectra(60)
    train = tmp_path / "ir.npz"
    np.savez(train, spectra=spectra, labels=np.asarray(labels), x_axis=x, x_label="wavenumber", x_unit="cm⁻¹")
    ckpt = fit_files_tiny(tmp_path_factory, train, epochs=1) / "checkpoints" / "last.ckpt"
    assert torch.load(ckpt, weights_only=True)["SpectraFilesDataModule"]["x_label"] == "wavenumber (cm⁻¹)"
    unnamed = write_table(tmp_path / "new.csv", x, spectra[:4], None)
    np.savez(tmp_path / "named.npz", spectra=spectra[:4], x_axis=x, x_label="Raman shift", x_unit="cm⁻¹")
    for new, expected in ((unnamed, "wavenumber (cm⁻¹)"), (tmp_path / "named.npz", "Raman shift (cm⁻¹)")):
        dm = SpectraFilesDataModule(predict_path=str(new), progress=False)
        with pytest.warns(UserWarning, match="using the preprocessing saved in"):  # files_tiny.yaml's own
            dm.serve(read_trained_model(ckpt, predicting=True))
        assert dm.x_label == expected


def test_data_in_wavenumbers_never_gets_a_two_theta_label(tmp_path: Path, train_csv: Path) -> None:
    x, spectra, labels = peak_spectra(30)
    folder = tmp_path / "ir"
    folder.mkdir()
    for i, spectrum in enumerate(spectra):
        rows = "".join(f"{a:.4f}\t{b:.6f}\n" for a, b in zip(x, spectrum, strict=True))
        (folder / f"scan_{i}.xy").write_text("wavenumber (cm⁻¹)\tabsorbance\n" + rows)
    (folder / "labels.csv").write_text("".join(f"scan_{i},{labels[i]}\n" for i in range(30)))
    ir, unnamed = datamodule(folder), datamodule(train_csv)
    for dm in (ir, unnamed):
        dm.build_splits()
        assert "2θ" not in dm.x_label and "°" not in dm.x_label
    assert (ir.x_label, unnamed.x_label) == ("wavenumber (cm⁻¹)", "x")
