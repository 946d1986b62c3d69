"""Training time as the paper measures it, kept apart from everything else a run spends time on.

``train_time_s`` sums, over epochs, the wall clock from the start of each training epoch to the end of its
last optimiser step, with the device synchronised at both ends: the forward/backward/step work the paper's
``TrainingProc`` timed. Validation, checkpointing and logging fall outside it and show up in ``fit_time_s``
(the whole fit loop) and ``process_time_s`` (since the Python process started). ``seconds_per_epoch`` is the
fit loop's time per epoch (training, validation, checkpoints): what one more epoch costs a user.
``epochs_to_target`` and ``time_to_target_s`` say when a monitored metric first reached its target: by default
the task's series score for an ordered series (a classifier's confidence on a ramp) and its score for independent
spectra (the accuracy), whose "confidence" means nothing, reaching the task's perfect score. A task without one (a
regressor's RMSE has no perfect value) has no default target: its summary leaves ``target`` out.
Peak memory is the device's peak allocation during fit (GPU) or the process's peak RSS (CPU).

The totals travel in the checkpoint (``state_dict``), so a fit resumed with ``--ckpt_path`` reports the whole
run (every epoch, the epoch the target was first reached, training and fit time of all parts), not its last part.
"""

from __future__ import annotations

import resource
import sys
import time
from typing import Any

import lightning.pytorch as L
import psutil
import torch

from lightning_spectra.runs.folder import update_summary


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class Timing(L.Callback):
    """Wall-clock training time, per-epoch times, time and epochs to a target, and peak memory.

    Args:
        monitor: metric whose first arrival at ``target`` is timed; default ``val/confidence`` when the
            datamodule's data are ``ordered``, else ``val/accuracy``; that default is left out of the results of a
            run that never logs it (a regressor).
        target: value to reach; ``mode`` says whether higher or lower is better.
    """

    def __init__(self, monitor: str | None = None, target: float = 1.0, mode: str = "max") -> None:
        self.monitor, self.target, self.mode = monitor, target, mode
        self._monitor_given = monitor is not None
        self.epoch_times: list[float] = []
        self.train_time = 0.0
        self.time_to_target: float | None = None
        self.epochs_to_target: int | None = None
        self.monitor_logged = False  # whether the run ever logged ``monitor``
        self._fit_time: float | None = None  # set when fit ends
        self._fit_time_before = 0.0  # fit time of the earlier parts of a resumed run
        self._restored = False
        self._device = torch.device("cpu")

    @property
    def state_key(self) -> str:
        return self._generate_state_key(
            monitor=self.monitor if self._monitor_given else None, target=self.target, mode=self.mode
        )

    def state_dict(self) -> dict[str, Any]:
        fit_so_far = self._fit_time_before + (
            time.perf_counter() - self._fit_start if hasattr(self, "_fit_start") else 0
        )
        return {
            "epoch_times": list(self.epoch_times),
            "train_time": self.train_time,
            "time_to_target": self.time_to_target,
            "epochs_to_target": self.epochs_to_target,
            "monitor_logged": self.monitor_logged,
            "fit_time": fit_so_far,
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Lightning calls this before ``on_fit_start`` when a fit resumes from a checkpoint."""
        self.epoch_times = list(state_dict["epoch_times"])
        self.train_time = state_dict["train_time"]
        self.time_to_target, self.epochs_to_target = state_dict["time_to_target"], state_dict["epochs_to_target"]
        self._fit_time_before = state_dict.get("fit_time", 0.0)
        self.monitor_logged = state_dict.get("monitor_logged", self.epochs_to_target is not None)
        self._restored = True

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not self._restored:  # a fresh fit; a resumed one goes on from the checkpoint's totals
            self.epoch_times, self.train_time = [], 0.0
            self.time_to_target = self.epochs_to_target = None
            self.monitor_logged = False
            self._fit_time_before = 0.0
        self._restored = False
        if not self._monitor_given:
            ordered = trainer.datamodule is not None and trainer.datamodule.ordered
            task = pl_module.task  # the task's score; of an ordered series its series score (the confidence)
            name = (ordered and task.series_score_key) or task.score_key
            # only a score with a perfect value has a default target (a regressor's RMSE has none)
            self.monitor = f"val/{name}" if task.perfect_score is not None else None
            self.mode = task.metrics[name] or self.mode
        self._device = pl_module.device
        if self._device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self._device)
        _sync(self._device)
        self._fit_start = time.perf_counter()

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        _sync(self._device)
        self._epoch_start = time.perf_counter()
        self._epoch_end = self._epoch_start

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *args) -> None:
        _sync(self._device)
        self._epoch_end = time.perf_counter()

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        elapsed = self._epoch_end - self._epoch_start
        self.epoch_times.append(elapsed)
        self.train_time += elapsed
        pl_module.log("time/epoch_s", elapsed, on_epoch=True, rank_zero_only=True)
        self._check_target(trainer)  # metrics of a validation run at this epoch's end are available now

    def _check_target(self, trainer: L.Trainer) -> None:
        value = trainer.callback_metrics.get(self.monitor)
        self.monitor_logged |= value is not None
        if self.epochs_to_target is not None or value is None:
            return
        reached = float(value) >= self.target if self.mode == "max" else float(value) <= self.target
        if reached:
            self.epochs_to_target = trainer.current_epoch + 1
            self.time_to_target = self.train_time

    def target_text(self) -> str | None:
        """``val/accuracy >= 1.0``; None for the default monitor where the run never logged it (a regressor's
        summary showed a classification target it could never reach)."""
        if not (self._monitor_given or self.monitor_logged):
            return None
        return f"{self.monitor} {'>=' if self.mode == 'max' else '<='} {self.target}"

    def peak_memory_gib(self) -> float:
        if self._device.type == "cuda":
            return torch.cuda.max_memory_allocated(self._device) / 2**30
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
        return peak / (2**30 if sys.platform == "darwin" else 2**20)

    def seconds_per_epoch(self) -> float | None:
        """The fit loop's wall time per epoch (None before the fit ends or without an epoch)."""
        if self._fit_time is None or not self.epoch_times:
            return None
        return self._fit_time / len(self.epoch_times)

    def results(self) -> dict[str, float | int | None]:
        return {
            "train_time_s": self.train_time,
            "epochs": len(self.epoch_times),
            "epoch_times_s": self.epoch_times,
            "fit_time_s": self._fit_time,
            "seconds_per_epoch": self.seconds_per_epoch(),
            "process_time_s": time.time() - psutil.Process().create_time(),
            "epochs_to_target": self.epochs_to_target,
            "time_to_target_s": self.time_to_target,
            "target": self.target_text(),
            "peak_memory_gib": self.peak_memory_gib(),
            "memory_allocated_gib": (
                torch.cuda.memory_allocated(self._device) / 2**30 if self._device.type == "cuda" else None
            ),
            "device": str(self._device) if self._device.type != "cuda" else torch.cuda.get_device_name(self._device),
        }

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        _sync(self._device)
        self._fit_time = self._fit_time_before + time.perf_counter() - self._fit_start
        results = self.results()
        for logger in trainer.loggers:
            logger.log_metrics(
                {f"time/{k}": v for k, v in results.items() if isinstance(v, int | float) and not isinstance(v, bool)},
                step=trainer.global_step,
            )
        update_summary(trainer, results)
