"""Every run's learning curve: training and validation loss and the monitored metric per epoch, with the epoch whose
weights the run tests marked.

The CSV log holds the same numbers, but scattered over step rows and columns; a scientist judging a run wants one
picture that shows whether it over- or under-fitted and which point of the curve its test, predictions and maps
describe. Recorded from ``trainer.callback_metrics``: the losses and a validation-stage metric when each
validation ends (before the checkpoint of that epoch is written), the training loss (and a ``train/`` metric) when
each training epoch ends. Epochs are Lightning's, 0-based, as in the checkpoint and the CSV log. The record is
saved in checkpoints, so a resumed fit draws its whole curve.

Files when ``fit`` ends (rank zero): ``<run dir>/attribution/learning_curve.csv`` (one row per epoch; ``tested``
is 1 on the marked epoch) and ``<run dir>/figures/learning_curve.png``, whose path goes into ``summary.json`` as
``learning_curve_figure`` (the marked epoch as ``learning_curve_tested_epoch``). The CLI adds this callback to
every ``fit`` whose config does not list one.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import lightning.pytorch as L
import numpy as np
from lightning.pytorch.utilities import rank_zero_only

from lightning_spectra.callbacks.attribution_logging import log_images
from lightning_spectra.runs.attribution_files import output_dirs, write_table
from lightning_spectra.runs.folder import update_summary
from lightning_spectra.runs.tested_weights import checkpoint_epoch, tested_checkpoint

TRAIN_LOSS = "train/loss"
VAL_LOSS = "val/loss"


class LearningCurve(L.Callback):
    """Record the losses and the monitored metric per epoch; draw and write them when ``fit`` ends.

    Args:
        monitor: the metric drawn below the losses. Default: the checkpoint's ``monitor`` (what chooses the
            tested weights), else the task's validation score (``val/accuracy``, ``val/rmse``).
    """

    def __init__(self, monitor: str | None = None) -> None:
        self.monitor = monitor
        self.history: dict[int, dict[str, float]] = {}

    # ------------------------------------------------------------------ recording
    def metric_name(self, trainer: L.Trainer, pl_module: L.LightningModule) -> str | None:
        """The metric of the lower panel (see ``monitor``); ``None`` when there is none to draw."""
        if self.monitor:
            return self.monitor
        monitored = getattr(trainer.checkpoint_callback, "monitor", None)
        if monitored:
            return str(monitored)
        score = getattr(getattr(pl_module, "task", None), "score_key", None)
        return f"val/{score}" if score else None

    def _record(self, trainer: L.Trainer, names: list[str]) -> None:
        row = self.history.setdefault(int(trainer.current_epoch), {})
        for name in names:
            value = trainer.callback_metrics.get(name)
            if value is not None:
                row[name] = float(value)

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking or trainer.state.fn != "fit":
            return
        metric = self.metric_name(trainer, pl_module)
        self._record(trainer, [VAL_LOSS] + ([metric] if metric and not metric.startswith("train/") else []))

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # A validation-stage metric is not read here: in an epoch without validation it would be the last one's.
        metric = self.metric_name(trainer, pl_module)
        self._record(trainer, [TRAIN_LOSS] + ([metric] if metric and metric.startswith("train/") else []))

    def state_dict(self) -> dict[str, Any]:
        return {"history": {epoch: dict(row) for epoch, row in self.history.items()}}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.history = {int(epoch): dict(row) for epoch, row in state_dict.get("history", {}).items()}

    # ------------------------------------------------------------------ the outputs
    def tested_epoch(self, trainer: L.Trainer) -> int | None:
        """The epoch of the weights the run tests: the monitored best checkpoint's, else the last recorded."""
        path = tested_checkpoint(trainer)
        if path is not None and Path(path).is_file():
            epoch = checkpoint_epoch(path)
            if epoch is not None:
                return epoch
        return max(self.history) if self.history else None

    def table(self, metric: str | None) -> dict[str, np.ndarray]:
        """One row per recorded epoch: ``epoch``, the losses, the metric (NaN where not measured)."""
        epochs = sorted(self.history)
        names = [TRAIN_LOSS, VAL_LOSS] + ([metric] if metric and metric not in (TRAIN_LOSS, VAL_LOSS) else [])
        columns = {"epoch": np.asarray(epochs, dtype=float)}
        for name in names:
            columns[name] = np.asarray([self.history[e].get(name, math.nan) for e in epochs], dtype=float)
        return columns

    @rank_zero_only
    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not self.history:
            return
        from lightning_spectra.plots.figure import save_figure  # matplotlib loads only when a figure is drawn
        from lightning_spectra.plots.learning_curve import plot_learning_curve

        metric = self.metric_name(trainer, pl_module)
        columns = self.table(metric)
        tested = self.tested_epoch(trainer)
        columns["tested"] = (columns["epoch"] == tested).astype(float)
        arrays, figures = output_dirs(trainer)
        csv = write_table(arrays / "learning_curve.csv", columns)
        val_loss = columns[VAL_LOSS] if np.isfinite(columns[VAL_LOSS]).any() else None
        drawn = metric if metric in columns and metric not in (TRAIN_LOSS, VAL_LOSS) else None
        name = type(pl_module).__name__
        fig = plot_learning_curve(
            columns["epoch"],
            columns[TRAIN_LOSS],
            val_loss,
            (drawn, columns[drawn]) if drawn else None,
            tested,
            title=f"{name}: learning curve",
        )
        png = save_figure(fig, figures / "learning_curve.png")
        what = "training and validation loss" if val_loss is not None else "training loss"
        caption = f"{name}: {what}{f' and {drawn}' if drawn else ''} per epoch; tested weights: epoch {tested}"
        log_images(trainer, "learning_curve", [png], [caption])
        update_summary(
            trainer,
            {"learning_curve_figure": str(png), "learning_curve_csv": str(csv), "learning_curve_tested_epoch": tested},
        )
