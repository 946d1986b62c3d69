"""Input-gradient feature importance (paper spec 6) of the trained model, written when ``fit`` ends.

Attribution needs gradients, which Lightning's validation/test loops switch off (``torch.inference_mode``), so
it runs at ``on_fit_end`` (after the loops) and, if asked, at ``on_test_end`` (gradients switched back on for
the call). Lightning has moved the model to the CPU by ``on_fit_end``; it is put back on the training device
for the computation and returned to the CPU afterwards. Only rank zero computes.

Files (see ``docs/interpretation.md``): arrays and CSV tables in ``<run dir>/attribution/``, PNG figures in
``<run dir>/figures/``; their paths go into ``summary.json``.

Helpers shared with :mod:`lightning_spectra.callbacks.gradcam` live here too.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import lightning.pytorch as L
import numpy as np
import torch
from lightning.pytorch.utilities import rank_zero_info, rank_zero_warn

from lightning_spectra.data.cache import atomic_write
from lightning_spectra.interpret.gradcam import predicted_class
from lightning_spectra.interpret.importance import (
    Normalisation,
    SequenceLayout,
    evaluation_mode,
    input_gradients,
    summarise_gradients,
)
from lightning_spectra.run_dir import run_dir, update_summary

DEFAULT_XLABEL = "2θ (°)"


# ---------------------------------------------------------------------------------------- shared helpers
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


def log_images(trainer: L.Trainer, key: str, paths: Sequence[Path], captions: Sequence[str]) -> None:
    """Send PNGs to every logger that takes images (WandbLogger's ``log_image``); others keep the files only."""
    for logger in trainer.loggers:
        if not hasattr(logger, "log_image"):
            continue
        try:
            logger.log_image(key=key, images=[str(p) for p in paths], caption=list(captions))
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
class FeatureImportance(L.Callback):
    """The gradient of the mean loss with respect to the input spectra, summed and squared over a split.

    Put it after :class:`~lightning_spectra.callbacks.Timing` in the callback list so that the fit time does
    not include it.

    Args:
        split: datamodule split analysed when fit ends (paper: ``"train"``, the whole training tensor).
        on_test: also analyse the test series at the end of every ``test`` run (labels as targets, or the
            model's predictions where labels are unknown).
        normalisation: divide the sum of squared gradients by the number of spectra (``"samples"``) or of
            points (``"points"``, the paper's "AvgS").
        sequence_layout: for sequence models, cut the training set into sequences as in training (``"train"``,
            the paper's ``X2_TRN``) or as in evaluation (``"eval"``). Other splits are always cut as in
            evaluation (a series is one sequence). Layers are in eval mode either way.
        heatmap: also draw ``dL/dx`` of every spectrum as an image (the paper's seismic heat map).
        save_gradients: also save the full ``(N, L)`` gradient array.
        linthresh: linear range of the symlog plot; default 1e-3 of the largest magnitude.
        dpi: resolution of the PNG figures.
        xlabel: label of the x axis of the figures.
        log_images: send the figures to loggers that take images (W&B).
    """

    def __init__(
        self,
        split: str = "train",
        on_test: bool = False,
        normalisation: Normalisation = "samples",
        sequence_layout: SequenceLayout = "train",
        heatmap: bool = True,
        save_gradients: bool = False,
        linthresh: float | None = None,
        dpi: int = 150,
        xlabel: str = DEFAULT_XLABEL,
        log_images: bool = True,
    ) -> None:
        if normalisation not in ("samples", "points"):
            raise ValueError(f"normalisation must be 'samples' or 'points', got {normalisation!r}")
        if sequence_layout not in ("train", "eval"):
            raise ValueError(f"sequence_layout must be 'train' or 'eval', got {sequence_layout!r}")
        self.split, self.on_test = split, on_test
        self.normalisation, self.sequence_layout = normalisation, sequence_layout
        self.heatmap, self.save_gradients, self.linthresh = heatmap, save_gradients, linthresh
        self.dpi, self.xlabel, self.log_images = dpi, xlabel, log_images
        self.results: dict[str, dict[str, Any]] = {}  # per split: the arrays, for callers and tests

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.run(trainer, pl_module, self.split)

    def on_test_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.on_test:
            self.run(trainer, pl_module, "test")

    def run(self, trainer: L.Trainer, pl_module: L.LightningModule, split: str) -> None:
        """Compute, write, draw and log the importance of ``split``; rank zero only."""
        if not trainer.is_global_zero:
            return
        data = split_data(trainer, split)
        if data is None:
            rank_zero_info(f"FeatureImportance: no '{split}' split in the datamodule; skipped")
            return
        x, y, _ = data
        with on_training_device(trainer, pl_module):
            y = known_labels_or_predicted(pl_module, x, y)
            layout = self.sequence_layout if split == "train" else "eval"  # a series is evaluated as one sequence
            grad, loss = input_gradients(pl_module, x, y, pl_module.loss, sequence_layout=layout)
        signed, mean_square = summarise_gradients(grad, self.normalisation)
        grad = grad.float().cpu().numpy()
        signed, mean_square = signed.numpy(), mean_square.numpy()
        self.results[split] = {"signed_sum": signed, "mean_square": mean_square, "loss": float(loss)}
        self._write(trainer, pl_module, split, x.detach().cpu().numpy(), y.cpu().numpy(), grad, signed,
                    mean_square, float(loss))

    def _write(self, trainer, pl_module, split, x, y, grad, signed, mean_square, loss) -> None:
        from lightning_spectra import plots  # matplotlib loads only when a figure is drawn

        arrays, figures = output_dirs(trainer)
        stem = f"feature_importance_{split}"
        axis = x_values(pl_module, x.shape[1])
        files = {
            "csv": write_table(arrays / f"{stem}.csv",
                               {"x": axis, "signed_sum": signed, "mean_square": mean_square}),
            "signed_sum": write_array(arrays / f"{stem}_signed_sum.npy", signed),
            "mean_square": write_array(arrays / f"{stem}_mean_square.npy", mean_square),
        }
        if self.save_gradients:
            files["gradients"] = write_array(arrays / f"input_gradients_{split}.npy", grad)

        model = type(pl_module).__name__
        title = f"{model}: input-gradient importance on the {split} set ({len(x)} spectra, loss {loss:.4g})"
        references = class_mean_spectra(x, y, pl_module.class_names)
        pngs, captions = [], []
        for scale in ("linear", "symlog"):
            fig = plots.plot_feature_importance(axis, references, signed, mean_square, scale=scale,
                                                linthresh=self.linthresh, xlabel=self.xlabel, title=title,
                                                normalisation=self.normalisation)
            suffix = "" if scale == "linear" else "_symlog"
            pngs.append(plots.save_figure(fig, figures / f"{stem}{suffix}.png", self.dpi))
            captions.append(f"{model} {split} feature importance ({scale})")
        if self.heatmap:
            fig = plots.plot_gradient_heatmap(axis, grad, xlabel=self.xlabel,
                                              title=f"{model}: ∂L/∂x of every {split} spectrum")
            pngs.append(plots.save_figure(fig, figures / f"input_gradients_{split}.png", self.dpi))
            captions.append(f"{model} {split} input gradients")

        if self.log_images:
            log_images(trainer, f"feature_importance/{split}", pngs, captions)
        peak = int(np.argmax(np.abs(signed)))
        update_summary(trainer, {
            f"{stem}_files": {k: str(v) for k, v in files.items()},
            f"{stem}_figures": [str(p) for p in pngs],
            f"{stem}_loss": loss,
            f"{stem}_peak_x": float(axis[peak]),
            f"{stem}_normalisation": self.normalisation,
        })
        rank_zero_info(f"Feature importance of the {split} set written to {arrays} and {figures}")
