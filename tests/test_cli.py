"""The command line end to end on a tiny simulated ramp: fit, test, predict, determinism, resume, bad input."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import ROOT, run_folder, tiny_args, write_xy

from lightning_spectra.cli import main


def weights(ckpt: Path) -> dict[str, torch.Tensor]:
    return torch.load(ckpt, map_location="cpu", weights_only=True)["state_dict"]


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    save_dir = tmp_path_factory.mktemp("fit")
    os.environ["LIGHTNING_SPECTRA_CACHE"] = str(tmp_path_factory.getbasetemp() / "cache")
    main(tiny_args("fit", save_dir))
    return run_folder(save_dir)


def test_fit_writes_summary_and_checkpoint(fitted: Path) -> None:
    summary = json.loads((fitted / "summary.json").read_text())
    assert summary["model"] == "CNN" and summary["trainable_parameters"] > 0
    assert summary["spectra"] == 349 and summary["true_boundary"] == 184
    assert 0 <= summary["confidence"] <= 1 and 0 <= summary["accuracy"] <= 1
    assert summary["train_time_s"] > 0 and summary["epochs"] == 2
    assert (fitted / "checkpoints" / "last.ckpt").exists()


def test_test_and_predict_from_checkpoint(fitted: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    ckpt = str(fitted / "checkpoints" / "last.ckpt")
    main(tiny_args("test", tmp_path, "cnn_tiny.yaml", "--ckpt_path", ckpt))
    tested = json.loads((run_folder(tmp_path) / "summary.json").read_text())
    fit_summary = json.loads((fitted / "summary.json").read_text())
    assert tested["confidence"] == pytest.approx(fit_summary["confidence"])  # same weights, same ramp
    assert "classification confidence" in capsys.readouterr().out

    versions = sorted((tmp_path / "cnn_tiny").iterdir())
    main(tiny_args("predict", tmp_path, "cnn_tiny.yaml", "--ckpt_path", ckpt))
    out = capsys.readouterr().out
    assert sorted((tmp_path / "cnn_tiny").iterdir()) == versions  # no new version_N that passes for a training run
    assert f"predict: writing into {fitted / 'predict'}, the predict folder of the checkpoint's run" in out
    with open(fitted / "predict" / "predictions.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 349 and [int(r["position"]) for r in rows] == list(range(349))
    assert {r["predicted_class"] for r in rows} <= {"before transition", "after transition"}
    assert all(0.5 <= float(r["probability"]) <= 1 for r in rows)


def test_same_seed_gives_identical_weights(fitted: Path, tmp_path: Path) -> None:
    main(tiny_args("fit", tmp_path, "cnn_tiny.yaml", "--test_after_fit", "false"))
    a, b = weights(fitted / "checkpoints" / "last.ckpt"), weights(run_folder(tmp_path) / "checkpoints" / "last.ckpt")
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0, msg=key)


def _train_py(*args: str, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "tests"), **(env_extra or {})}
    return subprocess.run(
        [sys.executable, str(ROOT / "train.py"), *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300
    )


def test_killed_run_resumes_from_its_last_checkpoint(tmp_path: Path) -> None:
    epochs = ["--trainer.max_epochs", "4", "--test_after_fit", "false"]
    killed = _train_py(
        *tiny_args(
            "fit",
            tmp_path / "killed",
            "cnn_tiny.yaml",
            *epochs,
            "--trainer.callbacks+=probes.KillAtEpoch",
            "--trainer.callbacks.epoch=2",
        )
    )
    assert killed.returncode == -9, killed.stderr[-2000:]
    last = run_folder(tmp_path / "killed") / "checkpoints" / "last.ckpt"
    assert torch.load(last, map_location="cpu", weights_only=True)["epoch"] == 1  # epochs 0 and 1 finished

    main(tiny_args("fit", tmp_path / "resumed", "cnn_tiny.yaml", *epochs, "--ckpt_path", str(last)))
    main(tiny_args("fit", tmp_path / "straight", "cnn_tiny.yaml", *epochs))
    resumed = weights(run_folder(tmp_path / "resumed") / "checkpoints" / "last.ckpt")
    straight = weights(run_folder(tmp_path / "straight") / "checkpoints" / "last.ckpt")
    for key in straight:
        torch.testing.assert_close(resumed[key], straight[key], msg=key)


def test_malformed_folder_exits_with_one_clear_line(tmp_path: Path) -> None:
    folder = tmp_path / "spectra"
    folder.mkdir()
    x = np.linspace(10, 20, 50)
    write_xy(folder / "scan_1.xy", x, np.ones(50))
    bad = write_xy(folder / "scan_2.xy", x, np.ones(50))
    lines = bad.read_text().splitlines()
    lines[10] = "12.0 not-a-number"
    bad.write_text("\n".join(lines) + "\n")
    result = _train_py(
        *tiny_args(
            "fit",
            tmp_path,
            "cnn_tiny.yaml",
            "--data.init_args.source",
            "directory",
            "--data.init_args.data_dir",
            str(folder),
        )
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: {bad}, line 11: expected two numbers, got '12.0 not-a-number'"
    )
