"""One trial: the base config with the trial's keys applied, trained in this worker, logged as its own W&B run.

A trial is exactly ``train.py fit --config <base> --<key>=<value> ...`` (same CLI, same checks, same
``summary.json``), with two things only a sweep needs: the loggers are replaced by a CSV logger writing to
``<out>/trials/trial-<n>/`` and a ``WandbLogger`` (group = study, name = ``trial-<n>``), and Optuna's
``PyTorchLightningPruningCallback`` is added when the sweep prunes. The objective values are read from the
metrics the fit logged or from ``summary.json``; the final numbers are kept as one user attribute each
(``val/confidence``, ``train_time_s``, ...: sortable columns of ``study.trials_dataframe()`` and
optuna-dashboard) and the trial's figures as Optuna artifacts. A trial that raises is recorded with the reason in its
``fail_reason`` user attribute and re-raised so Optuna marks it failed; the sweep goes on.
"""

from __future__ import annotations

import gc
import math
from pathlib import Path
from typing import Any

import lightning.pytorch as L
import optuna
import torch
import yaml

from lightning_spectra.errors import SpectraRunError, find_data_error
from lightning_spectra.runs.wandb_runs import wandb_project
from lightning_spectra.runtime.console import command_line_set_aside
from lightning_spectra.sweeps.orphans import claim
from lightning_spectra.sweeps.space import cli_args, suggest
from lightning_spectra.sweeps.sweep_file import SweepSpec

FAIL_REASON_ATTR = "fail_reason"
DEFAULT_PROJECT = "lightning-spectra-sweeps"
#: Final numbers (from summary.json, else the last logged value) kept as the trial's user attributes.
REPORTED = (
    "confidence",
    "boundary",
    "accuracy",
    "val/confidence",
    "val/boundary",
    "train_time_s",
    "trainable_parameters",
    "epochs",
    "epochs_to_target",
    "peak_memory_gib",
)


class TrialError(SpectraRunError, RuntimeError):
    """A trial that ran but cannot give the study a value (its objective metric is missing or not finite)."""


class FinalMetrics(L.Callback):
    """The logged metrics at the end of fit and of test (``trainer.callback_metrics`` keeps only the last stage's)."""

    def __init__(self) -> None:
        self.values: dict[str, float] = {}

    def _keep(self, trainer: L.Trainer) -> None:
        self.values.update({k: float(v) for k, v in trainer.callback_metrics.items() if v.numel() == 1})

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._keep(trainer)

    def on_test_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._keep(trainer)


def _numbers(summary: dict[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in summary.items() if isinstance(v, int | float) and not isinstance(v, bool)}


def objective_values(metrics: dict[str, float], names: list[str]) -> list[float]:
    """The study's objective values, with a clear error when one is missing or not a finite number."""
    values = []
    for name in names:
        if name not in metrics:
            raise TrialError(f"objective {name!r} was not logged; available: {', '.join(sorted(metrics))}")
        if not math.isfinite(metrics[name]):
            raise TrialError(f"objective {name!r} is {metrics[name]}")
        values.append(metrics[name])
    return values


def failure_reason(err: BaseException) -> str:
    """Why a trial failed, whole, on one line: the data/config error behind a parser's wrapper if there is one
    (its message is what the user must fix), else the exception with every line of its message."""
    cause = find_data_error(err) or err
    return f"{type(cause).__name__}: {' '.join(str(cause).split())}"[:2000]


def _wandb_run():
    import wandb

    return wandb.run


class Objective:
    """Callable for ``study.optimize``: runs one trial and returns its objective value(s).

    Args:
        spec: the sweep file.
        study_name: W&B group of every trial's run.
        out_dir: the sweep's output folder (``trials/``, ``wandb/``).
        accelerator: ``"gpu"`` (the worker sees one GPU) or ``"cpu"``.
        artifacts: where the trials' figures are attached as Optuna artifacts (none: not attached).
    """

    def __init__(
        self,
        spec: SweepSpec,
        study_name: str,
        out_dir: Path,
        accelerator: str = "cpu",
        artifacts: optuna.artifacts.FileSystemArtifactStore | None = None,
    ) -> None:
        self.spec, self.study_name, self.out_dir, self.accelerator = spec, study_name, Path(out_dir), accelerator
        self.artifacts = artifacts

    def trial_dir(self, number: int) -> Path:
        return self.out_dir / "trials" / f"trial-{number}"

    def loggers(self, number: int) -> list[dict[str, Any]]:
        wandb_args = {
            "project": wandb_project() or DEFAULT_PROJECT,
            "job_type": "trial",
            **self.spec.wandb,
            "save_dir": str(self.out_dir),
            "group": self.study_name,
            "name": f"trial-{number}",
        }
        return [
            {
                "class_path": "lightning.pytorch.loggers.CSVLogger",
                "init_args": {"save_dir": str(self.out_dir), "name": "trials", "version": f"trial-{number}"},
            },
            {"class_path": "lightning.pytorch.loggers.WandbLogger", "init_args": wandb_args},
        ]

    def trial_args(self, number: int, params: dict[str, Any]) -> list[str]:
        """The ``train.py`` arguments of this trial: base config, fixed keys, searched keys, the sweep's loggers."""
        per_trial = {
            "trainer.logger": self.loggers(number),
            "trainer.default_root_dir": str(self.trial_dir(number)),
            "trainer.accelerator": self.accelerator,
            "trainer.devices": 1,
        }
        return [
            "fit",
            "--config",
            str(self.spec.config),
            *cli_args(self.spec.overrides),
            *cli_args(self.spec.trial_only),
            *cli_args(params),
            *cli_args(per_trial),
        ]

    def __call__(self, trial: optuna.Trial) -> float | list[float]:
        from optuna_integration import PyTorchLightningPruningCallback

        from lightning_spectra.cli import SpectraCLI
        from lightning_spectra.runs.folder import read_summary

        claim(trial)
        exit_code, params = 1, {}
        try:
            params = suggest(trial, self.spec.space)  # in the try: a key the storage refuses is a recorded reason
            trial.set_user_attr("trial_dir", str(self.trial_dir(trial.number)))
            final = FinalMetrics()
            callbacks: list[L.Callback] = [final]
            if self.spec.pruning_monitor:
                callbacks.append(PyTorchLightningPruningCallback(trial, monitor=self.spec.pruning_monitor))
            with command_line_set_aside():  # the worker's own options are not the trial's
                cli = SpectraCLI(
                    args=self.trial_args(trial.number, params),
                    trainer_defaults={"callbacks": callbacks},
                    parser_kwargs={"exit_on_error": False},
                    finish_wandb=False,
                )  # _finish ends the run
            metrics = {**_numbers(read_summary(cli.trainer)), **final.values}
            values = objective_values(metrics, self.spec.metrics)
            reported = {k: metrics[k] for k in (*REPORTED, *self.spec.metrics) if k in metrics}
            for name, value in reported.items():
                trial.set_user_attr(name, value)
            self._attach_figures(trial)
            if run := _wandb_run():
                run.summary.update({**reported, "optuna_trial": trial.number})
            exit_code = 0
            return values[0] if len(values) == 1 else values
        except optuna.TrialPruned:
            exit_code = 0
            if run := _wandb_run():
                run.summary["pruned"] = True
            raise
        except Exception as err:
            reason = failure_reason(err)
            trial.set_user_attr(FAIL_REASON_ATTR, reason)
            if run := _wandb_run():
                run.summary[FAIL_REASON_ATTR] = reason
            raise
        finally:
            self._finish(trial, params, exit_code)

    def _attach_figures(self, trial: optuna.Trial) -> None:
        """The figures the trial's callbacks drew, as its Optuna artifacts (optuna-dashboard shows them)."""
        if self.artifacts is None:
            return
        for png in sorted((self.trial_dir(trial.number) / "figures").glob("*.png")):
            optuna.artifacts.upload_artifact(artifact_store=self.artifacts, file_path=str(png), study_or_trial=trial)

    def _finish(self, trial: optuna.Trial, params: dict[str, Any], exit_code: int) -> None:
        """Put the full resolved config (config.yaml) in the W&B run and end the run; then free memory.

        Without ``wandb.finish()`` the next trial of this process would log into the same run.
        """
        import wandb

        if wandb.run is not None:
            resolved = self.trial_dir(trial.number) / "config.yaml"
            config = yaml.safe_load(resolved.read_text()) if resolved.exists() else {}
            config["optuna"] = {"study": self.study_name, "trial": trial.number, "params": params}
            wandb.run.config.update(config, allow_val_change=True)
            wandb.finish(exit_code=exit_code)
        if exit_code or torch.cuda.is_available():  # a failed trial's traceback holds its tensors (0.5 s, so only then)
            gc.collect()
            torch.cuda.empty_cache()
