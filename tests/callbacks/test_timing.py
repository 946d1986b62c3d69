"""The Timing callback in a real (tiny) fit: sane, consistent numbers in the callback and in summary.json."""

from __future__ import annotations

import json
from pathlib import Path

import lightning.pytorch as L
import pytest
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger

from lightning_spectra.callbacks import Timing
from lightning_spectra.data import HEDDataModule
from lightning_spectra.models import CNN

EPOCHS = 3


@pytest.fixture(scope="module")
def timed(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("timing")
    data = HEDDataModule(simulated_points=512, noise_copies=2, progress=False, cache_dir=str(root / "cache"))
    L.seed_everything(12345)
    model = CNN(spectrum_length=data.spectrum_length, x_axis=data.x_axis, targets=data.targets)
    reached = Timing(monitor="val/loss", target=1e6, mode="min")  # true after the first validation
    never = Timing(monitor="val/confidence", target=2.0)  # a confidence cannot exceed 1
    default = Timing()
    trainer = L.Trainer(
        max_epochs=EPOCHS,
        logger=CSVLogger(root, name="run"),
        callbacks=[default, reached, never],
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
        num_sanity_val_steps=0,
        log_every_n_steps=1,
    )
    trainer.fit(model, datamodule=data)
    return trainer, default, reached, never


def test_times_are_positive_and_consistent(timed) -> None:
    _, default, *_ = timed
    results = default.results()
    assert results["epochs"] == EPOCHS == len(results["epoch_times_s"])
    assert all(t > 0 for t in results["epoch_times_s"])
    assert results["train_time_s"] == pytest.approx(sum(results["epoch_times_s"]))
    assert 0 < results["train_time_s"] <= results["fit_time_s"] <= results["process_time_s"]
    assert results["seconds_per_epoch"] == pytest.approx(results["fit_time_s"] / EPOCHS)
    assert results["seconds_per_epoch"] >= max(results["epoch_times_s"]) / EPOCHS > 0
    assert results["peak_memory_gib"] > 0
    assert results["device"] == "cpu" and results["memory_allocated_gib"] is None


def test_epochs_to_target(timed) -> None:
    _, default, reached, never = timed
    assert reached.epochs_to_target == 1
    assert reached.time_to_target == pytest.approx(reached.epoch_times[0])
    assert never.epochs_to_target is None and never.time_to_target is None
    if default.epochs_to_target is not None:  # the tiny CNN usually reaches 100 % confidence, not always
        assert 1 <= default.epochs_to_target <= EPOCHS
        assert 0 < default.time_to_target <= default.train_time


def test_summary_and_logged_epoch_times(timed) -> None:
    trainer, default, *_ = timed
    folder = Path(trainer.logger.log_dir)
    summary = json.loads((folder / "summary.json").read_text())
    keys = ("train_time_s", "epochs", "epoch_times_s", "fit_time_s", "seconds_per_epoch", "process_time_s")
    for key in (*keys, "peak_memory_gib"):
        assert key in summary
    assert sum(summary["epoch_times_s"]) <= summary["fit_time_s"]
    assert "time/epoch_s" in (folder / "metrics.csv").read_text().splitlines()[0].split(",")


def test_a_resumed_fit_reports_the_whole_run(tmp_path: Path) -> None:
    """Timing keeps its totals in the checkpoint, so a resumed run's summary covers the whole run."""
    data = HEDDataModule(simulated_points=512, noise_copies=2, progress=False, cache_dir=str(tmp_path / "cache"))

    def fit(epochs: int, ckpt_path: str | None = None) -> tuple[L.Trainer, Timing]:
        L.seed_everything(12345)
        model = CNN(spectrum_length=data.spectrum_length, x_axis=data.x_axis, targets=data.targets)
        timing = Timing(monitor="val/loss", target=1e6, mode="min")  # reached at the first validation
        trainer = L.Trainer(
            max_epochs=epochs,
            logger=CSVLogger(tmp_path, name="run"),
            callbacks=[timing, ModelCheckpoint(save_last=True)],
            enable_progress_bar=False,
            enable_model_summary=False,
            num_sanity_val_steps=0,
        )
        trainer.fit(model, datamodule=data, ckpt_path=ckpt_path)
        return trainer, timing

    first, part = fit(2)
    part_train_time, part_fit_time = part.train_time, part._fit_time
    second, whole = fit(3, str(Path(first.checkpoint_callback.last_model_path)))
    summary = json.loads((Path(second.logger.log_dir) / "summary.json").read_text())
    assert summary["epochs"] == 3 and len(summary["epoch_times_s"]) == 3
    assert summary["epoch_times_s"][:2] == pytest.approx(part.epoch_times)
    assert summary["epochs_to_target"] == 1  # reached in the first part, not "1 epoch into the second"
    assert summary["train_time_s"] == pytest.approx(sum(summary["epoch_times_s"]))
    assert summary["train_time_s"] > part_train_time and summary["fit_time_s"] > part_fit_time


def test_the_default_target_follows_the_data() -> None:
    from types import SimpleNamespace

    import torch

    from lightning_spectra.callbacks import Timing
    from lightning_spectra.tasks import ClassificationTask, Targets

    module = SimpleNamespace(device=torch.device("cpu"), task=ClassificationTask(Targets.classes(2)))
    for ordered, monitor in ((True, "val/confidence"), (False, "val/accuracy")):  # the task's series score, score
        timing = Timing()
        timing.on_fit_start(SimpleNamespace(datamodule=SimpleNamespace(ordered=ordered)), module)
        assert timing.monitor == monitor
    given = Timing(monitor="val/loss", target=0.1, mode="min")
    given.on_fit_start(SimpleNamespace(datamodule=SimpleNamespace(ordered=False)), module)
    assert given.monitor == "val/loss"


def test_a_run_that_never_logs_the_default_metric_has_no_target() -> None:
    """A regressor logs no ``val/accuracy``: its summary showed ``target: val/accuracy >= 1.0`` (issue 35)."""
    from types import SimpleNamespace

    import torch

    from lightning_spectra.tasks import ClassificationTask, RegressionTask, Targets

    regressor = SimpleNamespace(device=torch.device("cpu"), task=RegressionTask(Targets.values(["fat"])))
    classifier = SimpleNamespace(device=torch.device("cpu"), task=ClassificationTask(Targets.classes(2)))
    for module, metrics, target in (
        (regressor, {"val/rmse": torch.tensor(0.3)}, None),  # an RMSE has no perfect value: no default target
        (classifier, {"val/accuracy": torch.tensor(0.5)}, "val/accuracy >= 1.0"),
        (classifier, {}, None),  # never logged
    ):
        trainer = SimpleNamespace(datamodule=SimpleNamespace(ordered=False), callback_metrics=metrics, current_epoch=0)
        timing = Timing()
        timing.on_fit_start(trainer, module)
        timing._check_target(trainer)
        assert timing.results()["target"] == target and timing.results()["epochs_to_target"] is None
        resumed = Timing()
        resumed.load_state_dict(timing.state_dict())
        resumed.on_fit_start(trainer, module)
        assert resumed.target_text() == target  # a resumed run keeps knowing what it logged
    given = Timing(monitor="val/rmse", target=0.1, mode="min")  # a target the user asked for is always shown
    given.on_fit_start(SimpleNamespace(datamodule=SimpleNamespace(ordered=False)), regressor)
    assert given.results()["target"] == "val/rmse <= 0.1"
