"""Configs composed from bases: a config names what it builds on and holds only what differs.

A config file may have a top-level ``base:`` key: one config or a list of them, each named the way ``--config``
names one (:mod:`lightning_spectra.runtime.shipped_files`): a path relative to the folder of the file that names
it, where that file exists, else a shipped config (``bases/hed_ramp``, ``cnn``, ``paper/cnn``). Shipped names
keep working when a config is copied elsewhere, which relative paths would not. The bases are composed first
(recursively, left to right), then the file's own keys on top:

- mappings are merged key by key, at any depth (``trainer: {max_epochs: 5}`` changes one trainer setting);
- anything else (lists such as ``trainer.callbacks``, and scalars) is replaced whole, so a list is read in one
  place and never spliced from two;
- ``base`` itself is removed: jsonargparse, and the run's saved ``config.yaml``, see the full composed config.

A file that changes a ``class_path`` keeps the ``init_args`` its bases gave the old class, so a base holds only
options every class built on it takes (``bases/files_classification`` names the datamodule's class and none of its
options: ``examples/xfel_run`` swaps in another datamodule).

Composition happens before jsonargparse parses anything (:func:`config_args` of ``shipped_files`` hands it the
composed text), so several ``--config`` flags, inline YAML and command-line options layer on top exactly as for a
plain file. Every reader of a config file (the command line, cross-validation, the ensemble, the sweeps' best
configs) goes through :func:`load_config`, so none of them sees a half config. A file without ``base`` is read
as it is. Import-light: the sweep command reads configs before anything imports torch.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

BASE_KEY = "base"


def merge(low: Mapping[str, Any], high: Mapping[str, Any]) -> dict[str, Any]:
    """``high`` over ``low``: mappings merged key by key, everything else (lists, scalars, ``null``) replaced."""
    out = dict(low)
    for key, value in high.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def read_mapping(path: Path) -> dict[str, Any]:
    """The YAML mapping in ``path``; a missing, empty or non-YAML file is one :class:`SpectraConfigError` line
    naming it (the same checks as a ``--config`` file)."""
    from lightning_spectra.runtime.config_checks import check_config_file  # it imports shipped_files, as we do

    check_config_file(path)
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def bases_of(config: Mapping[str, Any], path: Path) -> list[Path]:
    """The files ``config`` (read from ``path``) names under ``base``, in order."""
    from lightning_spectra.errors import SpectraConfigError
    from lightning_spectra.runtime.shipped_files import CONFIGS

    named = config.get(BASE_KEY)
    names = named if isinstance(named, list) else [named]
    if named is None or not all(isinstance(name, str) and name for name in names):
        raise SpectraConfigError(f"{path}: base must name a config or list configs, got {named!r}")
    found = []
    for name in names:
        base = CONFIGS.find(name, base=path.parent)
        if base is None:
            raise SpectraConfigError(f"{path}: base {CONFIGS.not_found(name)}")
        found.append(base)
    return found


def load_config(path: str | Path) -> dict[str, Any]:
    """The config in ``path`` with its bases composed in (see the module's docstring), without ``base``."""
    return _compose(Path(path), ())


def _compose(path: Path, seen: tuple[Path, ...]) -> dict[str, Any]:
    from lightning_spectra.errors import SpectraConfigError

    if path.resolve() in seen:  # a config that is its own base, directly or through others, would never end
        chain = " -> ".join(str(p) for p in (*seen, path.resolve()))
        raise SpectraConfigError(f"{path}: its bases name it again ({chain})")
    config = read_mapping(path)
    if BASE_KEY not in config:
        return config
    composed: dict[str, Any] = {}
    for base in bases_of(config, path):
        composed = merge(composed, _compose(base, (*seen, path.resolve())))
    return merge(composed, {k: v for k, v in config.items() if k != BASE_KEY})


def has_base(path: str | Path) -> bool:
    """Whether ``path`` is a readable YAML mapping with a ``base`` key; anything else (a broken file included) is
    left to the parser and its one-line errors."""
    try:
        content = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return False
    return isinstance(content, dict) and BASE_KEY in content


def composed_text(path: str | Path) -> str:
    """:func:`load_config` of ``path`` as YAML text: what the parser is handed instead of the file's name."""
    return yaml.safe_dump(load_config(path), sort_keys=False)
