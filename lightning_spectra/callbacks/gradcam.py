"""Attribution maps of the tested model on a series of spectra, written when ``fit`` ends: 1D Grad-CAM (Shi et al.
2023) at the model's positional layer (gradient x input for models without one) and Integrated Gradients against
a reference spectrum; with a faithfulness number (deletion curve) for each.

**Which map comes first** is chosen per model class by measurement (``default_map`` on the class; BENCHMARKS.md
"Attribution"): on the simulated ramp Integrated Gradients against the other class's mean ranks regions far
better than chance for all eight models, where most layer maps and gradient x input do not. The figures draw the
default map; where that is not 1D Grad-CAM, the layer's 1D Grad-CAM is drawn beside it, labelled as such. Every
figure names its method, layer and resolution, its deletion gap, its share on known peaks where known, and the
epoch of the weights explained (the weights the run tests: :mod:`~lightning_spectra.runs.tested_weights`).

Every spectrum of the chosen split (the test series by default) is mapped in one pass over the whole series
in its stored order, exactly as evaluation sees it (sequence models read the other spectra of the series).
Outputs (arrays and tables in ``<run dir>/attribution/``, figures in ``<run dir>/figures/``, numbers in
``summary.json`` and so in the W&B run summary):

- per-spectrum maps of all spectra, placed along the axis by receptive field, with the points no layer
  position reads (``_unseen.npy``);
- a figure per chosen spectrum (by default the spectra around the predicted state change; misclassified ones
  flagged), class-averaged maps, and the whole series as a heat map with the predicted change marked;
- a per-peak table: the peaks of the class-mean spectra and each class's integrated signed attribution on them;
- a regressor gets the same outputs with its maps explaining its first predicted value, averaged per target
  range (``_range_mean.csv``) in place of classes, and no predicted change or misclassified spectra (see
  :mod:`~lightning_spectra.interpret.groups`, the one place where the two differ);
- the deletion curve of each map against a random order (``_deletion.csv`` and the ``*_deletion_*`` numbers);
- on the simulated ramp, the share of the attribution on the reflections that differ between the phases.

Runs at ``on_fit_end`` outside Lightning's inference mode and, if asked, at ``on_test_end``; rank zero only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import lightning.pytorch as L
import numpy as np
import torch
from lightning.pytorch.utilities import rank_zero_info
from torch import Tensor

from lightning_spectra.callbacks.attribution_callback import (
    AttributionCallback,
    drawn_spectra,
    is_ordered,
    on_training_device,
    predict,
    split_data,
    x_label,
    x_values,
)
from lightning_spectra.callbacks.attribution_logging import log_images
from lightning_spectra.callbacks.gradcam_figures import draw_gradcam_figures, map_captions
from lightning_spectra.callbacks.gradcam_files import write_gradcam_files
from lightning_spectra.callbacks.gradcam_summary import gradcam_summary
from lightning_spectra.callbacks.mapped_split import DEFAULT_MAPS, MappedSplit
from lightning_spectra.data.base import SpectraDataModule
from lightning_spectra.interpret.faithfulness import DeletionCurve
from lightning_spectra.interpret.gradcam import classic_informative, grad_cam, method_name
from lightning_spectra.interpret.groups import Groups
from lightning_spectra.interpret.integrated_gradients import REFERENCES, reference_spectra
from lightning_spectra.interpret.map_checks import check_maps
from lightning_spectra.runs.attribution_files import output_dirs
from lightning_spectra.runs.folder import update_summary
from lightning_spectra.runtime.progress import phase


class GradCAM(AttributionCallback):
    """Attribution maps of a split (1D Grad-CAM, or gradient x input at the input), with figures and numbers.

    Put it after :class:`~lightning_spectra.callbacks.Timing` in the callback list so that the fit time does
    not include it.

    Args:
        split: datamodule split mapped when fit ends (default the test series).
        indices: positions in that split that get a figure of their own; negative values count from the
            end. ``None`` (default): the two spectra before and the two after the predicted state change (first
            and last of the series if the prediction never changes).
        on_test: also map the test series at the end of every ``test`` run (overwrites the fit-end maps of
            the test split: the test run's weights are the ones that count).
        target: which class each map explains: ``"label"`` (default: the true class; falls back to the
            prediction where labels are unknown) or ``"predicted"`` (the model's decision).
        relu: apply the ReLU of classic Grad-CAM to the classic maps (the 1D maps never get one).
        default_map: the map drawn first: ``"auto"`` (the model class's measured ``default_map``),
            ``"integrated_gradients"`` or ``"gradcam"`` (the layer's 1D Grad-CAM).
        integrated_gradients: also compute Integrated Gradients where the default map is 1D Grad-CAM.
        contrast: 1D Grad-CAM of a classifier explains its class score minus the other classes' mean logit
            (for two classes the log-odds) instead of the class logit alone.
        reference: the reference of Integrated Gradients and what the deletion curve replaces regions by:
            ``"auto"`` (a classifier's other class's mean, a regressor's lowest target range's mean),
            ``"other_class_mean"`` (a regressor's "other class" is the other target ranges),
            ``"lowest_group_mean"`` or ``"background"``.
        ig_steps: path steps of Integrated Gradients (8: the measured defaults of BENCHMARKS.md; maps within
            cosine 0.99 of 32 steps on the CNN, and no closer to completeness at 32 on the binned FCNN).
        faithfulness: compute the deletion curve of every map against random orders (a regressor's follows its
            predicted value, in the target's units, where a classifier's follows the class probability).
        deletion_regions, deletion_steps, random_orders: see
            :func:`~lightning_spectra.interpret.faithfulness.deletion_curve`.
        shared_scale: one colour scale across the panels of a figure (default: each panel its own).
        dpi: resolution of the PNG figures.
        xlabel: label of the x axis of the figures (default: the datamodule's ``x_label``).
        log_images: send the figures to loggers that take images (W&B).
        ranges: regressors: number of target ranges (quantiles) whose spectra get an averaged map, in place
            of classes. A regressor's maps explain its first predicted value in the target's units; ``target``
            then says whether spectra are grouped by reference (``label``) or predicted value.
    """

    def __init__(
        self,
        split: str = "test",
        indices: Sequence[int] | None = None,
        on_test: bool = False,
        target: Literal["predicted", "label"] = "label",
        relu: bool = False,
        default_map: Literal["auto", "integrated_gradients", "gradcam"] = "auto",
        integrated_gradients: bool = False,
        contrast: bool = False,
        reference: Literal["auto", "other_class_mean", "lowest_group_mean", "background"] = "auto",
        ig_steps: int = 8,
        faithfulness: bool = True,
        deletion_regions: int = 50,
        deletion_steps: int = 10,
        random_orders: int = 3,
        shared_scale: bool = False,
        dpi: int = 150,
        xlabel: str | None = None,
        log_images: bool = True,
        ranges: int = 3,
    ) -> None:
        if target not in ("predicted", "label"):
            raise ValueError(f"target must be 'predicted' or 'label', got {target!r}")
        if default_map not in ("auto", *DEFAULT_MAPS):
            raise ValueError(f"default_map must be 'auto' or one of {DEFAULT_MAPS}, got {default_map!r}")
        if reference not in ("auto", *REFERENCES):
            raise ValueError(f"reference must be 'auto' or one of {REFERENCES}, got {reference!r}")
        self.split, self.on_test = split, on_test
        self.indices = None if indices is None else list(indices)
        self.target, self.relu, self.default_map, self.contrast = target, relu, default_map, contrast
        self.integrated_gradients, self.reference, self.ig_steps = integrated_gradients, reference, ig_steps
        self.faithfulness = faithfulness
        self.deletion = {"regions": deletion_regions, "steps": deletion_steps, "random_orders": random_orders}
        self.shared_scale = shared_scale
        self.dpi, self.xlabel, self.log_images = dpi, xlabel, log_images
        self.ranges = ranges
        self.results: dict[str, dict[str, Any]] = {}  # per split: the arrays, for callers and tests

    def run(self, trainer: L.Trainer, pl_module: L.LightningModule, split: str) -> None:
        """Map ``split`` (compute), write its arrays and tables, draw its figures, log them; rank zero only."""
        if not trainer.is_global_zero:
            return
        layer = getattr(pl_module, "attribution_layer", None)
        if layer is None:
            rank_zero_info(
                f"GradCAM: {type(pl_module).__name__} has no attribution_layer; no maps. FeatureImportance "
                "still applies."
            )
            return
        data = split_data(trainer, split)
        if data is None or len(data[0]) == 0:
            rank_zero_info(f"GradCAM: no '{split}' spectra in the datamodule; skipped")
            return
        x, y, names = data
        with on_training_device(trainer, pl_module):
            mapped, target = self._map(pl_module, x, y, split, layer)
        self.results[split] = {
            "maps": mapped.per_spectrum["gradcam"],
            "classic": mapped.per_spectrum.get("gradcam_classic"),
            "integrated_gradients": mapped.per_spectrum.get("integrated_gradients"),
            "default_map": mapped.default,
            "target": target,  # what each map explains: a class, or a regressor's output
            "groups": mapped.groups.index,
            f"{mapped.groups.kind}_mean_maps": mapped.means["gradcam"],
            "layer_positions": mapped.positions,
            "unseen": mapped.unseen,
            "change": mapped.groups.change,
            "deletion": mapped.curves,
        }
        arrays, figures = output_dirs(trainer)
        ordered = is_ordered(trainer)  # spectra around a predicted change, a series figure: for a series only
        chosen = self._chosen(len(x), mapped.groups.change if ordered else None)
        files = {k: str(v) for k, v in write_gradcam_files(mapped, chosen, arrays).items()}
        datamodule = trainer.datamodule
        windows = datamodule.ground_truth_windows() if isinstance(datamodule, SpectraDataModule) else None
        numbers = gradcam_summary(mapped, windows, self.reference_for(mapped.groups), ordered)
        pngs = draw_gradcam_figures(
            mapped,
            chosen,
            names,
            type(pl_module).__name__,
            figures,
            x_label(trainer, self.xlabel),
            self.reference_for(mapped.groups),
            self.shared_scale,
            self.dpi,
            drawn=drawn_spectra(trainer, split, x),
            ordered=ordered,
            captions=map_captions(mapped, numbers, self.weights.caption),
        )
        if self.log_images:
            log_images(trainer, f"gradcam/{split}", pngs, [p.stem for p in pngs])
        summary = {f"{mapped.stem}_files": files, f"{mapped.stem}_figures": [str(p) for p in pngs]}
        update_summary(trainer, summary | numbers)
        rank_zero_info(f"{mapped.default_method} maps of the {split} set written to {arrays} and {figures}")

    def reference_for(self, groups: Groups) -> str:
        """The reference of Integrated Gradients and the deletion curves: ``reference``, or with ``"auto"`` the
        other class's mean for a classifier and the lowest target range's mean for a regressor (measured more
        faithful on a Beer-Lambert set, BENCHMARKS.md "Attribution")."""
        if self.reference != "auto":
            return self.reference
        return "other_class_mean" if groups.kind == "class" else "lowest_group_mean"

    def default_for(self, pl_module: L.LightningModule) -> str:
        """The map drawn first for ``pl_module``: ``default_map``, or with ``"auto"`` its class's measured choice."""
        if self.default_map != "auto":
            return self.default_map
        chosen = getattr(pl_module, "default_map", "gradcam")
        return chosen if chosen in DEFAULT_MAPS else "gradcam"

    def _map(
        self, pl_module: L.LightningModule, x: Tensor, y: Tensor, split: str, layer: str
    ) -> tuple[MappedSplit, np.ndarray]:
        """The maps of ``split`` with their groups and checks, and the target each map explains."""
        task = pl_module.task
        method = method_name(pl_module)
        # what each map explains, as the task says: a class per spectrum, or a regressor's first value
        explained = (
            None if self.target == "predicted" else task.labelled_attribution_target(y, lambda: predict(pl_module, x))
        )
        # the task says what a map explains; contrast is for class scores (a regressor's value has none)
        contrast = self.contrast and bool(task.class_names)
        scored = {"score": task.attribution_score, "default_target": task.default_attribution_target}
        result = grad_cam(pl_module, x, explained, relu=self.relu, contrast=contrast, **scored)
        groups = task.attribution_groups(result.logits, result.target, y, self.target, self.ranges)
        default = self.default_for(pl_module)
        with_ig = self.integrated_gradients or default == "integrated_gradients"
        ig, curves = self._checks(pl_module, x, result.maps, result.target, groups, method, with_ig)
        positions = int(result.layer_maps.shape[-1])
        if positions < 4:
            rank_zero_info(
                f"GradCAM: layer '{layer}' keeps only {positions} position(s) at this spectrum length; "
                "the maps can hardly say where along the spectrum the evidence lies"
            )
        per_spectrum = {"spectrum": x.detach().float().cpu().numpy(), "gradcam": result.maps.float().cpu().numpy()}
        if classic_informative(result, layer):
            per_spectrum["gradcam_classic"] = result.classic.float().cpu().numpy()
        if ig is not None:
            per_spectrum["integrated_gradients"] = ig
        if ig is None and default == "integrated_gradients":  # no reference to integrate from (one group only)
            default = "gradcam"
        unseen, axis = result.unseen.cpu().numpy(), x_values(pl_module, x.shape[1])
        mapped = MappedSplit(split, layer, method, axis, per_spectrum, unseen, positions, groups, curves, default)
        return mapped, result.target.cpu().numpy()

    def _checks(
        self,
        pl_module: L.LightningModule,
        x: Tensor,
        maps: Tensor,
        target: Tensor,
        groups: Groups,
        method: str,
        with_ig: bool,
    ) -> tuple[np.ndarray | None, dict[str, DeletionCurve]]:
        """Integrated Gradients (``with_ig``) and the deletion curve of every map (if asked), by method name."""
        if not (with_ig or self.faithfulness):
            return None, {}
        x = x.detach().float()
        try:
            kind = self.reference_for(groups)
            reference = reference_spectra(x, kind, groups.reference_classes, torch.as_tensor(groups.index))
        except ValueError as err:  # all spectra in one class or target range: no other-group mean to compare with
            rank_zero_info(f"GradCAM: no Integrated Gradients or deletion curve: {err}")
            return None, {}
        ig_steps = self.ig_steps if with_ig else None
        deletion = self.deletion if self.faithfulness else None
        steps = [("Integrated Gradients", with_ig), ("deletion curves", self.faithfulness)]
        checks = " and ".join(name for name, on in steps if on)
        with phase(f"GradCAM: {checks} of {len(x)} spectra", enabled=self.progress_shown):  # most of the time
            task = pl_module.task  # what Integrated Gradients explains and the deletion curves follow
            scores = {"deletion_score": task.deletion_score, "deletion_score_name": task.deletion_score_name}
            ig, curves = check_maps(
                pl_module, x, maps, method, target, reference, ig_steps, deletion, task.attribution_score, **scores
            )
        return None if ig is None else ig.numpy(), curves

    def _chosen(self, n: int, change: int | None) -> list[int]:
        """``indices`` (or the spectra around ``change``) made non-negative, in range and unique (order kept)."""
        if self.indices is not None:
            indices = self.indices
        elif change is not None:
            indices = [change - 2, change - 1, change, change + 1]
        else:
            indices = [0, n - 1]
        chosen: list[int] = []
        for i in indices:
            j = i + n if i < 0 and self.indices is not None else i
            if not 0 <= j < n:
                if self.indices is not None:
                    rank_zero_info(f"GradCAM: index {i} is outside the {n} spectra; skipped")
            elif j not in chosen:
                chosen.append(j)
        return chosen
