import os
from pathlib import Path

import pytest

from lightning_spectra.runs.wandb_runs import quiet_wandb_without_account, wandb_has_credentials


def test_offline_without_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "missing"))
    quiet_wandb_without_account()
    assert os.environ["WANDB_MODE"] == "offline"


def test_credentials_from_netrc_keep_online(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine api.wandb.ai\n  login user\n  password abc123\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.delenv("WANDB_MODE", raising=False)
    assert wandb_has_credentials()
    quiet_wandb_without_account()
    assert "WANDB_MODE" not in os.environ


def test_users_choice_of_mode_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WANDB_MODE", "disabled")
    quiet_wandb_without_account()
    assert os.environ["WANDB_MODE"] == "disabled"


def test_each_run_is_its_own_offline_wandb_run_with_the_summary(tmp_path: Path) -> None:
    """Two fits in one process: two offline W&B runs, each holding its own summary numbers."""
    import json
    import subprocess
    import sys

    from conftest import tiny_args

    from lightning_spectra.cli import main

    wandb = [
        "--trainer.logger+=lightning.pytorch.loggers.WandbLogger",
        f"--trainer.logger.save_dir={tmp_path}",
        "--trainer.logger.project=test",
        "--trainer.max_epochs=1",
        '--trainer.callbacks=[{"class_path": "lightning_spectra.callbacks.Timing"}]',
        "--trainer.enable_checkpointing=false",
    ]
    main(tiny_args("fit", tmp_path, "cnn_tiny.yaml", *wandb))
    main(tiny_args("fit", tmp_path, "resnet_tiny.yaml", *wandb))
    runs = sorted((tmp_path / "wandb").glob("offline-run-*"))
    assert len(runs) == 2
    leet = [str(Path(sys.executable).parent / "wandb"), "leet", "inspect", "--summary", "--json"]
    summaries = [
        json.loads(subprocess.run([*leet, str(r)], capture_output=True, text=True, check=True).stdout) for r in runs
    ]
    models = {s["summary"]["model"]: s["summary"] for s in summaries}
    assert set(models) == {"CNN", "MSResNet"}
    assert models["CNN"]["trainable_parameters"] != models["MSResNet"]["trainable_parameters"]
    assert all(0 <= s["confidence"] <= 1 and s["train_time_s"] > 0 for s in models.values())
