"""docs/tasks.md's walk-through, run: its code defines a task and its encoder, the task passes the contract, and
a model fits, tests and predicts with it from a table through the command line."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, run_folder, tiny_args
from spectra_tables import write_table

from lightning_spectra.cli import main
from lightning_spectra.data.targets import ENCODERS
from lightning_spectra.data.task_contract import check_task
from lightning_spectra.tasks import TASKS

PAGE = ROOT / "docs" / "tasks.md"


@pytest.fixture
def page_task() -> Iterator[dict]:
    """The page's code, run; its task and encoder leave the registries afterwards (other tests list them)."""
    walk_through = PAGE.read_text().split("## Walk-through", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", walk_through, flags=re.S)
    assert blocks, "docs/tasks.md has no python code"
    namespace: dict = {"__name__": "tasks_page"}
    exec(compile("\n".join(blocks), str(PAGE), "exec"), namespace)
    yield namespace
    TASKS.pop("counts", None)
    ENCODERS.pop("counts", None)


def count_table(path: Path, n: int, seed: int) -> Path:
    """Spectra whose peak height follows a Poisson count's rate (labels: the counts)."""
    rng = np.random.default_rng(seed)
    x = np.linspace(400.0, 800.0, 120)
    rate = rng.uniform(1, 20, n)
    spectra = (rate[:, None] / 10) * np.exp(-0.5 * ((x - 600) / 20) ** 2) + rng.normal(0, 0.02, (n, len(x)))
    return write_table(path, x, spectra, [str(int(c)) for c in rng.poisson(rate)])


def test_the_page_task_keeps_the_contract_and_trains(page_task: dict, tmp_path: Path) -> None:
    assert TASKS["counts"] is page_task["CountTask"] and ENCODERS["counts"] is page_task["CountEncoder"]
    check_task("counts")
    train, new = count_table(tmp_path / "train.csv", 60, 0), count_table(tmp_path / "new.csv", 8, 1)
    common = ("--data.init_args.train_path", str(train), "--data.init_args.task", "counts")
    main(tiny_args("fit", tmp_path / "logs", "files_tiny.yaml", *common, "--trainer.max_epochs", "2"))
    run = run_folder(tmp_path / "logs", "files_tiny")
    summary = json.loads((run / "summary.json").read_text())
    assert np.isfinite(summary["rmse"]), "the test after fit reports the task's score"
    checkpoint = str(next((run / "checkpoints").glob("*.ckpt")))
    main(
        tiny_args(
            "predict",
            tmp_path / "logs",
            "files_tiny.yaml",
            *common,
            "--data.init_args.predict_path",
            str(new),
            "--ckpt_path",
            checkpoint,
        )
    )
    with open(run / "predict" / "predictions.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 8 and all(float(r["predicted_rate"]) > 0 for r in rows)
