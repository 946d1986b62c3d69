"""An unset trainer.precision resolves to bf16 autocast only on CPUs that run bf16 natively."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import tiny_args

from lightning_spectra import precision
from lightning_spectra.cli import SpectraCLI
from lightning_spectra.precision import auto_precision


def test_explicit_precision_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(precision, "cpu_supports_bf16", lambda: True)
    assert auto_precision("32-true", "cpu") == "32-true"
    assert auto_precision(64, "cpu") == 64


@pytest.mark.parametrize(("native", "expected"), [(True, "bf16-mixed"), (False, "32-true")])
def test_cpu_gets_bf16_only_with_native_support(monkeypatch: pytest.MonkeyPatch, native: bool, expected: str) -> None:
    monkeypatch.setattr(precision, "cpu_supports_bf16", lambda: native)
    assert auto_precision(None, "cpu") == expected
    assert auto_precision("auto", "cpu") == expected


def test_gpu_keeps_lightnings_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(precision, "cpu_supports_bf16", lambda: True)
    assert auto_precision(None, "gpu") is None


def test_detection_answers_without_raising() -> None:
    assert isinstance(precision.cpu_supports_bf16(), bool)


def test_cli_resolves_precision_and_adds_the_readable_bar(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(precision, "cpu_supports_bf16", lambda: True)
    bar_on = "--trainer.enable_progress_bar=true"
    args = tiny_args("fit", tmp_path, "cnn_tiny.yaml", "--trainer.accelerator=cpu", bar_on)
    cli = SpectraCLI(args=args[1:], run=False)
    assert cli.trainer.precision == "bf16-mixed"
    assert type(cli.trainer.progress_bar_callback).__name__ == "SpectraProgressBar"
    forced = SpectraCLI(args=[*args[1:], "--trainer.precision=32-true"], run=False)
    assert forced.trainer.precision == "32-true"


def test_bf16_fit_runs_end_to_end(tmp_path: Path) -> None:
    """The bf16 path (emulated where the CPU lacks it) trains, validates, tests and writes its summary."""
    import json

    from conftest import run_folder

    from lightning_spectra.cli import main

    main(tiny_args("fit", tmp_path, "cnn_tiny.yaml", "--trainer.precision=bf16-mixed", "--trainer.max_epochs=1"))
    summary = json.loads((run_folder(tmp_path) / "summary.json").read_text())
    assert summary["precision"] == "bf16-mixed"
    assert 0.5 <= summary["confidence"] <= 1 and summary["epochs"] == 1
