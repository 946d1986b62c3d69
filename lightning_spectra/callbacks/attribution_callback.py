"""When the attribution callbacks run, on which spectra and on which device.

Attribution needs gradients, which Lightning's validation/test loops switch off (``torch.inference_mode``), so
the callbacks run at ``on_fit_end`` (after the loops) and, if asked, at ``on_test_end``. Lightning has moved
the model to the CPU by ``on_fit_end``; it is put back on the training device for the computation and
returned to the CPU afterwards. Only rank zero computes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import lightning.pytorch as L
import numpy as np
import torch

from lightning_spectra.data.base import SpectraDataModule
from lightning_spectra.interpret.model_modes import evaluation_mode
from lightning_spectra.runs.folder import update_summary
from lightning_spectra.runs.tested_weights import ExplainedWeights, tested_weights
from lightning_spectra.runtime.progress import phase


def x_label(trainer: L.Trainer, chosen: str | None) -> str:
    """The label of the figures' x axis: the datamodule's ``x_label`` option where the user set one (it always
    wins), else ``chosen`` (the callback's ``xlabel``), else the data's own name for its axis, else ``x``."""
    datamodule = trainer.datamodule
    if not isinstance(datamodule, SpectraDataModule):
        return chosen or "x"
    return getattr(datamodule, "x_label_option", None) or chosen or datamodule.x_label


def split_data(trainer: L.Trainer, split: str) -> tuple[torch.Tensor, torch.Tensor, list[str]] | None:
    """Spectra ``(N, L)``, labels ``(N,)`` (-1 where unknown) and names of a datamodule split, in stored order."""
    datamodule = trainer.datamodule
    if not isinstance(datamodule, SpectraDataModule):
        return None  # a datamodule of another kind: nothing this callback can map
    data = getattr(datamodule.splits, split)
    if data is None and split == "predict":
        data = datamodule.splits.test
    if data is None:
        return None
    names = datamodule.spectrum_names(split)
    return data.spectra, data.labels, names


def drawn_spectra(trainer: L.Trainer, split: str, spectra: torch.Tensor) -> np.ndarray:
    """The spectra figures draw for ``split``: in the data's own units (as read) where the datamodule keeps them
    (``raw_spectra``), else ``spectra``, the model's input."""
    datamodule = trainer.datamodule
    raw = datamodule.raw_spectra(split) if isinstance(datamodule, SpectraDataModule) else None
    if raw is None or np.shape(raw) != tuple(spectra.shape):
        return spectra.detach().float().cpu().numpy()
    return np.asarray(raw, dtype=float)


def is_ordered(trainer: L.Trainer) -> bool:
    """Whether the datamodule's spectra form a series (a ramp, a time course): only then do the series figure
    and the predicted change mean something."""
    datamodule = trainer.datamodule
    return isinstance(datamodule, SpectraDataModule) and datamodule.ordered


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


class AttributionCallback(L.Callback):
    """Runs :meth:`run` on ``split`` when fit ends and, with ``on_test``, on the test series after each test;
    a line when it starts and one when it ends (it takes seconds), unless the progress bar is off."""

    split: str
    on_test: bool
    progress_shown: bool = False  # while :meth:`run` runs: whether its steps may print progress lines too
    #: while :meth:`run` runs: the weights it explains, for figure titles (:mod:`..runs.tested_weights`)
    weights: ExplainedWeights = ExplainedWeights(None)

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._run_shown(trainer, pl_module, self.split, "fit")

    def on_test_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.on_test:
            self._run_shown(trainer, pl_module, "test", "test")

    def describe(self, split: str) -> str:
        """What :meth:`run` computes on ``split``, for the progress lines."""
        return f"{type(self).__name__} of the {split} set"

    def _run_shown(self, trainer: L.Trainer, pl_module: L.LightningModule, split: str, stage: str) -> None:
        """:meth:`run` on the weights the run tests (the best checkpoint's at fit end; the last ones are put
        back after it), which the summary records as ``attribution_epoch`` and ``attribution_checkpoint``."""
        if not getattr(trainer, "is_global_zero", True):
            return
        shown = getattr(trainer, "progress_bar_callback", None) is not None
        self.progress_shown = shown
        try:
            with tested_weights(trainer, pl_module, stage) as weights, phase(self.describe(split), enabled=shown):
                self.weights = weights
                update_summary(trainer, weights.summary())
                self.run(trainer, pl_module, split)
        finally:
            self.progress_shown = False
            self.weights = ExplainedWeights(None)

    def run(self, trainer: L.Trainer, pl_module: L.LightningModule, split: str) -> None:
        raise NotImplementedError


def predict(pl_module: L.LightningModule, x: torch.Tensor) -> torch.Tensor:
    """Logits of ``x`` with the model in eval mode (modes restored), without gradients."""
    with torch.no_grad(), evaluation_mode(pl_module):
        return pl_module(x.to(pl_module.device)).detach()


def class_mean_spectra(x: np.ndarray, classes: np.ndarray, class_names: Sequence[str]) -> dict[str, np.ndarray]:
    """Mean spectrum of each class present (the reference curves drawn above importance plots)."""
    references = {}
    for c, name in enumerate(class_names):
        rows = x[classes == c]
        if len(rows):
            references[f"{name} (mean of {len(rows)})"] = rows.mean(axis=0)
    return references
