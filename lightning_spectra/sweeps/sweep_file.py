"""The sweep file (``sweeps/<model>.yaml``): base config, search space, objectives, sampler, pruner, budget.

Example (paths are relative to the sweep file, so a sweep runs from any folder)::

    config: ../configs/cnn.yaml          # the base config of every trial: a path, or a shipped config's name (cnn)
    study: cnn                           # default study name (--study wins)
    n_trials: 40                         # default budget (--n-trials wins)
    objectives: {val/loss: minimize}     # or several: {val/confidence: maximize, train_time_s: minimize}
    overrides: {trainer.max_epochs: 5}   # fixed for every trial and kept in the best config
    trial_only:                          # fixed for trials only: sweep-time savings the best config should not keep
      trainer.callbacks: [{class_path: lightning_spectra.callbacks.Timing}]
      trainer.enable_checkpointing: false
    space:
      model.init_args.lr: {type: float, low: 1.0e-4, high: 1.0e-2, log: true}
    sampler: {type: TPESampler, seed: 0, constant_liar: true}   # any optuna.samplers class and its arguments
    pruner: {type: MedianPruner, n_warmup_steps: 2}             # any optuna.pruners class; optional `monitor`
    wandb: {project: lightning-spectra-sweeps}                  # extra wandb.init arguments

An objective is any metric a fit logs (``val/loss``, ``val/confidence``, ``test/confidence``) or any number in
the run's ``summary.json`` (``train_time_s``, ``trainable_parameters``, ``confidence``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from lightning_spectra.runtime.shipped_files import CONFIGS, SWEEPS
from lightning_spectra.sweeps.space import Dimension, SweepSpecError, parse_space

if TYPE_CHECKING:
    import optuna

_KEYS = {"config", "study", "n_trials", "objectives", "overrides", "trial_only", "space", "sampler", "pruner", "wandb"}
_DIRECTIONS = ("minimize", "maximize")


@dataclass
class SweepSpec:
    """A parsed, checked sweep file."""

    path: Path
    config: Path
    space: dict[str, Dimension]
    objectives: dict[str, str]
    overrides: dict[str, Any] = field(default_factory=dict)
    trial_only: dict[str, Any] = field(default_factory=dict)
    study: str | None = None
    n_trials: int | None = None
    sampler: dict[str, Any] = field(default_factory=lambda: {"type": "TPESampler"})
    pruner: dict[str, Any] | None = None
    wandb: dict[str, Any] = field(default_factory=dict)

    @property
    def directions(self) -> list[str]:
        return list(self.objectives.values())

    @property
    def metrics(self) -> list[str]:
        return list(self.objectives)

    @property
    def pruning_monitor(self) -> str | None:
        """The metric the pruner watches each epoch: its own ``monitor`` or else the study's objective."""
        if self.pruner is None:
            return None
        return self.pruner.get("monitor", self.metrics[0])

    def make_sampler(self, worker_index: int = 0, trials_before: int = 0) -> optuna.samplers.BaseSampler:
        """The sampler; a seed is mixed with the worker index and the trials the study already has, so parallel
        workers, and a resumed sweep, do not replay the random sequence of trials already tried."""
        import optuna

        kwargs = {k: v for k, v in self.sampler.items() if k != "type"}
        if kwargs.get("seed") is not None and (worker_index or trials_before):
            mixed = hashlib.sha256(f"{kwargs['seed']}:{worker_index}:{trials_before}".encode()).digest()
            kwargs["seed"] = int.from_bytes(mixed[:4], "little") & 0x7FFFFFFF
        return getattr(optuna.samplers, self.sampler["type"])(**kwargs)

    def make_pruner(self) -> optuna.pruners.BasePruner:
        import optuna

        if self.pruner is None:
            return optuna.pruners.NopPruner()
        kwargs = {k: v for k, v in self.pruner.items() if k not in ("type", "monitor")}
        return getattr(optuna.pruners, self.pruner["type"])(**kwargs)


def _class_entry(raw: Any, name: str, module: str) -> dict[str, Any]:
    import optuna

    if isinstance(raw, str):
        raw = {"type": raw}
    if not isinstance(raw, dict) or not hasattr(getattr(optuna, module), str(raw.get("type"))):
        raise SweepSpecError(f"{name}: expected {{type: <a class of optuna.{module}>, ...arguments}}, got {raw!r}")
    return dict(raw)


def check_study_name(name: object, source: str) -> str:
    """``name`` as a study name, or a :class:`SweepSpecError` naming ``source`` (``--study``, the sweep file).

    The name becomes the folder ``sweeps/studies/<name>`` that holds the journal, the trials, the W&B runs and
    ``best.yaml``, and a worker's ``--study`` argument: a separator, ``..`` or an absolute name would put all of
    them anywhere writable, so a name must be one plain path component (no ``/``, ``\\``, ``.``/``..``, control
    character or leading ``-``). A number (``study: 2024`` in YAML) is its text.
    """
    text = str(name)
    if text in ("", ".", "..") or any(c in text for c in "/\\") or text.startswith("-") or not text.isprintable():
        raise SweepSpecError(
            f"{source} {text!r}: a study name must be a name, not a path (no '/', '\\', '..', leading '-' or "
            "control characters); it becomes the folder sweeps/studies/<name>, or give --out for another folder"
        )
    return text


def load_spec(path: str | Path) -> SweepSpec:
    """Read and check a sweep file; every mistake is reported as a :class:`SweepSpecError` naming the key."""
    found = SWEEPS.find(path)  # a path, or the name of a shipped sweep file (cnn)
    if found is None:
        raise SweepSpecError(SWEEPS.not_found(path))
    path = found
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as err:
        raise SweepSpecError(f"{path}: {err}") from None
    if not isinstance(raw, dict):
        raise SweepSpecError(f"{path}: expected a mapping")
    if unknown := set(raw) - _KEYS:
        raise SweepSpecError(f"{path}: unknown keys {sorted(unknown)} (known: {sorted(_KEYS)})")
    if "config" not in raw:
        raise SweepSpecError(f"{path}: `config` (the base train.py config) is required")
    config = CONFIGS.find(str(raw["config"]), base=path.parent)  # a path relative to this file, or a name
    if config is None:
        raise SweepSpecError(f"{path}: {CONFIGS.not_found(raw['config'])} (paths are relative to the sweep file)")
    config = config.resolve()

    objectives = raw.get("objectives")
    if not isinstance(objectives, dict) or not objectives or set(objectives.values()) - set(_DIRECTIONS):
        raise SweepSpecError(f"{path}: objectives must map metric names to minimize or maximize, got {objectives!r}")
    overrides, trial_only = raw.get("overrides") or {}, raw.get("trial_only") or {}
    space = parse_space(raw.get("space"))
    if both := (set(overrides) | set(trial_only)) & set(space):
        raise SweepSpecError(f"{path}: keys both fixed (overrides/trial_only) and searched in space: {sorted(both)}")

    pruner = raw.get("pruner")
    if pruner is not None:
        pruner = _class_entry(pruner, "pruner", "pruners")
        if len(objectives) > 1:
            raise SweepSpecError(f"{path}: Optuna cannot prune multi-objective studies; remove `pruner`")
    n_trials = raw.get("n_trials")
    if n_trials is not None and (not isinstance(n_trials, int) or n_trials < 1):
        raise SweepSpecError(f"{path}: n_trials must be a positive integer, got {n_trials!r}")
    spec = SweepSpec(
        path=path,
        config=config,
        space=space,
        objectives={str(k): v for k, v in objectives.items()},
        overrides=dict(overrides),
        trial_only=dict(trial_only),
        study=raw.get("study"),
        n_trials=n_trials,
        sampler=_class_entry(raw.get("sampler", "TPESampler"), "sampler", "samplers"),
        pruner=pruner,
        wandb=dict(raw.get("wandb") or {}),
    )
    try:  # wrong sampler or pruner arguments fail now, not in every worker
        spec.make_sampler()
        spec.make_pruner()
    except (TypeError, ValueError) as err:
        raise SweepSpecError(f"{path}: sampler/pruner: {err}") from None
    return spec
