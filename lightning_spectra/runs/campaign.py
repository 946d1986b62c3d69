"""Runs of a campaign (the folds of a cross-validation, the members of a seed ensemble): each an ordinary ``fit``
whose loggers point at its own folder and, with W&B, at its own run in the campaign's group."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lightning_spectra.errors import SIGTERM_STATUS
from lightning_spectra.runs.wandb_runs import CSV_LOGGER, WANDB_LOGGER, run_facts, wandb_project


def campaign_run_config(config: dict, out: Path, name: str, group: str) -> dict:
    """``config`` with its loggers pointed at the folder ``out/name`` (CSV) and a W&B run named after the model
    and ``name`` in ``group``; with ``LIGHTNING_SPECTRA_WANDB`` set a W&B run is added where the config has none."""
    config = json.loads(json.dumps(config))  # a deep copy of plain YAML data
    trainer = config.setdefault("trainer", {})
    loggers = trainer.get("logger")
    if loggers in (None, True, False):
        loggers = []
    elif isinstance(loggers, dict):
        loggers = [loggers]
    kept = [entry for entry in loggers if isinstance(entry, dict) and entry.get("class_path") != CSV_LOGGER]
    project = wandb_project()
    if project and not any(entry.get("class_path") == WANDB_LOGGER for entry in kept):
        kept.append({"class_path": WANDB_LOGGER, "init_args": {"project": project}})
    model = run_facts(config)["model"]
    for entry in kept:
        if entry.get("class_path") == WANDB_LOGGER:
            entry.setdefault("init_args", {}).update({"group": group, "name": f"{model} {name}"})
    csv_logger = {"class_path": CSV_LOGGER, "init_args": {"save_dir": str(out), "name": "", "version": name}}
    trainer["logger"] = [csv_logger, *kept]  # the CSV logger first: it names the run's folder
    return config


#: The campaigns running in this process (innermost last): a run stopped inside one leaves the resume hint to it.
_RUNNING: list[str] = []


def campaign_running() -> bool:
    """Whether a campaign's :func:`stopped_by_sigterm` surrounds the current run (its runs' own ``--ckpt_path``
    hint would name an option the campaign's command does not take)."""
    return bool(_RUNNING)


@contextmanager
def stopped_by_sigterm(campaign: str, kept: str) -> Iterator[None]:
    """A campaign (``ensemble fit``, ``cv``) stopped by SIGTERM exits 143 with a hint that fits it.

    Lightning ends a run on SIGTERM with a ``SIGTERMException``, a ``SystemExit`` without a code: the campaign
    would end with status 0 ("done") after the run's own hint to resume with ``--ckpt_path``, which the campaign's
    command does not take. The campaign resumes by itself: the same command again keeps the ``kept`` runs.
    """
    _RUNNING.append(campaign)
    try:
        yield
    except SystemExit as stop:
        exceptions = sys.modules.get("lightning.pytorch.utilities.exceptions")  # not loaded: no run was stopped
        if exceptions is None or not isinstance(stop, exceptions.SIGTERMException):
            raise
        print(
            f"{campaign} stopped by SIGTERM; run the same command again to resume it: {kept} (the command takes no "
            "--ckpt_path)",
            file=sys.stderr,
            flush=True,
        )
        raise SystemExit(SIGTERM_STATUS) from None
    finally:
        _RUNNING.pop()
