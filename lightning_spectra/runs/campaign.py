"""Runs of a campaign (the folds of a cross-validation, the members of a seed ensemble): each an ordinary ``fit``
whose loggers point at its own folder and, with W&B, at its own run in the campaign's group."""

from __future__ import annotations

import json
from pathlib import Path

from lightning_spectra.runs.wandb_runs import CSV_LOGGER, WANDB_LOGGER


def campaign_run_config(config: dict, out: Path, name: str, group: str) -> dict:
    """``config`` with its loggers pointed at the folder ``out/name`` (CSV) and a W&B run named after the model
    and ``name`` in ``group``; with ``LIGHTNING_SPECTRA_WANDB`` set a W&B run is added where the config has none."""
    from lightning_spectra.runs.wandb_runs import run_facts, wandb_project

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
