"""What a fit ends with, as a callback: a plain ``L.Trainer`` leaves the same run folder as ``lightning-spectra fit``.

:class:`AfterFit` runs once the fit is over (Lightning's ``teardown`` of ``fit``, after every callback's
``on_fit_end``: the learning curve, timings and attribution figures are written by then), in the order the
command line always ran it:

1. refuse a fit that trained nothing (a summary would describe the initial weights);
2. mark the summary ``complete`` with the model's name, size and precision;
3. test the best monitored checkpoint, else the final weights, in float32 (``test=False`` skips it);
4. rank zero: the task's classical baselines and figures (:meth:`Task.fit_outputs
   <lightning_spectra.tasks.base.Task.fit_outputs>`) on the tested weights;
5. record the test metrics in ``summary.json``, copy the summary to W&B and print it (:func:`report`).

A fresh fit (no ``ckpt_path``) first removes an earlier run's ``summary.json`` from the folder
(:func:`~lightning_spectra.runs.folder.start_summary`). The command line adds this callback to every ``fit``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import lightning.pytorch as L
from lightning.pytorch.plugins.precision import Precision
from rich.console import Console
from rich.table import Table

from lightning_spectra.errors import SpectraRunError
from lightning_spectra.runs.folder import read_summary, run_dir, start_summary, update_summary
from lightning_spectra.runs.tested_weights import tested_checkpoint
from lightning_spectra.runs.wandb_runs import summary_to_wandb, sync_line
from lightning_spectra.tasks.base import SummaryField, Task

#: Summary entries of a series' state change, left out of the printed summary for independent samples.
SERIES_ONLY = ("confidence", "boundary", "true_boundary")
#: The summary lines every run has, before and after its task's own (:meth:`Task.summary_fields
#: <lightning_spectra.tasks.base.Task.summary_fields>`).
COMMON_FIELDS_FIRST: tuple[SummaryField, ...] = (
    ("model", "model", "{}"),
    ("trainable_parameters", "trainable parameters", "{:,}"),
)
COMMON_FIELDS_LAST: tuple[SummaryField, ...] = (
    ("train_time_s", "training time (s)", "{:.3f}"),
    ("epochs", "epochs", "{}"),
    ("epochs_to_target", "epochs to target", "{}"),
    ("target", "target", "{}"),
    ("peak_memory_gib", "peak memory (GiB)", "{:.2f}"),
    ("device", "device", "{}"),
    ("precision", "precision", "{}"),
)


class AfterFit(L.Callback):
    """The test, baselines, figures and summary a fit ends with (see the module's text for the order).

    Args:
        test: classify the test split with the tested weights when fit ends (the CLI's ``--test_after_fit``).
        finish_wandb: finish the W&B runs after copying the summary into them; ``False`` leaves them open for a
            caller that logs more (a sweep trial).
    """

    def __init__(self, test: bool = True, finish_wandb: bool = True) -> None:
        self.test = test
        self.finish_wandb = finish_wandb

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # Here and not in setup: Lightning knows whether it resumes (trainer.ckpt_path) only once it has restored.
        if trainer.ckpt_path is None:  # a fresh fit: none of an earlier run's summary
            start_summary(trainer)

    def teardown(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        # teardown, not on_fit_end: the test below is a run of its own, and must follow every callback's fit end.
        # It also calls this hook (stage "test"), which does nothing.
        if stage == "fit":
            after_fit(trainer, pl_module, trainer.datamodule, test=self.test, finish_wandb=self.finish_wandb)


def after_fit(
    trainer: L.Trainer,
    model: L.LightningModule,
    datamodule: L.LightningDataModule,
    test: bool = True,
    finish_wandb: bool = True,
) -> None:
    """Steps 1 to 5 of the module's text, for ``model`` just fitted by ``trainer`` on ``datamodule``."""
    trains = getattr(model, "trains_by_gradient", True)  # a classical calibration is fitted in closed form
    if trains and trainer.global_step == 0:  # nothing trained: a summary would describe the initial weights
        raise SpectraRunError("fit ran no training step (is trainer.limit_train_batches 0?); the model is untrained")
    update_summary(
        trainer,
        {
            "model": type(model).__name__,
            "trainable_parameters": model.num_trainable_parameters,
            "precision": trainer.precision,
            "complete": True,  # a fit stopped by SIGTERM says False (callbacks/interrupted.py)
        },
    )
    if test:
        # A checkpoint that monitors a metric (the users' recipe: val/loss) holds the best weights: test those.
        # (the attribution callbacks explained the same weights: runs/tested_weights.py)
        ckpt = "best" if tested_checkpoint(trainer) else None
        with float32_evaluation(trainer):
            trainer.test(model, datamodule=datamodule, verbose=False, ckpt_path=ckpt)
    if trainer.is_global_zero:  # the task's classical baselines and figures, on the tested weights
        update_summary(trainer, model.task.fit_outputs(trainer, model, datamodule))
    report(trainer, model, datamodule, finish_wandb)


def report(
    trainer: L.Trainer, model: L.LightningModule, datamodule: L.LightningDataModule, finish_wandb: bool = True
) -> None:
    """Record the test metrics in the run's summary, then (rank zero) copy it to W&B and print it."""
    logged = trainer.callback_metrics
    metrics = {k.removeprefix("test/"): v for k, v in logged.items() if k.startswith("test/")}
    update_summary(trainer, metrics)
    if not trainer.is_global_zero:
        return
    summary = read_summary(trainer)
    offline = summary_to_wandb(trainer.loggers, summary, finish_wandb, run_dir(trainer))
    if not getattr(datamodule, "ordered", True):  # independent samples: no state change to report
        summary = {k: v for k, v in summary.items() if k not in SERIES_ONLY}
    summary.update(model.task.versus_baselines(summary))
    print_summary(summary, run_dir(trainer), model.task)
    for folder in offline:  # last, where a user looks once the run ends
        print(sync_line(folder), flush=True)


@contextlib.contextmanager
def float32_evaluation(trainer: L.Trainer) -> Iterator[None]:
    """The test after ``fit`` in float32, as a later ``test`` runs (automatic bf16 is for training only): the
    summary's test numbers then equal what ``test --ckpt_path`` reports for the same weights."""
    if not str(trainer.precision).startswith("bf16"):
        yield
        return
    trained_in = trainer.strategy.precision_plugin
    trainer.strategy.precision_plugin = Precision()
    try:
        yield
    finally:
        trainer.strategy.precision_plugin = trained_in


def print_summary(summary: dict, folder, task: Task) -> None:
    """The run's summary as a table: the common lines around the task's own, and where the file is."""
    table = Table(title="lightning-spectra run summary", show_header=False)
    for key, label, fmt in (*COMMON_FIELDS_FIRST, *task.summary_fields(), *COMMON_FIELDS_LAST):
        if summary.get(key) is not None:
            table.add_row(label, fmt.format(summary[key]))
    table.add_row("summary file", str(folder / "summary.json"))
    Console(stderr=False).print(table)
