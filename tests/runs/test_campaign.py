"""A campaign's runs (cross-validation folds, ensemble members): loggers pointed at their own folder and W&B run."""

from __future__ import annotations

from pathlib import Path

import pytest

from lightning_spectra.runs.campaign import campaign_run_config
from lightning_spectra.runs.wandb_runs import CSV_LOGGER, WANDB_LOGGER, WANDB_SWITCH


def test_a_campaign_run_logs_into_its_own_folder_and_groups_wandb(tmp_path: Path) -> None:
    config = {
        "model": {"class_path": "lightning_spectra.models.CNN"},
        "trainer": {
            "logger": [
                {"class_path": "lightning.pytorch.loggers.CSVLogger", "init_args": {"save_dir": "logs"}},
                {"class_path": "lightning.pytorch.loggers.WandbLogger", "init_args": {"project": "p"}},
            ]
        },
    }
    out = campaign_run_config(config, tmp_path, "repeat1_fold2", "my_cv")
    csv_logger, wandb = out["trainer"]["logger"]
    assert csv_logger["init_args"] == {"save_dir": str(tmp_path), "name": "", "version": "repeat1_fold2"}
    assert wandb["init_args"] == {"project": "p", "group": "my_cv", "name": "CNN repeat1_fold2"}
    assert config["trainer"]["logger"][0]["init_args"] == {"save_dir": "logs"}  # the original is untouched


def test_the_wandb_switch_gives_campaign_runs_a_grouped_run_without_a_logger_in_the_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = {"model": {"class_path": "lightning_spectra.models.CNN"}, "trainer": {}}
    assert [
        e["class_path"] for e in campaign_run_config(config, tmp_path, "repeat0_fold0", "cv")["trainer"]["logger"]
    ] == [CSV_LOGGER]
    monkeypatch.setenv(WANDB_SWITCH, "my-project")
    csv_logger, wandb = campaign_run_config(config, tmp_path, "repeat0_fold1", "cv")["trainer"]["logger"]
    assert wandb == {
        "class_path": WANDB_LOGGER,
        "init_args": {"project": "my-project", "group": "cv", "name": "CNN repeat0_fold1"},
    }


def test_a_run_stopped_inside_a_campaign_leaves_the_resume_hint_to_the_campaign(tmp_path: Path) -> None:
    """Issue 35: a member stopped by SIGTERM printed 'resume with --ckpt_path' before the ensemble's own line,
    though ``ensemble fit`` and ``cv`` take no --ckpt_path."""
    from lightning_spectra.callbacks.interrupted import resume_hint
    from lightning_spectra.runs.campaign import stopped_by_sigterm

    ckpt = tmp_path / "interrupted.ckpt"
    assert "--ckpt_path" in resume_hint(3, ckpt)
    with pytest.raises(RuntimeError), stopped_by_sigterm("the ensemble", "the finished members"):
        assert resume_hint(3, ckpt) is None
        raise RuntimeError("not a SIGTERM: goes through")
    assert "--ckpt_path" in resume_hint(3, ckpt)  # the campaign is over
