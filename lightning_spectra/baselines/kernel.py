"""The kernel baselines beside every run: RBF kernel ridge regression and an RBF support-vector classifier.

A chemometrician's strongest cheap model for a nonlinear response is a kernel model on the preprocessed
spectra; printing only a linear baseline beside a network hides how far behind a network can be. Both models
here see the same preprocessed splits the network sees, standardised point by point inside the pipeline (a
no-op after the datamodule's ``scaling: standard``), and choose their hyper-parameters by cross-validation on
the training split only (the classifier by the validation split when there is one, as the linear baseline
does): validation and test spectra never influence them, and the fit takes seconds on sets of a few hundred.

The RBF width is searched around scikit-learn's ``gamma="scale"`` (``1 / (points * variance)``), so the grid
suits any spectrum length; regression targets are standardised for the fit, so the ridge grid suits any unit.
Kernel ridge rather than support-vector regression for regression: on six public regression sets it was the
more accurate of the two on four and within 2 % on the others, at 2-26 times less fitting time (SVR with a
large C converged slowly: 215 s against 8 s on one set; BENCHMARKS.md, "Classical regression baselines").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.compose import TransformedTargetRegressor
from sklearn.kernel_ridge import KernelRidge
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

C_GRID = (1.0, 10.0, 100.0, 1000.0)
GAMMA_FACTORS = (0.01, 0.1, 1.0)  # times scikit-learn's "scale" width (the classifier's)
RIDGE_ALPHAS = (1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0)  # on standardised targets
RIDGE_GAMMA_FACTORS = (0.001, 0.01, 0.1, 1.0, 10.0)  # times 1 / points


def _scale_gamma(spectra: np.ndarray) -> float:
    """scikit-learn's ``gamma="scale"`` after per-point standardisation: 1 / points (every point has variance 1)."""
    return 1.0 / spectra.shape[1]


@dataclass
class KernelRidgeFit:
    """RBF kernel ridge regression of every target, refitted on the whole training split."""

    search: GridSearchCV

    @property
    def params(self) -> dict[str, float]:
        """The chosen ``alpha`` and ``gamma``."""
        return {k.rsplit("__", 1)[-1]: float(v) for k, v in self.search.best_params_.items()}

    @property
    def cv_rmse(self) -> float:
        """Cross-validated RMSE on the training split (in the targets' units, averaged over targets)."""
        return float(-self.search.best_score_)

    def predict(self, spectra: np.ndarray) -> np.ndarray:
        """Predicted targets ``(N, T)``."""
        return np.asarray(self.search.predict(spectra)).reshape(len(spectra), -1)


def fit_kernel_ridge(spectra: np.ndarray, targets: np.ndarray, folds: int = 5, seed: int = 0) -> KernelRidgeFit:
    """RBF kernel ridge on training spectra ``(N, L)`` and targets ``(N, T)``; alpha and gamma by ``folds``-fold CV."""
    spectra = np.asarray(spectra, dtype=np.float64)
    targets = np.asarray(targets, dtype=np.float64).reshape(len(spectra), -1)
    pipeline = Pipeline([("scale", StandardScaler()), ("ridge", KernelRidge(kernel="rbf"))])
    grid = {
        "regressor__ridge__alpha": list(RIDGE_ALPHAS),
        "regressor__ridge__gamma": [f / spectra.shape[1] for f in RIDGE_GAMMA_FACTORS],
    }
    search = GridSearchCV(
        TransformedTargetRegressor(regressor=pipeline, transformer=StandardScaler()),
        grid,
        cv=KFold(max(2, min(folds, len(spectra))), shuffle=True, random_state=seed),
        scoring="neg_root_mean_squared_error",
    )
    return KernelRidgeFit(search.fit(spectra, targets))


def svc_baseline(
    train: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
    val: tuple[np.ndarray, np.ndarray] | None = None,
    seed: int = 0,
) -> dict:
    """Test accuracy of an RBF SVC whose C and gamma are chosen on ``val`` (else by 3-fold CV of ``train``).

    Returns ``{"accuracy", "val_accuracy", "C", "gamma"}``.
    """
    x, y = np.asarray(train[0], dtype=np.float64), np.asarray(train[1])
    gamma = _scale_gamma(x)
    grid = [(c, f * gamma) for c in C_GRID for f in GAMMA_FACTORS]

    def model(c: float, g: float) -> Pipeline:
        return Pipeline([("scale", StandardScaler()), ("svc", SVC(kernel="rbf", C=c, gamma=g))])

    if val is not None:
        scores = [float((model(c, g).fit(x, y).predict(val[0]) == val[1]).mean()) for c, g in grid]
    else:
        folds = max(2, min(3, int(np.bincount(y).min())))
        cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
        search = GridSearchCV(
            Pipeline([("scale", StandardScaler()), ("svc", SVC(kernel="rbf"))]),
            {"svc__C": list(C_GRID), "svc__gamma": [f * gamma for f in GAMMA_FACTORS]},
            cv=cv,
        ).fit(x, y)
        scores = [float(s) for s in search.cv_results_["mean_test_score"]]
        grid = [(p["svc__C"], p["svc__gamma"]) for p in search.cv_results_["params"]]
    best = int(np.argmax(scores))  # the first of equals: the smallest C, the widest kernel
    c, g = grid[best]
    fitted = model(c, g).fit(x, y)
    return {
        "accuracy": float((fitted.predict(test[0]) == test[1]).mean()),
        "val_accuracy": scores[best],
        "C": c,
        "gamma": g,
    }
