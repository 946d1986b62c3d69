"""A fit stopped by SIGTERM: its own exit status, a summary marked incomplete, a checkpoint that resumes it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import torch
from conftest import ROOT, run_folder, tiny_args

from lightning_spectra.callbacks.interrupted import SIGTERM_STATUS
from lightning_spectra.cli import main

EPOCHS = ("--trainer.max_epochs", "4")


def test_sigterm_ends_fit_with_its_own_status_and_a_checkpoint_that_resumes_it(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "tests"), str(ROOT)])}
    args = tiny_args("fit", tmp_path / "stopped", "cnn_tiny.yaml", *EPOCHS)
    args += ["--trainer.callbacks+=probes.SigtermAtEpoch", "--trainer.callbacks.epoch=2"]
    stopped = subprocess.run(
        [sys.executable, str(ROOT / "train.py"), *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300
    )
    assert stopped.returncode == SIGTERM_STATUS, stopped.stderr[-2000:]
    assert "Traceback" not in stopped.stderr
    folder = run_folder(tmp_path / "stopped")
    checkpoint = folder / "checkpoints" / "interrupted.ckpt"
    assert f"--ckpt_path {checkpoint}" in stopped.stderr
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["complete"] is False and summary["stopped_by"] == "SIGTERM"
    assert "accuracy" not in summary  # no test ran on the half-trained model
    saved = torch.load(checkpoint, map_location="cpu", weights_only=True)
    assert saved["epoch"] == summary["stopped_at_epoch"] >= 2  # a full-batch epoch ends before the loop checks

    main(tiny_args("fit", tmp_path / "resumed", "cnn_tiny.yaml", *EPOCHS, "--ckpt_path", str(checkpoint)))
    resumed = json.loads((run_folder(tmp_path / "resumed") / "summary.json").read_text())
    assert resumed["complete"] is True
    assert resumed["epochs"] == 4  # the Timing totals of the stopped part travel in the checkpoint
