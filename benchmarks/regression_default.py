"""The shipped regression default against the CV-chosen classical model on the six public regression sets.

For every set (``datasets.REGRESSION``, its calibration/test split :func:`datasets.calibration_test`):

1. *Classical alone*: :func:`lightning_spectra.classical.selection.select_classical` on the datamodule's training
   part (PLS and RBF kernel ridge, each on the preprocessing its own 5-fold RMSECV picks among raw, SNV, SG1 and
   SG1+SNV; the family with the lower RMSECV), exactly what a run fits when it starts.
2. *Network recipe, chosen on validation only*: small networks without normalisation layers (``skip_cnn``;
   ``fcnn`` with ``hidden: [64]``) reading the raw spectra through their own Savitzky-Golay first derivative with
   or without SNV, then a per-point standardisation (``input_preparation``, ``input_normalization: point``; the
   classical model sees the same raw spectra), AdamW weight decay from a grid, cosine schedule, the
   best-``val/rmse`` epoch; each setting trains once with seed 0, the lowest validation RMSE wins, and
   ``--members`` seeds of it train.
3. *The blends*: each member's checkpoint carries the classical calibration and the network's share chosen on
   validation for its weights (:mod:`lightning_spectra.classical.attachment`): a single ``fit`` predicts member 0's
   blend; ``lightning-spectra-ensemble`` the mean of the members' blends (the shipped default). Also reported:
   the networks' mean alone, and the mean blended with the classical model at a share chosen on validation.

Every ratio is to the classical model's test RMSE, with a paired bootstrap 90 % interval over test spectra (2000
resamples of the test spectra, both models' errors on the same draw). The test split chooses nothing.

    nice -n 10 python benchmarks/regression_default.py                 # every set (about 20 minutes, 2 cores)
    nice -n 10 python benchmarks/regression_default.py --sets wheat_gluten_nir --members 2
"""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import sys
import tempfile
from pathlib import Path

import lightning.pytorch as L
import numpy as np
import torch

from lightning_spectra.classical.attachment import network_and_classical
from lightning_spectra.classical.blend import choose_weight
from lightning_spectra.data import SpectraFilesDataModule
from lightning_spectra.models import FCNN1D, SkipCNN

sys.path.insert(0, str(Path(__file__).resolve().parent))
import datasets  # noqa: E402 - benchmarks/datasets.py, next to this file
from real_regression import fit_best  # noqa: E402 - the same fit and best-checkpoint reload

RESULTS = Path(__file__).parent / "results"
#: The network's own input preprocessing (``input_preparation``, then ``input_normalization: point``, a per-point
#: standardisation learned over the training spectra); the datamodule hands both parts the raw spectra, so the
#: classical calibration chooses its own preprocessing of them.
PREPS = ("sg1", "sg1_snv")
RAW = {"normalization": "none", "scaling": "none"}
NETWORKS = {"skip_cnn": (SkipCNN, {}), "mlp64": (FCNN1D, {"hidden": (64,)})}
BOOTSTRAP, SEED = 2000, 0
NETWORKS_ALONE, DEFAULT, MEAN_BLENDED = "networks' mean alone", "ensemble of blended members (default)", "mean blended"


def rmse(predicted: np.ndarray, reference: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(np.asarray(predicted).reshape(-1) - reference.reshape(-1)))))


def ratio_interval(predicted: np.ndarray, classical: np.ndarray, reference: np.ndarray) -> tuple[float, float]:
    """Paired bootstrap 90 % interval of RMSE(predicted) / RMSE(classical) over the test spectra."""
    rng = np.random.default_rng(SEED)
    a = np.square(predicted.reshape(-1) - reference.reshape(-1))
    b = np.square(classical.reshape(-1) - reference.reshape(-1))
    draws = rng.integers(0, len(a), size=(BOOTSTRAP, len(a)))
    ratios = np.sqrt(a[draws].mean(1) / np.maximum(b[draws].mean(1), 1e-300))
    return float(np.quantile(ratios, 0.05)), float(np.quantile(ratios, 0.95))


def train(network: str, prep: str, weight_decay: float, seed: int, paths, args, root: Path) -> dict:
    """One fit of the recipe; the best-validation checkpoint's network, classical part and blend share."""
    L.seed_everything(seed, verbose=False)
    data = SpectraFilesDataModule(
        train_path=paths[0],
        test_path=paths[1],
        task="regression",
        split={"val_fraction": args.val_fraction, "seed": 0},
        preprocessing=RAW,
        batch_size=args.batch_size,
        linear_baseline=False,
        progress=False,
    )
    cls, settings = NETWORKS[network]
    model = cls.from_datamodule(
        data,
        lr=args.lr,
        weight_decay=weight_decay,
        optimizer="adamw",
        lr_schedule="cosine",
        input_preparation=prep,
        input_normalization="point",
        **settings,
    )
    state, best_score, seconds = fit_best(model, data, root / f"{network}_{prep}_{weight_decay}_{seed}", args.epochs)
    splits = data.splits
    val_net, val_classical = network_and_classical(model, splits.val.spectra)
    test_net, test_classical = network_and_classical(model, splits.test.spectra)
    return {
        "network": network,
        "prep": prep,
        "weight_decay": weight_decay,
        "seed": seed,
        "val_rmse": best_score,
        "best_epoch": int(state["epoch"]),
        "seconds": seconds,
        "weight": float(model.classical.network_weight),
        "classical_name": model.classical.name,
        "val": (val_net.reshape(-1), val_classical.reshape(-1), splits.val.labels.double().numpy().reshape(-1)),
        "test": (test_net.reshape(-1), test_classical.reshape(-1)),
    }


def run_set(name: str, args: argparse.Namespace) -> dict:
    x, spectra, targets, _ = datasets.REGRESSION[name]()
    cal_idx, test_idx = datasets.calibration_test(name, targets)
    reference = targets[test_idx].astype(np.float64)
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for split, idx in (("cal", cal_idx), ("test", test_idx)):
            path = Path(tmp) / f"{name}_{split}.npz"
            np.savez(path, spectra=spectra[idx], y=targets[idx], x_axis=x, target_names=np.array(["y"]))
            paths.append(str(path))
        grid = []
        for network, prep, wd in itertools.product(args.networks, args.preps, args.weight_decays):
            run = train(network, prep, wd, 0, paths, args, Path(tmp))
            grid.append(run)
            print(
                f"  {name} {network} {prep} wd {wd:g}: val RMSE {run['val_rmse']:.4g} (epoch {run['best_epoch']}) "
                f"[test {rmse(run['test'][0], reference):.4g}] {run['seconds']:.0f} s",
                flush=True,
            )
        chosen = min(grid, key=lambda r: r["val_rmse"])  # validation only
        members = [chosen] + [
            train(chosen["network"], chosen["prep"], chosen["weight_decay"], seed, paths, args, Path(tmp))
            for seed in range(1, args.members)
        ]
    classical = members[0]["test"][1]  # the same deterministic fit in every member
    net_mean = np.mean([m["test"][0] for m in members], axis=0)
    blends = [m["weight"] * m["test"][0] + (1 - m["weight"]) * m["test"][1] for m in members]
    val_mean = np.mean([m["val"][0] for m in members], axis=0)
    ensemble_weight = choose_weight(val_mean[:, None], members[0]["val"][1][:, None], members[0]["val"][2][:, None])
    arms = {
        "classical alone": classical,
        NETWORKS_ALONE: net_mean,
        "single fit (blend)": blends[0],
        DEFAULT: np.mean(blends, axis=0),
        MEAN_BLENDED: ensemble_weight * net_mean + (1 - ensemble_weight) * classical,
    }
    base = rmse(classical, reference)
    result = {
        "calibration": len(cal_idx),
        "test": len(test_idx),
        "points": spectra.shape[1],
        "target_sd": float(np.std(reference)),
        "classical": members[0]["classical_name"],
        "chosen": {k: chosen[k] for k in ("network", "prep", "weight_decay", "val_rmse", "best_epoch")},
        "member_weights": [m["weight"] for m in members],
        "ensemble_weight": ensemble_weight,
        "arms": {},
        "grid": [
            {k: r[k] for k in ("network", "prep", "weight_decay", "val_rmse", "best_epoch", "seconds")} for r in grid
        ],
        "seconds": sum(r["seconds"] for r in grid + members[1:]),
        # every member's validation and test predictions of both parts: blend rules can be compared afterwards
        "predictions": {
            "test_reference": reference.tolist(),
            "members": [
                {"val": [v.tolist() for v in m["val"]], "test": [t.tolist() for t in m["test"]]} for m in members
            ],
        },
    }
    for arm, predicted in arms.items():
        low, high = ratio_interval(predicted, classical, reference)
        result["arms"][arm] = {
            "rmse": rmse(predicted, reference),
            "ratio": rmse(predicted, reference) / base,
            "ci90": [low, high],
        }
        entry = result["arms"][arm]
        print(f"  {name} {arm}: RMSE {entry['rmse']:.4g} = {entry['ratio']:.3f}x [{low:.2f}, {high:.2f}]", flush=True)
    return result


def _cell(arm: dict) -> str:
    low, high = arm["ci90"]
    return f"{arm['rmse']:.4g} ({arm['ratio']:.2f}x, {low:.2f}-{high:.2f})"


def markdown(report: dict) -> str:
    lines = [
        f"Machine: {report['machine']}; {report['members']} seeds; {report['epochs']} epochs; ratios to the CV-chosen "
        "classical model's test RMSE with paired bootstrap 90 % intervals.",
        "",
        "| set | cal/test x points | classical (CV) | RMSE | network (validation) | shares w | networks alone "
        "| single fit | ensemble of blends (default) | mean blended |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in report["sets"].items():
        a, c = r["arms"], r["chosen"]
        shares = ", ".join(f"{w:.1f}" for w in r["member_weights"])
        lines.append(
            f"| {name} | {r['calibration']}/{r['test']} x {r['points']} | {r['classical']} "
            f"| {a['classical alone']['rmse']:.4g} | {c['network']} {c['prep']} wd {c['weight_decay']:g} | {shares} "
            f"| {_cell(a[NETWORKS_ALONE])} | {_cell(a['single fit (blend)'])} | {_cell(a[DEFAULT])} "
            f"| {_cell(a[MEAN_BLENDED])} |"
        )
    return "\n".join(lines) + "\n"


def machine_name() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            return next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=list(datasets.REGRESSION), choices=list(datasets.REGRESSION))
    parser.add_argument("--networks", nargs="+", default=list(NETWORKS), choices=list(NETWORKS))
    parser.add_argument("--preps", nargs="+", default=list(PREPS), choices=PREPS)
    parser.add_argument("--weight_decays", nargs="+", type=float, default=[1e-2, 1.0])
    parser.add_argument("--members", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=150)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--val_fraction", type=float, default=0.2)
    parser.add_argument("--out", type=Path, default=RESULTS / "regression_default")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    report = {"machine": machine_name(), "members": args.members, "epochs": args.epochs, "sets": {}}
    for name in args.sets:
        print(name, flush=True)
        report["sets"][name] = run_set(name, args)
        args.out.with_suffix(".json").write_text(json.dumps(report, indent=1))
        args.out.with_suffix(".md").write_text(markdown(report))


if __name__ == "__main__":
    main()
