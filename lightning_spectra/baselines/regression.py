"""The chemometrics reference beside every regression run: PLS regression (scikit-learn).

Partial least squares on the same preprocessed spectra the network sees, mean-centred (``scale=False``, the
usual choice for spectra: scaling every point to unit variance would blow up noise-only regions). The number
of latent components is chosen by k-fold cross-validation (RMSECV) on the training split only; validation
and test spectra never influence it. The test metrics are then those of :mod:`lightning_spectra.metrics.regression`,
so the network and PLS are compared with one set of formulas (see ``callbacks/regression_outputs.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.cross_decomposition import PLSRegression
from sklearn.model_selection import GridSearchCV, KFold


@dataclass
class PLSFit:
    """A PLS model refitted on the whole training split with the components cross-validation chose."""

    model: PLSRegression
    components: int
    rmsecv: np.ndarray  # RMSECV per candidate number of components (1, 2, ...)

    def predict(self, spectra: np.ndarray) -> np.ndarray:
        """Predicted targets ``(N, T)``."""
        return np.asarray(self.model.predict(spectra)).reshape(len(spectra), -1)


def fit_pls(
    spectra: np.ndarray, targets: np.ndarray, max_components: int = 20, folds: int = 5, seed: int = 0
) -> PLSFit:
    """PLS on training spectra ``(N, L)`` and targets ``(N, T)``, components chosen by ``folds``-fold RMSECV."""
    spectra = np.asarray(spectra, dtype=np.float64)
    targets = np.asarray(targets, dtype=np.float64).reshape(len(spectra), -1)
    folds = max(2, min(folds, len(spectra)))
    smallest_fold_train = len(spectra) - int(np.ceil(len(spectra) / folds))
    top = max(1, min(max_components, smallest_fold_train - 1, spectra.shape[1]))
    search = GridSearchCV(
        PLSRegression(scale=False),
        {"n_components": list(range(1, top + 1))},
        cv=KFold(folds, shuffle=True, random_state=seed),
        scoring="neg_root_mean_squared_error",
    )
    search.fit(spectra, targets)
    return PLSFit(
        search.best_estimator_, int(search.best_params_["n_components"]), -search.cv_results_["mean_test_score"]
    )
