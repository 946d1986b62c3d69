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
from sklearn.metrics.pairwise import rbf_kernel
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from lightning_spectra.data.preprocess import floored_spread

C_GRID = (1.0, 10.0, 100.0, 1000.0)
GAMMA_FACTORS = (0.01, 0.1, 1.0)  # times scikit-learn's "scale" width (the classifier's)
RIDGE_ALPHAS = (1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0)  # on standardised targets
RIDGE_GAMMA_FACTORS = (0.001, 0.01, 0.1, 1.0, 10.0)  # times 1 / points


class FlooredScaler(StandardScaler):
    """Per-point standardisation that never divides by less than
    :func:`~lightning_spectra.data.preprocess.floored_spread` allows."""

    def fit(self, X, y=None, sample_weight=None):  # noqa: N803 - scikit-learn's signature
        super().fit(X, y, sample_weight)
        self.scale_ = floored_spread(self.scale_)
        return self


def _scale_gamma(spectra: np.ndarray) -> float:
    """scikit-learn's ``gamma="scale"`` after per-point standardisation: 1 / points (every point has variance 1)."""
    return 1.0 / spectra.shape[1]


@dataclass
class KernelRidgeFit:
    """RBF kernel ridge regression of every target, refitted on the whole training split.

    ``model`` is scikit-learn's fitted pipeline (per-point scaling, kernel ridge, inside a target standardiser);
    ``rmsecv`` holds the cross-validated RMSE of every ``(alpha, gamma)`` of the grid.
    """

    model: TransformedTargetRegressor
    alpha: float
    gamma: float
    rmsecv: dict[tuple[float, float], float]

    @property
    def params(self) -> dict[str, float]:
        """The chosen ``alpha`` and ``gamma``."""
        return {"alpha": self.alpha, "gamma": self.gamma}

    @property
    def cv_rmse(self) -> float:
        """Cross-validated RMSE on the training split (in the targets' units, averaged over targets)."""
        return self.rmsecv[(self.alpha, self.gamma)]

    def predict(self, spectra: np.ndarray) -> np.ndarray:
        """Predicted targets ``(N, T)``."""
        return np.asarray(self.model.predict(spectra)).reshape(len(spectra), -1)


def kernel_ridge_model(alpha: float, gamma: float) -> TransformedTargetRegressor:
    """Per-point scaling (floored), RBF kernel ridge, on standardised targets."""
    pipeline = Pipeline([("scale", FlooredScaler()), ("ridge", KernelRidge(kernel="rbf", alpha=alpha, gamma=gamma))])
    return TransformedTargetRegressor(regressor=pipeline, transformer=StandardScaler())


def _fold_errors(train_x, train_y, test_x, test_y, gamma: float) -> dict[float, np.ndarray]:
    """Squared errors (in the targets' units) of every alpha of :data:`RIDGE_ALPHAS` on one fold: exactly what
    scikit-learn's pipeline predicts, from one eigendecomposition of the training kernel instead of a solve per
    alpha."""
    scaler = FlooredScaler().fit(train_x)
    a, b = scaler.transform(train_x), scaler.transform(test_x)
    y_scaler = StandardScaler().fit(train_y)
    z = y_scaler.transform(train_y)
    values, vectors = np.linalg.eigh(rbf_kernel(a, a, gamma=gamma))
    cross = rbf_kernel(b, a, gamma=gamma) @ vectors
    projected = vectors.T @ z
    errors = {}
    for alpha in RIDGE_ALPHAS:
        predicted = y_scaler.inverse_transform(cross @ (projected / (values + alpha)[:, None]))
        errors[alpha] = np.square(predicted - test_y)
    return errors


def fit_kernel_ridge(spectra: np.ndarray, targets: np.ndarray, folds: int = 5, seed: int = 0) -> KernelRidgeFit:
    """RBF kernel ridge on training spectra ``(N, L)`` and targets ``(N, T)``; alpha and gamma by ``folds``-fold CV
    (RMSE per fold, averaged over folds and targets, as ``GridSearchCV`` with ``neg_root_mean_squared_error``)."""
    spectra = np.asarray(spectra, dtype=np.float64)
    targets = np.asarray(targets, dtype=np.float64).reshape(len(spectra), -1)
    splitter = KFold(max(2, min(folds, len(spectra))), shuffle=True, random_state=seed)
    scores: dict[tuple[float, float], list[float]] = {}
    for factor in RIDGE_GAMMA_FACTORS:
        gamma = factor / spectra.shape[1]
        for train, test in splitter.split(spectra):
            errors = _fold_errors(spectra[train], targets[train], spectra[test], targets[test], gamma)
            for alpha, squared in errors.items():
                rmse = float(np.sqrt(squared.mean(axis=0)).mean())
                scores.setdefault((alpha, gamma), []).append(rmse)
    rmsecv = {key: float(np.mean(values)) for key, values in scores.items()}
    # The first of equals in scikit-learn's grid order (alpha, then gamma): GridSearchCV's choice.
    alpha, gamma = min(sorted(rmsecv), key=lambda key: rmsecv[key])
    return KernelRidgeFit(kernel_ridge_model(alpha, gamma).fit(spectra, targets), alpha, gamma, rmsecv)


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
