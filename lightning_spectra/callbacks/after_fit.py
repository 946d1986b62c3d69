"""What a fit ends with, as a callback: a plain ``L.Trainer`` leaves the same run folder as ``lightning-spectra fit``.

:class:`AfterFit` runs once the fit is over (Lightning's ``teardown`` of ``fit``, after every callback's
``on_fit_end``: the learning curve, timings and attribution figures are written by then), in the order the
command line always ran it:

1. refuse a fit that trained nothing (a summary would describe the initial weights);
2. mark the summary ``complete`` with the model's name, size and precision;
3. test the best monitored checkpoint, else the final weights, in float32 (``test=False`` skips it);
4. rank zero, on the tested weights: the task's numbers (:meth:`Task.fit_outputs
   <lightning_spectra.tasks.base.Task.fit_outputs>`), the figures drawn from them and the classical baselines
   of its kind (:func:`fit_outputs`: a task returns numbers, this layer fits and draws);
5. record the test metrics in ``summary.json``, copy the summary to W&B and print it (:func:`report`).

A fresh fit (no ``ckpt_path``) first removes an earlier run's ``summary.json`` from the folder
(:func:`~lightning_spectra.runs.folder.start_summary`). The command line adds this callback to every ``fit``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

import lightning.pytorch as L
import numpy as np
from lightning.pytorch.plugins.precision import Precision
from rich.console import Console
from rich.table import Table

from lightning_spectra.baselines.linear import baseline_summary
from lightning_spectra.callbacks.attribution_logging import log_images
from lightning_spectra.callbacks.regression_outputs import regression_outputs
from lightning_spectra.errors import SpectraRunError
from lightning_spectra.runs.attribution_files import output_dirs
from lightning_spectra.runs.folder import read_summary, run_dir, start_summary, update_summary
from lightning_spectra.runs.tested_weights import checkpoint_epoch, tested_checkpoint
from lightning_spectra.runs.wandb_runs import summary_to_wandb, sync_line
from lightning_spectra.runtime.progress import phase
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
    if trainer.is_global_zero:  # the task's numbers, figures and classical baselines, on the tested weights
        update_summary(trainer, fit_outputs(trainer, model, datamodule))
    report(trainer, model, datamodule, finish_wandb)


def fit_outputs(trainer: L.Trainer, model: L.LightningModule, datamodule: L.LightningDataModule) -> dict:
    """Summary entries a fit ends with: the task's (:meth:`Task.fit_outputs
    <lightning_spectra.tasks.base.Task.fit_outputs>`), the figures of its test (:func:`test_figures`) and the
    classical baselines of its kind (:data:`CLASSICAL`). Rank zero."""
    outputs = model.task.fit_outputs(trainer, model, datamodule)
    outputs |= test_figures(trainer, model, outputs)
    classical = CLASSICAL.get(model.task.name)
    return outputs if classical is None else outputs | classical(trainer, model, datamodule)


def test_outputs(trainer: L.Trainer, model: L.LightningModule) -> dict:
    """Summary entries a ``test`` run ends with: the task's scores of the test that just ran and their figures."""
    outputs = model.task.test_outputs(trainer, model)
    return outputs | test_figures(trainer, model, outputs)


def test_figures(trainer: L.Trainer, model: L.LightningModule, outputs: dict) -> dict:
    """The figures of a test's numbers: the confusion matrix (``figures/confusion_matrix_test.png``, logged to the
    loggers that take images) where the task scored classes. Summary entries: ``confusion_matrix_figure``."""
    matrix = outputs.get("test_confusion_matrix")
    if matrix is None:
        return {}
    from lightning_spectra.plots.confusion import plot_confusion_matrix  # matplotlib loads only when drawing
    from lightning_spectra.plots.figure import save_figure

    name = type(model).__name__
    spectra = sum(sum(row) for row in matrix)
    title = f"{name}: test split, {spectra} spectra\n{tested_weights_caption(trainer)}"
    fig = plot_confusion_matrix(np.asarray(matrix), model.task.class_names, title=title)
    path = save_figure(fig, output_dirs(trainer)[1] / "confusion_matrix_test.png")
    caption = f"{name}, test split: confusion matrix (rows: reference class; shading: share of the row)"
    log_images(trainer, "confusion_matrix/test", [path], [caption])
    return {"confusion_matrix_figure": str(path)}


def tested_weights_caption(trainer: L.Trainer) -> str:
    """``tested weights: epoch 12``: the epoch of the checkpoint the last test loaded, else of the weights the fit
    ended with (``weights as loaded`` when neither is known)."""
    path = trainer.ckpt_path
    if path and Path(path).is_file():
        epoch = checkpoint_epoch(path)
        return "weights as loaded" if epoch is None else f"tested weights: epoch {epoch}"
    if trainer.global_step > 0:
        return f"tested weights: epoch {max(trainer.current_epoch - 1, 0)} (the last)"
    return "weights as loaded"


def class_baselines(trainer: L.Trainer, model: L.LightningModule, datamodule: L.LightningDataModule) -> dict:
    """A classifier's linear and SVC baselines on the same splits, when the datamodule asks (``linear_baseline``)."""
    if not getattr(datamodule, "linear_baseline", False):
        return {}
    train = len(datamodule.splits.train.spectra)
    # seconds to a minute on a few hundred spectra, after training: a line that it runs (issue 35)
    with phase(
        f"classical baselines: logistic regression, PLS-DA and an RBF SVC on the {train} training spectra",
        enabled=trainer.is_global_zero,
    ):
        return baseline_summary(datamodule.splits, seed=datamodule.split_seed)


#: The classical models a fit of each kind of task (:attr:`Task.name <lightning_spectra.tasks.base.Task.name>`)
#: ends with beside the network, as summary entries (and their figures). Here, not in tasks/: they need the
#: baselines, plots and runs, which sit above the tasks. A task not named has none.
CLASSICAL: dict[str, Callable[[L.Trainer, L.LightningModule, L.LightningDataModule], dict]] = {
    "classification": class_baselines,
    "regression": regression_outputs,
}


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
