"""A regressor's hidden per-spectrum normalisation and its BatchNorm, measured on three public NIR sets (issue 33).

Arms, for CNN and MSResNet with ``input_normalization: none`` (a regressor's default):

- ``head_ln+bn``: the head's LayerNorm over each spectrum's flattened features, as before issue 33, BatchNorm on;
- ``none+bn``: that LayerNorm an identity (what a regressor now builds), BatchNorm on;
- ``none+no_bn``: no head LayerNorm and no BatchNorm (``batch_norm=False``).

Everything else is the regression recipe of ``benchmarks/real_regression.py`` (its ``data_and_model`` and
``train_member``, imported, not copied): ``configs/examples/files_regression.yaml``'s AdamW, cosine schedule,
batch 32, the checkpoint of the lowest ``val/rmse``; preprocessing ``sg1_snv``, rate 3e-3, on each set's
calibration/test split with the same seeded validation split. For every set and model the arm with the lowest
mean best ``val/rmse`` over the seeds is the choice; the test RMSE is recorded and chooses nothing.

``--speed`` times instead the whole regression recipe (``configs/examples/files_regression.yaml``: 150 epochs,
batch 32, its callbacks and baselines) for MSResNet on a synthetic Beer-Lambert set of 200 spectra of 100 points
(issue 33 item 6: at most 2 minutes on a 2-core CPU), from the run's summary.json.

Run one CPU benchmark at a time (the machine is shared):

    flock /tmp/cpu_bench.lock nice -n 10 .venv/bin/python benchmarks/regression_normalisation.py
    flock /tmp/cpu_bench.lock .venv/bin/python benchmarks/regression_normalisation.py --speed
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import lightning.pytorch as L
import numpy as np
import torch
from threadpoolctl import threadpool_limits
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
import datasets  # noqa: E402 - benchmarks/datasets.py, next to this file
import real_regression  # noqa: E402 - the recipe, reused

RESULTS = Path(__file__).parent / "results"
RECIPE_CONFIG = Path(__file__).resolve().parents[1] / "lightning_spectra/configs/examples/files_regression.yaml"
SETS = ("tablet_content", "milk_coconut_nir", "wheat_gluten_nir")
#: arm -> (head LayerNorm kept, BatchNorm on)
ARMS = {"head_ln+bn": (True, True), "none+bn": (False, True), "none+no_bn": (False, False)}
PREP, LR = "sg1_snv", 3e-3


def arm_recipe(arm: str):
    """``real_regression.data_and_model`` with the model rebuilt for ``arm`` (same seed, so the layers both
    arms have start alike)."""
    head_norm, batch_norm = ARMS[arm]

    def build(model_name: str, paths, prep, lr, args, seed, augment="none"):
        data, model = RECIPE(model_name, paths, prep, lr, args, seed, augment)
        L.seed_everything(seed, verbose=False)
        model = type(model)(**{**model.hparams, "batch_norm": batch_norm}, x_axis=model.x_axis.tolist())
        if head_norm:  # the head as it was: Flatten -> LayerNorm -> Linear (a LayerNorm draws no random numbers)
            model.head[1] = nn.LayerNorm(model.head[2].in_features)
        return data, model

    return build


RECIPE = real_regression.data_and_model


def set_files(set_name: str, folder: Path) -> tuple[tuple[str, str], np.ndarray, dict]:
    """The set's calibration and test splits as the files the datamodule reads, the test references and sizes."""
    x, spectra, targets, _ = datasets.REGRESSION[set_name]()
    cal_idx, test_idx = datasets.calibration_test(set_name, targets)
    spectra = spectra.astype(np.float64)
    paths = []
    for split, idx in (("cal", cal_idx), ("test", test_idx)):
        path = folder / f"{set_name}_{split}.npz"
        np.savez(path, spectra=spectra[idx], y=targets[idx], x_axis=x, target_names=np.array(["y"]))
        paths.append(str(path))
    sizes = {"calibration": len(cal_idx), "test": len(test_idx), "points": spectra.shape[1]}
    return (paths[0], paths[1]), targets[test_idx], sizes


def run_arm(model_name: str, arm: str, paths, reference, seeds, args, folder: Path) -> dict:
    runs = []
    real_regression.data_and_model = arm_recipe(arm)
    try:
        for seed in seeds:
            run = real_regression.train_member(model_name, paths, (PREP, LR, "none"), seed, args, folder / arm)
            run["test_rmse"] = real_regression.metrics(run["predicted"], reference)["rmse"]
            runs.append(run)
            print(
                f"  {model_name} {arm:11s} seed {seed}: val {run['val_rmse']:.4g} (epoch {run['best_epoch']}) "
                f"[test {run['test_rmse']:.4g}] {run['seconds']:.0f} s",
                flush=True,
            )
    finally:
        real_regression.data_and_model = RECIPE
    return {
        "val_rmse": [r["val_rmse"] for r in runs],
        "test_rmse": [r["test_rmse"] for r in runs],
        "best_epoch": [r["best_epoch"] for r in runs],
        "seconds": [r["seconds"] for r in runs],
        "mean_val_rmse": float(np.mean([r["val_rmse"] for r in runs])),
        "mean_test_rmse": float(np.mean([r["test_rmse"] for r in runs])),
    }


def markdown(report: dict) -> str:
    return "\n".join([*arms_table(report), *speed_tables(report)]) + "\n"


def arms_table(report: dict) -> list[str]:
    if not report.get("sets"):
        return []
    lines = [
        f"Machine: {report['machine']}; {report['epochs']} epochs, batch {report['batch_size']}, prep {PREP}, "
        f"lr {LR:g}; mean over seeds (chosen arm: lowest mean val RMSE, **bold**).",
        "",
        "| set | model | arm | seeds | val RMSE | test RMSE | test vs head_ln+bn | best epochs | s/run |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for set_name, models in report["sets"].items():
        for model, arms in models.items():
            chosen = min(arms, key=lambda a: arms[a]["mean_val_rmse"])
            old = arms["head_ln+bn"]["mean_test_rmse"]
            for arm, r in arms.items():
                name = f"**{arm}**" if arm == chosen else arm
                lines.append(
                    f"| {set_name} | {model} | {name} | {len(r['val_rmse'])} | {r['mean_val_rmse']:.4g} "
                    f"| {r['mean_test_rmse']:.4g} | {r['mean_test_rmse'] / old - 1:+.1%} "
                    f"| {', '.join(map(str, r['best_epoch']))} | {np.mean(r['seconds']):.0f} |"
                )
    return lines


def speed_tables(report: dict) -> list[str]:
    lines = []
    for timing in report.get("speed", []):
        lines += ["", f"Regression recipe (150 epochs, batch 32), 200 spectra x 100 points; {timing['machine']}:", ""]
        if "note" in timing:  # a run stopped by hand, kept for its per-epoch times
            loaded = ", ".join(f"{t:.1f}" for t in timing["epoch_train_s_loaded"])
            lines += [f"{timing['note']}: {timing['epoch_train_s_idle_mean']:.2f} s, then {loaded} s."]
            continue
        lines += ["| model | options | threads | epochs | train s | fit s | s/epoch | whole run s |"]
        lines += ["|---|---|---|---|---|---|---|---|"]
        for r in timing["runs"]:
            lines.append(
                f"| {r['model']} | {' '.join(r['options']) or 'recipe'} | {r.get('threads') or 'default'} "
                f"| {r['epochs']} | {r['train_time_s']:.1f} "
                f"| {r['fit_time_s']:.1f} | {r['seconds_per_epoch']:.3f} | {r['wall_s']:.0f} |"
            )
    return lines


def earlier_report(out: Path) -> dict:
    path = out.with_suffix(".json")
    return json.loads(path.read_text()) if path.exists() else {}


def write(report: dict, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(report, indent=1))
    out.with_suffix(".md").write_text(markdown(report))


def machine(threads: str = "1 thread") -> str:
    lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    model = next((line.split(":", 1)[1].strip() for line in lscpu.splitlines() if "Model name" in line), "?")
    return f"{model}, {platform.system()}, torch {torch.__version__}, {threads}"


def speed(model: str, spectra: int, points: int, extra: list[str], threads: int | None) -> dict:
    """The regression recipe's fit of ``model`` on a Beer-Lambert set, run as a user runs it (``train.py fit``
    in its own process; ``threads``: its ``OMP_NUM_THREADS``, None for torch's default, every core), and its
    summary.json's times."""
    from lightning_spectra.data.beer_lambert import beer_lambert

    with tempfile.TemporaryDirectory() as tmp:
        data = beer_lambert(Path(tmp) / "set.npz", n=spectra, length=points)
        command = [
            sys.executable,
            str(RECIPE_CONFIG.parents[3] / "train.py"),
            "fit",
            "--config",
            str(RECIPE_CONFIG),
            "--model.class_path",
            f"lightning_spectra.models.{model}",
            "--data.init_args.train_path",
            str(data),
            "--trainer.logger.init_args.save_dir",
            tmp,
            *extra,
        ]
        start = time.perf_counter()
        env = os.environ | ({"OMP_NUM_THREADS": str(threads)} if threads else {})
        subprocess.run(command, check=True, capture_output=True, text=True, env=env)
        wall = time.perf_counter() - start
        summary = json.loads(next(Path(tmp).glob("files_regression/version_*/summary.json")).read_text())
    keys = ("epochs", "train_time_s", "fit_time_s", "seconds_per_epoch", "process_time_s", "rmse")
    found = {"model": model, "spectra": spectra, "points": points, "options": extra, "threads": threads}
    return found | {"wall_s": wall} | {k: summary.get(k) for k in keys}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=list(SETS), choices=list(datasets.REGRESSION))
    parser.add_argument("--models", nargs="+", default=["cnn", "resnet"], choices=["cnn", "resnet"])
    parser.add_argument("--arms", nargs="+", default=list(ARMS), choices=list(ARMS))
    parser.add_argument("--cnn_seeds", type=int, default=2)
    parser.add_argument("--resnet_seeds", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--val_fraction", type=float, default=0.2)
    parser.add_argument("--out", type=Path, default=RESULTS / "regression_normalisation")
    parser.add_argument("--speed", action="store_true", help="time the recipe instead; other options go to train.py")
    parser.add_argument("--speed_models", nargs="+", default=["MSResNet", "CNN"])
    parser.add_argument("--threads", type=int, default=None, help="train.py's OMP_NUM_THREADS (--speed)")
    args, train_options = parser.parse_known_args(argv)
    if train_options and not args.speed:
        parser.error(f"unrecognized arguments: {' '.join(train_options)}")
    if args.speed:
        runs = [speed(model, 200, 100, train_options, args.threads) for model in args.speed_models]
        for run in runs:
            print(json.dumps(run), flush=True)
        report = earlier_report(args.out)
        report.setdefault("speed", []).append({"machine": machine("train.py's threads in the table"), "runs": runs})
        write(report, args.out)
        return
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", ".*does not have many workers.*")
    report = {"machine": machine(), "epochs": args.epochs, "batch_size": args.batch_size, "sets": {}}
    if "speed" in (earlier := earlier_report(args.out)):  # the timings of --speed runs stay
        report["speed"] = earlier["speed"]
    start = time.perf_counter()
    for set_name in args.sets:
        with tempfile.TemporaryDirectory() as tmp, threadpool_limits(1):
            paths, reference, sizes = set_files(set_name, Path(tmp))
            print(f"{set_name}: {sizes}", flush=True)
            report["sets"][set_name] = {}
            for model_name in args.models:
                seeds = range(args.cnn_seeds if model_name == "cnn" else args.resnet_seeds)
                report["sets"][set_name][model_name] = {
                    arm: run_arm(model_name, arm, paths, reference, seeds, args, Path(tmp)) for arm in args.arms
                }
        report["seconds"] = time.perf_counter() - start
        write(report, args.out)  # after every set: partial runs count
    print(markdown(report))


if __name__ == "__main__":
    main()
