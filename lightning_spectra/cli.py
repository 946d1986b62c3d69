"""The command line: ``python train.py fit|test|predict|validate --config configs/<model>.yaml``.

A thin LightningCLI over the base classifier and base datamodule (any subclass can be named in a config).
The datamodule's spectrum length, x axis and description of the targets are linked into the model, so configs
never repeat them. ``fit`` ends by classifying the test series with the final weights (the paper's evaluation)
and with what the model's task adds (classical baselines, figures); both ``fit`` and ``test`` print a short
summary and leave ``summary.json`` in the run's log folder. What ``fit`` ends with is the callback
:class:`~lightning_spectra.callbacks.after_fit.AfterFit`, which a plain ``L.Trainer`` can use too.
"""

from __future__ import annotations

import os
import re
import sys
import warnings
from argparse import ArgumentError
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from jsonargparse import Namespace
from lightning.pytorch.callbacks import Checkpoint
from lightning.pytorch.cli import LightningCLI, _InstantiatorFn
from lightning.pytorch.utilities import rank_zero_warn
from lightning.pytorch.utilities.exceptions import SIGTERMException

from lightning_spectra.callbacks.after_fit import AfterFit, report, test_outputs
from lightning_spectra.callbacks.finite_loss import FiniteLoss
from lightning_spectra.callbacks.interrupted import SIGTERM_STATUS, SigtermCheckpoint
from lightning_spectra.callbacks.learning_curve import LearningCurve
from lightning_spectra.callbacks.onnx_predictions import (
    PREDICT_ENGINES,
    OnnxPredictions,
    choose_engine,
    onnx_obstacle,
)
from lightning_spectra.data.base import SpectraDataModule
from lightning_spectra.data.read_line import read_line
from lightning_spectra.errors import SpectraConfigError, SpectraRunError, find_data_error, one_line_failures
from lightning_spectra.models.base import DATAMODULE_FACTS, SpectraClassifier
from lightning_spectra.runs.checkpoint import (
    SPECIAL_CKPT_PATHS,
    TrainedModel,
    check_weights_fit,
    checked_weights_only,
    find_special_checkpoint,
    no_special_checkpoint,
    read_trained_model,
)
from lightning_spectra.runs.folder import run_dir, update_summary
from lightning_spectra.runs.predict_folder import (
    PREDICT_FOLDER,
    claim,
    point_logger_at,
    redirects,
    run_of_checkpoint,
)
from lightning_spectra.runs.wandb_runs import complete_wandb_loggers, quiet_wandb_without_account
from lightning_spectra.runtime.config_checks import (
    argument_error_line,
    callback_entries,
    check_accelerator,
    check_config_files,
    check_devices,
    check_numbers,
    check_val_check_interval,
    class_path,
)
from lightning_spectra.runtime.console import quiet_console
from lightning_spectra.runtime.cpu_memory import keep_freed_memory
from lightning_spectra.runtime.precision import auto_precision, configured_model_class, runs_on_cpu
from lightning_spectra.runtime.shipped_files import config_args

PROGRESS_BAR = "lightning_spectra.runtime.progress.SpectraProgressBar"
CHECKPOINT_IO = "lightning_spectra.runs.atomic_checkpoints.AtomicCheckpointIO"
#: Subcommands that only use weights, and what they would do without ``--ckpt_path``: Lightning runs them on the
#: model as built (random weights) and exits 0. ``validate`` is left to Lightning, as a check of a config.
NEEDS_WEIGHTS = {"test": "it would score", "predict": "it would write the predictions of"}


class SpectraCLI(LightningCLI):
    def __init__(
        self, args: Sequence[str] | None = None, run: bool = True, finish_wandb: bool = True, **kwargs
    ) -> None:
        """``finish_wandb=False`` leaves W&B runs open for a caller that logs more to them (sweep trials).

        A bad option or config raises :class:`SpectraConfigError` with one line naming it (the parser's usage
        dump is left to ``--help``)."""
        self.finish_wandb = finish_wandb
        # cuBLAS needs this before CUDA starts for deterministic=True; harmless elsewhere.
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        quiet_wandb_without_account()
        quiet_console()
        if args is None:  # `--config cnn` names a shipped config; LightningCLI reads sys.argv itself
            sys.argv[1:] = config_args(sys.argv[1:])
        elif isinstance(args, list | tuple):
            args = config_args(args)
        kwargs["parser_kwargs"] = {"exit_on_error": False, **kwargs.get("parser_kwargs", {})}
        try:
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
        except ArgumentError as err:
            if find_data_error(err) is not None:  # a datamodule's or model's own check, wrapped by the parser
                raise
            raise SpectraConfigError(argument_error_line(str(err), self._known_keys())) from err

    def _known_keys(self) -> list[str]:
        """Every option the subcommands take (the nearest is suggested for a misspelt one)."""
        parsers = getattr(self, "_subcommand_parsers", {}).values()
        return sorted({action.dest for parser in parsers for action in parser._actions if "." in action.dest})

    def add_arguments_to_parser(self, parser) -> None:
        parser.add_argument(
            "--test_after_fit",
            type=bool,
            default=True,
            help="classify the test series with the final weights when fit ends",
        )
        parser.add_argument(
            "--predict_engine",
            type=Literal[PREDICT_ENGINES],
            default="auto",
            help="predict: the network in PyTorch (torch), on ONNX Runtime after an export at start (onnx), or "
            "the faster measured end to end (auto: PyTorch; BENCHMARKS.md)",
        )
        for name in DATAMODULE_FACTS:  # the spectra's length and axis, and what the targets are
            parser.link_arguments(f"data.{name}", f"model.init_args.{name}", apply_on="instantiate")

    def before_instantiate_classes(self) -> None:
        """Check the accelerator and devices before anything is built (the numeric options were checked as
        soon as they were parsed); unset
        ``trainer.precision``: bf16 autocast on CPUs with native bf16 for the classifiers measured faster in it,
        else float32 (:mod:`lightning_spectra.runtime.precision`); on the CPU, freed memory
        kept for reuse (:mod:`lightning_spectra.runtime.cpu_memory`); a readable bar; checkpoints written atomically."""
        config = self.config[self.subcommand] if self.subcommand else self.config
        trainer = config["trainer"]
        check_accelerator(trainer.get("accelerator", "auto"))
        check_devices(trainer.get("devices", "auto"))
        complete_wandb_loggers(config)  # LIGHTNING_SPECTRA_WANDB, and runs named for comparison (docs/dashboard.md)
        self.predict_folder = self._predict_into_the_run(trainer)
        data = config.get("data") or {}
        task = (data.get("init_args") or {}).get("task") if hasattr(data, "get") else None
        model = configured_model_class((config.get("model") or {}).get("class_path"))
        if self.subcommand not in (None, "fit"):  # predictions keep float32: bf16 moves probabilities by ~1e-3
            task = "inference"
        # Handed to the Trainer, not written into the config: a run's saved config.yaml keeps the user's setting,
        # so `predict --config <run>/config.yaml` resolves its own precision (float32) instead of the fit's.
        self.precision = auto_precision(trainer.get("precision"), trainer.get("accelerator", "auto"), model, task)
        if runs_on_cpu(trainer.get("accelerator", "auto")):
            keep_freed_memory()
        callbacks = callback_entries(trainer.get("callbacks"))
        if trainer.get("enable_progress_bar") is not False and not any(
            "ProgressBar" in class_path(c) for c in callbacks
        ):  # Lightning's own bar reads 0.00it/s when a full-batch step takes seconds
            trainer.callbacks = [*callbacks, Namespace(class_path=PROGRESS_BAR, init_args=Namespace())]
        plugins = callback_entries(trainer.get("plugins"))
        if not any("CheckpointIO" in class_path(p) for p in plugins):  # a full disk must not leave half a file
            trainer.plugins = [*plugins, Namespace(class_path=CHECKPOINT_IO, init_args=Namespace())]
        # Replaces Lightning's instantiator of the datamodule (same class, same key) by one that wraps it.
        self.parser.add_instantiator(self._build_datamodule, SpectraDataModule, subclasses=True)

    def _predict_into_the_run(self, trainer: Namespace) -> Path | None:
        """``predict`` with a run's checkpoint logs into ``<run>/predict`` rather than a new version folder that
        would pass for a training run (:mod:`lightning_spectra.runs.predict_folder`); returns that folder."""
        if self.subcommand != "predict" or self.trained is None or not redirects(trainer.get("logger")):
            return None
        run = run_of_checkpoint(self.trained.path)
        if run is None:
            return None
        point_logger_at(trainer.get("logger"), run / PREDICT_FOLDER)
        return run / PREDICT_FOLDER

    def _build_datamodule(self, class_type: type, *args, applied_instantiation_links: dict, **kwargs):
        """The datamodule as Lightning builds it (the config saved as its hyperparameters), handed the
        checkpoint's :class:`TrainedModel` at once: the parser reads the datamodule's sizes and class names for
        the model right after this returns, and with a checkpoint they must be the checkpoint's."""
        build = _InstantiatorFn(cli=self, key="data")
        datamodule = build(class_type, *args, applied_instantiation_links=applied_instantiation_links, **kwargs)
        if self.trained is not None:
            datamodule.serve(self.trained)
        return datamodule

    def parse_arguments(self, parser, args) -> None:
        """Parse, then read and check ``--ckpt_path`` before Lightning loads it (it would fail on a damaged file
        with a bare traceback, and import the model class the file names); ``test`` and ``predict`` without it
        are refused (:data:`NEEDS_WEIGHTS`).

        The checkpoint is trusted for data only: its model class must be the configured one, ``weights_only``
        stays true unless the user opted in (:func:`~lightning_spectra.runs.checkpoint.checked_weights_only`), and
        ``last``/``best`` are resolved to their file once the trainer exists (:meth:`instantiate_classes`).
        """
        super().parse_arguments(parser, args)
        subcommand = self.config.get("subcommand")
        # before LightningCLI seeds (next, in its __init__): it raises a bare ValueError on a seed out of range
        check_numbers(self.config[subcommand] if subcommand else self.config)
        self.trained, self.special_ckpt_path, self.weights_only = None, None, None
        if not subcommand:
            return
        settings = self.config[subcommand]
        # The same rule for fit (resume), validate, test and predict; handed to Lightning in instantiate_classes,
        # so a saved config.yaml keeps what the user gave.
        self.weights_only = checked_weights_only(settings.get("weights_only"))
        ckpt_path = settings.get("ckpt_path")
        if ckpt_path is None and subcommand in NEEDS_WEIGHTS:
            raise SpectraConfigError(
                f"{subcommand} needs --ckpt_path, the trained weights (e.g. "
                f"logs/<name>/version_<n>/checkpoints/last.ckpt); without it {NEEDS_WEIGHTS[subcommand]} a "
                "randomly initialised model"
            )
        if ckpt_path is None:
            return
        if str(ckpt_path) in SPECIAL_CKPT_PATHS:  # never a file of that name in the working folder
            self.special_ckpt_path = str(ckpt_path)
        else:
            self.trained = self._read_checkpoint(ckpt_path)

    def _read_checkpoint(self, path) -> TrainedModel:
        """The checked :class:`TrainedModel` of ``path``, of the configured model class."""
        subcommand = self.config["subcommand"]
        trained = read_trained_model(path, predicting=subcommand == "predict", weights_only=self.weights_only)
        trained.check_model_class(str(self.config[subcommand]["model"]["class_path"]))
        return trained

    def _parse_ckpt_path(self) -> None:
        """Lightning merges the model settings saved in ``--ckpt_path`` into the config here, reading the file
        again by its own rules; take them from the checkpoint :meth:`parse_arguments` read and checked."""
        if self.trained is None or not self.trained.model_hparams:
            return
        hparams = {k: v for k, v in self.trained.model_hparams.items() if k != "_instantiator"}
        if "_class_path" in hparams:  # checked: the configured class
            hparams = {"class_path": hparams.pop("_class_path"), "dict_kwargs": hparams}
        self.config = self.parser.parse_object({self.config.subcommand: {"model": hparams}}, self.config)

    def instantiate_trainer(self, **kwargs):
        """Lightning's trainer with the precision :meth:`before_instantiate_classes` resolved."""
        if getattr(self, "precision", None) is not None:
            kwargs.setdefault("precision", self.precision)
        return super().instantiate_trainer(**kwargs)

    def instantiate_classes(self) -> None:
        """Build datamodule and model; with a checkpoint the datamodule takes its sizes and class names from it
        and must fit it (see :mod:`lightning_spectra.runs.checkpoint`)."""
        super().instantiate_classes()
        if self.special_ckpt_path is not None:
            self._resolve_special_ckpt_path(self.special_ckpt_path)
        if self.trained is not None:
            check_weights_fit(self.trained, self.model)
        if self.subcommand is not None and "weights_only" in self.config_init[self.subcommand]:
            self.config_init[self.subcommand]["weights_only"] = self.weights_only

    def _resolve_special_ckpt_path(self, value: str) -> None:
        """``--ckpt_path last``/``best``: the file Lightning would load, read and checked like a path, and handed
        to Lightning as that path. None found is an error, but for ``fit --ckpt_path last``: Lightning's resume
        that may be set before the first fit, which then starts from scratch."""
        path = find_special_checkpoint(value, self.trainer)
        if path is None and not (value == "last" and self.subcommand == "fit"):
            raise no_special_checkpoint(value, self.trainer)
        if path is None:
            rank_zero_warn("--ckpt_path last: no last checkpoint for this run yet; fit starts from scratch")
        else:
            self.trained = self._read_checkpoint(path)
            self.datamodule.serve(self.trained)
        self.config_init[self.subcommand]["ckpt_path"] = None if path is None else str(path)

    def before_fit(self) -> None:
        if self.trainer.max_epochs == 0 or self.trainer.max_steps == 0:  # refuse before any work is done
            raise SpectraRunError(
                f"trainer.max_epochs is {self.trainer.max_epochs} and trainer.max_steps {self.trainer.max_steps}; "
                "fit would train nothing"
            )
        check_val_check_interval(self.trainer, self.datamodule)  # Lightning refuses it in a traceback, later
        self.print_read_line()
        settings = self.config[self.subcommand] if self.subcommand else self.config  # run=False: none
        # last: it tests after fit once every other callback has ended its fit (callbacks/after_fit.py)
        after = AfterFit(test=settings.get("test_after_fit", True), finish_wandb=self.finish_wandb)
        self.trainer.callbacks += [FiniteLoss(), SigtermCheckpoint(), after]
        callbacks = self.trainer.callbacks
        if not any(isinstance(c, LearningCurve) for c in callbacks):  # every run draws its curve
            # before the checkpoints, so that an epoch's checkpoint holds its validation numbers (resume)
            first = next((i for i, c in enumerate(callbacks) if isinstance(c, Checkpoint)), len(callbacks))
            callbacks.insert(first, LearningCurve())

    def before_test(self) -> None:
        self.print_read_line()

    def print_read_line(self) -> None:
        """What the run read, in one line before any work (rank zero): a wrong file or split shows at once."""
        if self.trainer.is_global_zero:
            print(read_line(self.datamodule, self.subcommand or "fit"), flush=True)

    def before_predict(self) -> None:
        """The network pass on the engine ``--predict_engine`` chooses (see :mod:`.callbacks.onnx_predictions`),
        the read line, and where the predictions go (the run's ``predict/`` folder when the checkpoint is a
        run's; it is claimed first: a file predict did not write is never replaced)."""
        self.print_read_line()
        if self.trainer.is_global_zero:
            if self.predict_folder is not None:
                claim(self.predict_folder)
                # CSVLogger warns of deleting "previous log files" in a non-empty folder: it deletes only its own
                # metrics.csv, and the folder holds predict's manifest (and earlier predictions) by design.
                warnings.filterwarnings(
                    "ignore", message=f"Experiment logs directory {re.escape(str(run_dir(self.trainer)))}"
                )
            print(self._predict_folder_line(), flush=True)
        engine = self.config[self.subcommand].get("predict_engine", "auto")
        # Only a run that asks for ONNX Runtime pays for probing it (importing onnxruntime): auto is PyTorch.
        obstacle = onnx_obstacle(self.model, self.trainer.strategy.root_device) if engine == "onnx" else None
        if choose_engine(engine, obstacle) == "onnx":
            self.trainer.callbacks.append(OnnxPredictions())

    def _predict_folder_line(self) -> str:
        """Where this predict writes, and, outside a run's folder, why not there."""
        folder = run_dir(self.trainer)
        if self.predict_folder is not None:
            return f"predict: writing into {folder}, the predict folder of the checkpoint's run"
        ckpt = self.trained.path if self.trained is not None else None
        if ckpt is not None and run_of_checkpoint(ckpt) is None:
            return f"predict: {ckpt} is not in a run's checkpoints/ folder; writing into {folder}"
        return f"predict: writing into {folder}"

    def after_test(self) -> None:
        update_summary(
            self.trainer,
            {"model": type(self.model).__name__, "trainable_parameters": self.model.num_trainable_parameters},
        )
        if self.trainer.is_global_zero:  # a classifier's confusion matrix and per-class scores of this test
            update_summary(self.trainer, test_outputs(self.trainer, self.model))
        report(self.trainer, self.model, self.datamodule, self.finish_wandb)


def main(args: Sequence[str] | None = None) -> None:
    """Entry point; bad input ends the program with one clear line instead of a traceback.

    The config parser and Lightning wrap what datamodules and models raise while being built, so the cause
    chain is searched (:func:`~lightning_spectra.errors.failure_line`). Exit status 2 for bad input or
    settings, 1 for a run that failed (non-finite loss, nothing trained, a full disk), 143 for a run stopped by
    SIGTERM (its checkpoint is kept, see :mod:`lightning_spectra.callbacks.interrupted`); anything else is a bug
    and keeps its traceback.
    """
    with one_line_failures():
        try:
            check_config_files(sys.argv[1:] if args is None else args)
            SpectraCLI(args=args)
        except SIGTERMException:  # a SystemExit without a code: it would exit 0, the status of a finished run
            raise SystemExit(SIGTERM_STATUS) from None


if __name__ == "__main__":  # python -m lightning_spectra.cli fit ... works where train.py is not at hand
    main()
