"""A run replayed over the Karabo bridge (EXtra-data's ``karabo-bridge-serve-files``) and watched live gives, per
train id and pulse, the predictions ``predict`` writes for the run directory itself (issue 37)."""

from __future__ import annotations

import csv
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import run_folder
from xfel_runs import CAMERA, FIRST_TRAIN, PULSES, TRAINS, tiny_run_config, write_labels, write_run

from lightning_spectra.apps.watch import main as watch
from lightning_spectra.cli import main

pytest.importorskip("extra_data")
pytest.importorskip("karabo_bridge")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rows_of(path: Path) -> dict[tuple[int, int], dict[str, str]]:
    with open(path, newline="") as f:
        return {(int(r["train_id"]), int(r["pulse"])): r for r in csv.DictReader(f)}


def test_predict_on_a_run_and_watch_on_its_replay_agree_per_train_and_pulse(tmp_path: Path) -> None:
    run = write_run(tmp_path / "r0042")
    labels = write_labels(tmp_path / "phases.csv", (10000, 10019, "before"), (10020, 10039, "after"))
    main(["fit", "--config", str(tiny_run_config(tmp_path, run, labels)), "--trainer.max_epochs", "3"])
    fitted = run_folder(tmp_path / "logs", "xfel_run")
    checkpoint = fitted / "checkpoints" / "last.ckpt"
    main(["predict", "--config", str(fitted / "config.yaml"), "--ckpt_path", str(checkpoint)])
    predicted = rows_of(fitted / "predict" / "predictions.csv")
    assert len(predicted) == TRAINS * PULSES

    # the camera source holds the same spectra as one (pulses, points) array a train: what a detector streams
    port = free_port()
    serve = (
        shutil.which("karabo-bridge-serve-files", path=str(Path(sys.executable).parent)) or "karabo-bridge-serve-files"
    )
    server = subprocess.Popen(
        [serve, str(run), f"tcp://127.0.0.1:{port}", "--source", CAMERA, "--key", "data.image", "--dummy-timestamps"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        live = tmp_path / "live.csv"
        args = ["--ckpt_path", str(checkpoint), "--bridge", f"tcp://127.0.0.1:{port}", "--source", CAMERA]
        watch([*args, "--key", "data.image", "--trains", str(TRAINS), "--output", str(live), "--timeout", "60"])
    finally:
        server.terminate()
        server.wait(timeout=30)
    watched = rows_of(live)
    assert (
        sorted(watched)
        == sorted(predicted)
        == [(t, p) for t in range(FIRST_TRAIN, FIRST_TRAIN + TRAINS) for p in range(PULSES)]
    )
    classes = [c.removeprefix("p(").removesuffix(")") for c in predicted[(FIRST_TRAIN, 0)] if c.startswith("p(")]
    assert len(classes) == 2
    for key, row in predicted.items():
        assert watched[key]["predicted_class"] == row["predicted_class"], key
        np.testing.assert_allclose(
            [float(watched[key][f"p({c})"]) for c in classes], [float(row[f"p({c})"]) for c in classes], atol=1e-4
        )
