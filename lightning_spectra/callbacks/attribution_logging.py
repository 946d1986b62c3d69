"""Sending the attribution figures to the run's loggers."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import lightning.pytorch as L
from lightning.pytorch.utilities import rank_zero_warn

#: What each attribution figure shows, by the end of its file name, for captions a person reads.
FIGURE_CAPTIONS = {
    "spectra": "chosen spectra with their attribution maps",
    "class_mean": "attribution averaged per class, over each class's mean spectrum",
    "range_mean": "attribution averaged per target range, over each range's mean spectrum",
    "series": "attribution over the ordered series, one row per spectrum",
    "deletion": "deletion curve: most attributed points removed first, against a random order",
}


def log_images(trainer: L.Trainer, key: str, paths: Sequence[Path], captions: Sequence[str]) -> None:
    """Send PNGs to every logger that takes images (WandbLogger's ``log_image``); others keep the files only.

    One image per key (``gradcam/test/class_mean``): figures of different sizes under one key are drawn
    squeezed to one size. A caption that is only the file's name is replaced by what the figure shows."""
    takers = [logger for logger in trainer.loggers if hasattr(logger, "log_image")]
    if not takers:  # CSV only: the files are the record
        return
    base = key.replace("/", "_")
    model = type(trainer.lightning_module).__name__
    for path, caption in zip(paths, captions, strict=True):
        stem = Path(path).stem
        suffix = stem.removeprefix(f"{base}_") if stem != base else ""
        if caption == stem and suffix in FIGURE_CAPTIONS:
            caption = f"{model}, {key.rpartition('/')[2]} split: {FIGURE_CAPTIONS[suffix]}"
        for logger in takers:
            try:
                logger.log_image(key=f"{key}/{suffix}" if suffix else key, images=[str(path)], caption=[caption])
            except Exception as err:  # a logging hiccup must not lose a finished run's other outputs
                rank_zero_warn(f"could not log {key} images to {type(logger).__name__}: {err}")
