"""Input-gradient feature importance (paper spec 6) of the trained model, written when ``fit`` ends.

Attribution needs gradients, which Lightning's validation/test loops switch off (``torch.inference_mode``), so
it runs at ``on_fit_end`` (after the loops) and, if asked, at ``on_test_end`` (gradients switched back on for
the call). Lightning has moved the model to the CPU by ``on_fit_end``; it is put back on the training device
for the computation and returned to the CPU afterwards. Only rank zero computes.

Files (see ``docs/interpretation.md``): arrays and CSV tables in ``<run dir>/attribution/``, PNG figures in
``<run dir>/figures/``; their paths go into ``summary.json``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import lightning.pytorch as L
import numpy as np
from lightning.pytorch.utilities import rank_zero_info

from lightning_spectra.callbacks.attribution_callback import (
    AttributionCallback,
    class_mean_spectra,
    drawn_spectra,
    on_training_device,
    predict,
    split_data,
    x_label,
    x_values,
)
from lightning_spectra.callbacks.attribution_logging import log_images
from lightning_spectra.interpret.importance import (
    Normalisation,
    SequenceLayout,
    input_gradients,
    summarise_gradients,
)
from lightning_spectra.runs.attribution_files import output_dirs, write_array, write_table
from lightning_spectra.runs.folder import update_summary

if TYPE_CHECKING:
    from lightning_spectra.plots.importance import GradientOf


def gradient_words(task: Any, output: str = "") -> GradientOf:
    """How the figures word the gradient of ``output`` (a name of :meth:`~lightning_spectra.tasks.Task.
    importance_outputs`; ``""``: the model as a whole): a task that predicts values (a regressor) has it of its mean
    predicted target (the first, for the whole model), one of a named output of that output's term of the loss
    (a multi-label model's label), any other of its loss."""
    from lightning_spectra.plots.importance import LOSS, GradientOf

    if task.target_names:
        return GradientOf.predicted(output or task.target_names[0])
    return GradientOf.loss_of(output) if output else LOSS


def file_parts(names: list[str]) -> dict[str, str]:
    """Each of ``names`` (labels) as part of a file name: anything but letters, digits, ``.``, ``-`` and ``_``
    becomes ``_``; names that would then clash (``a b``, ``a_b``) are numbered, so no figure overwrites another."""
    parts = {name: re.sub(r"[^\w.-]+", "_", name).strip("_") or "output" for name in names}
    clashing = {part for part in parts.values() if list(parts.values()).count(part) > 1}
    return {name: f"{j}_{part}" if part in clashing else part for j, (name, part) in enumerate(parts.items())}


@dataclass
class Importance:
    """The input-gradient importance of one output (``""``: the model as a whole) over a split."""

    output: str
    grad: np.ndarray  # (N, L)
    signed: np.ndarray  # (L,)
    mean_square: np.ndarray  # (L,)
    loss: float  # the objective's value


class FeatureImportance(AttributionCallback):
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
        heatmap: also draw the gradient of every spectrum as an image, its rows grouped by class (a regressor:
            by target range) under each group's mean gradient (``input_gradients_<split>.png``).
        symlog: also draw the importance on symmetric log axes (``feature_importance_<split>_symlog.png``): it
            shows gradients too small for the linear figure (a saturated model's), but on most data its sign
            changes fill the panel, so it is off by default.
        save_gradients: also save the full ``(N, L)`` gradient array.
        linthresh: linear range of the symlog plot; default 1e-3 of the largest magnitude.
        dpi: resolution of the PNG figures.
        xlabel: label of the x axis of the figures (default: the datamodule's ``x_label``).
        log_images: send the figures to loggers that take images (W&B).

    A task that names several outputs (:meth:`~lightning_spectra.tasks.Task.importance_outputs`; a multi-label
    model: one per label, its term of the loss) gets the importance of each: a ``signed_sum(<label>)`` and
    ``mean_square(<label>)`` column pair per label in the CSV, arrays with one row per label (in the order of
    ``feature_importance_<split>_outputs`` in ``summary.json``, where ``_loss`` and ``_peak_x`` are then per label),
    and figures titled by the label (``feature_importance_<split>_<label>.png``,
    ``input_gradients_<split>_<label>.png``).
    """

    def __init__(
        self,
        split: str = "train",
        on_test: bool = False,
        normalisation: Normalisation = "samples",
        sequence_layout: SequenceLayout = "train",
        heatmap: bool = True,
        symlog: bool = False,
        save_gradients: bool = False,
        linthresh: float | None = None,
        dpi: int = 150,
        xlabel: str | None = None,
        log_images: bool = True,
    ) -> None:
        if normalisation not in ("samples", "points"):
            raise ValueError(f"normalisation must be 'samples' or 'points', got {normalisation!r}")
        if sequence_layout not in ("train", "eval"):
            raise ValueError(f"sequence_layout must be 'train' or 'eval', got {sequence_layout!r}")
        self.split, self.on_test = split, on_test
        self.normalisation, self.sequence_layout = normalisation, sequence_layout
        self.heatmap, self.symlog, self.save_gradients, self.linthresh = heatmap, symlog, save_gradients, linthresh
        self.dpi, self.xlabel, self.log_images = dpi, xlabel, log_images
        self.results: dict[str, dict[str, Any]] = {}  # per split: the arrays, for callers and tests

    def run(self, trainer: L.Trainer, pl_module: L.LightningModule, split: str) -> None:
        """Compute, write, draw and log the importance of ``split``; rank zero only."""
        if not trainer.is_global_zero:
            return
        data = split_data(trainer, split)
        if data is None:
            rank_zero_info(f"FeatureImportance: no '{split}' split in the datamodule; skipped")
            return
        x, y, _ = data
        task = pl_module.task
        objectives = task.importance_outputs()
        computed = {}
        with on_training_device(trainer, pl_module):
            y = task.importance_targets(y, lambda: predict(pl_module, x))
            layout = self.sequence_layout if split == "train" else "eval"  # a series is evaluated as one sequence
            # The task's objectives: a classifier's loss; a regressor's mean predicted value (signed: where a rise
            # raises the prediction); a multi-label model's term of the loss of each label.
            for output, objective in objectives.items():
                computed[output] = input_gradients(pl_module, x, y, objective, sequence_layout=layout)
        importances = []
        for output, (grad, loss) in computed.items():
            signed, mean_square = summarise_gradients(grad, self.normalisation)
            importance = Importance(
                output, grad.float().cpu().numpy(), signed.numpy(), mean_square.numpy(), float(loss)
            )
            importances.append(importance)
        if whole_model(importances):
            only = importances[0]
            self.results[split] = {"signed_sum": only.signed, "mean_square": only.mean_square, "loss": only.loss}
        else:  # one row per output, in the task's order
            self.results[split] = {
                "outputs": [i.output for i in importances],
                "signed_sum": np.stack([i.signed for i in importances]),
                "mean_square": np.stack([i.mean_square for i in importances]),
                "loss": [i.loss for i in importances],
            }
        drawn = drawn_spectra(trainer, split, x)  # the reference spectra, in the data's own units
        self._write(trainer, pl_module, split, drawn, y.cpu().numpy(), importances)

    def _write(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        split: str,
        x: np.ndarray,
        y: np.ndarray,
        importances: list[Importance],
    ) -> None:
        arrays, _ = output_dirs(trainer)
        stem = f"feature_importance_{split}"
        axis = x_values(pl_module, x.shape[1])
        whole = whole_model(importances)
        if whole:
            only = importances[0]
            columns = {"x": axis, "signed_sum": only.signed, "mean_square": only.mean_square}
            signed, mean_square, grad = only.signed, only.mean_square, only.grad
        else:  # a column pair per output; the arrays one row per output, in the order of f"{stem}_outputs"
            columns = {"x": axis}
            for i in importances:
                columns |= {f"signed_sum({i.output})": i.signed, f"mean_square({i.output})": i.mean_square}
            signed = np.stack([i.signed for i in importances])
            mean_square = np.stack([i.mean_square for i in importances])
            grad = np.stack([i.grad for i in importances])
        files = {
            "csv": write_table(arrays / f"{stem}.csv", columns),
            "signed_sum": write_array(arrays / f"{stem}_signed_sum.npy", signed),
            "mean_square": write_array(arrays / f"{stem}_mean_square.npy", mean_square),
        }
        if self.save_gradients:
            files["gradients"] = write_array(arrays / f"input_gradients_{split}.npy", grad)

        # mean spectra per class, or per range of a regressor's first target, or per label set
        groups, group_names = pl_module.task.reference_groups(y)
        pngs, captions = [], []
        parts = file_parts([i.output for i in importances])
        for importance in importances:
            named = f"{split}_{parts[importance.output]}" if importance.output else split  # files' split part
            drawn = self._figures(trainer, pl_module, split, named, x, axis, importance, groups, group_names)
            pngs += drawn[0]
            captions += drawn[1]

        if self.log_images:
            log_images(trainer, f"feature_importance/{split}", pngs, captions)
        peaks = {i.output: float(axis[int(np.argmax(np.abs(i.signed)))]) for i in importances}
        losses = {i.output: i.loss for i in importances}
        update_summary(
            trainer,
            {
                f"{stem}_files": {k: str(v) for k, v in files.items()},
                f"{stem}_figures": [str(p) for p in pngs],
                # one number for the model as a whole, else one per output (a multi-label model's labels)
                f"{stem}_loss": losses[""] if whole else losses,
                f"{stem}_peak_x": peaks[""] if whole else peaks,
                f"{stem}_normalisation": self.normalisation,
                **({} if whole else {f"{stem}_outputs": list(losses)}),
            },
        )
        rank_zero_info(f"Feature importance of the {split} set written to {arrays} and {output_dirs(trainer)[1]}")

    def _figures(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        split: str,
        named: str,
        x: np.ndarray,
        axis: np.ndarray,
        importance: Importance,
        groups: np.ndarray,
        group_names: list[str],
    ) -> tuple[list[Path], list[str]]:
        """The figures of one output's importance (its name in their titles; ``named``: the split, and the output's
        part of a file name) and their captions."""
        from lightning_spectra.plots.figure import save_figure  # matplotlib loads only when a figure is drawn
        from lightning_spectra.plots.importance import plot_feature_importance, plot_gradient_heatmap

        _, figures = output_dirs(trainer)
        output = importance.output
        stem, heatmap_stem = f"feature_importance_{named}", f"input_gradients_{named}"
        model = type(pl_module).__name__
        gradient_of = gradient_words(pl_module.task, output)
        quantity = gradient_of.words.removeprefix("the ")
        value = quantity if gradient_of.mean_symbol == "L" else f"mean {quantity}"  # a loss, or a mean prediction
        about = f"{split} set ({len(x)} spectra, {value} {importance.loss:.4g})\n{self.weights.caption}"
        of = f" of {output!r}" if output else ""
        called = f" {output!r}" if output else ""
        xlabel = x_label(trainer, self.xlabel)
        references = class_mean_spectra(x, groups, group_names)
        pngs, captions = [], []
        for scale in ("linear", "symlog") if self.symlog else ("linear",):
            fig = plot_feature_importance(
                axis,
                references,
                importance.signed,
                importance.mean_square,
                scale=scale,
                linthresh=self.linthresh,
                xlabel=xlabel,
                title=f"{model}: input-gradient importance{of} on the {about}",
                normalisation=self.normalisation,
                gradient_of=gradient_of,
            )
            suffix = "" if scale == "linear" else "_symlog"
            pngs.append(save_figure(fig, figures / f"{stem}{suffix}.png", self.dpi))
            captions.append(f"{model} {split} feature importance{called} ({scale}), {self.weights.caption}")
        if self.heatmap:
            # G_i is 1/N of spectrum i's own gradient (the objective is a mean over the set): N G_i is that gradient
            fig = plot_gradient_heatmap(
                axis,
                importance.grad * len(importance.grad),
                groups,
                group_names,
                xlabel=xlabel,
                gradient_of=gradient_of,
                title=f"{model}: input gradient{of} of every spectrum of the {about}",
            )
            pngs.append(save_figure(fig, figures / f"{heatmap_stem}.png", self.dpi))
            captions.append(f"{model} {split} input gradients{called} by {gradient_of.groups}, {self.weights.caption}")
        return pngs, captions


def whole_model(importances: list[Importance]) -> bool:
    """Whether the importance is of the model as a whole (one objective, unnamed): then its files are those
    every task wrote before tasks could name their outputs."""
    return [i.output for i in importances] == [""]
