"""AfterFit: a plain ``L.Trainer`` ends its fit as ``lightning-spectra fit`` does (test, baselines, summary)."""

from __future__ import annotations

import json
from pathlib import Path

import lightning.pytorch as L
import pytest
import torch
from conftest import run_folder, tiny_args
from lightning.pytorch.loggers import CSVLogger

from lightning_spectra.callbacks.after_fit import AfterFit, class_baselines
from lightning_spectra.callbacks.learning_curve import LearningCurve
from lightning_spectra.cli import main
from lightning_spectra.data import HEDDataModule
from lightning_spectra.errors import SpectraRunError
from lightning_spectra.models import CNN


def _fit(save_dir: Path, *callbacks: L.Callback, **trainer_settings) -> tuple[CNN, Path]:
    """A tiny CNN fitted by a plain Trainer (the sizes of tests/conf/cnn_tiny.yaml); its model and run folder."""
    L.seed_everything(12345)
    data = HEDDataModule(simulated_points=512, noise_copies=2, progress=False)
    model = CNN.from_datamodule(data)
    settings = {"max_epochs": 2, "num_sanity_val_steps": 0, "enable_progress_bar": False} | trainer_settings
    logger = CSVLogger(save_dir, name="cnn_tiny")
    trainer = L.Trainer(logger=logger, enable_model_summary=False, callbacks=list(callbacks), **settings)
    trainer.fit(model, datamodule=data)
    return model, Path(logger.log_dir)


def test_a_plain_trainer_leaves_the_summary_with_the_test_score(tmp_path: Path) -> None:
    model, folder = _fit(tmp_path, AfterFit())
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["complete"] is True and summary["model"] == "CNN"
    assert summary["trainable_parameters"] == model.num_trainable_parameters
    assert 0.0 <= summary[model.task.score_key] <= 1.0  # the test after fit ran and was recorded


def test_the_plain_trainer_and_the_command_line_leave_the_same_summary(tmp_path: Path) -> None:
    main(tiny_args("fit", tmp_path / "cli", "cnn_tiny.yaml", "--trainer.callbacks", "[]"))
    by_cli = json.loads((run_folder(tmp_path / "cli") / "summary.json").read_text())
    # the learning curve is the CLI's other default callback that writes into the summary
    _, folder = _fit(tmp_path / "plain", LearningCurve(), AfterFit(), deterministic=True, log_every_n_steps=1)
    by_trainer = json.loads((folder / "summary.json").read_text())
    assert set(by_trainer) == set(by_cli)
    assert by_trainer["accuracy"] == pytest.approx(by_cli["accuracy"], abs=0.2)


def test_without_the_test_the_summary_has_no_test_score(tmp_path: Path) -> None:
    model, folder = _fit(tmp_path, AfterFit(test=False))
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["complete"] is True and model.task.score_key not in summary


def test_a_fresh_fit_replaces_an_earlier_summary(tmp_path: Path) -> None:
    (tmp_path / "cnn_tiny" / "version_0").mkdir(parents=True)
    (tmp_path / "cnn_tiny" / "version_0" / "summary.json").write_text('{"earlier": 1}\n')
    logger = CSVLogger(tmp_path, name="cnn_tiny", version=0)
    data = HEDDataModule(simulated_points=512, noise_copies=2, progress=False)
    trainer = L.Trainer(max_epochs=1, logger=logger, enable_progress_bar=False, callbacks=[AfterFit(test=False)])
    trainer.fit(CNN.from_datamodule(data), datamodule=data)
    summary = json.loads((Path(logger.log_dir) / "summary.json").read_text())
    assert "earlier" not in summary and summary["complete"] is True


def test_a_fit_that_trained_nothing_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SpectraRunError, match="fit ran no training step"):
        _fit(tmp_path, AfterFit(), limit_train_batches=0)


def test_a_classifier_s_baselines_run_only_when_the_datamodule_asks() -> None:
    from types import SimpleNamespace

    assert class_baselines(SimpleNamespace(is_global_zero=True), None, SimpleNamespace(linear_baseline=False)) == {}


def test_fitting_the_baselines_is_a_phase_with_a_line_before_and_after(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """Issue 35: seconds to a minute of fitting the classical baselines after training printed nothing."""
    from types import SimpleNamespace

    import lightning_spectra.callbacks.after_fit as after_fit_module

    monkeypatch.setattr(after_fit_module, "baseline_summary", lambda splits, seed: {"svc_accuracy": 1.0})
    splits = SimpleNamespace(train=SimpleNamespace(spectra=torch.zeros(7, 3)))
    datamodule = SimpleNamespace(linear_baseline=True, splits=splits, split_seed=0)
    trainer = SimpleNamespace(is_global_zero=True)
    assert class_baselines(trainer, None, datamodule) == {"svc_accuracy": 1.0}
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("classical baselines: ") and "on the 7 training spectra ..." in lines[0]
    assert lines[1].startswith("classical baselines: ") and "done in" in lines[1]


def test_the_tasks_return_numbers_and_the_callback_draws_the_confusion_matrix(tmp_path: Path) -> None:
    """Layers: tasks/ import nothing of callbacks/, plots/ or runs/; the figure is this module's."""
    model, folder = _fit(tmp_path, AfterFit())
    summary = json.loads((folder / "summary.json").read_text())
    assert Path(summary["confusion_matrix_figure"]) == folder / "figures" / "confusion_matrix_test.png"
    assert Path(summary["confusion_matrix_figure"]).is_file() and "test_confusion_matrix" in summary
