"""Messages that say what to run next name the command in the way the user started the program."""

from __future__ import annotations

import sys
from pathlib import Path

import optuna
import pytest

import lightning_spectra
from lightning_spectra.runtime.commands import command
from lightning_spectra.sweeps.best_configs import print_report
from lightning_spectra.sweeps.sweep_file import load_spec

PACKAGE = Path(lightning_spectra.__file__).parent


@pytest.mark.parametrize(
    ("started", "program", "expected"),
    [
        ("/venv/bin/lightning-spectra-sweep", "train", "lightning-spectra"),
        ("/venv/bin/lightning-spectra", "cv", "lightning-spectra-cv"),
        ("sweep.py", "train", "python train.py"),
        ("/repo/report.py", "report", "python report.py"),
        ("sweep.py", "watch", "lightning-spectra-watch"),  # no repository script: the console command
        (str(PACKAGE / "sweeps" / "__main__.py"), "train", "python -m lightning_spectra.cli"),
        ("", "train", "lightning-spectra"),  # a notebook
    ],
)
def test_the_command_follows_how_the_program_was_started(
    started: str, program: str, expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "argv", [started])
    assert command(program) == expected


@pytest.mark.parametrize(
    ("started", "expected"),
    [("/venv/bin/lightning-spectra-sweep", "lightning-spectra fit"), ("sweep.py", "python train.py fit")],
)
def test_the_end_of_a_sweep_names_the_training_command_the_user_has(
    started: str, expected: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setattr(sys, "argv", [started])
    study = optuna.create_study(study_name="s")
    study.add_trial(optuna.trial.create_trial(params={}, distributions={}, value=0.5))
    print_report(load_spec("cnn"), study, [Path("out/best.yaml")], 1)
    assert capsys.readouterr().out.splitlines()[-1] == f"train it: {expected} --config out/best.yaml"
