"""Callbacks that tests put into real runs (also in subprocesses, via PYTHONPATH=tests)."""

from __future__ import annotations

import json
import os
import signal

import lightning.pytorch as L

from lightning_spectra.runs.folder import run_dir


class KillAtEpoch(L.Callback):
    """SIGKILL the process when epoch ``epoch`` starts: no clean-up runs, as when a node dies."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.current_epoch == self.epoch:
            os.kill(os.getpid(), signal.SIGKILL)


class RecordTrainingPositions(L.Callback):
    """Write the positions of the training spectra each rank saw to ``seen-rank<r>.json``."""

    def __init__(self) -> None:
        self.seen: list[int] = []

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch, batch_idx: int) -> None:
        if trainer.current_epoch == 0:
            self.seen.extend(batch[2].tolist())

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        path = run_dir(trainer) / f"seen-rank{trainer.global_rank}.json"
        path.write_text(json.dumps({"rank": trainer.global_rank, "world": trainer.world_size, "seen": self.seen}))


class SigtermAtEpoch(L.Callback):
    """Send this process SIGTERM when epoch ``epoch`` starts, as a scheduler's time limit does."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.current_epoch == self.epoch:
            os.kill(os.getpid(), signal.SIGTERM)
