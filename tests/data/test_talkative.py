"""Issue 35, "fast and talkative": the read line before a run works, and predict writing into its run."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
import torch
from conftest import CONF, cli_failure, fit_files_tiny
from spectra_tables import peak_spectra, write_table

from lightning_spectra.cli import main
from lightning_spectra.data.read_line import axis_part, class_counts, target_ranges
from lightning_spectra.runs.manifest import MANIFEST


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A training table of 60 spectra (three classes, 240 points on 400-800) and 9 new unlabelled spectra."""
    folder = tmp_path_factory.mktemp("data")
    x, spectra, labels = peak_spectra(60, seed=5)
    new_x, new, _ = peak_spectra(9, seed=6)
    return write_table(folder / "train.csv", x, spectra, labels), write_table(folder / "new.csv", new_x, new, None)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, data: tuple[Path, Path]) -> Path:
    return fit_files_tiny(tmp_path_factory, data[0], epochs=1)


def predict_args(ckpt: Path, new: Path, logs: Path) -> list[str]:
    config = ["--config", str(CONF / "files_tiny.yaml"), "--trainer.logger.init_args.save_dir", str(logs)]
    return ["predict", *config, "--ckpt_path", str(ckpt), "--data.init_args.predict_path", str(new)]


def test_a_fit_prints_the_read_line_before_training(
    data: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lightning_spectra.callbacks.learning_curve import LearningCurve

    # every fit has a LearningCurve: it marks in the output where training starts
    monkeypatch.setattr(LearningCurve, "on_train_start", lambda *_: print("training starts"), raising=False)
    args = ["fit", "--config", str(CONF / "files_tiny.yaml"), "--trainer.logger.init_args.save_dir", str(tmp_path)]
    main([*args, "--data.init_args.train_path", str(data[0]), "--trainer.max_epochs", "1", "--test_after_fit", "false"])
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith("read:")]
    assert lines == [
        "read: 60 spectra x 240 points, x 400-800; classes alpha 20, beta 20, gamma 20; train 36, val 12, test 12"
    ]
    assert out.index(lines[0]) < out.index("training starts") < out.index("lightning-spectra run summary")


def test_read_line_parts_name_the_axis_classes_and_target_ranges() -> None:
    assert axis_part(torch.linspace(40.0, 5.0, 8).numpy(), "2θ") == "2θ 5-40"  # a falling axis, lowest first
    assert class_counts(torch.tensor([0, 2, 2]), ["a", "b", "c"]) == "classes a 1, b 0, c 2"
    values = torch.tensor([[1.5, float("nan")], [0.25, 3.0], [2.0, 4.0]])
    assert target_ranges(values, ["fat", "protein"]) == "targets fat 0.25-2, protein 3-4"


def test_predict_writes_into_the_runs_predict_folder_and_makes_no_version(
    run: Path, data: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    main(predict_args(run / "checkpoints" / "last.ckpt", data[1], tmp_path / "logs"))
    out = capsys.readouterr().out
    assert not (tmp_path / "logs").exists()  # no version_N folder passing for a training run
    assert "read: 9 spectra x 240 points, x 400-800; model classes alpha, beta, gamma; predict 9" in out
    assert f"predict: writing into {run / 'predict'}, the predict folder of the checkpoint's run" in out
    with open(run / "predict" / "predictions.csv") as f:
        assert len(list(csv.DictReader(f))) == 9
    written = json.loads((run / "predict" / MANIFEST).read_text())
    assert written["command"] == "predict" and "predictions.csv" in written["paths"]
    assert sorted(p.name for p in run.parent.iterdir()) == [run.name]  # the run's own folder, nothing beside it


def test_predict_never_replaces_a_file_it_did_not_write(
    run: Path, data: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    copy = tmp_path / "run"
    (copy / "checkpoints").mkdir(parents=True)
    shutil.copy(run / "checkpoints" / "last.ckpt", copy / "checkpoints" / "last.ckpt")
    shutil.copy(run / "config.yaml", copy / "config.yaml")  # a run folder: what fit leaves beside checkpoints/
    (copy / "predict").mkdir()
    (copy / "predict" / "predictions.csv").write_text("the user's own\n")
    code, line = cli_failure(predict_args(copy / "checkpoints" / "last.ckpt", data[1], tmp_path / "logs"), capsys)
    assert code == 2 and line == (
        f"error: {copy / 'predict' / 'predictions.csv'}: a file predict did not write, where it would write its "
        "predictions.csv; move it, or give --trainer.logger.init_args.version to predict into another folder"
    )
    assert (copy / "predict" / "predictions.csv").read_text() == "the user's own\n"


def test_a_checkpoint_outside_a_run_folder_predicts_into_a_new_version_and_says_so(
    run: Path, data: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    ckpt = Path(shutil.copy(run / "checkpoints" / "last.ckpt", tmp_path / "model.ckpt"))
    main(predict_args(ckpt, data[1], tmp_path / "logs"))
    folder = tmp_path / "logs" / "files_tiny" / "version_0"
    assert f"predict: {ckpt} is not in a run's checkpoints/ folder; writing into {folder}" in capsys.readouterr().out
    assert (folder / "predictions.csv").is_file()


def test_a_checkpoints_folder_that_no_fit_wrote_gets_no_predict_folder(
    run: Path, data: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    shelf = tmp_path / "shelf"  # like the repository's tests/data/checkpoints: no config.yaml beside it
    (shelf / "checkpoints").mkdir(parents=True)
    ckpt = Path(shutil.copy(run / "checkpoints" / "last.ckpt", shelf / "checkpoints" / "model.ckpt"))
    main(predict_args(ckpt, data[1], tmp_path / "logs"))
    assert (
        not (shelf / "predict").exists()
        and (tmp_path / "logs" / "files_tiny" / "version_0" / "predictions.csv").is_file()
    )
