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

from lightning_spectra.callbacks.attribution import (
    DEFAULT_XLABEL,
    AttributionCallback,
    log_images,
    on_training_device,
    output_dirs,
    predicted_change,
    split_data,
    write_array,
    write_rows,
    write_table,
    x_values,
)
from lightning_spectra.interpret.faithfulness import deletion_curve, ground_truth_share
from lightning_spectra.interpret.gradcam import class_means, classic_informative, grad_cam, method_name
from lightning_spectra.interpret.integrated_gradients import REFERENCES, integrated_gradients, reference_spectra
from lightning_spectra.interpret.peaks import peak_rows, peak_table
from lightning_spectra.interpret.target_ranges import target_ranges
from lightning_spectra.run_dir import update_summary


def simulated_ground_truth(trainer: L.Trainer) -> list[tuple[float, float]] | None:
    """The x windows of the reflections that differ between the phases, when the data is the simulated ramp."""
    datamodule = trainer.datamodule
    if getattr(datamodule, "source", None) != "simulated":
        return None
    from lightning_spectra.data.simulate import differing_peak_windows

    return differing_peak_windows()


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
            what the deletion curve replaces regions by.
        ig_steps: path steps of Integrated Gradients.
        faithfulness: compute the deletion curve of every map against random orders.
        deletion_regions, deletion_steps, random_orders: see
            :func:`~lightning_spectra.interpret.faithfulness.deletion_curve`.
        shared_scale: one colour scale across the panels of a figure (default: each panel its own).
        dpi: resolution of the PNG figures.
        xlabel: label of the x axis of the figures.
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
        xlabel: str = DEFAULT_XLABEL,
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
        if getattr(pl_module, "is_regression", False):
            self._run_regression(trainer, pl_module, split, layer, x, y, names)
            return
        method = method_name(pl_module)
        target = None
        if self.target == "label":
            target = y.clone()
            if bool((y < 0).any()):
                rank_zero_info("GradCAM: some spectra have no label; their maps explain the predicted class")
        with on_training_device(trainer, pl_module):
            if target is not None and bool((target < 0).any()):
                predicted = grad_cam(pl_module, x).target.to(target.device)
                target = torch.where(target < 0, predicted, target)
            result = grad_cam(pl_module, x, target, relu=self.relu)
            probabilities = pl_module.probabilities(result.logits).cpu().numpy()
            predicted = probabilities.argmax(axis=1)
            classes_for_reference = torch.where(y >= 0, y, torch.as_tensor(predicted, device=y.device))
            reference = None
            if self.integrated_gradients or self.faithfulness:
                reference = reference_spectra(x.detach().float(), self.reference, classes_for_reference, result.target)
            maps_by_method = {method: result.maps.float()}
            if self.integrated_gradients:
                ig = integrated_gradients(pl_module, x.float(), result.target, reference, n_steps=self.ig_steps)
                maps_by_method["integrated gradients"] = ig.float()
            curves = {}
            if self.faithfulness:
                for name, values in maps_by_method.items():
                    curves[name] = deletion_curve(
                        pl_module, x.float(), values.to(x.device), result.target, reference, **self.deletion
                    )
        positions = int(result.layer_maps.shape[-1])
        if positions < 4:
            rank_zero_info(
                f"GradCAM: layer '{layer}' keeps only {positions} position(s) at this spectrum length; "
                "the maps can hardly say where along the spectrum the evidence lies"
            )
        num_classes = len(pl_module.class_names)
        classes = pl_module.class_names
        targets = result.target.cpu().numpy()
        unseen = result.unseen.cpu().numpy()
        informative_classic = classic_informative(result, layer)
        maps = result.maps.float().cpu().numpy()
        classic = result.classic.float().cpu().numpy() if informative_classic else None
        mean_maps = class_means(result.maps, result.target, num_classes).float().cpu().numpy()
        mean_classic = (
            class_means(result.classic, result.target, num_classes).float().cpu().numpy()
            if informative_classic
            else None
        )
        mean_spectra = class_means(x.detach().float(), result.target.to(x.device), num_classes).cpu().numpy()
        counts = np.bincount(targets, minlength=num_classes)
        known = y.cpu().numpy()
        misclassified = (known >= 0) & (predicted != known)
        change = predicted_change(predicted)
        self.results[split] = {
            "maps": maps,
            "classic": classic,
            "target": targets,
            "class_mean_maps": mean_maps,
            "layer_positions": positions,
            "unseen": unseen,
            "change": change,
            "deletion": {name: curve for name, curve in curves.items()},
        }

        chosen = self._chosen(len(x), change)
        spectra = x.detach().cpu().numpy()
        axis = x_values(pl_module, spectra.shape[1])
        arrays, figures = output_dirs(trainer)
        stem = f"gradcam_{split}"
        selected_columns: dict[str, np.ndarray] = {"x": axis}
        for i in chosen:
            selected_columns.update({f"spectrum[{i}]": spectra[i], f"gradcam[{i}]": maps[i]})
            if classic is not None:
                selected_columns[f"gradcam_classic[{i}]"] = classic[i]
        mean_columns: dict[str, np.ndarray] = {"x": axis}
        for c, name in enumerate(classes):
            if counts[c]:
                mean_columns.update({f"mean_spectrum[{name}]": mean_spectra[c], f"gradcam[{name}]": mean_maps[c]})
                if mean_classic is not None:
                    mean_columns[f"gradcam_classic[{name}]"] = mean_classic[c]
        ig_maps = maps_by_method.get("integrated gradients")
        if ig_maps is not None:
            ig_means = class_means(ig_maps, result.target.to(ig_maps.device), num_classes).cpu().numpy()
            for c, name in enumerate(classes):
                if counts[c]:
                    mean_columns[f"integrated_gradients[{name}]"] = ig_means[c]
        peaks = peak_rows(peak_table(axis, mean_spectra, mean_maps, classes))
        files = {
            "maps": write_array(arrays / f"{stem}.npy", maps),
            "targets": write_array(arrays / f"{stem}_targets.npy", targets),
            "unseen": write_array(arrays / f"{stem}_unseen.npy", unseen),
            "misclassified": write_array(arrays / f"{stem}_misclassified.npy", misclassified),
            "selected_csv": write_table(arrays / f"{stem}_selected.csv", selected_columns),
            "class_mean_csv": write_table(arrays / f"{stem}_class_mean.csv", mean_columns),
            "peaks_csv": write_rows(arrays / f"{stem}_peaks.csv", peaks),
        }
        if classic is not None:
            files["classic"] = write_array(arrays / f"{stem}_classic.npy", classic)
        if ig_maps is not None:
            files["integrated_gradients"] = write_array(arrays / f"{stem}_ig.npy", ig_maps.cpu().numpy())
        if curves:
            deletion_columns = {"fraction": next(iter(curves.values())).fractions}
            for name, curve in curves.items():
                key = name.replace(" ", "_")
                deletion_columns.update({f"{key}_order": curve.attribution, f"{key}_random": curve.random})
            files["deletion_csv"] = write_table(arrays / f"{stem}_deletion.csv", deletion_columns)

        from lightning_spectra import plots  # matplotlib loads only when a figure is drawn

        model = type(pl_module).__name__
        where = f"layer '{layer}'" if layer != "input" else "the input"
        titles = []
        for i in chosen:
            title = f"{split} #{i}" + (f": {names[i]}" if i < len(names) else "")
            if y[i] >= 0:
                title += f" | label: {classes[int(y[i])]}"
            title += f" | predicted: {classes[predicted[i]]} (p = {probabilities[i, predicted[i]]:.3f})"
            title += " | MISCLASSIFIED" if misclassified[i] else ""
            title += f" | map explains '{classes[targets[i]]}'"
            titles.append(title)
        pngs = []
        if chosen:
            fig = plots.plot_gradcam_spectra(
                axis,
                spectra[chosen],
                maps[chosen],
                titles,
                classic=None if classic is None else classic[chosen],
                xlabel=self.xlabel,
                title=f"{model}: {method} at {where}",
                method=method,
                unseen=unseen,
                shared_scale=self.shared_scale,
                flagged=misclassified[chosen].tolist(),
            )
            pngs.append(plots.save_figure(fig, figures / f"{stem}_spectra.png", self.dpi))
        fig = plots.plot_gradcam_class_means(
            axis,
            mean_spectra,
            mean_maps,
            classes,
            counts.tolist(),
            classic=mean_classic,
            xlabel=self.xlabel,
            title=f"{model}: class-averaged {method} on the {split} set",
            grouped_by="predicted" if self.target == "predicted" else "labelled",
            method=method,
            unseen=unseen,
            shared_scale=self.shared_scale,
        )
        pngs.append(plots.save_figure(fig, figures / f"{stem}_class_mean.png", self.dpi))
        fig = plots.plot_attribution_series(
            axis,
            maps,
            change,
            misclassified,
            method=method,
            xlabel=self.xlabel,
            title=f"{model}: {method} of every {split} spectrum (rows in series order; map explains the "
            f"{'label' if self.target == 'label' else 'prediction'})",
        )
        pngs.append(plots.save_figure(fig, figures / f"{stem}_series.png", self.dpi))
        if curves:
            fig = plots.plot_deletion_curves(
                {n: (c.fractions, c.attribution, c.random) for n, c in curves.items()},
                title=f"{model}: deletion curves, regions replaced by the {self.reference.replace('_', ' ')}",
            )
            pngs.append(plots.save_figure(fig, figures / f"{stem}_deletion.png", self.dpi))

        if self.log_images:
            log_images(trainer, f"gradcam/{split}", pngs, [p.stem for p in pngs])
        seen = ~unseen
        peak_x = {
            classes[c]: float(axis[seen][int(np.argmax(mean_maps[c][seen]))]) for c in range(num_classes) if counts[c]
        }
        summary: dict[str, Any] = {
            f"{stem}_files": {k: str(v) for k, v in files.items()},
            f"{stem}_figures": [str(p) for p in pngs],
            f"{stem}_method": method,
            f"{stem}_layer": layer,
            f"{stem}_layer_positions": positions,
            f"{stem}_unseen_points": int(unseen.sum()),
            f"{stem}_peak_x": peak_x,
            f"{stem}_predicted_change": change,
            f"{stem}_misclassified": int(misclassified.sum()),
        }
        windows = simulated_ground_truth(trainer)
        for name, values in maps_by_method.items():
            prefix = stem if name == method else f"{stem}_ig"
            if name in curves:
                for key, value in curves[name].summary().items():
                    summary[f"{prefix}_deletion_{key}"] = value
            if windows is not None:
                share = ground_truth_share(values, axis, windows)
                summary[f"{prefix}_ground_truth_share"] = share["share"]
                summary[f"{prefix}_ground_truth_chance"] = share["chance"]
        if curves:
            summary[f"{stem}_deletion_reference"] = self.reference
        update_summary(trainer, summary)
        rank_zero_info(f"{method} maps of the {split} set written to {arrays} and {figures}")

    def _run_regression(self, trainer, pl_module, split, layer, x, y, names) -> None:
        """A regressor: maps of its first predicted value (signed: red raises it), averaged per target range.

        Spectra are grouped into ``ranges`` quantile ranges of the reference value (``target: label``; the
        predicted value where a reference is unknown) or of the predicted value (``target: predicted``).
        """
        from lightning_spectra import plots  # matplotlib loads only when a figure is drawn

        with on_training_device(trainer, pl_module):
            result = grad_cam(pl_module, x, 0, relu=self.relu)
            predicted = pl_module.predict_values(result.logits).cpu().numpy()[:, 0]
        reference = y.detach().cpu().numpy().reshape(len(y), -1)[:, 0]
        grouping = predicted if self.target == "predicted" else np.where(np.isfinite(reference), reference, predicted)
        target_name = pl_module.target_names[0]
        groups, range_names = target_ranges(grouping, self.ranges, target_name)
        maps, classic = result.maps.float().cpu().numpy(), result.classic.float().cpu().numpy()
        spectra = x.detach().cpu().numpy()
        index = torch.as_tensor(groups)
        mean_maps = class_means(result.maps.cpu(), index, len(range_names)).float().numpy()
        mean_classic = class_means(result.classic.cpu(), index, len(range_names)).float().numpy()
        mean_spectra = class_means(torch.as_tensor(spectra), index, len(range_names)).numpy()
        counts = np.bincount(groups[groups >= 0], minlength=len(range_names))
        self.results[split] = {
            "maps": maps,
            "classic": classic,
            "groups": groups,
            "range_mean_maps": mean_maps,
            "layer_positions": int(result.layer_maps.shape[-1]),
        }

        axis = x_values(pl_module, spectra.shape[1])
        arrays, figures = output_dirs(trainer)
        stem = f"gradcam_{split}"
        chosen = self._chosen(len(x), None)
        selected: dict[str, np.ndarray] = {"x": axis}
        for i in chosen:
            selected.update(
                {f"spectrum[{i}]": spectra[i], f"gradcam[{i}]": maps[i], f"gradcam_classic[{i}]": classic[i]}
            )
        means: dict[str, np.ndarray] = {"x": axis}
        for g, name in enumerate(range_names):
            if counts[g]:
                means.update({f"mean_spectrum[{name}]": mean_spectra[g], f"gradcam[{name}]": mean_maps[g]})
        files = {
            "maps": write_array(arrays / f"{stem}.npy", maps),
            "classic": write_array(arrays / f"{stem}_classic.npy", classic),
            "selected_csv": write_table(arrays / f"{stem}_selected.csv", selected),
            "range_mean_csv": write_table(arrays / f"{stem}_range_mean.csv", means),
        }
        titles = []
        for i in chosen:
            title = f"{split} #{i}" + (f": {names[i]}" if i < len(names) else "")
            if np.isfinite(reference[i]):
                title += f" | reference {target_name} = {reference[i]:.4g}"
            titles.append(title + f" | predicted {predicted[i]:.4g} | red raises the predicted {target_name}")
        model = type(pl_module).__name__
        pngs = []
        if chosen:
            fig = plots.plot_gradcam_spectra(
                axis,
                spectra[chosen],
                maps[chosen],
                titles,
                classic=classic[chosen],
                xlabel=self.xlabel,
                title=f"{model}: 1D Grad-CAM at layer '{layer}'",
            )
            pngs.append(plots.save_figure(fig, figures / f"{stem}_spectra.png", self.dpi))
        fig = plots.plot_gradcam_class_means(
            axis,
            mean_spectra,
            mean_maps,
            range_names,
            counts.tolist(),
            classic=mean_classic,
            xlabel=self.xlabel,
            title=f"{model}: 1D Grad-CAM of the predicted {target_name}, averaged per range, {split} set",
            grouped_by="predicted in" if self.target == "predicted" else "with reference in",
        )
        pngs.append(plots.save_figure(fig, figures / f"{stem}_range_mean.png", self.dpi))
        if self.log_images:
            log_images(trainer, f"gradcam/{split}", pngs, [p.stem for p in pngs])
        update_summary(
            trainer,
            {
                f"{stem}_files": {k: str(v) for k, v in files.items()},
                f"{stem}_figures": [str(p) for p in pngs],
                f"{stem}_layer": layer,
            },
        )
        rank_zero_info(f"Grad-CAM maps of the predicted {target_name} ({split} set) written to {arrays} and {figures}")

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
