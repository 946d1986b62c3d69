"""Where a run keeps its files (summary.json, figures/, predictions), and the summary file itself."""

from __future__ import annotations

import errno
import json
import math
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import lightning.pytorch as L
from lightning.pytorch.utilities import rank_zero_only

from lightning_spectra.errors import SpectraConfigError
from lightning_spectra.runtime.atomic_files import atomic_write


def run_dir(trainer: L.Trainer) -> Path:
    """The run's own log folder: the first logger's version folder, else the trainer's root folder."""
    logger = trainer.logger
    if logger is None:
        return Path(trainer.default_root_dir)
    if getattr(logger, "log_dir", None):  # CSVLogger, TensorBoardLogger
        return Path(logger.log_dir)
    parts = [logger.save_dir or trainer.default_root_dir, logger.name, logger.version]
    return Path(*[str(p) for p in parts if p])


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@rank_zero_only
def update_summary(trainer: L.Trainer, values: dict[str, Any]) -> Path:
    """Merge ``values`` into the run's ``summary.json`` (written atomically)."""
    path = run_dir(trainer) / "summary.json"
    summary = json.loads(path.read_text()) if path.exists() else {}
    summary.update({k: _plain(v) for k, v in values.items()})
    atomic_write(path, lambda tmp: tmp.write_text(json.dumps(summary, indent=2) + "\n"))
    return path


@rank_zero_only
def start_summary(trainer: L.Trainer) -> Path | None:
    """Remove an earlier run's ``summary.json`` from this run's folder before a fresh fit (one without
    ``--ckpt_path``) writes its own; returns the path removed, if any.

    :func:`update_summary` merges, as a resumed fit needs; a fresh fit into a folder used before (a fixed logger
    version, given twice) then reported the earlier run's baselines, test numbers and ``complete`` as its own.
    Lightning replaces that run's checkpoints and ``metrics.csv`` in the same folder, so its summary goes too,
    with one line saying so.
    """
    path = run_dir(trainer) / "summary.json"
    if not path.is_file():
        return None
    path.unlink()
    print(
        f"fit: {path.parent} held an earlier run; its summary.json is replaced by this fresh fit's "
        "(to go on with that run instead, give --ckpt_path <its checkpoint>)",
        file=sys.stderr,
        flush=True,
    )
    return path


def read_summary(trainer: L.Trainer) -> dict[str, Any]:
    path = run_dir(trainer) / "summary.json"
    return json.loads(path.read_text()) if path.exists() else {}


def check_writable(folder: str | Path, option: str) -> None:
    """One line naming ``option`` and ``folder`` when files cannot be written there (no permission, a
    read-only file system, a file in the way). A folder not there yet is checked in its nearest existing
    parent, where it will be made; nothing is left behind. Tried, not read from the mode bits, which do not
    bind every user."""
    folder = Path(folder).absolute()
    existing = next(p for p in (folder, *folder.parents) if p.exists())
    try:
        if not existing.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(existing))
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as err:
        raise SpectraConfigError(f"{option} {folder}: cannot write files there ({err.strerror or err})") from None
