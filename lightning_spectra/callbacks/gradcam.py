"""Attribution maps of the trained model on a series of spectra, written when ``fit`` ends: 1D Grad-CAM (Shi et al.
2023) at the model's positional layer, gradient x input for models without one, and optionally Integrated
Gradients against a reference spectrum; with a faithfulness number (deletion curve) for each.

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
  :mod:`~lightning_spectra.callbacks.attribution_groups`, the one place where the two differ);
- the deletion curve of each map against a random order (``_deletion.csv`` and the ``*_deletion_*`` numbers);
- on the simulated ramp, the share of the attribution on the reflections that differ between the phases.

Runs at ``on_fit_end`` outside Lightning's inference mode and, if asked, at ``on_test_end``; rank zero only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import lightning.pytorch as L
import numpy as np
import torch
from lightning.pytorch.utilities import rank_zero_info
from torch import Tensor

from lightning_spectra.callbacks.attribution import (
    AttributionCallback,
    log_images,
    on_training_device,
    output_dirs,
    predict,
    split_data,
    write_array,
    write_rows,
    write_table,
    x_label,
    x_values,
)
from lightning_spectra.callbacks.attribution_groups import Groups, class_groups, range_groups
from lightning_spectra.interpret.faithfulness import DeletionCurve, deletion_curve, ground_truth_share
from lightning_spectra.interpret.gradcam import class_means, classic_informative, grad_cam, method_name, predicted_class
from lightning_spectra.interpret.integrated_gradients import REFERENCES, integrated_gradients, reference_spectra
from lightning_spectra.interpret.peaks import peak_rows, peak_table
from lightning_spectra.runs.folder import update_summary


def simulated_ground_truth(trainer: L.Trainer) -> list[tuple[float, float]] | None:
    """The x windows of the reflections that differ between the phases, when the data is the simulated ramp."""
    datamodule = trainer.datamodule
    if getattr(datamodule, "source", None) != "simulated":
        return None
    from lightning_spectra.data.simulate import differing_peak_windows

    return differing_peak_windows()


@dataclass
class MappedSplit:
    """The maps of a split and what every output is written from, the same for classifiers and regressors.

    ``per_spectrum`` holds ``(N, L)`` arrays under the prefix of their table columns: ``spectrum``, ``gradcam``,
    then ``gradcam_classic`` (only where it says something the 1D map does not) and ``integrated_gradients``
    when made; ``means`` the same averaged per group ``(G, L)`` (NaN rows for empty groups).
    """

    split: str
    layer: str
    method: str
    axis: np.ndarray
    per_spectrum: dict[str, np.ndarray]
    unseen: np.ndarray
    positions: int
    groups: Groups
    curves: dict[str, DeletionCurve]

    means: dict[str, np.ndarray] = field(init=False)
    stem: str = field(init=False)

    def __post_init__(self) -> None:
        index, count = torch.as_tensor(self.groups.index), len(self.groups.names)
        self.means = {k: class_means(torch.as_tensor(v), index, count).numpy() for k, v in self.per_spectrum.items()}
        self.stem = f"gradcam_{self.split}"

    @property
    def maps_by_method(self) -> dict[str, np.ndarray]:
        """The maps of the layer's method and, when made, Integrated Gradients (named as in the summary)."""
        keys = {self.method: "gradcam", "integrated gradients": "integrated_gradients"}
        return {name: self.per_spectrum[key] for name, key in keys.items() if key in self.per_spectrum}


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
        integrated_gradients: also compute Integrated Gradients against ``reference`` (any model).
        reference: ``"other_class_mean"`` or ``"background"``: the reference of Integrated Gradients and
            what the deletion curve replaces regions by. A regressor's "other class" is the other target
            ranges: its reference is the mean of the spectra outside the spectrum's range.
        ig_steps: path steps of Integrated Gradients.
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
        integrated_gradients: bool = False,
        reference: Literal["other_class_mean", "background"] = "other_class_mean",
        ig_steps: int = 32,
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
        if reference not in REFERENCES:
            raise ValueError(f"reference must be one of {REFERENCES}, got {reference!r}")
        self.split, self.on_test = split, on_test
        self.indices = None if indices is None else list(indices)
        self.target, self.relu = target, relu
        self.integrated_gradients, self.reference, self.ig_steps = integrated_gradients, reference, ig_steps
        self.faithfulness = faithfulness
        self.deletion = {"regions": deletion_regions, "steps": deletion_steps, "random_orders": random_orders}
        self.shared_scale = shared_scale
        self.dpi, self.xlabel, self.log_images = dpi, xlabel, log_images
        self.ranges = ranges
        self.results: dict[str, dict[str, Any]] = {}  # per split: the arrays, for callers and tests

    def run(self, trainer: L.Trainer, pl_module: L.LightningModule, split: str) -> None:
        """Map ``split``, write arrays, tables and figures, log them; rank zero only."""
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
        regression = bool(getattr(pl_module, "is_regression", False))
        method = method_name(pl_module)
        with on_training_device(trainer, pl_module):
            # a regressor's maps explain its first predicted value (output 0), a classifier's a class per spectrum
            explained = 0 if regression else self._explained_classes(pl_module, x, y)
            result = grad_cam(pl_module, x, explained, relu=self.relu)
            if regression:
                groups = range_groups(pl_module, result.logits, y, self.target, self.ranges)
            else:
                groups = class_groups(pl_module, result.logits, result.target, y, self.target)
            ig, curves = self._faithfulness(pl_module, x, result.maps, result.target, groups, method)
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
        unseen, axis = result.unseen.cpu().numpy(), x_values(pl_module, x.shape[1])
        mapped = MappedSplit(split, layer, method, axis, per_spectrum, unseen, positions, groups, curves)
        self.results[split] = {
            "maps": per_spectrum["gradcam"],
            "classic": per_spectrum.get("gradcam_classic"),
            "target": result.target.cpu().numpy(),  # what each map explains: a class, or a regressor's output
            "groups": groups.index,
            f"{groups.kind}_mean_maps": mapped.means["gradcam"],
            "layer_positions": positions,
            "unseen": unseen,
            "change": groups.change,
            "deletion": curves,
        }
        arrays, figures = output_dirs(trainer)
        chosen = self._chosen(len(x), groups.change)
        files = {k: str(v) for k, v in self._tables(mapped, chosen, arrays).items()}
        pngs = self._figures(mapped, chosen, names, type(pl_module).__name__, figures, x_label(trainer, self.xlabel))
        if self.log_images:
            log_images(trainer, f"gradcam/{split}", pngs, [p.stem for p in pngs])
        summary = {f"{mapped.stem}_files": files, f"{mapped.stem}_figures": [str(p) for p in pngs]}
        update_summary(trainer, summary | self._summary(mapped, simulated_ground_truth(trainer)))
        rank_zero_info(f"{method} maps of the {split} set written to {arrays} and {figures}")

    def _explained_classes(self, pl_module: L.LightningModule, x: Tensor, y: Tensor) -> Tensor | None:
        """The class each map explains: the label (the prediction where unknown), or ``None`` (the prediction)."""
        if self.target == "predicted":
            return None
        if not bool((y < 0).any()):
            return y.clone()
        rank_zero_info("GradCAM: some spectra have no label; their maps explain the predicted class")
        return torch.where(y < 0, predicted_class(predict(pl_module, x)).to(y.device), y)

    def _faithfulness(
        self, pl_module: L.LightningModule, x: Tensor, maps: Tensor, target: Tensor, groups: Groups, method: str
    ) -> tuple[np.ndarray | None, dict[str, DeletionCurve]]:
        """Integrated Gradients (if asked) and the deletion curve of every map (if asked), by method name."""
        if not (self.integrated_gradients or self.faithfulness):
            return None, {}
        x = x.detach().float()
        try:
            reference = reference_spectra(x, self.reference, groups.reference_classes, torch.as_tensor(groups.index))
        except ValueError as err:  # all spectra in one class or target range: no other-group mean to compare with
            rank_zero_info(f"GradCAM: no Integrated Gradients or deletion curve: {err}")
            return None, {}
        maps_by_method = {method: maps.float()}
        if self.integrated_gradients:
            ig = integrated_gradients(pl_module, x, target, reference, n_steps=self.ig_steps)
            maps_by_method["integrated gradients"] = ig.float()
        curves = {}
        if self.faithfulness:
            for name, values in maps_by_method.items():
                curves[name] = deletion_curve(pl_module, x, values.to(x.device), target, reference, **self.deletion)
        ig = maps_by_method.get("integrated gradients")
        return None if ig is None else ig.cpu().numpy(), curves

    def _tables(self, mapped: MappedSplit, chosen: list[int], arrays: Path) -> dict[str, Path]:
        """The arrays and CSV tables of ``mapped`` under ``arrays``, by kind (the summary's ``_files``)."""
        stem, groups, per_spectrum = mapped.stem, mapped.groups, mapped.per_spectrum
        # the chosen spectra with their maps; Integrated Gradients stay in their own array
        selected = {"x": mapped.axis} | {
            f"{prefix}[{i}]": per_spectrum[prefix][i]
            for i in chosen
            for prefix in ("spectrum", "gradcam", "gradcam_classic")
            if prefix in per_spectrum
        }
        means = {"x": mapped.axis} | {
            f"{'mean_spectrum' if prefix == 'spectrum' else prefix}[{name}]": values[g]
            for g, name in enumerate(groups.names)
            if groups.counts[g]
            for prefix, values in mapped.means.items()
        }
        peaks = peak_table(mapped.axis, mapped.means["spectrum"], mapped.means["gradcam"], groups.names)
        # a classifier's groups are the classes its maps explain (``_targets.npy``); a regressor's, target ranges
        group_file = "targets" if groups.kind == "class" else "ranges"
        files = {
            "maps": write_array(arrays / f"{stem}.npy", per_spectrum["gradcam"]),
            group_file: write_array(arrays / f"{stem}_{group_file}.npy", groups.index),
            "unseen": write_array(arrays / f"{stem}_unseen.npy", mapped.unseen),
            "selected_csv": write_table(arrays / f"{stem}_selected.csv", selected),
            f"{groups.kind}_mean_csv": write_table(arrays / f"{stem}_{groups.kind}_mean.csv", means),
            "peaks_csv": write_rows(arrays / f"{stem}_peaks.csv", peak_rows(peaks)),
        }
        if groups.misclassified is not None:
            files["misclassified"] = write_array(arrays / f"{stem}_misclassified.npy", groups.misclassified)
        if "gradcam_classic" in per_spectrum:
            files["classic"] = write_array(arrays / f"{stem}_classic.npy", per_spectrum["gradcam_classic"])
        if "integrated_gradients" in per_spectrum:
            files["integrated_gradients"] = write_array(arrays / f"{stem}_ig.npy", per_spectrum["integrated_gradients"])
        if mapped.curves:
            columns = {"fraction": next(iter(mapped.curves.values())).fractions}
            for name, curve in mapped.curves.items():
                key = name.replace(" ", "_")
                columns.update({f"{key}_order": curve.attribution, f"{key}_random": curve.random})
            files["deletion_csv"] = write_table(arrays / f"{stem}_deletion.csv", columns)
        return files

    def _figures(
        self, mapped: MappedSplit, chosen: list[int], names: Sequence[str], model: str, figures: Path, xlabel: str
    ) -> list[Path]:
        """The PNG figures of ``mapped`` under ``figures``: chosen spectra, group means, series, deletion."""
        from lightning_spectra.plots.figure import save_figure  # matplotlib loads only when a figure is drawn
        from lightning_spectra.plots.gradcam import (
            plot_attribution_series,
            plot_deletion_curves,
            plot_gradcam_class_means,
            plot_gradcam_spectra,
        )

        stem, groups, method, layer = mapped.stem, mapped.groups, mapped.method, mapped.layer
        spectra, maps = mapped.per_spectrum["spectrum"], mapped.per_spectrum["gradcam"]
        classic, mean_classic = mapped.per_spectrum.get("gradcam_classic"), mapped.means.get("gradcam_classic")
        flagged, where = groups.misclassified, f"layer '{layer}'" if layer != "input" else "the input"
        pngs = []
        if chosen:
            fig = plot_gradcam_spectra(
                mapped.axis,
                spectra[chosen],
                maps[chosen],
                [
                    f"{mapped.split} #{i}" + (f": {names[i]}" if i < len(names) else "") + groups.titles[i]
                    for i in chosen
                ],
                classic=None if classic is None else classic[chosen],
                xlabel=xlabel,
                title=f"{model}: {method} at {where}",
                method=method,
                unseen=mapped.unseen,
                shared_scale=self.shared_scale,
                flagged=None if flagged is None else flagged[chosen].tolist(),
            )
            pngs.append(save_figure(fig, figures / f"{stem}_spectra.png", self.dpi))
        fig = plot_gradcam_class_means(
            mapped.axis,
            mapped.means["spectrum"],
            mapped.means["gradcam"],
            groups.names,
            groups.counts.tolist(),
            classic=mean_classic,
            xlabel=xlabel,
            title=f"{model}: {method} averaged per {groups.kind}, {mapped.split} set (maps explain the "
            f"{groups.explains})",
            grouped_by=groups.grouped_by,
            method=method,
            unseen=mapped.unseen,
            shared_scale=self.shared_scale,
        )
        pngs.append(save_figure(fig, figures / f"{stem}_{groups.kind}_mean.png", self.dpi))
        fig = plot_attribution_series(
            mapped.axis,
            maps,
            groups.change,
            flagged,
            method=method,
            xlabel=xlabel,
            title=f"{model}: {method} of every {mapped.split} spectrum (rows in series order; map explains the "
            f"{groups.explains})",
        )
        pngs.append(save_figure(fig, figures / f"{stem}_series.png", self.dpi))
        if mapped.curves:
            # a regressor's "other class mean" is the mean of the spectra in the other target ranges
            replaced_by = self.reference.replace("class", groups.kind).replace("_", " ")
            fig = plot_deletion_curves(
                {n: (c.fractions, c.attribution, c.random) for n, c in mapped.curves.items()},
                title=f"{model}: deletion curves, regions replaced by the {replaced_by}",
                ylabel=f"mean {groups.score}",
                ylim=(0, 1) if groups.kind == "class" else None,  # a predicted value has no fixed bounds
            )
            pngs.append(save_figure(fig, figures / f"{stem}_deletion.png", self.dpi))
        return pngs

    def _summary(self, mapped: MappedSplit, windows: list[tuple[float, float]] | None) -> dict[str, Any]:
        """The numbers of ``mapped`` for ``summary.json``, flat so that they reach the W&B run summary."""
        stem, groups, seen = mapped.stem, mapped.groups, ~mapped.unseen
        summary: dict[str, Any] = {
            f"{stem}_method": mapped.method,
            f"{stem}_layer": mapped.layer,
            f"{stem}_layer_positions": mapped.positions,
            f"{stem}_unseen_points": int(mapped.unseen.sum()),
            f"{stem}_peak_x": {
                name: float(mapped.axis[seen][int(np.argmax(mapped.means["gradcam"][g][seen]))])
                for g, name in enumerate(groups.names)
                if groups.counts[g]
            },
        }
        if groups.misclassified is not None:
            summary[f"{stem}_predicted_change"] = groups.change
            summary[f"{stem}_misclassified"] = int(groups.misclassified.sum())
        for name, values in mapped.maps_by_method.items():
            prefix = stem if name == mapped.method else f"{stem}_ig"
            if name in mapped.curves:
                for key, value in mapped.curves[name].summary().items():
                    summary[f"{prefix}_deletion_{key}"] = value
            if windows is not None:
                share = ground_truth_share(torch.as_tensor(values), mapped.axis, windows)
                summary[f"{prefix}_ground_truth_share"] = share["share"]
                summary[f"{prefix}_ground_truth_chance"] = share["chance"]
        if mapped.curves:
            summary[f"{stem}_deletion_reference"] = self.reference
        return summary

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
