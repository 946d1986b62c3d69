"""The command line: ``python train.py fit|test|predict|validate --config configs/<model>.yaml``.

A thin LightningCLI over the base classifier and base datamodule (any subclass can be named in a config).
The datamodule's spectrum length, class count and x axis are linked into the model, so configs never repeat
them. ``fit`` ends by classifying the test series with the final weights (the paper's evaluation) and
both ``fit`` and ``test`` print a short summary and leave ``summary.json`` in the run's log folder.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from lightning.pytorch.cli import LightningCLI

from lightning_spectra.data.base import SpectraDataModule
from lightning_spectra.data.errors import SpectraDataError
from lightning_spectra.logging import quiet_wandb_without_account, summary_to_wandb
from lightning_spectra.models.base import SpectraClassifier
from lightning_spectra.run_dir import read_summary, run_dir, update_summary

REGRESSION_LINKS = ("task", "target_names", "target_mean", "target_scale")
SERIES_ONLY = ("confidence", "boundary", "true_boundary", "epochs_to_target")
SUMMARY_FIELDS = (
    ("model", "model", "{}"),
    ("trainable_parameters", "trainable parameters", "{:,}"),
    ("confidence", "classification confidence", "{:.2%}"),
    ("boundary", "boundary (last index of class 0)", "{:.0f}"),
    ("true_boundary", "true boundary", "{:.0f}"),
    ("accuracy", "accuracy", "{:.2%}"),
    ("rmse", "RMSE (test)", "{:.4g}"),
    ("mae", "MAE (test)", "{:.4g}"),
    ("r2", "R^2 (test)", "{:.4f}"),
    ("bias", "bias (test)", "{:.4g}"),
    ("rpd", "RPD = SD / RMSE (test)", "{:.3f}"),
    ("pls_components", "PLS baseline: components (CV on train)", "{}"),
    ("pls_rmse", "PLS baseline: RMSE (test)", "{:.4g}"),
    ("pls_r2", "PLS baseline: R^2 (test)", "{:.4f}"),
    ("pls_rpd", "PLS baseline: RPD (test)", "{:.3f}"),
    ("train_time_s", "training time (s)", "{:.3f}"),
    ("epochs", "epochs", "{}"),
    ("epochs_to_target", "epochs to 100% val confidence", "{}"),
    ("peak_memory_gib", "peak memory (GiB)", "{:.2f}"),
    ("device", "device", "{}"),
)


class SpectraCLI(LightningCLI):
    def __init__(
        self, args: Sequence[str] | None = None, run: bool = True, finish_wandb: bool = True, **kwargs
    ) -> None:
        """``finish_wandb=False`` leaves W&B runs open for a caller that logs more to them (sweep trials)."""
        self.finish_wandb = finish_wandb
        # cuBLAS needs this before CUDA starts for deterministic=True; harmless elsewhere.
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        quiet_wandb_without_account()
        super().__init__(
            SpectraClassifier,
            SpectraDataModule,
            subclass_mode_model=True,
            subclass_mode_data=True,
            seed_everything_default=12345,
            save_config_kwargs={"overwrite": True},
            args=args,
            run=run,
            **kwargs,
        )

    def add_arguments_to_parser(self, parser) -> None:
        parser.add_argument(
            "--test_after_fit",
            type=bool,
            default=True,
            help="classify the test series with the final weights when fit ends",
        )
        for name in ("spectrum_length", "num_classes", "x_axis", "class_names"):
            parser.link_arguments(f"data.{name}", f"model.init_args.{name}", apply_on="instantiate")
        for name in REGRESSION_LINKS:  # the task and the targets' names and training statistics
            parser.link_arguments(f"data.{name}", f"model.init_args.{name}", apply_on="instantiate")

    def after_fit(self) -> None:
        update_summary(
            self.trainer,
            {"model": type(self.model).__name__, "trainable_parameters": self.model.num_trainable_parameters},
        )
        if self.config[self.subcommand].get("test_after_fit", True):
            self.trainer.test(self.model, datamodule=self.datamodule, verbose=False)
        if getattr(self.datamodule, "task", "classification") == "regression" and self.trainer.is_global_zero:
            from lightning_spectra.regression_report import regression_outputs  # PLS baseline and figures

            update_summary(self.trainer, regression_outputs(self.trainer, self.model, self.datamodule))
        self.report()

    def after_test(self) -> None:
        update_summary(
            self.trainer,
            {"model": type(self.model).__name__, "trainable_parameters": self.model.num_trainable_parameters},
        )
        self.report()

    def report(self) -> None:
        """Print the run's summary (rank zero only) and record the test metrics in it."""
        logged = self.trainer.callback_metrics
        metrics = {k.removeprefix("test/"): v for k, v in logged.items() if k.startswith("test/")}
        update_summary(self.trainer, metrics)
        if self.trainer.is_global_zero:
            summary = read_summary(self.trainer)
            summary_to_wandb(self.trainer.loggers, summary, finish=self.finish_wandb)
            if not getattr(self.datamodule, "ordered", True):  # independent samples: no state change to report
                summary = {k: v for k, v in summary.items() if k not in SERIES_ONLY}
            print_summary(summary, run_dir(self.trainer))


def print_summary(summary: dict, folder) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="lightning-spectra run summary", show_header=False)
    for key, label, fmt in SUMMARY_FIELDS:
        if summary.get(key) is not None:
            table.add_row(label, fmt.format(summary[key]))
    table.add_row("summary file", str(folder / "summary.json"))
    Console(stderr=False).print(table)


def main(args: Sequence[str] | None = None) -> None:
    """Entry point; bad input data ends the program with one clear line instead of a traceback."""
    try:
        SpectraCLI(args=args)
    except SpectraDataError as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":  # python -m lightning_spectra.cli fit ... works where train.py is not at hand
    main()
