"""What ``fit`` and ``test`` add for a regressor: PLS and RBF kernel ridge on the same split, the blend's parts, the
no-skill warning, and the figures.

Figures (``<run dir>/figures/``): per target, predicted vs reference for the network and PLS with their fitted
lines (slope, intercept, R^2: the linearity of the calibration) and the residuals below; for an ordered series
(``ordered: true``, a process run) the predicted value along the series. The baselines' numbers go into
``summary.json`` as ``pls_*`` and ``krr_*`` beside the network's ``rmse``, ``r2``, ``rpd``..., with the better of
the two by cross-validated RMSE on the training split as ``classical_best_method`` (its test RMSE
``classical_best_rmse``): the test split never decides which baseline is shown as the best. Each family is fitted
on the preprocessing its own RMSECV picked (:mod:`lightning_spectra.classical.selection`), on the spectra before
the datamodule's per-point scaling. A model, or baseline, whose test RMSE exceeds the test targets' standard
deviation gets a warning line: it has no skill there.
"""

from __future__ import annotations

from pathlib import Path

import lightning.pytorch as L
import torch

from lightning_spectra.classical.attachment import fit_selection, network_and_classical, unscaled
from lightning_spectra.interpret.model_modes import evaluation_mode
from lightning_spectra.metrics.regression import regression_metrics
from lightning_spectra.runs.folder import run_dir


def no_skill_line(rmse: dict[str, float], reference: torch.Tensor) -> str | None:
    """One line naming every model whose test RMSE exceeds the test targets' standard deviation (predicting their
    mean would do as well: extrapolation, or spectra from another instrument or process), else ``None``."""
    spread = float(reference.std(dim=0, unbiased=False).mean())
    worse = [f"{name} {value:.4g}" for name, value in rmse.items() if value > spread]
    if not worse:
        return None
    return (
        f"test RMSE above the test targets' standard deviation {spread:.4g} (no skill: the mean would do as well): "
        f"{', '.join(worse)}; are the test spectra outside the calibration's range, or from another instrument?"
    )


def regression_outputs(trainer: L.Trainer, model: L.LightningModule, datamodule: L.LightningDataModule) -> dict:
    """Compare ``model`` with the classical calibrations chosen on the training split (PLS and kernel ridge, each on
    the preprocessing its CV picked), on the test split; draw the figures.

    Returns the summary entries: ``pls_*``, ``krr_*``, ``classical_best_method``, ``classical_best_rmse``; for a
    model blended with its classical part, ``blend_network_weight``, ``network_rmse``, ``classical_rmse`` and the
    ``blend`` line; ``no_skill`` where an RMSE exceeds the targets' spread; ``regression_figures``.
    """
    from lightning_spectra.plots.figure import save_figure  # matplotlib loads only when a figure is drawn
    from lightning_spectra.plots.regression import plot_parity, plot_series_prediction

    splits = datamodule.splits
    test = splits.test
    selection = getattr(model, "classical_selection", None)
    if selection is None:  # a test run of a checkpoint: the same deterministic choice on the same training split
        selection, _ = fit_selection(datamodule, verbose=trainer.is_global_zero)
    test_x = unscaled(datamodule, test.spectra)
    pls, krr = selection.families["pls"], selection.families["krr"]
    pls_values, krr_values = torch.as_tensor(pls.predict(test_x)), torch.as_tensor(krr.predict(test_x))
    reference = test.labels.cpu().double().reshape(len(test_x), -1)
    summary: dict = {"pls_components": pls.fit.components, "pls_preparation": pls.preparation}
    summary.update({f"pls_{k}": float(v.mean()) for k, v in regression_metrics(pls_values, reference).items()})
    summary.update({f"krr_{k}": float(v.mean()) for k, v in regression_metrics(krr_values, reference).items()})
    summary.update({f"krr_{k}": v for k, v in krr.fit.params.items()})
    summary["krr_preparation"] = krr.preparation
    best = selection.best
    summary["classical_best_method"] = best.name
    summary["classical_best_rmse"] = summary["pls_rmse" if best.family == "pls" else "krr_rmse"]
    with torch.no_grad(), evaluation_mode(model):
        values = model.predict_values(model(test.spectra.to(model.device))).detach().cpu().double()
    rmse = {type(model).__name__: float(regression_metrics(values, reference)["rmse"].mean())}
    if type(model).blends_with_classical and getattr(model, "classical", None) is not None:
        network, classical = network_and_classical(model, test.spectra)
        weight = float(model.classical.network_weight)
        summary["blend_network_weight"] = weight
        summary["network_rmse"] = float(regression_metrics(torch.as_tensor(network), reference)["rmse"].mean())
        summary["classical_rmse"] = float(regression_metrics(torch.as_tensor(classical), reference)["rmse"].mean())
        summary["blend"] = (
            f"{weight:.1f} x network (test RMSE alone {summary['network_rmse']:.4g}) + {1 - weight:.1f} x "
            f"{model.classical.name} (alone {summary['classical_rmse']:.4g}); share chosen on the validation split"
        )
    rmse.update({pls.name: summary["pls_rmse"], krr.name: summary["krr_rmse"]})
    if (line := no_skill_line(rmse, reference)) is not None:
        summary["no_skill"] = line
        if trainer.is_global_zero:
            print(f"warning: {line}", flush=True)

    folder = run_dir(trainer) / "figures"
    name = type(model).__name__
    pngs: list[Path] = []
    for t, target in enumerate(model.target_names):
        fig = plot_parity(
            reference[:, t].numpy(),
            {
                name: values[:, t].numpy(),
                f"PLS ({pls.fit.components} comp., {pls.preparation})": pls_values[:, t].numpy(),
                f"kernel ridge ({krr.preparation})": krr_values[:, t].numpy(),
            },
            target=target,
            title=f"{name} vs PLS and kernel ridge on the test set ({len(reference)} spectra)",
        )
        pngs.append(save_figure(fig, folder / f"parity_test_{target}.png"))
        if datamodule.ordered:
            fig = plot_series_prediction(
                values[:, t].numpy(),
                reference[:, t].numpy(),
                target,
                title=f"{name}: predicted {target} along the test series",
            )
            pngs.append(save_figure(fig, folder / f"series_test_{target}.png"))
    summary["regression_figures"] = [str(p) for p in pngs]
    return summary
