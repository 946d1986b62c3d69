"""The kernel baselines beside every run: RBF support-vector regression and classification (scikit-learn).

A chemometrician's strongest cheap model for a nonlinear response is a kernel model on the preprocessed
spectra; printing only a linear baseline beside a network hides how far behind a network can be. Both models
here see the same preprocessed splits the network sees, standardised point by point inside the pipeline (a
no-op after the datamodule's ``scaling: standard``), and choose their hyper-parameters by cross-validation on
the training split only (the classifier by the validation split when there is one, as the linear baseline
does): validation and test spectra never influence them, and the fit takes seconds on sets of a few hundred.

The RBF width is searched around scikit-learn's ``gamma="scale"`` (``1 / (points * variance)``), so the grid
suits any spectrum length; regression targets are standardised for the fit, so the grid of ``C`` and
``epsilon`` suits any unit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.compose import TransformedTargetRegressor
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC, SVR

C_GRID = (1.0, 10.0, 100.0, 1000.0)
GAMMA_FACTORS = (0.01, 0.1, 1.0)  # times scikit-learn's "scale" width
EPSILON_GRID = (0.01, 0.1)  # in standard deviations of the target


def _scale_gamma(spectra: np.ndarray) -> float:
    """scikit-learn's ``gamma="scale"`` after per-point standardisation: 1 / points (every point has variance 1)."""
    return 1.0 / spectra.shape[1]


@dataclass
class SVRFit:
    """One RBF support-vector regression per target, each refitted on the whole training split."""

    models: list[GridSearchCV]

    @property
    def params(self) -> list[dict]:
        return [{k.rsplit("__", 1)[-1]: v for k, v in m.best_params_.items()} for m in self.models]

    @property
    def cv_rmse(self) -> float:
        """Cross-validated RMSE on the training split, mean over targets (in the targets' units)."""
        return float(np.mean([-m.best_score_ for m in self.models]))

    def predict(self, spectra: np.ndarray) -> np.ndarray:
        """Predicted targets ``(N, T)``."""
        return np.column_stack([m.predict(spectra) for m in self.models])


def fit_svr(spectra: np.ndarray, targets: np.ndarray, folds: int = 5, seed: int = 0) -> SVRFit:
    """RBF SVR on training spectra ``(N, L)`` and targets ``(N, T)``; C, gamma and epsilon by ``folds``-fold CV."""
    spectra = np.asarray(spectra, dtype=np.float64)
    targets = np.asarray(targets, dtype=np.float64).reshape(len(spectra), -1)
    gamma = _scale_gamma(spectra)
    pipeline = Pipeline([("scale", StandardScaler()), ("svr", SVR(kernel="rbf"))])
    grid = {
        "regressor__svr__C": list(C_GRID),
        "regressor__svr__gamma": [f * gamma for f in GAMMA_FACTORS],
        "regressor__svr__epsilon": list(EPSILON_GRID),
    }
    cv = KFold(max(2, min(folds, len(spectra))), shuffle=True, random_state=seed)
    models = []
    for t in range(targets.shape[1]):
        search = GridSearchCV(
            TransformedTargetRegressor(regressor=pipeline, transformer=StandardScaler()),
            grid,
            cv=cv,
            scoring="neg_root_mean_squared_error",
        )
        models.append(search.fit(spectra, targets[:, t]))
    return SVRFit(models)


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
