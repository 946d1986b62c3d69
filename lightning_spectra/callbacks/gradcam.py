"""1D Grad-CAM maps (Shi et al. 2023) of the trained model on a series of spectra, written when ``fit`` ends.

Every spectrum of the chosen split (the test series by default) is mapped in one pass over the whole series
in its stored order, exactly as evaluation sees it (sequence models read the other spectra of the series).
Per-spectrum maps of all spectra are saved as arrays; the spectra picked by ``indices`` get a figure each, and
every class gets a class-averaged map. Runs at ``on_fit_end`` outside Lightning's inference mode and, if
asked, at ``on_test_end`` (with gradients switched back on); rank zero only. Models whose
``attribution_layer`` is ``None`` get a log line instead. Files go where :class:`FeatureImportance` puts
its own: arrays and tables in ``<run dir>/attribution/``, figures in ``<run dir>/figures/``.
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
    split_data,
    write_array,
    write_table,
    x_values,
)
from lightning_spectra.interpret.gradcam import class_means, grad_cam
from lightning_spectra.interpret.target_ranges import target_ranges
from lightning_spectra.run_dir import update_summary


class GradCAM(AttributionCallback):
    """1D Grad-CAM (signed, position-resolved) and classic Grad-CAM of a split, with figures.

    Put it after :class:`~lightning_spectra.callbacks.Timing` in the callback list so that the fit time does
    not include it.

    Args:
        split: datamodule split mapped when fit ends (default the test series).
        indices: positions in that split that get a figure of their own; negative values count from the
            end. The default, first and last, shows one spectrum of each class on a phase-transition ramp.
        on_test: also map the test series at the end of every ``test`` run (overwrites the fit-end maps of
            the test split: the test run's weights are the ones that count).
        target: which class each map explains: ``"label"`` (default: the true class, so the class-averaged
            maps show what counts as evidence for each class in that class's spectra, even for a model that
            gets some wrong; falls back to the prediction where labels are unknown) or ``"predicted"`` (the
            model's decision, Grad-CAM's usual choice).
        relu: apply the ReLU of classic Grad-CAM to the classic maps (the 1D maps never get one).
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
        indices: Sequence[int] = (0, -1),
        on_test: bool = False,
        target: Literal["predicted", "label"] = "label",
        relu: bool = False,
        dpi: int = 150,
        xlabel: str = DEFAULT_XLABEL,
        log_images: bool = True,
        ranges: int = 3,
    ) -> None:
        if target not in ("predicted", "label"):
            raise ValueError(f"target must be 'predicted' or 'label', got {target!r}")
        self.split, self.indices, self.on_test = split, list(indices), on_test
        self.target, self.relu = target, relu
        self.dpi, self.xlabel, self.log_images = dpi, xlabel, log_images
        self.ranges = ranges
        self.results: dict[str, dict[str, Any]] = {}  # per split: the arrays, for callers and tests

    def run(self, trainer: L.Trainer, pl_module: L.LightningModule, split: str) -> None:
        """Map ``split``, write arrays and figures, log them; rank zero only."""
        if not trainer.is_global_zero:
            return
        layer = getattr(pl_module, "attribution_layer", None)
        if layer is None:
            rank_zero_info(
                f"GradCAM: {type(pl_module).__name__} has no attribution_layer (no layer keeps positions "
                "along the spectrum); no Grad-CAM maps. FeatureImportance still applies."
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
        positions = int(result.layer_maps.shape[-1])
        if positions < 4:
            rank_zero_info(
                f"GradCAM: layer '{layer}' keeps only {positions} position(s) at this spectrum length; "
                "the maps can hardly say where along the spectrum the evidence lies"
            )
        maps = result.maps.float().cpu().numpy()
        classic = result.classic.float().cpu().numpy()
        targets = result.target.cpu().numpy()
        predicted = probabilities.argmax(axis=1)
        num_classes = len(pl_module.class_names)
        mean_maps = class_means(result.maps, result.target, num_classes).float().cpu().numpy()
        mean_classic = class_means(result.classic, result.target, num_classes).float().cpu().numpy()
        mean_spectra = class_means(x.detach().float(), result.target.to(x.device), num_classes).cpu().numpy()
        counts = np.bincount(targets, minlength=num_classes)
        self.results[split] = {
            "maps": maps,
            "classic": classic,
            "target": targets,
            "class_mean_maps": mean_maps,
            "layer_positions": positions,
        }

        chosen = self._chosen(len(x))
        spectra = x.detach().cpu().numpy()
        axis = x_values(pl_module, spectra.shape[1])
        arrays, figures = output_dirs(trainer)
        stem = f"gradcam_{split}"
        classes = pl_module.class_names
        selected_columns: dict[str, np.ndarray] = {"x": axis}
        for i in chosen:
            selected_columns.update(
                {f"spectrum[{i}]": spectra[i], f"gradcam[{i}]": maps[i], f"gradcam_classic[{i}]": classic[i]}
            )
        mean_columns: dict[str, np.ndarray] = {"x": axis}
        for c, name in enumerate(classes):
            if counts[c]:
                mean_columns.update(
                    {
                        f"mean_spectrum[{name}]": mean_spectra[c],
                        f"gradcam[{name}]": mean_maps[c],
                        f"gradcam_classic[{name}]": mean_classic[c],
                    }
                )
        files = {
            "maps": write_array(arrays / f"{stem}.npy", maps),
            "classic": write_array(arrays / f"{stem}_classic.npy", classic),
            "targets": write_array(arrays / f"{stem}_targets.npy", targets),
            "selected_csv": write_table(arrays / f"{stem}_selected.csv", selected_columns),
            "class_mean_csv": write_table(arrays / f"{stem}_class_mean.csv", mean_columns),
        }

        from lightning_spectra import plots  # matplotlib loads only when a figure is drawn

        model = type(pl_module).__name__
        titles = []
        for i in chosen:
            title = f"{split} #{i}" + (f": {names[i]}" if i < len(names) else "")
            if y[i] >= 0:
                title += f" | label: {classes[int(y[i])]}"
            title += (
                f" | predicted: {classes[predicted[i]]} (p = {probabilities[i, predicted[i]]:.3f})"
                f" | map explains '{classes[targets[i]]}'"
            )
            titles.append(title)
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
            classes,
            counts.tolist(),
            classic=mean_classic,
            xlabel=self.xlabel,
            title=f"{model}: class-averaged 1D Grad-CAM on the {split} set",
            grouped_by="predicted" if self.target == "predicted" else "labelled",
        )
        pngs.append(plots.save_figure(fig, figures / f"{stem}_class_mean.png", self.dpi))

        if self.log_images:
            log_images(trainer, f"gradcam/{split}", pngs, [p.stem for p in pngs])
        peaks = {classes[c]: float(axis[int(np.argmax(mean_maps[c]))]) for c in range(num_classes) if counts[c]}
        update_summary(
            trainer,
            {
                f"{stem}_files": {k: str(v) for k, v in files.items()},
                f"{stem}_figures": [str(p) for p in pngs],
                f"{stem}_layer": layer,
                f"{stem}_layer_positions": positions,
                f"{stem}_peak_x": peaks,
            },
        )
        rank_zero_info(f"Grad-CAM maps of the {split} set written to {arrays} and {figures}")

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
        chosen = self._chosen(len(x))
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

    def _chosen(self, n: int) -> list[int]:
        """``indices`` made non-negative, in range and unique (order kept); out-of-range ones are reported."""
        chosen: list[int] = []
        for i in self.indices:
            j = i + n if i < 0 else i
            if not 0 <= j < n:
                rank_zero_info(f"GradCAM: index {i} is outside the {n} spectra; skipped")
            elif j not in chosen:
                chosen.append(j)
        return chosen
