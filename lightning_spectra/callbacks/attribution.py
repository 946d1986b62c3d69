"""What the attribution callbacks share: when they run, where their files go, and how they write and log them.

Attribution needs gradients, which Lightning's validation/test loops switch off (``torch.inference_mode``), so
the callbacks run at ``on_fit_end`` (after the loops) and, if asked, at ``on_test_end``. Lightning has moved
the model to the CPU by ``on_fit_end``; it is put back on the training device for the computation and
returned to the CPU afterwards. Only rank zero computes.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import lightning.pytorch as L
import numpy as np
import torch
from lightning.pytorch.utilities import rank_zero_info, rank_zero_warn

from lightning_spectra.interpret.gradcam import predicted_class
from lightning_spectra.interpret.importance import evaluation_mode
from lightning_spectra.runs.folder import run_dir
from lightning_spectra.runtime.atomic_files import atomic_write

DEFAULT_XLABEL = "2θ (°)"


def output_dirs(trainer: L.Trainer) -> tuple[Path, Path]:
    """``(<run dir>/attribution, <run dir>/figures)``: arrays and tables apart from the pictures."""
    root = run_dir(trainer)
    return root / "attribution", root / "figures"


def split_data(trainer: L.Trainer, split: str) -> tuple[torch.Tensor, torch.Tensor, list[str]] | None:
    """Spectra ``(N, L)``, labels ``(N,)`` (-1 where unknown) and names of a datamodule split, in stored order."""
    datamodule = trainer.datamodule
    splits = getattr(datamodule, "splits", None) if datamodule is not None else None
    if splits is None:
        return None
    data = getattr(splits, split, None)
    if data is None and split == "predict":
        data = splits.test
    if data is None:
        return None
    names = datamodule.spectrum_names(split) if hasattr(datamodule, "spectrum_names") else []
    return data.spectra, data.labels, names


def x_values(pl_module: L.LightningModule, length: int) -> np.ndarray:
    """The model's x axis (2 theta, wavenumber) if it matches the spectra, else point indices."""
    axis = getattr(pl_module, "x_axis", None)
    if axis is not None and len(axis) == length:
        return axis.detach().cpu().numpy().astype(float)
    return np.arange(length, dtype=float)


@contextmanager
def on_training_device(trainer: L.Trainer, pl_module: L.LightningModule) -> Iterator[torch.device]:
    """Run on the training device even after Lightning's teardown moved the model to the CPU; move it back."""
    before = pl_module.device
    device = trainer.strategy.root_device
    if device != before:
        pl_module.to(device)
    try:
        yield device
    finally:
        if device != before:
            pl_module.to(before)


def predict(pl_module: L.LightningModule, x: torch.Tensor) -> torch.Tensor:
    """Logits of ``x`` with the model in eval mode (modes restored), without gradients."""
    with torch.no_grad(), evaluation_mode(pl_module):
        return pl_module(x.to(pl_module.device)).detach()


def known_labels_or_predicted(pl_module: L.LightningModule, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The labels if every spectrum has one (``>= 0``), else the model's own predictions (as the paper's
    test-set importance used the model's outputs as targets)."""
    if len(y) and bool((y >= 0).all()):
        return y
    rank_zero_info("Some spectra have no label: using the model's predicted classes as targets")
    return predicted_class(predict(pl_module, x)).to(y.device)


def write_array(path: Path, values: np.ndarray) -> Path:
    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:  # a file object stops numpy appending ".npy" to the temporary name
            np.save(f, values)

    atomic_write(path, write)
    return path


def write_table(path: Path, columns: Mapping[str, np.ndarray]) -> Path:
    """CSV with one row per point of the spectrum: the x axis column first, then ``columns``."""
    names = list(columns)
    data = np.column_stack([np.asarray(columns[n], dtype=float) for n in names])

    def write(tmp: Path) -> None:
        with open(tmp, "w", newline="") as f:
            out = csv.writer(f)
            out.writerow(names)
            out.writerows([[f"{v:.9g}" for v in row] for row in data])

    atomic_write(path, write)
    return path


def write_rows(path: Path, rows: Sequence[Mapping[str, object]]) -> Path:
    """CSV of dict rows (the keys of the first row are the header); numbers to 9 significant digits."""
    names = list(rows[0]) if rows else []

    def cell(value: object) -> str:
        return f"{value:.9g}" if isinstance(value, float) else str(value)

    def write(tmp: Path) -> None:
        with open(tmp, "w", newline="") as f:
            out = csv.writer(f)
            out.writerow(names)
            out.writerows([[cell(row.get(n, "")) for n in names] for row in rows])

    atomic_write(path, write)
    return path


def predicted_change(predicted: np.ndarray) -> int | None:
    """Index of the first spectrum after the predicted state change of an ordered series, or ``None``.

    Two classes: the split that best separates the predictions into a run of one class then a run of the
    other (robust to a few flickers; ties go to the earliest). More classes: the first index whose
    prediction differs from the one before.
    """
    predicted = np.asarray(predicted)
    if len(predicted) < 2 or np.all(predicted == predicted[0]):
        return None
    if set(np.unique(predicted).tolist()) <= {0, 1}:
        first = predicted[0]
        before = np.concatenate([[0], np.cumsum(predicted != first)])  # mismatches in predicted[:b]
        after = np.concatenate([np.cumsum((predicted == first)[::-1])[::-1], [0]])  # mismatches in predicted[b:]
        errors = before + after
        return int(np.argmin(errors[1:-1]) + 1)
    return int(np.flatnonzero(predicted[1:] != predicted[:-1])[0] + 1)


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
    base = key.replace("/", "_")
    model = type(trainer.lightning_module).__name__
    for path, caption in zip(paths, captions, strict=True):
        stem = Path(path).stem
        suffix = stem.removeprefix(f"{base}_") if stem != base else ""
        if caption == stem and suffix in FIGURE_CAPTIONS:
            caption = f"{model}, {key.rpartition('/')[2]} split: {FIGURE_CAPTIONS[suffix]}"
        for logger in trainer.loggers:
            if not hasattr(logger, "log_image"):
                continue
            try:
                logger.log_image(key=f"{key}/{suffix}" if suffix else key, images=[str(path)], caption=[caption])
            except Exception as err:  # a logging hiccup must not lose a finished run's other outputs
                rank_zero_warn(f"could not log {key} images to {type(logger).__name__}: {err}")


def class_mean_spectra(x: np.ndarray, classes: np.ndarray, class_names: Sequence[str]) -> dict[str, np.ndarray]:
    """Mean spectrum of each class present (the reference curves drawn above importance plots)."""
    references = {}
    for c, name in enumerate(class_names):
        rows = x[classes == c]
        if len(rows):
            references[f"{name} (mean of {len(rows)})"] = rows.mean(axis=0)
    return references


# ---------------------------------------------------------------------------------------- callback


class AttributionCallback(L.Callback):
    """Runs :meth:`run` on ``split`` when fit ends and, with ``on_test``, on the test series after each test."""

    split: str
    on_test: bool

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.run(trainer, pl_module, self.split)

    def on_test_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.on_test:
            self.run(trainer, pl_module, "test")

    def run(self, trainer: L.Trainer, pl_module: L.LightningModule, split: str) -> None:
        raise NotImplementedError
