"""The chemometrics reference beside every regression run: PLS regression (scikit-learn).

Partial least squares on the same preprocessed spectra the network sees, mean-centred (``scale=False``, the
usual choice for spectra: scaling every point to unit variance would blow up noise-only regions). The number
of latent components is chosen by k-fold cross-validation (RMSECV) on the training split only; validation
and test spectra never influence it. The test metrics are then those of :mod:`lightning_spectra.metrics.regression`,
so the network and PLS are compared with one set of formulas (see ``callbacks/regression_outputs.py``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.cross_decomposition import PLSRegression
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import KFold


@dataclass
class PLSFit:
    """A PLS model refitted on the whole training split with the components cross-validation chose."""

    model: PLSRegression
    components: int
    rmsecv: np.ndarray  # RMSECV per candidate number of components (1, 2, ...)

    def predict(self, spectra: np.ndarray) -> np.ndarray:
        """Predicted targets ``(N, T)``."""
        return np.asarray(self.model.predict(spectra)).reshape(len(spectra), -1)


def _fold_rmse(train_x, train_y, test_x, test_y, top: int) -> np.ndarray:
    """RMSE on one fold of PLS with 1..``top`` components, from one ``top``-component fit: NIPALS extracts the
    components one after another, so the first ``k`` of a larger fit are the ``k``-component model."""
    pls = PLSRegression(n_components=top, scale=False).fit(train_x, train_y)
    weights, loadings, y_loadings = pls.x_weights_, pls.x_loadings_, pls.y_loadings_
    centred = test_x - pls._x_mean
    rmse = np.empty(top)
    for k in range(1, top + 1):
        rotations = weights[:, :k] @ np.linalg.pinv(loadings[:, :k].T @ weights[:, :k])
        predicted = centred @ (rotations @ y_loadings[:, :k].T) + pls.intercept_
        rmse[k - 1] = np.sqrt(np.square(predicted - test_y).mean(axis=0)).mean()
    return rmse


def fit_pls(
    spectra: np.ndarray, targets: np.ndarray, max_components: int = 20, folds: int = 5, seed: int = 0
) -> PLSFit:
    """PLS on training spectra ``(N, L)`` and targets ``(N, T)``, components chosen by ``folds``-fold RMSECV (per fold
    RMSE averaged over targets, then over folds, as ``GridSearchCV`` with ``neg_root_mean_squared_error``; the
    fewest components on ties)."""
    spectra = np.asarray(spectra, dtype=np.float64)
    targets = np.asarray(targets, dtype=np.float64).reshape(len(spectra), -1)
    folds = max(2, min(folds, len(spectra)))
    smallest_fold_train = len(spectra) - int(np.ceil(len(spectra) / folds))
    top = max(1, min(max_components, smallest_fold_train - 1, spectra.shape[1]))
    splitter = KFold(folds, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # a component past the data's rank: y residual is 0
        rmsecv = np.mean(
            [_fold_rmse(spectra[a], targets[a], spectra[b], targets[b], top) for a, b in splitter.split(spectra)],
            axis=0,
        )
        components = int(np.argmin(rmsecv)) + 1
        model = PLSRegression(n_components=components, scale=False).fit(spectra, targets)
    return PLSFit(model, components, rmsecv)
