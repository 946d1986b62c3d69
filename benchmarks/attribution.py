"""Whose explanation is real? Faithfulness and ground truth of every model's attribution on the simulated ramp.

For each model: train it with ``configs/<model>.yaml`` (attribution callbacks left out, so that only training
is timed and the numbers below are computed once, here) or reuse the newest finished run, then on the
349-spectrum test ramp, every map explaining the labelled class:

- its map (1D Grad-CAM at the positional layer, or gradient x input) and Integrated Gradients against the
  other class's mean spectrum;
- the deletion curve of each (regions replaced by the other class's mean in the order of the map) against
  random orders: area and ``gap = random - attribution`` (above 0: the map ranks regions better than chance);
- the share of the absolute attribution on the reflections that differ between the phases (ground truth of the
  simulator), next to the share of the axis they cover.

    python benchmarks/attribution.py --train                   # train all eight, then measure
    python benchmarks/attribution.py --log-root logs            # measure the newest runs in logs/<model>/
    python benchmarks/attribution.py --models cnn resnet --ig-steps 16
    python benchmarks/attribution.py --regression cnn resnet fcnn   # regressors on a Beer-Lambert set

Writes ``reports/attribution/attribution.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
import yaml  # noqa: E402

from lightning_spectra.apps.paper_report import LABELS, MODELS  # noqa: E402
from lightning_spectra.runtime.composed_configs import load_config  # noqa: E402

TRAINING_CALLBACKS = ("Timing", "ModelCheckpoint")


def training_config(name: str, log_root: Path, folder: Path) -> Path:
    """``configs/<name>.yaml`` with only the training callbacks and a CSV logger under ``log_root``."""
    config = load_config(ROOT / "configs" / f"{name}.yaml")
    trainer = config["trainer"]
    trainer["callbacks"] = [c for c in trainer["callbacks"] if c["class_path"].split(".")[-1] in TRAINING_CALLBACKS]
    logger = {"save_dir": str(log_root), "name": name}
    trainer["logger"] = [{"class_path": "lightning.pytorch.loggers.CSVLogger", "init_args": logger}]
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def train(name: str, log_root: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        config = training_config(name, log_root, Path(tmp))
        subprocess.run([sys.executable, str(ROOT / "train.py"), "fit", "--config", str(config)], check=True)


def newest_checkpoint(log_root: Path, name: str) -> Path:
    runs = sorted((log_root / name).glob("version_*/checkpoints/last.ckpt"), key=lambda p: p.stat().st_mtime)
    if not runs:
        raise SystemExit(f"error: no finished run of {name} under {log_root}/{name} (use --train)")
    return runs[-1]


def load(name: str, checkpoint: Path):
    """The trained model and the ramp's test split, built as the config builds them."""
    import importlib

    config = load_config(ROOT / "configs" / f"{name}.yaml")
    module, _, cls = config["model"]["class_path"].rpartition(".")
    model = getattr(importlib.import_module(module), cls).load_from_checkpoint(checkpoint, map_location="cpu")
    module, _, cls = config["data"]["class_path"].rpartition(".")
    data = getattr(importlib.import_module(module), cls)(**config["data"].get("init_args", {}))
    return model.eval(), data


#: Candidate layer maps per model (besides the model's own ``attribution_layer`` and gradient x input at the
#: input): earlier, finer layers, where a position reads fewer points.
CANDIDATE_LAYERS = {
    "cnn": ("conv1", "conv2", "conv3"),
    "resnet": ("stem", "multiscale"),
    "conv_sc_attention": ("encoder.conv1", "encoder.conv3"),
    "conv_sct_attention": ("encoder.conv1", "encoder.conv3"),
}


def candidates(name: str, model) -> list[tuple[str, dict]]:
    """``(label, how)`` of every map measured for ``model``: Grad-CAM at each candidate layer with the class
    score and with the contrast (class score minus the other class's), gradient x input, Integrated Gradients."""
    layers = CANDIDATE_LAYERS.get(name, ())
    maps = [(f"1D Grad-CAM at {layer}", {"layer": layer}) for layer in layers]
    maps += [(f"1D Grad-CAM at {layer}, contrast", {"layer": layer, "contrast": True}) for layer in layers]
    maps.append(("gradient x input", {"layer": "input"}))
    maps.append(("gradient x input, contrast", {"layer": "input", "contrast": True}))
    maps.append(("integrated gradients", {"ig": True}))
    return maps


def compute_map(model, x, y, reference, how: dict, ig_steps: int):
    from lightning_spectra.interpret.gradcam import grad_cam
    from lightning_spectra.interpret.integrated_gradients import integrated_gradients

    if how.get("ig"):
        return integrated_gradients(model, x, y, reference, n_steps=ig_steps), None
    maps = grad_cam(model, x, y, layer=how["layer"], contrast=how.get("contrast", False))
    points = x.shape[1] / maps.layer_maps.shape[-1]
    return maps.maps, points


def measure(name: str, checkpoint: Path, ig_steps: int, regions: int, steps: int, random_orders: int) -> dict:
    from lightning_spectra.data.simulate import differing_peak_windows
    from lightning_spectra.interpret.faithfulness import deletion_curve, ground_truth_share
    from lightning_spectra.interpret.integrated_gradients import other_class_means

    model, data = load(name, checkpoint)
    test = data.splits.test
    x, y = test.spectra.float(), test.labels
    axis = torch.as_tensor(data.x_axis).numpy()
    windows = differing_peak_windows()
    row: dict = {"model": LABELS.get(name, name), "name": name, "checkpoint": str(checkpoint), "maps": []}
    with torch.no_grad():
        row["accuracy"] = float((model.predict_labels(model(x)) == y).float().mean())
    reference = other_class_means(x, y, y)
    for label, how in candidates(name, model):
        started = time.perf_counter()
        values, points = compute_map(model, x, y, reference, how, ig_steps)
        seconds = time.perf_counter() - started
        curve = deletion_curve(model, x, values, y, reference, regions, steps, random_orders)
        share = ground_truth_share(values, axis, windows)
        result = {"method": label, "map_s": seconds, "points_per_position": points, **curve.summary(), **share}
        row["maps"].append(result)
        print(
            f"{row['model']}: {label}: gap {result['gap']:+.3f}, share {share['share']:.2f} "
            f"(chance {share['chance']:.2f}), {seconds:.1f} s",
            flush=True,
        )
    return row


def markdown(rows: list[dict]) -> str:
    lines = [
        "| model | map | points per position | deletion area / random (gap) | share on differing peaks (chance) "
        "| map s | accuracy |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        for m in r["maps"]:
            points = "" if m["points_per_position"] is None else f"{m['points_per_position']:.0f}"
            lines.append(
                f"| {r['model']} | {m['method']} | {points} "
                f"| {m['attribution_area']:.3f} / {m['random_area']:.3f} ({m['gap']:+.3f}) "
                f"| {m['share']:.2f} ({m['chance']:.2f}) | {m['map_s']:.1f} | {r['accuracy']:.3f} |"
            )
    return "\n".join(lines) + "\n"


REGRESSORS = {"cnn": ("CNN", 150, {}), "resnet": ("MSResNet", 40, {}), "fcnn": ("FCNN1D", 150, {})}


def measure_regression(name: str, ig_steps: int, regions: int, steps: int, random_orders: int, root: Path) -> dict:
    """Train ``name`` as a regressor with the files_regression recipe on a Beer-Lambert set (240 spectra, 100
    points, analyte band at 1120 nm), then measure every candidate map of its best-validation weights on the test
    split: deletion gap (predicted value, against each reference) and share of |map| on the analyte band."""
    import lightning.pytorch as L
    from lightning.pytorch.callbacks import ModelCheckpoint

    from lightning_spectra import models
    from lightning_spectra.data import SpectraFilesDataModule
    from lightning_spectra.data.beer_lambert import ANALYTE_BAND, beer_lambert
    from lightning_spectra.interpret.faithfulness import deletion_curve, ground_truth_share
    from lightning_spectra.interpret.gradcam import grad_cam
    from lightning_spectra.interpret.integrated_gradients import integrated_gradients, reference_spectra
    from lightning_spectra.interpret.target_ranges import target_ranges

    cls_name, epochs, extra = REGRESSORS[name]
    L.seed_everything(0, verbose=False)
    root.mkdir(parents=True, exist_ok=True)
    data = SpectraFilesDataModule(
        train_path=str(beer_lambert(root / "beer_lambert.npz")),
        task="regression",
        split={"val_fraction": 0.2, "test_fraction": 0.2, "seed": 0},
        preprocessing={"normalization": "none"},
        batch_size=32,
        linear_baseline=False,
        progress=False,
    )
    model = getattr(models, cls_name).from_datamodule(
        data, lr=3e-3, weight_decay=2e-5, optimizer="adamw", lr_schedule="cosine", **extra
    )
    checkpoint = ModelCheckpoint(dirpath=root / name, monitor="val/rmse", mode="min")
    trainer = L.Trainer(
        max_epochs=epochs, callbacks=[checkpoint], logger=False, enable_progress_bar=False, deterministic=True
    )
    started = time.perf_counter()
    trainer.fit(model, datamodule=data)
    train_s = time.perf_counter() - started
    model = type(model).load_from_checkpoint(checkpoint.best_model_path, map_location="cpu").eval()
    test = data.splits.test
    x, values = test.spectra.float(), test.labels.float().reshape(len(test.labels), -1)[:, 0]
    target = torch.zeros(len(x), dtype=torch.long)  # the first (only) predicted value
    with torch.no_grad():
        predicted = model.predict_values(model(x))[:, 0]
    rmse = float(((predicted - values) ** 2).mean().sqrt())
    ranges, _ = target_ranges(values.numpy(), 3, "concentration")
    groups = torch.as_tensor(ranges)
    references = {
        kind: reference_spectra(x, kind, groups, groups) for kind in ("other_class_mean", "lowest_group_mean")
    }
    axis = torch.as_tensor(data.x_axis).numpy()
    centre, width = ANALYTE_BAND
    band = [(centre - 2 * width, centre + 2 * width)]
    score = model.task.attribution_score  # the predicted value in its units, not a class logit
    maps = {
        f"1D Grad-CAM at {model.attribution_layer}": grad_cam(model, x, target, score=score).maps,
        "gradient x input": grad_cam(model, x, target, layer="input", score=score).maps,
    }
    for kind, reference in references.items():
        maps[f"integrated gradients from the {kind.replace('_', ' ')}"] = integrated_gradients(
            model, x, target, reference, n_steps=ig_steps, score=score
        )
    followed = {"score": model.task.deletion_score, "score_name": model.task.deletion_score_name}
    row: dict = {"model": cls_name, "name": name, "epochs": epochs, "train_s": train_s, "rmse": rmse, "maps": []}
    row["best_epoch"] = int(torch.load(checkpoint.best_model_path, map_location="cpu", weights_only=True)["epoch"])
    highest = ranges == ranges.max()
    for label, values_map in maps.items():
        result = {"method": label, **ground_truth_share(values_map, axis, band)}
        mean_highest = values_map[torch.as_tensor(highest)].mean(dim=0).numpy()
        result["highest_range_peak_x"] = float(axis[int(mean_highest.argmax())])
        for kind, reference in references.items():
            curve = deletion_curve(model, x, values_map, target, reference, regions, steps, random_orders, **followed)
            result[f"gap_{kind}"] = curve.summary()["gap"]
        row["maps"].append(result)
        print(f"{cls_name} regressor: {label}: " + json.dumps({k: v for k, v in result.items() if k != "method"}))
    return row


def regression_markdown(rows: list[dict]) -> str:
    lines = [
        "| model (test RMSE, best epoch) | map | deletion gap vs other ranges' mean | deletion gap vs lowest range's "
        "mean | share on the analyte band (chance) | highest range's mean map peaks at (nm) |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        for m in r["maps"]:
            lines.append(
                f"| {r['model']} ({r['rmse']:.3f}, {r['best_epoch']}) | {m['method']} "
                f"| {m['gap_other_class_mean']:+.3f} | {m['gap_lowest_group_mean']:+.3f} "
                f"| {m['share']:.2f} ({m['chance']:.2f}) | {m['highest_range_peak_x']:.0f} |"
            )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--log-root", type=Path, default=Path("logs/attribution"))
    parser.add_argument("--out", type=Path, default=Path("reports/attribution"))
    parser.add_argument("--train", action="store_true", help="train each model first")
    parser.add_argument("--ig-steps", type=int, default=16)
    parser.add_argument("--regions", type=int, default=50)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--random-orders", type=int, default=3)
    parser.add_argument("--regression", nargs="*", choices=list(REGRESSORS), help="measure these as regressors")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.regression is not None:
        rows = [
            measure_regression(
                n, args.ig_steps, args.regions, args.steps, args.random_orders, args.log_root / "regression"
            )
            for n in args.regression or list(REGRESSORS)
        ]
        (args.out / "attribution_regression.json").write_text(json.dumps(rows, indent=2) + "\n")
        (args.out / "attribution_regression.md").write_text(regression_markdown(rows))
        print(regression_markdown(rows))
        return
    results = args.out / "attribution.json"
    rows = json.loads(results.read_text()) if results.exists() else []
    for name in args.models:
        if args.train:
            train(name, args.log_root)
        row = measure(
            name, newest_checkpoint(args.log_root, name), args.ig_steps, args.regions, args.steps, args.random_orders
        )
        rows = [r for r in rows if r["model"] != row["model"]] + [row]
        results.write_text(json.dumps(rows, indent=2) + "\n")  # after each model: a long run keeps what it has
        print(json.dumps(row), flush=True)
    (args.out / "attribution.md").write_text(markdown(rows))
    print(markdown(rows))


if __name__ == "__main__":
    main()
