"""A run folder used again: a fresh fit into it (a fixed logger version, given twice) writes a summary of its own,
and a fit resumed with ``--ckpt_path`` goes on with the summary it finds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import tiny_args
from spectra_tables import peak_spectra, write_table

from lightning_spectra.cli import main


def _fit(save_dir: Path, train: Path, *options: str) -> dict:
    args = tiny_args("fit", save_dir, "files_tiny.yaml", "--data.init_args.train_path", str(train))
    main([*args, "--trainer.logger.init_args.version", "0", "--trainer.max_epochs", "1", *options])
    return json.loads((save_dir / "files_tiny" / "version_0" / "summary.json").read_text())


def test_a_fresh_fit_into_a_used_run_folder_reports_only_its_own_numbers(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    train = write_table(tmp_path / "train.csv", *peak_spectra(40, seed=3))
    first = _fit(tmp_path / "logs", train)  # tested after fit: test numbers and baselines in its summary
    tested = {"accuracy", "loss", "test_macro_f1", "test_confusion_matrix"}
    assert tested <= set(first) and first["complete"] is True
    summary = tmp_path / "logs" / "files_tiny" / "version_0" / "summary.json"
    summary.write_text(json.dumps({**first, "stale": 1}))  # a key no fit writes: nothing of it may survive
    capsys.readouterr()
    second = _fit(tmp_path / "logs", train, "--test_after_fit", "false")
    assert not (tested | {"stale"}) & set(second), "the earlier run's test numbers reported as this one's"
    assert second["complete"] is True
    err = capsys.readouterr().err
    assert f"fit: {tmp_path / 'logs' / 'files_tiny' / 'version_0'} held an earlier run; its summary.json is " in err

    last = tmp_path / "logs" / "files_tiny" / "version_0" / "checkpoints" / "last.ckpt"
    summary.write_text(json.dumps({**second, "mark": 1}))
    resumed = _fit(
        tmp_path / "logs", train, "--test_after_fit", "false", "--trainer.max_epochs", "2", "--ckpt_path", str(last)
    )
    assert resumed["mark"] == 1 and "held an earlier run" not in capsys.readouterr().err  # resumed: summary kept
