"""A single fit under DDP: two CPU processes, each training on its own half of the data."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import run_folder, tiny_args
from test_cli import _train_py


def test_two_process_ddp_shards_the_data_and_gathers_the_series(tmp_path: Path) -> None:
    result = _train_py(
        *tiny_args(
            "fit",
            tmp_path,
            "cnn_tiny.yaml",
            "--trainer.strategy",
            "ddp",
            "--trainer.devices",
            "2",
            "--trainer.accelerator",
            "cpu",
            "--trainer.callbacks+=probes.RecordTrainingPositions",
        )
    )
    assert result.returncode == 0, result.stderr[-3000:]
    folder = run_folder(tmp_path)
    seen = [json.loads((folder / f"seen-rank{r}.json").read_text()) for r in (0, 1)]
    assert {s["world"] for s in seen} == {2}
    rank0, rank1 = (set(s["seen"]) for s in seen)
    # Each process trained on its own half (DistributedSampler pads the odd 93 rows with one repeat) ...
    assert [len(s["seen"]) for s in seen] == [47, 47]
    assert len(rank0 & rank1) <= 1
    assert rank0 | rank1 == set(range(31 * 3))  # ... and together they cover the training set (31 x 3)
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["spectra"] == 349  # the test ramp was gathered from both ranks, in time order
    assert summary["true_boundary"] == 184
