import os
from pathlib import Path

import pytest

from lightning_spectra.logging import quiet_wandb_without_account, wandb_has_credentials


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
