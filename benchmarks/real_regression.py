"""Networks against the best classical baselines on the six public regression sets of ``benchmarks/datasets.py``.

For every set (``datasets.REGRESSION``) on its calibration/test split (:func:`datasets.calibration_test`), and
for every network asked for (CNN and MSResNet by default):

1. *Selection, on validation only.* The calibration spectra go through
   :class:`~lightning_spectra.data.SpectraFilesDataModule` (``task: regression``, targets standardised on its
   training part); a seeded ``val_fraction`` of them (``split_seed`` 0) is the validation split. Each setting of
   a small grid (input preprocessing x learning rate x training augmentation, ``AUGMENTS``) trains once with
   seed 0, the recipe of ``configs/examples/files_regression.yaml`` otherwise (AdamW, cosine schedule to 0,
   weight decay 2e-5, batch 32, the checkpoint of the lowest ``val/rmse``); the setting with the lowest best
   ``val/rmse`` is chosen.
2. *Test, once.* The chosen setting trains ``--members`` seeds (the selection run is member 0); each member's
   best-``val/rmse`` checkpoint predicts the test split, and the ensemble predicts their mean. Reported: the
   ensemble's test RMSE, R^2, RPD, bias, and the members' test RMSEs (their spread). With 3 or more members,
   the spread as a prediction interval (:func:`ensemble_interval`, calibrated on the validation split): its
   test coverage and mean width.

Beside them, fitted on the same whole calibration split: PLS (``fit_pls``, components by 5-fold RMSECV) and
RBF kernel ridge (``fit_kernel_ridge``, alpha and gamma by 5-fold CV), each on raw and on Savitzky-Golay first
derivative spectra (window 15, order 2), the preprocessing chosen by RMSECV. The "best classical" reference is
read from ``results/classical_regression.json``: the lowest test RMSE among the PLS, KRR and SVR fits whose
preprocessing their own RMSECV chose (the strongest classical model a CV-only choice would ship).

Input preprocessings of the grid (the datamodule's options; every one ends with per-point standardisation on
the training part, ``scaling: standard``):

- ``raw``: no smoothing, no derivative, no per-spectrum normalisation;
- ``sg1``: Savitzky-Golay first derivative (window 15, order 2), no per-spectrum normalisation;
- ``sg1_snv``: the same derivative, then SNV per spectrum.

Run one process at a time, one thread, under ``nice`` (the machine is shared; wall times are not the claim):

    nice -n 10 python benchmarks/real_regression.py                          # CNN and MSResNet, every set
    nice -n 10 python benchmarks/real_regression.py --sets corn_property --models cnn --preps raw sg1 --lrs 3e-3
"""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import sys
import tempfile
import time
import warnings
from pathlib import Path

import lightning.pytorch as L
import numpy as np
import torch
from scipy.signal import savgol_filter
from threadpoolctl import threadpool_limits

from lightning_spectra.baselines.kernel import fit_kernel_ridge
from lightning_spectra.baselines.regression import fit_pls
from lightning_spectra.data import SpectraFilesDataModule
from lightning_spectra.metrics.prediction_interval import calibrate, ensemble_prediction
from lightning_spectra.metrics.regression import regression_metrics
from lightning_spectra.models.registry import model_classes

sys.path.insert(0, str(Path(__file__).resolve().parent))
import datasets  # noqa: E402 - benchmarks/datasets.py, next to this file

MODELS = model_classes()  # config name -> class
RESULTS = Path(__file__).parent / "results"
SG_WINDOW, SG_ORDER = 15, 2
PREPS = {  # datamodule preprocessing options of each grid entry
    "raw": {"smoothing_window": 0, "derivative": 0, "normalization": "none", "scaling": "standard"},
    "sg1": {"smoothing_window": SG_WINDOW, "smoothing_order": SG_ORDER, "derivative": 1, "normalization": "none"},
    "sg1_snv": {"smoothing_window": SG_WINDOW, "smoothing_order": SG_ORDER, "derivative": 1, "normalization": "snv"},
}
for _options in PREPS.values():
    _options.setdefault("scaling", "standard")
#: Training-batch augmentations of the grid (the datamodule's ``augmentation``; amounts are shares of each
#: preprocessed spectrum's own std, see lightning_spectra/data/augment.py).
AUGMENTS = {
    "none": {},
    "baseline": {"offset": 0.05, "slope": 0.05},  # additive baseline drift, which carries no amount
    "noise": {"noise": 0.02},
    "scale": {"scale": 0.02},  # multiplicative: under Beer-Lambert it changes the apparent amount
}
#: Share of new spectra the ensemble's prediction interval is calibrated to cover.
INTERVAL_COVERAGE = 0.9


def data_and_model(
    model_name: str,
    paths: tuple[str, str],
    prep: str,
    lr: float,
    args: argparse.Namespace,
    seed: int,
    augment: str = "none",
) -> tuple[SpectraFilesDataModule, L.LightningModule]:
    """The regression datamodule on ``paths`` (calibration, test) and a freshly seeded network sized for it.

    The one place that knows the datamodule's and the models' constructor arguments (the recipe of
    ``configs/examples/files_regression.yaml``, with ``prep``'s preprocessing, the rate ``lr`` and the training
    augmentation ``augment``).
    """
    L.seed_everything(seed, verbose=False)
    data = SpectraFilesDataModule(
        train_path=paths[0],
        test_path=paths[1],
        task="regression",
        split={"val_fraction": args.val_fraction, "seed": 0},  # one validation split for every setting and member
        preprocessing=PREPS[prep],
        augmentation=AUGMENTS[augment],
        batch_size=args.batch_size,
        linear_baseline=False,  # the baselines are fitted below, on the whole calibration split
        progress=False,
    )
    model = MODELS[model_name].from_datamodule(data, lr=lr, weight_decay=2e-5, optimizer="adamw", lr_schedule="cosine")
    return data, model


def fit_best(
    model: L.LightningModule, data: L.LightningDataModule, folder: Path, epochs: int
) -> tuple[dict, float, float]:
    """Fit ``model`` for ``epochs`` on a CPU trainer, keeping the lowest-``val/rmse`` checkpoint in
    ``folder``; load it back. Returns that checkpoint, its validation RMSE and the fit's seconds."""
    checkpoint = L.callbacks.ModelCheckpoint(dirpath=folder, monitor="val/rmse", mode="min", save_weights_only=True)
    trainer = L.Trainer(
        max_epochs=epochs,
        accelerator="cpu",
        logger=False,
        callbacks=[checkpoint],
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        deterministic=True,
    )
    start = time.perf_counter()
    trainer.fit(model, datamodule=data)
    seconds = time.perf_counter() - start
    state = torch.load(checkpoint.best_model_path, map_location="cpu", weights_only=False)
    model.load_state_dict(state["state_dict"])
    return state, float(checkpoint.best_model_score), seconds


def train_member(
    model_name: str,
    paths: tuple[str, str],
    setting: tuple[str, float, str],
    seed: int,
    args: argparse.Namespace,
    root: Path,
) -> dict:
    """One training run of ``setting`` (prep, lr, augment): its best validation RMSE and epoch, and that
    checkpoint's validation and test predictions."""
    prep, lr, augment = setting
    data, model = data_and_model(model_name, paths, prep, lr, args, seed, augment)
    state, best_score, seconds = fit_best(model, data, root / f"{model_name}_{prep}_{lr}_{augment}_{seed}", args.epochs)
    model.eval()
    with torch.no_grad():
        predicted = model.predict_values(model(data.splits.test.spectra)).reshape(-1)
        val_predicted = model.predict_values(model(data.splits.val.spectra)).reshape(-1)
    return {
        "prep": prep,
        "lr": lr,
        "augment": augment,
        "seed": seed,
        "val_rmse": best_score,
        "best_epoch": int(state["epoch"]),
        "seconds": seconds,
        "predicted": predicted.double().numpy(),
        "val_predicted": val_predicted.double().numpy(),
        "val_reference": data.splits.val.labels.reshape(-1).double().numpy(),
        "train": len(data.splits.train.spectra),
        "val": len(data.splits.val.spectra),
    }


def metrics(predicted: np.ndarray, reference: np.ndarray) -> dict[str, float]:
    values = regression_metrics(torch.as_tensor(predicted).reshape(-1, 1), torch.as_tensor(reference).reshape(-1, 1))
    return {k: float(values[k].mean()) for k in ("rmse", "r2", "rpd", "bias")}


def ensemble_interval(members: list[dict], reference: np.ndarray) -> dict[str, float]:
    """The members' spread as a prediction interval, calibrated on the validation split as
    ``lightning-spectra-ensemble`` does (:mod:`lightning_spectra.metrics.prediction_interval`): the factor, the
    share of test spectra inside the interval and its mean width. Validation also chose each member's checkpoint,
    so its residuals are optimistic: test coverage says how far that goes."""
    factor = calibrate(np.stack([m["val_predicted"] for m in members]), members[0]["val_reference"], INTERVAL_COVERAGE)
    test = ensemble_prediction(np.stack([m["predicted"] for m in members]), factor)
    return {
        "interval_k": float(factor[0]),
        "interval_test_coverage": float(test.covered(reference.reshape(-1, 1)).mean()),
        "interval_mean_width": float((test.upper - test.lower).mean()),
    }


def classical(cal: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray]) -> dict:
    """PLS and kernel ridge on the whole calibration split, raw or SG1 chosen by each model's RMSECV."""
    out = {}
    preps = {"raw": lambda s: s, "sg1": lambda s: savgol_filter(s, SG_WINDOW, SG_ORDER, deriv=1, axis=1)}
    for model in ("pls", "krr"):
        fits = {}
        for prep, transform in preps.items():
            x_cal, x_test = transform(cal[0]), transform(test[0])
            fit = fit_pls(x_cal, cal[1], folds=5, seed=0) if model == "pls" else fit_kernel_ridge(x_cal, cal[1])
            rmsecv = float(fit.rmsecv.min()) if model == "pls" else fit.cv_rmse
            fits[prep] = {"prep": prep, "rmsecv": rmsecv, **metrics(np.asarray(fit.predict(x_test)), test[1])}
        out[model] = min(fits.values(), key=lambda f: f["rmsecv"])
    return out


def best_classical(set_name: str) -> dict | None:
    """The lowest test RMSE among the CV-chosen PLS, KRR and SVR of ``classical_regression.json``."""
    path = RESULTS / "classical_regression.json"
    if not path.exists() or set_name not in (report := json.loads(path.read_text()))["sets"]:
        return None
    found = report["sets"][set_name]
    picks = [
        next(r for r in found["results"] if r["model"] == model and r["preprocessing"] == prep)
        for model, prep in found["cv_pick"].items()
    ]
    best = min(picks, key=lambda r: r["rmse"])
    return {"model": best["model"], "prep": best["preprocessing"], "rmse": best["rmse"]}


def run_set(set_name: str, args: argparse.Namespace, earlier: dict | None = None) -> dict:
    """The set's classical fits (reused from ``earlier``, a previous run's entry) and the networks of ``args``."""
    x, spectra, targets, _ = datasets.REGRESSION[set_name]()
    cal_idx, test_idx = datasets.calibration_test(set_name, targets)
    spectra = spectra.astype(np.float64)
    cal, test = (spectra[cal_idx], targets[cal_idx]), (spectra[test_idx], targets[test_idx])
    result = {
        "calibration": len(cal_idx),
        "test": len(test_idx),
        "points": spectra.shape[1],
        "best_classical": best_classical(set_name),
        "networks": dict(earlier["networks"]) if earlier else {},
    }
    if earlier and "classical" in earlier:  # deterministic fits of the same split: no need to repeat them
        result["classical"], result["classical_seconds"] = earlier["classical"], earlier["classical_seconds"]
    else:
        start = time.perf_counter()
        result["classical"] = classical(cal, test)
        result["classical_seconds"] = time.perf_counter() - start
    for model, fit in result["classical"].items():
        print(f"{set_name}: {model} {fit['prep']} RMSECV {fit['rmsecv']:.4g} test RMSE {fit['rmse']:.4g}", flush=True)
    reference = result["best_classical"]["rmse"] if result["best_classical"] else result["classical"]["krr"]["rmse"]
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for split, (s, t) in (("cal", cal), ("test", test)):
            path = Path(tmp) / f"{set_name}_{split}.npz"
            np.savez(path, spectra=s, y=t, x_axis=x, target_names=np.array(["y"]))
            paths.append(str(path))
        for model_name in args.models:
            grid = []
            for setting in itertools.product(args.preps, args.lrs, args.augments):
                run = train_member(model_name, tuple(paths), setting, 0, args, Path(tmp))
                run["test_rmse"] = metrics(run["predicted"], test[1])["rmse"]  # recorded, never used to choose
                grid.append(run)
                print(
                    f"  {model_name} {setting[0]:7s} lr {setting[1]:g} {setting[2]}: val RMSE {run['val_rmse']:.4g} "
                    f"(epoch {run['best_epoch']}), [test {run['test_rmse']:.4g}] {run['seconds']:.0f} s",
                    flush=True,
                )
            chosen = min(grid, key=lambda r: r["val_rmse"])  # validation only
            setting = (chosen["prep"], chosen["lr"], chosen["augment"])
            members = [chosen] + [
                train_member(model_name, tuple(paths), setting, seed, args, Path(tmp))
                for seed in range(1, args.members)
            ]
            member_rmse = [metrics(m["predicted"], test[1])["rmse"] for m in members]
            ensemble = metrics(np.mean([m["predicted"] for m in members], axis=0), test[1])
            entry = {
                "prep": chosen["prep"],
                "lr": chosen["lr"],
                "augment": chosen["augment"],
                "val_rmse": chosen["val_rmse"],
                "best_epochs": [m["best_epoch"] for m in members],
                "members": len(members),
                "member_rmse": member_rmse,
                **ensemble,
                **(ensemble_interval(members, test[1]) if len(members) > 2 else {}),
                "ratio_to_best_classical": ensemble["rmse"] / reference,
                "ratio_to_krr": ensemble["rmse"] / result["classical"]["krr"]["rmse"],
                "ratio_to_pls": ensemble["rmse"] / result["classical"]["pls"]["rmse"],
                "seconds": sum(m["seconds"] for m in grid + members[1:]),
                "grid": [
                    {k: r[k] for k in ("prep", "lr", "augment", "val_rmse", "best_epoch", "test_rmse", "seconds")}
                    for r in grid
                ],
                "train_val": [chosen["train"], chosen["val"]],
                "epochs": args.epochs,
                "batch_size": args.batch_size,
                "preps_tried": list(args.preps),
                "lrs_tried": list(args.lrs),
                "augments_tried": list(args.augments),
            }
            result["networks"][model_name] = entry
            print(
                f"  {model_name}: chose {entry['prep']} lr {entry['lr']:g}; {len(members)}-seed ensemble test RMSE "
                f"{entry['rmse']:.4g} (members {min(member_rmse):.4g}-{max(member_rmse):.4g}) = "
                f"{entry['ratio_to_best_classical']:.2f}x best classical",
                flush=True,
            )
    return result


def markdown(report: dict) -> str:
    lines = [
        "| set | cal/test x points | best classical (CV pick) | PLS | KRR | model | chosen prep, lr, augment "
        "| val RMSE | epochs | ensemble test RMSE | R2 | RPD | members' test RMSE | / best classical "
        f"| {INTERVAL_COVERAGE:.0%} interval: test coverage, mean width |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in report["sets"].items():
        b = r["best_classical"]
        best = f"{b['model']} {b['prep']} {b['rmse']:.4g}" if b else "n/a"
        pls, krr = r["classical"]["pls"], r["classical"]["krr"]
        first = True
        for model, n in r["networks"].items():
            head = (
                f"| {name} | {r['calibration']}/{r['test']} x {r['points']} | {best} | {pls['prep']} {pls['rmse']:.4g} "
                f"| {krr['prep']} {krr['rmse']:.4g} "
                if first
                else "| | | | | "
            )
            first = False
            spread = f"{min(n['member_rmse']):.4g}-{max(n['member_rmse']):.4g}"
            interval = (
                f"{n['interval_test_coverage']:.0%}, {n['interval_mean_width']:.4g}" if "interval_k" in n else "n/a"
            )
            lines.append(
                f"{head}| {model} | {n['prep']}, {n['lr']:g}, {n.get('augment', 'none')} | {n['val_rmse']:.4g} "
                f"| {n['epochs']} | {n['rmse']:.4g} | {n['r2']:.3f} | {n['rpd']:.2f} | {spread} ({n['members']}) "
                f"| **{n['ratio_to_best_classical']:.2f}** | {interval} |"
            )
    lines += ["", "Validation grid (seed 0; test RMSE recorded for reference, never used to choose):", ""]
    lines += [
        "| set | model | prep | lr | augment | val RMSE | best epoch | test RMSE | s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in report["sets"].items():
        for model, n in r["networks"].items():
            for g in n["grid"]:
                lines.append(
                    f"| {name} | {model} | {g['prep']} | {g['lr']:g} | {g.get('augment', 'none')} "
                    f"| {g['val_rmse']:.4g} | {g['best_epoch']} "
                    f"| {g['test_rmse']:.4g} | {g['seconds']:.0f} |"
                )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=list(datasets.REGRESSION), choices=list(datasets.REGRESSION))
    parser.add_argument("--models", nargs="+", default=["cnn", "resnet"], choices=list(MODELS))
    parser.add_argument("--preps", nargs="+", default=["raw", "sg1"], choices=list(PREPS))
    parser.add_argument("--lrs", nargs="+", type=float, default=[3e-3])
    parser.add_argument("--augments", nargs="+", default=["none"], choices=list(AUGMENTS))
    parser.add_argument("--epochs", type=int, default=150)
    parser.add_argument("--members", type=int, default=3, help="seeds of the chosen setting; test: their mean")
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--val_fraction", type=float, default=0.2)
    parser.add_argument("--out", type=Path, default=RESULTS / "real_regression")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", ".*does not have many workers.*")
    warnings.filterwarnings("ignore", ".*LeafSpec.*")
    machine = f"{platform.processor() or platform.machine()}, {platform.system()}, python {platform.python_version()}"
    out = args.out
    report = json.loads(out.with_suffix(".json").read_text()) if out.with_suffix(".json").exists() else {}
    report.setdefault("sets", {})
    report["machine"] = machine
    for set_name in args.sets:
        with threadpool_limits(1):
            report["sets"][set_name] = run_set(set_name, args, report["sets"].get(set_name))
        out.parent.mkdir(parents=True, exist_ok=True)
        out.with_suffix(".json").write_text(json.dumps(report, indent=1))  # after every set: partial runs count
        out.with_suffix(".md").write_text(markdown(report))
    print(markdown(report))


if __name__ == "__main__":
    main()
