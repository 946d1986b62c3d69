"""What ``fit`` and ``test`` add for a regressor: the PLS baseline on the same split and the regression figures.

Figures (``<run dir>/figures/``): per target, predicted vs reference for the network and PLS with their fitted
lines (slope, intercept, R^2: the linearity of the calibration) and the residuals below; for an ordered series
(``ordered: true``, a process run) the predicted value along the series. The PLS numbers go into
``summary.json`` as ``pls_*`` beside the network's ``rmse``, ``r2``, ``rpd``...
"""

from __future__ import annotations

from pathlib import Path

import lightning.pytorch as L
import torch

from lightning_spectra.baselines.regression import fit_pls
from lightning_spectra.data.base import SpectraDataModule
from lightning_spectra.interpret.importance import evaluation_mode
from lightning_spectra.metrics.regression import regression_metrics
from lightning_spectra.run_dir import run_dir


def regression_outputs(trainer: L.Trainer, model: L.LightningModule, datamodule: SpectraDataModule) -> dict:
    """Fit PLS on the training split, compare it with ``model`` on the test split, draw the figures.

    Returns the summary entries: ``pls_components``, ``pls_rmse``, ``pls_r2``, ... and ``regression_figures``.
    """
    from lightning_spectra import plots  # matplotlib loads only when a figure is drawn

    splits = datamodule.splits
    train, test = splits.train, splits.test
    pls = fit_pls(train.spectra.cpu().numpy(), train.labels.cpu().numpy())
    pls_values = torch.as_tensor(pls.predict(test.spectra.cpu().numpy()))
    reference = test.labels.cpu().double()
    summary: dict = {"pls_components": pls.components}
    summary.update({f"pls_{k}": float(v.mean()) for k, v in regression_metrics(pls_values, reference).items()})
    with torch.no_grad(), evaluation_mode(model):
        values = model.predict_values(model(test.spectra.to(model.device))).detach().cpu().double()

    folder = run_dir(trainer) / "figures"
    name = type(model).__name__
    pngs: list[Path] = []
    for t, target in enumerate(model.target_names):
        fig = plots.plot_parity(
            reference[:, t].numpy(),
            {name: values[:, t].numpy(), f"PLS ({pls.components} comp.)": pls_values[:, t].numpy()},
            target=target,
            title=f"{name} vs PLS on the test set ({len(reference)} spectra)",
        )
        pngs.append(plots.save_figure(fig, folder / f"parity_test_{target}.png"))
        if getattr(datamodule, "ordered", False):
            fig = plots.plot_series_prediction(
                values[:, t].numpy(),
                reference[:, t].numpy(),
                target,
                title=f"{name}: predicted {target} along the test series",
            )
            pngs.append(plots.save_figure(fig, folder / f"series_test_{target}.png"))
    summary["regression_figures"] = [str(p) for p in pngs]
    return summary
