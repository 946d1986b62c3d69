"""The linear classification baseline: logistic regression or PLS-DA (scikit-learn), chosen on validation data.

A deep model on a small set of spectra earns its keep only if it beats what a chemometrician would try
first. Candidates: L2 logistic regression over a grid of regularisation strengths, and PLS-DA (PLS
regression on one-hot classes, argmax) over a range of latent variables; all on standardised features.
The candidate with the best validation accuracy (the simplest on ties) is refitted on nothing more than the
training split and scored on the test split, so it sees exactly what the deep model sees.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.cross_decomposition import PLSRegression
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from lightning_spectra.baselines.kernel import svc_baseline

Split = tuple[np.ndarray, np.ndarray]  # spectra (N, L), class indices (N,)

C_GRID = (0.001, 0.01, 0.1, 1.0, 10.0, 100.0)
MAX_COMPONENTS = 20


class PLSDA(ClassifierMixin, BaseEstimator):
    """PLS regression on one-hot classes; the predicted class is the largest predicted response."""

    def __init__(self, n_components: int = 2) -> None:
        self.n_components = n_components

    def fit(self, x: np.ndarray, y: np.ndarray) -> PLSDA:
        self.classes_ = np.unique(y)
        onehot = (y[:, None] == self.classes_[None, :]).astype(np.float64)
        self.pls_ = PLSRegression(n_components=self.n_components, scale=False).fit(x, onehot)
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.classes_[np.asarray(self.pls_.predict(x)).argmax(axis=1)]


def candidates(n_train: int, n_features: int) -> Iterator[tuple[str, BaseEstimator]]:
    """The baseline's candidate models, simplest first within each family."""
    for c in C_GRID:
        yield f"logistic regression (C={c:g})", make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=2000))
    for k in range(1, min(MAX_COMPONENTS, n_features, n_train - 1) + 1):
        yield f"PLS-DA ({k} LV)", make_pipeline(StandardScaler(), PLSDA(n_components=k))


def _accuracy(model: BaseEstimator, train: Split, test: Split) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fitted = clone(model).fit(*train)
    return float((fitted.predict(test[0]) == test[1]).mean())


def _validation_score(model: BaseEstimator, train: Split, val: Split | None, seed: int) -> float:
    if val is not None:
        return _accuracy(model, train, val)
    folds = max(2, min(3, int(np.bincount(train[1]).min())))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    x, y = train
    return float(np.mean([_accuracy(model, (x[a], y[a]), (x[b], y[b])) for a, b in splitter.split(x, y)]))


def classification_baseline(train: Split, test: Split, val: Split | None = None, seed: int = 0) -> dict:
    """Test accuracy of the best linear candidate (chosen on ``val``, else by 3-fold CV of ``train``).

    Returns ``{"accuracy", "method", "val_accuracy"}``.
    """
    train = (np.asarray(train[0], dtype=np.float64), np.asarray(train[1]))
    test = (np.asarray(test[0], dtype=np.float64), np.asarray(test[1]))
    if val is not None:
        val = (np.asarray(val[0], dtype=np.float64), np.asarray(val[1]))
    best_name, best_model, best_score = None, None, -1.0
    for name, model in candidates(len(train[1]), train[0].shape[1]):
        score = _validation_score(model, train, val, seed)
        if score > best_score:  # strictly better: ties keep the simpler, earlier candidate
            best_name, best_model, best_score = name, model, score
    return {"accuracy": _accuracy(best_model, train, test), "method": best_name, "val_accuracy": best_score}


def baseline_summary(splits, seed: int = 0) -> dict:
    """The classical baselines of a datamodule's :class:`~lightning_spectra.data.base.SpectraSplits`: the linear
    one (``linear_baseline_*``), the RBF SVC (``svc_*``) and which of them is best on the validation split
    (``classical_best_method`` and its test ``classical_best_accuracy``)."""

    def arrays(data) -> Split:
        return data.spectra.detach().cpu().numpy(), data.labels.detach().cpu().numpy()

    train, test, val = arrays(splits.train), arrays(splits.test), arrays(splits.val)
    linear = classification_baseline(train, test, val, seed=seed)
    kernel = svc_baseline(train, test, val, seed=seed)
    summary = {f"linear_baseline_{k}": v for k, v in linear.items()} | {f"svc_{k}": v for k, v in kernel.items()}
    best = "SVC" if kernel["val_accuracy"] > linear["val_accuracy"] else linear["method"]  # ties: the linear one
    summary["classical_best_method"] = best
    summary["classical_best_accuracy"] = kernel["accuracy"] if best == "SVC" else linear["accuracy"]
    return summary
