"""Sending the attribution figures to the run's loggers."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import lightning.pytorch as L
from lightning.pytorch.utilities import rank_zero_warn


def log_images(trainer: L.Trainer, key: str, paths: Sequence[Path], captions: Sequence[str]) -> None:
    """Send PNGs to every logger that takes images (WandbLogger's ``log_image``); others keep the files only."""
    for logger in trainer.loggers:
        if not hasattr(logger, "log_image"):
            continue
        try:
            logger.log_image(key=key, images=[str(p) for p in paths], caption=list(captions))
        except Exception as err:  # a logging hiccup must not lose a finished run's other outputs
            rank_zero_warn(f"could not log {key} images to {type(logger).__name__}: {err}")
