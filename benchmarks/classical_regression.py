"""Classical regression baselines on the public regression sets: PLS against RBF-kernel SVR and kernel ridge.

For every set of ``benchmarks/datasets.py`` (``REGRESSION``), on its calibration/test split
(:func:`datasets.calibration_test`: published where there is one, else a fixed seeded stratified split), and for
every preprocessing (``raw``; ``snv``; Savitzky-Golay first and second derivative, window 15, polynomial order 2):

- ``pls``: :func:`lightning_spectra.baselines.regression.fit_pls` (mean-centred PLS, 1-20 components by 5-fold
  RMSECV on the calibration split), the baseline printed beside every run today;
- ``svr``: RBF support-vector regression, ``C``, ``gamma`` and ``epsilon`` by 5-fold CV;
- ``krr``: RBF kernel ridge regression, ``alpha`` and ``gamma`` by 5-fold CV.

The kernel models run inside a scikit-learn ``Pipeline`` that standardises every point on the training folds
only, and a ``TransformedTargetRegressor`` that standardises the target (so ``C``, ``alpha`` and ``epsilon`` are
in units of the target's SD and one grid fits every set). ``gamma`` is a multiple of ``1 / points``. SNV and the
derivatives work on each spectrum alone (no fitted state), so they are applied before the cross-validation
without leaking anything. Nothing is tuned on the test split: the test spectra are only predicted, once, by the
model refitted on the whole calibration split with the CV's choice.

Reported per set, preprocessing and model: test RMSE, R^2, bias, slope (of predicted on reference), RPD, the
RMSECV that chose the hyper-parameters, the chosen values (and whether one sits on the edge of its grid), and the
wall time of the whole search plus refit (one BLAS thread unless ``--threads`` says otherwise). ``cv_pick``
names, per model, the preprocessing with the lowest RMSECV: what a package that chooses by cross-validation alone
would ship.

    nice -n 10 python benchmarks/classical_regression.py                       # every set
    nice -n 10 python benchmarks/classical_regression.py --sets milk_cow_raman --models svr
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from scipy.signal import savgol_filter
from sklearn.compose import TransformedTargetRegressor
from sklearn.kernel_ridge import KernelRidge
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVR
from threadpoolctl import threadpool_limits

from lightning_spectra.baselines.regression import fit_pls
from lightning_spectra.metrics.regression import regression_metrics

sys.path.insert(0, str(Path(__file__).resolve().parent))
import datasets  # noqa: E402 - benchmarks/datasets.py, next to this file

SG_WINDOW, SG_ORDER = 15, 2
FOLDS, SEED = 5, 0
GAMMA_MULTIPLES = (0.001, 0.01, 0.1, 1.0, 10.0)  # x 1/points: from almost linear to local
SVR_GRID = {"C": (1.0, 10.0, 100.0, 1e3, 1e4, 1e5), "epsilon": (0.01, 0.1)}  # target SD units
KRR_GRID = {"alpha": (1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0)}  # target SD units


def snv(spectra: np.ndarray) -> np.ndarray:
    """Standard normal variate: each spectrum minus its mean, over its standard deviation."""
    centred = spectra - spectra.mean(axis=1, keepdims=True)
    return centred / centred.std(axis=1, keepdims=True)


PREPROCESSING: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "raw": lambda s: s,
    "snv": snv,
    "sg1": lambda s: savgol_filter(s, SG_WINDOW, SG_ORDER, deriv=1, axis=1),
    "sg2": lambda s: savgol_filter(s, SG_WINDOW, SG_ORDER, deriv=2, axis=1),
}


def kernel_search(name: str, points: int) -> GridSearchCV:
    """The CV search of one kernel model: per-point scaling and a standardised target around an RBF regressor."""
    estimator = SVR(kernel="rbf") if name == "svr" else KernelRidge(kernel="rbf")
    grid = dict(SVR_GRID if name == "svr" else KRR_GRID, gamma=tuple(g / points for g in GAMMA_MULTIPLES))
    model = TransformedTargetRegressor(
        regressor=Pipeline([("scale", StandardScaler()), ("model", estimator)]), transformer=StandardScaler()
    )
    return GridSearchCV(
        model,
        {f"regressor__model__{k}": list(v) for k, v in grid.items()},
        cv=KFold(FOLDS, shuffle=True, random_state=SEED),
        scoring="neg_root_mean_squared_error",
    )


def fit_kernel(name: str, cal: np.ndarray, y_cal: np.ndarray) -> tuple[Callable, float, dict, list[str]]:
    """(predict, RMSECV, chosen values, names of values on the edge of their grid)."""
    search = kernel_search(name, cal.shape[1]).fit(cal, y_cal)
    chosen, edges = {}, []
    for key, value in search.best_params_.items():
        short = key.rsplit("__", 1)[1]
        grid = search.param_grid[key]
        chosen[short] = float(value * cal.shape[1]) if short == "gamma" else float(value)  # gamma as a multiple
        if len(grid) > 1 and value in (min(grid), max(grid)):
            edges.append(short)
    return search.best_estimator_.predict, float(-search.best_score_), chosen, edges


def fit_one(model: str, cal: np.ndarray, y_cal: np.ndarray) -> tuple[Callable, float, dict, list[str]]:
    if model == "pls":
        fit = fit_pls(cal, y_cal, folds=FOLDS, seed=SEED)
        top = len(fit.rmsecv)
        edges = ["components"] if fit.components == top and top > 1 else []
        return (lambda s: fit.predict(s).ravel()), float(fit.rmsecv.min()), {"components": fit.components}, edges
    return fit_kernel(model, cal, y_cal)


def test_metrics(predicted: np.ndarray, reference: np.ndarray) -> dict[str, float]:
    """The package's RMSE, R^2, bias, RPD, plus the slope of predicted on reference (1 is ideal)."""
    metrics = regression_metrics(torch.from_numpy(predicted), torch.from_numpy(reference))
    out = {k: float(metrics[k][0]) for k in ("rmse", "r2", "bias", "rpd")}
    out["slope"] = float(np.polyfit(reference, predicted, 1)[0])
    return out


def run_set(set_name: str, models: list[str], preprocessings: list[str]) -> dict:
    x, spectra, targets, _ = datasets.REGRESSION[set_name]()
    cal_idx, test_idx = datasets.calibration_test(set_name, targets)
    info = {
        "points": int(spectra.shape[1]),
        "x_range": [float(x[0]), float(x[-1])],
        "calibration": int(len(cal_idx)),
        "test": int(len(test_idx)),
        "target_sd": float(targets.std(ddof=1)),
        "test_target_sd": float(targets[test_idx].std(ddof=1)),
        "results": [],
    }
    for prep in preprocessings:
        processed = PREPROCESSING[prep](spectra.astype(np.float64))
        cal, test = processed[cal_idx], processed[test_idx]
        for model in models:
            start = time.perf_counter()
            predict, rmsecv, chosen, edges = fit_one(model, cal, targets[cal_idx])
            seconds = time.perf_counter() - start
            row = {"preprocessing": prep, "model": model, "rmsecv": rmsecv, "params": chosen, "grid_edge": edges}
            row.update(test_metrics(np.asarray(predict(test), dtype=np.float64), targets[test_idx]))
            row["fit_seconds"] = seconds
            info["results"].append(row)
            print(
                f"{set_name:20s} {prep:4s} {model:4s} RMSECV {rmsecv:8.4g}  test RMSE {row['rmse']:8.4g}  "
                f"R2 {row['r2']:6.3f}  RPD {row['rpd']:5.2f}  {seconds:6.1f}s  {chosen} {edges or ''}",
                flush=True,
            )
    info["cv_pick"] = {
        model: min((r for r in info["results"] if r["model"] == model), key=lambda r: r["rmsecv"])["preprocessing"]
        for model in models
    }
    return info


def markdown(report: dict) -> str:
    """One table of every row, then one line per set: best by test RMSE, the CV picks, and the PLS ratio."""
    lines = [
        f"Machine: {report['machine']}. Test split only predicted; hyper-parameters by {FOLDS}-fold CV on the "
        f"calibration split. SG: window {SG_WINDOW}, order {SG_ORDER}.",
        "",
        "| set | N cal/test x points | target SD (test) | prep | model | RMSECV | test RMSE | R2 | bias | slope | RPD "
        "| params | fit s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, s in report["sets"].items():
        for r in s["results"]:
            params = ", ".join(f"{k}={v:g}" for k, v in r["params"].items()) + (
                f" (edge: {','.join(r['grid_edge'])})" if r["grid_edge"] else ""
            )
            lines.append(
                f"| {name} | {s['calibration']}/{s['test']} x {s['points']} | {s['test_target_sd']:.3g} "
                f"| {r['preprocessing']} | {r['model']} | {r['rmsecv']:.4g} | {r['rmse']:.4g} | {r['r2']:.3f} "
                f"| {r['bias']:.3g} | {r['slope']:.3f} | {r['rpd']:.2f} | {params} | {r['fit_seconds']:.1f} |"
            )
    lines += [
        "",
        "| set | best PLS (test RMSE) | best kernel (test RMSE) | PLS / kernel | CV picks |",
        "|---|---|---|---|---|",
    ]
    for name, s in report["sets"].items():
        pls = [r for r in s["results"] if r["model"] == "pls"]
        kern = [r for r in s["results"] if r["model"] != "pls"]
        if not pls or not kern:
            continue
        bp, bk = min(pls, key=lambda r: r["rmse"]), min(kern, key=lambda r: r["rmse"])
        picks = []
        for model, prep in s["cv_pick"].items():
            row = next(r for r in s["results"] if r["model"] == model and r["preprocessing"] == prep)
            picks.append(f"{model}: {prep} {row['rmse']:.4g}")
        lines.append(
            f"| {name} | {bp['preprocessing']} {bp['rmse']:.4g} | {bk['model']} {bk['preprocessing']} "
            f"{bk['rmse']:.4g} | {bp['rmse'] / bk['rmse']:.2f} | {'; '.join(picks)} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", nargs="+", default=list(datasets.REGRESSION), choices=list(datasets.REGRESSION))
    parser.add_argument("--models", nargs="+", default=["pls", "svr", "krr"], choices=["pls", "svr", "krr"])
    parser.add_argument("--preprocessing", nargs="+", default=list(PREPROCESSING), choices=list(PREPROCESSING))
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (1: timings comparable, CPU shared)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "classical_regression")
    args = parser.parse_args()
    machine = f"{platform.processor() or platform.machine()}, {platform.system()}, python {platform.python_version()}"
    report = {"machine": machine, "folds": FOLDS, "seed": SEED, "sg": [SG_WINDOW, SG_ORDER], "sets": {}}
    report["grids"] = {"gamma_multiples_of_1_over_points": GAMMA_MULTIPLES, "svr": SVR_GRID, "krr": KRR_GRID}
    report["blas_threads"] = args.threads
    for set_name in args.sets:
        with threadpool_limits(args.threads):
            report["sets"][set_name] = run_set(set_name, args.models, args.preprocessing)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.with_suffix(".json").write_text(json.dumps(report, indent=1))  # after every set: partial runs count
        args.out.with_suffix(".md").write_text(markdown(report))
    print(markdown(report))


if __name__ == "__main__":
    main()
