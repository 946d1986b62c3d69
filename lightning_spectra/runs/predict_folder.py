"""Where ``predict`` writes: into ``<run>/predict/`` of the run whose checkpoint it predicts with.

A ``predict`` logged like a fit made a new ``version_N`` folder that looked like a training run (a config, a
summary, no checkpoint) and left the predictions away from the model that made them. When ``--ckpt_path`` is
``<run>/checkpoints/<name>.ckpt`` its first logger (a ``CSVLogger`` or ``TensorBoardLogger`` without a version
of the user's) is pointed at ``<run>/predict`` instead; elsewhere it writes where it always did, and says so.
Files there that predict did not write are never replaced (:mod:`~lightning_spectra.runs.manifest`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lightning_spectra.errors import SpectraConfigError
from lightning_spectra.runs.manifest import read_manifest, record_written

PREDICT_FOLDER = "predict"
#: What a predict run writes into its folder: the predictions, its summary, its config and the logger's files.
PREDICT_FILES = ("predictions.csv", "summary.json", "config.yaml", "hparams.yaml", "metrics.csv")
#: Loggers whose folder is ``save_dir/name/version``: the ones that would make a new ``version_N``.
FOLDER_LOGGERS = ("CSVLogger", "TensorBoardLogger")


#: Files every fit leaves in its run folder: a ``checkpoints`` folder beside none of them is not a run's (the
#: repository's ``tests/data/checkpoints`` of an earlier release must not get a ``predict`` folder beside it).
RUN_FILES = ("config.yaml", "hparams.yaml")


def run_of_checkpoint(ckpt_path: str | Path) -> Path | None:
    """The run folder holding ``ckpt_path`` (``<run>/checkpoints/x.ckpt`` -> ``<run>``, a folder a fit wrote),
    else ``None``."""
    folder = Path(ckpt_path).absolute().parent
    if folder.name != "checkpoints" or not any((folder.parent / name).exists() for name in RUN_FILES):
        return None
    return folder.parent


def _logger_entry(logger: Any) -> Any:
    """The first configured logger (a list's first entry), or ``None`` for ``True``/``False``/none."""
    if isinstance(logger, list | tuple):
        logger = logger[0] if logger else None
    return logger if hasattr(logger, "get") and logger.get("class_path") else None


def redirects(logger: Any) -> bool:
    """True when the configured first logger would make a new version folder: a folder logger, no version."""
    entry = _logger_entry(logger)
    if entry is None or str(entry["class_path"]).rsplit(".", 1)[-1] not in FOLDER_LOGGERS:
        return False
    init_args = entry.get("init_args") or {}
    return init_args.get("version") is None


def point_logger_at(logger: Any, folder: Path) -> None:
    """Make the first configured logger write into ``folder`` (``save_dir``, no name, version ``predict``)."""
    entry = _logger_entry(logger)
    init_args = entry.get("init_args")
    init_args["save_dir"], init_args["name"], init_args["version"] = str(folder.parent), "", folder.name


def claim(folder: Path) -> None:
    """Refuse a ``folder`` holding a file of predict's names that predict did not write, then record what it
    is about to write (before writing: a killed predict's files are its own too)."""
    manifest = read_manifest(folder) or {}
    ours = manifest.get("paths", []) if manifest.get("command") == "predict" else []
    foreign = [name for name in PREDICT_FILES if (folder / name).exists() and name not in ours]
    if foreign:
        raise SpectraConfigError(
            f"{folder / foreign[0]}: a file predict did not write, where it would write its "
            f"{foreign[0]}; move it, or give --trainer.logger.init_args.version to predict into another folder"
        )
    folder.mkdir(parents=True, exist_ok=True)
    record_written(folder, "predict", PREDICT_FILES)
