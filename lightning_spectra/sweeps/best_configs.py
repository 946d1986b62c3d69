"""The end of a sweep: a table of the best trial(s), and their configs as YAML files ``fit`` accepts.

A best config is the sweep's base config with its fixed ``overrides`` and the trial's parameters set at their
dotted keys, so ``lightning-spectra fit --config <out>/best.yaml`` trains the best trial again (with the base
config's own loggers, not the sweep's). A single-objective study writes ``best.yaml``; a multi-objective
study has no single best, so each trial of its Pareto front gets ``pareto/trial-<n>.yaml``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from lightning_spectra.runtime.commands import command
from lightning_spectra.runtime.composed_configs import load_config
from lightning_spectra.sweeps.budget import count_states
from lightning_spectra.sweeps.space import set_dotted

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial

    from lightning_spectra.sweeps.sweep_file import SweepSpec

_SHOWN_METRICS = ("confidence", "val/confidence", "boundary", "train_time_s", "trainable_parameters")


def best_trials(study: optuna.Study) -> list[FrozenTrial]:
    """The best trial of a single-objective study, the Pareto front of a multi-objective one (may be empty)."""
    if not any(t.state.name == "COMPLETE" for t in study.get_trials(deepcopy=False)):
        return []
    return [study.best_trial] if len(study.directions) == 1 else sorted(study.best_trials, key=lambda t: t.number)


def trial_params(spec: SweepSpec, trial: FrozenTrial) -> dict[str, Any]:
    """The trial's parameters as config values (list and dict choices decoded)."""
    return {key: spec.space[key].value(v) if key in spec.space else v for key, v in trial.params.items()}


def best_config(spec: SweepSpec, trial: FrozenTrial) -> dict[str, Any]:
    """The base config with the sweep's fixed overrides and the trial's parameters applied."""
    config = load_config(spec.config)  # composed with its bases: best.yaml trains again wherever it is moved
    for key, value in {**spec.overrides, **trial_params(spec, trial)}.items():
        set_dotted(config, key, value)
    return config


def write_config(spec: SweepSpec, study: optuna.Study, trial: FrozenTrial, path: Path) -> Path:
    objectives = ", ".join(f"{m} = {v:.6g}" for m, v in zip(spec.metrics, trial.values, strict=True))
    header = (
        f"# Trial {trial.number} of study {study.study_name!r} ({objectives}),\n"
        f"# from {spec.path} on {spec.config}.\n# {command('train')} fit --config {path}\n"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + yaml.safe_dump(best_config(spec, trial), sort_keys=False))
    return path


def write_best_configs(spec: SweepSpec, study: optuna.Study, out_dir: Path) -> list[Path]:
    """``best.yaml`` (single objective) or ``pareto/trial-<n>.yaml`` (multi-objective); returns the paths."""
    best = best_trials(study)
    if len(study.directions) == 1:
        return [write_config(spec, study, t, out_dir / "best.yaml") for t in best]
    return [write_config(spec, study, t, out_dir / "pareto" / f"trial-{t.number}.yaml") for t in best]


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def progress_line(study: optuna.Study, n_trials: int) -> str:
    counts = count_states(study)
    finished = counts.get("COMPLETE", 0) + counts.get("PRUNED", 0)
    extra = ", ".join(f"{n} {s.lower()}" for s, n in sorted(counts.items()) if s not in ("COMPLETE",) and n)
    return f"study {study.study_name}: {finished}/{n_trials} trials finished" + (f" ({extra})" if extra else "")


def print_report(spec: SweepSpec, study: optuna.Study, written: list[Path], n_trials: int) -> None:
    """Print the best trial(s) with their parameters (one column per trial), failures, and the configs written."""
    from rich.console import Console
    from rich.table import Table

    console = Console(soft_wrap=True)  # paths stay on one line, to copy
    console.print(progress_line(study, n_trials))
    best = best_trials(study)
    title = "best trial" if len(study.directions) == 1 else f"Pareto front ({len(best)} trials)"
    table = Table(title=f"{title} of study {study.study_name}")
    table.add_column("")
    for trial in best:
        table.add_column(f"trial {trial.number}", justify="right")
    for i, (metric, direction) in enumerate(spec.objectives.items()):
        table.add_row(f"{metric} ({direction})", *(_fmt(t.values[i]) for t in best))
    for metric in (m for m in _SHOWN_METRICS if m not in spec.objectives):
        values = [t.user_attrs.get(metric) for t in best]
        if any(v is not None for v in values):
            table.add_row(metric, *("" if v is None else _fmt(v) for v in values))
    for key in spec.space:
        table.add_row(key, *(_fmt(trial_params(spec, t).get(key, "")) for t in best))
    table.add_row("W&B run", *(f"{study.study_name}/trial-{t.number}" for t in best))
    console.print(table)
    failed = [t for t in study.get_trials(deepcopy=False) if t.state.name == "FAIL"]
    for trial in failed[-10:]:
        reason = trial.user_attrs.get("fail_reason", "no reason recorded: its worker died or was interrupted")
        console.print(f"trial {trial.number} failed: {' '.join(reason.split())[:600]}")
    for path in written:
        console.print(f"config written: {path}")
    if written:
        console.print(f"train it: {command('train')} fit --config {written[0]}")
