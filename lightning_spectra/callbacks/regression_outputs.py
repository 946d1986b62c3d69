"""What ``fit`` and ``test`` add for a regressor: PLS and RBF kernel ridge on the same split, and the figures.

Figures (``<run dir>/figures/``): per target, predicted vs reference for the network and PLS with their fitted
lines (slope, intercept, R^2: the linearity of the calibration) and the residuals below; for an ordered series
(``ordered: true``, a process run) the predicted value along the series. The baselines' numbers go into
``summary.json`` as ``pls_*`` and ``krr_*`` beside the network's ``rmse``, ``r2``, ``rpd``..., with the better of
the two by cross-validated RMSE on the training split as ``classical_best_method`` (its test RMSE
``classical_best_rmse``): the test split never decides which baseline is shown as the best.
"""

from __future__ import annotations

from pathlib import Path

import lightning.pytorch as L
import torch

from lightning_spectra.baselines.kernel import fit_kernel_ridge
from lightning_spectra.baselines.regression import fit_pls
from lightning_spectra.interpret.model_modes import evaluation_mode
from lightning_spectra.metrics.regression import regression_metrics
from lightning_spectra.runs.folder import run_dir


def regression_outputs(trainer: L.Trainer, model: L.LightningModule, datamodule: L.LightningDataModule) -> dict:
    """Fit PLS and RBF kernel ridge on the training split, compare them with ``model`` on the test split, draw
    the figures.

    Returns the summary entries: ``pls_components``, ``pls_rmse``, ``pls_r2``, ..., ``krr_rmse``, ...,
    ``classical_best_method``, ``classical_best_rmse`` and ``regression_figures``.
    """
    from lightning_spectra.plots.figure import save_figure  # matplotlib loads only when a figure is drawn
    from lightning_spectra.plots.regression import plot_parity, plot_series_prediction

    splits = datamodule.splits
    train, test = splits.train, splits.test
    train_x, train_y, test_x = train.spectra.cpu().numpy(), train.labels.cpu().numpy(), test.spectra.cpu().numpy()
    pls, krr = fit_pls(train_x, train_y), fit_kernel_ridge(train_x, train_y)
    pls_values, krr_values = torch.as_tensor(pls.predict(test_x)), torch.as_tensor(krr.predict(test_x))
    reference = test.labels.cpu().double()
    summary: dict = {"pls_components": pls.components}
    summary.update({f"pls_{k}": float(v.mean()) for k, v in regression_metrics(pls_values, reference).items()})
    summary.update({f"krr_{k}": float(v.mean()) for k, v in regression_metrics(krr_values, reference).items()})
    summary.update({f"krr_{k}": v for k, v in krr.params.items()})
    krr_best = krr.cv_rmse < float(pls.rmsecv.min())
    summary["classical_best_method"] = "kernel ridge" if krr_best else "PLS"
    summary["classical_best_rmse"] = summary["krr_rmse" if krr_best else "pls_rmse"]
    with torch.no_grad(), evaluation_mode(model):
        values = model.predict_values(model(test.spectra.to(model.device))).detach().cpu().double()

    folder = run_dir(trainer) / "figures"
    name = type(model).__name__
    pngs: list[Path] = []
    for t, target in enumerate(model.target_names):
        fig = plot_parity(
            reference[:, t].numpy(),
            {
                name: values[:, t].numpy(),
                f"PLS ({pls.components} comp.)": pls_values[:, t].numpy(),
                "kernel ridge (RBF)": krr_values[:, t].numpy(),
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
