"""Precision per model on a CPU with native bf16: float32 against bf16 autocast for the eight paper configs.

Every run is ``lightning-spectra fit --config <model>`` in its own process (the HED configs, the paper's
protocol), once in ``32-true`` and once in ``bf16-mixed``, the two alternating and their order swapped every
repeat, so that drift of a shared machine hits both. Validation, checkpoints, attribution and the classical
baselines are left out (none of them changes training or the test result). Each run's ``summary.json`` gives
the training time (the Timing callback: training epochs only), the epochs, and the test confidence, boundary
and accuracy on the simulated ramp.

Repeat 1 runs the paper's whole protocol (the result); later repeats may cap the epochs of the slowest models
(``--timing-epochs``) and compare seconds per epoch only. A model is "faster in bf16 with the same result" when
bf16's median seconds per epoch is lower and its repeat-1 run keeps 100 % confidence and boundary 184.

    python benchmarks/precision.py --repeats 3 --timing-epochs binned_fcnn=60 fcnn=60 resnet=2
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from lightning_spectra.models.registry import model_classes

MODELS = tuple(model_classes())  # config names of every model
PRECISIONS = ("32-true", "bf16-mixed")
RESULTS = Path(__file__).resolve().parent / "results"
LIGHT = [
    "--trainer.limit_val_batches=0",
    "--trainer.enable_checkpointing=false",
    "--trainer.enable_progress_bar=false",
    '--trainer.callbacks=[{"class_path": "lightning_spectra.callbacks.Timing"}]',
    "--data.init_args.linear_baseline=false",
]


def run(model: str, precision: str, out: Path, epochs: int | None) -> dict:
    """One fit in its own process; its summary's numbers."""
    folder = out / f"{model}-{precision}"
    command = [sys.executable, "-m", "lightning_spectra.cli", "fit", "--config", model, *LIGHT]
    command += ["--trainer.precision", precision, "--trainer.logger.init_args.save_dir", str(folder)]
    if epochs is not None:
        command += ["--trainer.max_epochs", str(epochs)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{model} {precision}: exit {done.returncode}\n{done.stderr[-2000:]}")
    summary = json.loads(max(folder.rglob("summary.json"), key=lambda p: p.stat().st_mtime).read_text())
    keys = ("train_time_s", "epochs", "confidence", "boundary", "accuracy", "precision")
    return {k: summary.get(k) for k in keys} | {"s_per_epoch": summary["train_time_s"] / summary["epochs"]}


def cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def table(results: dict) -> str:
    lines = [
        "| model | fp32 s/epoch (median) | bf16 s/epoch (median) | bf16 / fp32 | fp32 result | bf16 result "
        "| faster with the same result |",
        "|---|---|---|---|---|---|---|",
    ]
    for model, arms in results.items():
        med = {p: statistics.median(r["s_per_epoch"] for r in arms[p]) for p in PRECISIONS}
        first = {p: arms[p][0] for p in PRECISIONS}

        def result(r: dict) -> str:
            return f"{100 * r['confidence']:.2f}% / {r['boundary']:.0f} / {100 * r['accuracy']:.2f}%"

        same = all(first[p]["confidence"] == 1.0 and first[p]["boundary"] == 184 for p in PRECISIONS)
        verdict = "yes" if same and med["bf16-mixed"] < med["32-true"] else "no"
        lines.append(
            f"| {model} | {med['32-true']:.3f} | {med['bf16-mixed']:.3f} | {med['bf16-mixed'] / med['32-true']:.2f} "
            f"| {result(first['32-true'])} | {result(first['bf16-mixed'])} | {verdict} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--timing-epochs", nargs="*", default=[], help="model=epochs for repeats after the first")
    args = parser.parse_args(argv)
    capped = {k: int(v) for k, v in (item.split("=") for item in args.timing_epochs)}
    results: dict[str, dict[str, list[dict]]] = {m: {p: [] for p in PRECISIONS} for m in args.models}
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            order = PRECISIONS if repeat % 2 == 0 else PRECISIONS[::-1]
            for model in args.models:
                for precision in order:
                    epochs = capped.get(model) if repeat > 0 else None
                    found = run(model, precision, Path(tmp) / f"r{repeat}", epochs)
                    results[model][precision].append(found)
                    print(f"repeat {repeat} {model} {precision}: {found}", flush=True)
    RESULTS.mkdir(exist_ok=True)
    machine = f"{cpu_name()}, {len(__import__('os').sched_getaffinity(0))} cores"
    (RESULTS / "precision.json").write_text(json.dumps({"machine": machine, "results": results}, indent=2) + "\n")
    text = f"Machine: {machine}\n\n" + table(results)
    (RESULTS / "precision.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
