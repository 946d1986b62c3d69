"""``predict`` end to end on new files, the network in eager PyTorch against ONNX Runtime (``--predict_engine``).

What a scientist waits for: the whole ``lightning-spectra predict`` process (start-up, reading the file, the
checkpoint's preprocessing, the network, writing ``predictions.csv``), timed from outside, on ``.npz`` files of
``--counts`` spectra of ``--length`` points. Both engines predict the same file with the same checkpoint; each run
is its own process, and the two engines alternate (torch, onnx, torch, onnx, ...) so that drift of the machine
hits both alike. The ONNX run includes its export (the ``exported in ... s`` line it prints is recorded). Its
result is what ``--predict_engine auto`` takes (``lightning_spectra.callbacks.onnx_predictions.choose_engine``):
eager PyTorch, as long as ONNX Runtime does not win end to end.

The checkpoint: the model of ``--config`` (default ``configs/examples/files_csv.yaml``, the files recipe's CNN)
fitted for one epoch on synthetic peak spectra (three classes); trained weights do not change the work.

    python benchmarks/predict_engines.py                                  # CNN, 352 / 1,760 / 3,520 / 10,560 spectra
    python benchmarks/predict_engines.py --counts 352 --rounds 1          # a quick check

Writes ``benchmarks/results/predict_engines.json`` and ``.md`` (``--output`` changes the stem).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
ENGINES = ("torch", "onnx")
EXPORTED = re.compile(r"exported in ([0-9.]+) s")


def peak_spectra(count: int, length: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``count`` spectra of one Gaussian peak whose position is the class, on a sloped offset, with noise."""
    rng = np.random.default_rng(seed)
    x = np.linspace(10.0, 50.0, length)
    labels = rng.integers(0, 3, count)
    centres = np.array([20.0, 30.0, 40.0])[labels] + rng.normal(0, 0.5, count)
    spectra = np.exp(-0.5 * ((x - centres[:, None]) / 0.8) ** 2)
    spectra += rng.uniform(0, 0.3, (count, 1)) + rng.normal(0, 0.02, (count, length))
    return x, spectra.astype(np.float32), np.array(["a", "b", "c"])[labels]


def cli(*args: str) -> list[str]:
    return [sys.executable, str(ROOT / "train.py"), *args]


def fit_checkpoint(work: Path, config: str, length: int) -> tuple[Path, Path]:
    """``(run config.yaml, last.ckpt)`` of a one-epoch fit on synthetic spectra."""
    x, spectra, labels = peak_spectra(240, length, seed=0)
    train = work / "train.npz"
    np.savez(train, spectra=spectra, labels=labels, x_axis=x)
    callbacks = [  # what predict then runs too: the prediction writer's predictions.csv is part of the wait
        {"class_path": "lightning.pytorch.callbacks.ModelCheckpoint", "init_args": {"save_last": True}},
        {"class_path": "lightning_spectra.callbacks.PredictionWriter", "init_args": {"ordered": False}},
    ]
    command = cli(
        "fit",
        *("--config", config),
        *("--data.init_args.train_path", str(train)),
        "--data.init_args.linear_baseline=false",
        "--data.init_args.progress=false",
        "--trainer.max_epochs=1",
        "--trainer.callbacks=" + json.dumps(callbacks),
        f"--trainer.logger.init_args.save_dir={work / 'logs'}",
        "--trainer.logger.init_args.name=fit",
        "--trainer.enable_progress_bar=false",
        "--test_after_fit=false",
    )
    subprocess.run(command, check=True, capture_output=True, text=True, cwd=work)
    run = work / "logs" / "fit" / "version_0"
    return run / "config.yaml", run / "checkpoints" / "last.ckpt"


def time_predict(work: Path, config: Path, ckpt: Path, new: Path, engine: str, tag: str) -> dict:
    """One ``predict`` process: its wall time and, for ONNX, the export time it printed."""
    command = cli(
        "predict",
        *("--config", str(config)),
        *("--ckpt_path", str(ckpt)),
        *("--data.init_args.predict_path", str(new)),
        f"--predict_engine={engine}",
        f"--trainer.logger.init_args.save_dir={work / 'predict'}",
        f"--trainer.logger.init_args.name={tag}",
        "--trainer.enable_progress_bar=false",
    )
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=work)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"predict {engine} on {new.name} failed:\n{done.stderr[-3000:]}")
    exported = EXPORTED.search(done.stdout + done.stderr)
    if (exported is None) == (engine == "onnx"):
        raise RuntimeError(f"predict {engine} on {new.name}: ran on the wrong engine")
    if not any((work / "predict" / tag).glob("version_*/predictions.csv")):
        raise RuntimeError(f"predict {engine} on {new.name} wrote no predictions.csv")
    return {"wall_s": wall, "export_s": float(exported.group(1)) if exported else None}


def machine() -> str:
    import onnxruntime
    import torch

    cpu = platform.processor() or platform.machine()
    for line in Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []:
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return (
        f"{cpu}, {os.cpu_count()} CPUs, torch {torch.__version__}, onnxruntime {onnxruntime.__version__}, "
        f"Python {platform.python_version()}"
    )


def table(rows: list[dict]) -> str:
    lines = [
        "| spectra | torch wall s (median) | onnx wall s (median) | of which export s | onnx / torch time |",
        "|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['count']:,} | {row['torch_s']:.2f} | {row['onnx_s']:.2f} | {row['export_s']:.2f} "
            f"| {row['ratio']:.2f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--config", default=str(ROOT / "configs/examples/files_csv.yaml"), help="a config of the files datamodule"
    )
    parser.add_argument("--length", type=int, default=4023, help="points per spectrum")
    parser.add_argument("--counts", default="352,1760,3520,10560", help="spectra per new file, comma-separated")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each engine per file, alternating")
    parser.add_argument("--output", default=str(ROOT / "benchmarks/results/predict_engines"), help="stem")
    args = parser.parse_args()
    counts = [int(c) for c in args.counts.split(",")]
    with tempfile.TemporaryDirectory(prefix="predict-engines-") as folder:
        work = Path(folder)
        print(f"fitting {args.config} at {args.length} points ...", flush=True)
        config, ckpt = fit_checkpoint(work, args.config, args.length)
        rows = []
        for count in counts:
            x, spectra, _ = peak_spectra(count, args.length, seed=1)
            new = work / f"new_{count}.npz"
            np.savez(new, spectra=spectra, x_axis=x)
            runs = {engine: [] for engine in ENGINES}
            for r in range(args.rounds):
                for engine in ENGINES:
                    runs[engine].append(time_predict(work, config, ckpt, new, engine, f"{engine}_{count}_{r}"))
                    print(f"{count} spectra, round {r + 1}/{args.rounds}, {engine}: {runs[engine][-1]}", flush=True)
            torch_s = statistics.median(run["wall_s"] for run in runs["torch"])
            onnx_s = statistics.median(run["wall_s"] for run in runs["onnx"])
            export_s = statistics.median(run["export_s"] for run in runs["onnx"])
            pairs = [o["wall_s"] / t["wall_s"] for t, o in zip(runs["torch"], runs["onnx"], strict=True)]
            rows.append(
                {
                    "count": count,
                    "torch_s": torch_s,
                    "onnx_s": onnx_s,
                    "export_s": export_s,
                    "ratio": statistics.median(pairs),
                    "runs": runs,
                }
            )
    result = {"machine": machine(), "config": args.config, "length": args.length, "rounds": args.rounds, "rows": rows}
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(result, indent=1))
    text = f"# predict: eager PyTorch against ONNX Runtime\n\nMachine: {result['machine']}.\n\n{table(rows)}\n"
    out.with_suffix(".md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
