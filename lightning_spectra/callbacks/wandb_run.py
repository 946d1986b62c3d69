"""Summarise each metric of a W&B run by its best value: the lowest loss and RMSE, the highest accuracy and
confidence, so that runs compare by what they reached, not by where their last epoch happened to end.

Added by the command line to every run that logs to W&B (:func:`~lightning_spectra.runs.wandb_runs.
complete_wandb_loggers`); it must act before the first metric is logged, hence a callback.
"""

from __future__ import annotations

import lightning.pytorch as L

from lightning_spectra.tasks import TASKS


def best_summaries() -> dict[str, str]:
    """Per-epoch metrics (``train/`` and ``val/``) and the summary W&B keeps of each: the loss's minimum and
    every registered task's scored metrics by their direction."""
    return {"loss": "min"} | {name: d for task in TASKS.values() for name, d in task.scored_metrics().items()}


class WandbRun(L.Callback):
    """``define_metric`` on every ``WandbLogger``'s run when a fit, validation or test starts."""

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        from lightning.pytorch.loggers import WandbLogger

        for logger in trainer.loggers:
            if not isinstance(logger, WandbLogger):
                continue
            run = logger.experiment
            for split in ("train", "val"):
                for name, summary in best_summaries().items():
                    # the step axis Lightning's logger sets for "*", which a metric's own definition replaces
                    run.define_metric(f"{split}/{name}", summary=summary, step_metric="trainer/global_step")
