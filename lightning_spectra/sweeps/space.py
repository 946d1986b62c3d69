"""Search spaces written as LightningCLI dotted keys, and the small YAML helpers that apply them.

A sweep file names each searched setting by the dotted key ``train.py`` accepts on its command line
(``model.init_args.lr``), so a trial is "the base config plus these ``--key=value`` overrides" and the best
trial becomes "the base config with these keys set". Each key maps to one of Optuna's distributions::

    model.init_args.lr: {type: float, low: 1.0e-4, high: 1.0e-2, log: true}
    trainer.max_epochs: {type: int, low: 3, high: 10}
    model.init_args.channels: {type: categorical, choices: [[32, 32, 4], [64, 64, 4]]}

Optuna stores categorical choices only as None, bool, int, float or str, so list and dict choices are kept
in the study as their YAML text and turned back into values when a trial applies them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import yaml

from lightning_spectra.errors import SpectraConfigError

if TYPE_CHECKING:
    import optuna
    from optuna.distributions import BaseDistribution

_OPTIONS = {"float": {"low", "high", "log", "step"}, "int": {"low", "high", "log", "step"}, "categorical": {"choices"}}


class SweepSpecError(SpectraConfigError):
    """A sweep file that cannot be run; the message says which key is wrong and why."""


def to_yaml_text(value: Any) -> str:
    """One-line YAML for a value: what ``--key=value`` and a stored categorical choice hold."""
    text = yaml.safe_dump(value, default_flow_style=True, width=10**6).strip()
    return text.removesuffix("...").strip()


@dataclass(frozen=True)
class Dimension:
    """One searched key: its Optuna distribution and the list/dict choices its stored strings stand for."""

    distribution: BaseDistribution
    structured: dict[str, Any] = field(default_factory=dict)

    def value(self, stored: Any) -> Any:
        """The config value for a parameter as Optuna stores it."""
        return self.structured.get(stored, stored) if isinstance(stored, str) else stored


def _dimension(key: str, entry: Any) -> Dimension:
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    kind = entry.get("type") if isinstance(entry, Mapping) else None
    if kind not in _OPTIONS:
        raise SweepSpecError(f"space.{key}: expected a mapping with type: float, int or categorical, got {entry!r}")
    options = {k: v for k, v in entry.items() if k != "type"}
    required = {"choices"} if kind == "categorical" else {"low", "high"}
    if not required <= set(options) <= _OPTIONS[kind]:
        raise SweepSpecError(
            f"space.{key}: {kind} takes {', '.join(sorted(_OPTIONS[kind]))} "
            f"({', '.join(sorted(required))} required), got {sorted(options)}"
        )
    try:
        if kind == "categorical":
            structured = {to_yaml_text(c): c for c in options["choices"] if isinstance(c, list | dict)}
            stored = [to_yaml_text(c) if isinstance(c, list | dict) else c for c in options["choices"]]
            return Dimension(CategoricalDistribution(stored), structured)
        if kind == "int":
            return Dimension(IntDistribution(**{"step": 1, **options}))
        return Dimension(FloatDistribution(**options))
    except (TypeError, ValueError) as err:
        raise SweepSpecError(f"space.{key}: {err}") from None


def parse_space(raw: Mapping[str, Any]) -> dict[str, Dimension]:
    """Turn the sweep file's ``space:`` mapping into dimensions (Optuna's distributions validate the ranges)."""
    if not isinstance(raw, Mapping) or not raw:
        raise SweepSpecError("space: expected a non-empty mapping of dotted config keys to distributions")
    return {str(key): _dimension(str(key), entry) for key, entry in raw.items()}


def suggest(trial: optuna.Trial, space: Mapping[str, Dimension]) -> dict[str, Any]:
    """Ask the trial for every key of the space; returns ``{dotted key: config value}``."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution

    values: dict[str, Any] = {}
    for key, dim in space.items():
        dist = dim.distribution
        if isinstance(dist, CategoricalDistribution):
            stored = trial.suggest_categorical(key, dist.choices)
        elif isinstance(dist, FloatDistribution):
            stored = trial.suggest_float(key, dist.low, dist.high, log=dist.log, step=dist.step)
        else:
            stored = trial.suggest_int(key, dist.low, dist.high, log=dist.log, step=dist.step)
        values[key] = dim.value(stored)
    return values


def cli_args(overrides: Mapping[str, Any]) -> list[str]:
    """``--key=value`` arguments for LightningCLI; values are written as YAML, which is how it reads them."""
    return [f"--{key}={to_yaml_text(value)}" for key, value in overrides.items()]


def set_dotted(config: dict[str, Any], key: str, value: Any) -> None:
    """Set ``a.b.c`` in a nested config dict, creating mappings on the way (``init_args`` is often absent)."""
    parts = key.split(".")
    node = config
    for i, part in enumerate(parts[:-1]):
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        elif isinstance(child, str) and parts[i + 1] == "init_args":
            child = node[part] = {"class_path": child}  # the `model: pkg.Class` shorthand gains init_args
        if not isinstance(child, dict):
            raise SweepSpecError(f"{key}: {'.'.join(parts[: i + 1])} is {child!r}, not a mapping")
        node = child
    node[parts[-1]] = value
