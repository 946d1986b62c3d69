"""The learning curve every run draws: one row per epoch, the tested epoch marked, and the CLI adds it to every fit."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import lightning.pytorch as L
import numpy as np
import pytest
import torch
from conftest import tiny_args
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger
from torch.utils.data import DataLoader, TensorDataset

from lightning_spectra.callbacks import LearningCurve
from lightning_spectra.plots.learning_curve import plot_learning_curve
from lightning_spectra.runs.tested_weights import checkpoint_epoch

SCORES = (0.2, 0.9, 0.5, 0.4)  # the scripted validation score: best at epoch 1, not the last


class Scripted(L.LightningModule):
    """One weight fitted to zero; its validation logs ``val/score`` from a script, so the best epoch is known."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(1))

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        loss = (self.weight * batch[0]).square().mean()
        self.log("train/loss", loss, on_step=False, on_epoch=True)
        return loss

    def validation_step(self, batch, batch_idx: int) -> None:
        self.log("val/loss", (self.weight * batch[0]).square().mean() + 1.0)

    def on_validation_epoch_end(self) -> None:  # logged after the callbacks' hook of the same name
        self.log("val/score", SCORES[self.current_epoch])

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.1)


def loader() -> DataLoader:
    return DataLoader(TensorDataset(torch.linspace(-1, 1, 8)[:, None]), batch_size=4)


def fit(tmp_path: Path, epochs: int = 4, validate: bool = True, monitor: str | None = "val/score", **kwargs):
    curve = LearningCurve()
    checkpoint = ModelCheckpoint(dirpath=tmp_path / "ckpt", monitor=monitor, mode="max", save_last=True)
    trainer = L.Trainer(
        max_epochs=epochs,
        logger=CSVLogger(tmp_path, name="", version=""),
        callbacks=[curve, checkpoint],
        limit_val_batches=1.0 if validate else 0,
        num_sanity_val_steps=0,
        enable_progress_bar=False,
        enable_model_summary=False,
        log_every_n_steps=1,
    )
    trainer.fit(Scripted(), loader(), loader(), **kwargs)
    return trainer, curve, checkpoint


def rows(path: Path) -> list[dict[str, float]]:
    with open(path, newline="") as f:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]


def logged_epochs(folder: Path, name: str) -> dict[int, float]:
    """``name`` per epoch as Lightning's CSV logger wrote it (its ``epoch`` column)."""
    with open(folder / "metrics.csv", newline="") as f:
        return {int(r["epoch"]): float(r[name]) for r in csv.DictReader(f) if r.get(name)}


def test_one_row_per_epoch_and_the_best_checkpoints_epoch_is_marked(tmp_path: Path) -> None:
    trainer, curve, checkpoint = fit(tmp_path)
    table = rows(tmp_path / "attribution" / "learning_curve.csv")
    best = checkpoint_epoch(checkpoint.best_model_path)
    assert best == 1 and best != len(SCORES) - 1  # the run's best epoch is not its last
    assert [r["epoch"] for r in table] == [0, 1, 2, 3]
    assert [r["epoch"] for r in table if r["tested"] == 1] == [best]
    assert [r["val/score"] for r in table] == pytest.approx(SCORES)
    # the same 0-based epochs as the CSV logger's
    assert [r["train/loss"] for r in table] == pytest.approx(list(logged_epochs(tmp_path, "train/loss").values()))
    assert {int(r["epoch"]): r["val/loss"] for r in table} == pytest.approx(logged_epochs(tmp_path, "val/loss"))
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["learning_curve_tested_epoch"] == best
    assert Path(summary["learning_curve_figure"]) == tmp_path / "figures" / "learning_curve.png"
    assert (tmp_path / "figures" / "learning_curve.png").read_bytes()[:4] == b"\x89PNG"


def test_a_run_without_validation_draws_the_training_loss_and_marks_the_last_epoch(tmp_path: Path) -> None:
    fit(tmp_path, epochs=2, validate=False, monitor=None)
    table = rows(tmp_path / "attribution" / "learning_curve.csv")
    assert [r["epoch"] for r in table] == [0, 1] and [r["tested"] for r in table] == [0, 1]
    assert all(r["train/loss"] > 0 for r in table) and all(np.isnan(r["val/loss"]) for r in table)


def test_a_resumed_fit_keeps_the_epochs_before_it(tmp_path: Path) -> None:
    fit(tmp_path / "first", epochs=2)
    _, curve, _ = fit(tmp_path / "resumed", epochs=4, ckpt_path=str(tmp_path / "first" / "ckpt" / "last.ckpt"))
    assert sorted(curve.history) == [0, 1, 2, 3]
    assert [curve.history[e]["val/score"] for e in range(4)] == pytest.approx(SCORES)
    assert all("train/loss" in curve.history[e] for e in range(4))


def test_the_figure_labels_both_panels_and_the_tested_epoch() -> None:
    epochs = np.arange(4.0)
    fig = plot_learning_curve(epochs, [1.0, 0.6, 0.5, 0.4], [1.1, 0.8, 0.9, 1.0], ("val/rmse", [3, 2, 2.5, 2.8]), 1)
    loss, metric = fig.axes
    assert (loss.get_ylabel(), metric.get_ylabel(), metric.get_xlabel()) == ("loss", "val/rmse", "epoch")
    assert [line.get_label() for line in loss.lines] == ["training loss", "validation loss", "tested weights: epoch 1"]
    for ax in (loss, metric):
        marks = [line for line in ax.lines if line.get_label() == "tested weights: epoch 1"]
        assert len(marks) == 1 and list(marks[0].get_xdata()) == [1, 1]
    np.testing.assert_array_equal(metric.lines[0].get_ydata(), [3, 2, 2.5, 2.8])
    # the monitored metric is the validation loss: no second panel repeats it
    (only,) = plot_learning_curve(epochs, [1.0, 0.6, 0.5, 0.4], [1.1, 0.8, 0.9, 1.0], None, 3).axes
    assert only.get_xlabel() == "epoch" and only.get_ylabel() == "loss"


@pytest.mark.parametrize("listed", [False, True], ids=["added", "listed in the config"])
def test_the_cli_gives_every_fit_one_learning_curve(tmp_path: Path, listed: bool) -> None:
    from lightning_spectra.cli import SpectraCLI

    extra = ["--trainer.callbacks+=lightning_spectra.callbacks.LearningCurve"] if listed else []
    cli = SpectraCLI(tiny_args("fit", tmp_path, "cnn_tiny.yaml", *extra)[1:], run=False)  # built, not run
    cli.before_fit()
    callbacks = cli.trainer.callbacks
    curves = [i for i, c in enumerate(callbacks) if isinstance(c, LearningCurve)]
    checkpoints = [i for i, c in enumerate(callbacks) if isinstance(c, ModelCheckpoint)]
    assert len(curves) == 1
    if not listed:  # before the checkpoint: an epoch's checkpoint holds that epoch's validation numbers
        assert curves[0] < checkpoints[0]
