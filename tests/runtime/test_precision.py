"""An unset trainer.precision resolves to bf16 autocast only on CPUs that run bf16 natively."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import tiny_args

from lightning_spectra.cli import SpectraCLI
from lightning_spectra.runtime import precision
from lightning_spectra.runtime.precision import auto_precision


def test_explicit_precision_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(precision, "cpu_supports_bf16", lambda: True)
    assert auto_precision("32-true", "cpu") == "32-true"
    assert auto_precision(64, "cpu") == 64


class MeasuredFaster:
    cpu_bf16 = True


class NotMeasured:
    pass


@pytest.mark.parametrize(("native", "expected"), [(True, "bf16-mixed"), (False, "32-true")])
def test_cpu_gets_bf16_only_with_native_support(monkeypatch: pytest.MonkeyPatch, native: bool, expected: str) -> None:
    monkeypatch.setattr(precision, "cpu_supports_bf16", lambda: native)
    assert auto_precision(None, "cpu", MeasuredFaster) == expected
    assert auto_precision("auto", "cpu", MeasuredFaster) == expected


def test_bf16_only_for_classifiers_measured_faster_in_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(precision, "cpu_supports_bf16", lambda: True)
    assert auto_precision(None, "cpu", NotMeasured) == "32-true"
    assert auto_precision(None, "cpu", None) == "32-true"
    assert auto_precision(None, "cpu", MeasuredFaster, task="regression") == "32-true"  # calibrations need digits
    assert auto_precision(None, "cpu", MeasuredFaster, task="inference") == "32-true"  # predict as exported


def test_predict_keeps_float32_where_fit_trains_in_bf16(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(precision, "cpu_supports_bf16", lambda: True)
    monkeypatch.setattr("lightning_spectra.models.CNN.cpu_bf16", True)
    args = tiny_args("predict", tmp_path, "cnn_tiny.yaml", "--trainer.accelerator=cpu")
    untrained = SpectraCLI(args=args[1:], run=False)
    assert untrained.trainer.precision == "bf16-mixed"  # a trainer to fit with
    untrained.trainer.strategy.connect(untrained.model)  # its initial weights as a checkpoint: predict needs one
    untrained.trainer.save_checkpoint(tmp_path / "initial.ckpt")
    assert SpectraCLI(args=[*args, "--ckpt_path", str(tmp_path / "initial.ckpt")]).trainer.precision == "32-true"


def test_the_configured_model_class_is_found_in_the_package_only() -> None:
    from lightning_spectra.models import CNN

    assert precision.configured_model_class("lightning_spectra.models.CNN") is CNN
    assert precision.configured_model_class("payload.Model") is None and precision.configured_model_class(None) is None


def test_gpu_keeps_lightnings_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(precision, "cpu_supports_bf16", lambda: True)
    assert auto_precision(None, "gpu") is None


def test_detection_answers_without_raising() -> None:
    assert isinstance(precision.cpu_supports_bf16(), bool)


def test_cli_resolves_precision_and_adds_the_readable_bar(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(precision, "cpu_supports_bf16", lambda: True)
    monkeypatch.setattr("lightning_spectra.models.CNN.cpu_bf16", True)
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


def test_bf16_goes_to_the_models_measured_faster_in_it_only() -> None:
    """BENCHMARKS.md, "Precision per model": faster in bf16 with 100 % confidence and boundary 184 on a CPU with
    native bf16 for the CNN, MSResNet and binned FCNN; slower for the other five."""
    from lightning_spectra import models

    faster = {name for name in models.__all__ if getattr(getattr(models, name), "cpu_bf16", False)}
    assert faster == {"CNN", "MSResNet", "BinnedFCNN"}


def test_the_saved_config_keeps_the_users_precision(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A fit's automatic bf16 stays out of its config.yaml: `predict --config <run>/config.yaml` is float32."""
    import yaml
    from conftest import run_folder

    from lightning_spectra.cli import main

    monkeypatch.setattr(precision, "cpu_supports_bf16", lambda: True)
    monkeypatch.setattr("lightning_spectra.models.CNN.cpu_bf16", True)
    main(tiny_args("fit", tmp_path, "cnn_tiny.yaml", "--trainer.max_epochs=1", "--trainer.callbacks=[]"))
    run = run_folder(tmp_path)
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["trainer"].get("precision") is None
    summary = yaml.safe_load((run / "summary.json").read_text())
    assert summary["precision"] == "bf16-mixed"
