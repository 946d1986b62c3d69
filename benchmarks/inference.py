"""Inference speed of every model: spectra per second and p50/p99 latency per batch, per engine.

Every arm (model, engine, batch size) runs in its own process, so one engine's threads, caches or compiled code
never touch another's; the arms alternate (every arm once per round, ``--rounds`` rounds) so that other load on a
shared machine hits all of them alike. Warm-up calls (and torch.compile's compilation, ONNX export and session
creation) are excluded; at least ``--iterations`` calls are timed per round.

What is timed is the whole exported path, :class:`lightning_spectra.apps.export.RawSpectraModel`: raw spectra
``(N, L)`` in, probabilities out, with the preprocessing inside the graph (Savitzky-Golay, normalisation,
per-point scaling), then the network and its sigmoid/softmax. All three engines run that same module:

- ``eager``: the module in eval mode under ``torch.inference_mode``;
- ``compile``: ``torch.compile`` of the module (default mode), under ``torch.inference_mode``;
- ``onnx``: the module exported as ``lightning-spectra-export`` writes it, on ONNX Runtime's CPU provider
  (``onnx-cuda``: its CUDA provider; ``eager-cuda``/``compile-cuda``: torch on the GPU, with the copy of the
  input to the GPU and of the output back included).

Models are the eight configs in ``configs/*.yaml`` built at ``--length`` points (4023: the HED ramp) with freshly
initialised weights (trained weights do not change the work), or from ``--checkpoint NAME=PATH``. Those configs
train on the HED ramp, whose baseline removal is a pre-step outside any graph; without a checkpoint the in-graph
preprocessing is the files datamodule's default recipe (Savitzky-Golay first derivative, window 11, order 2;
SNV; per-point scaling), so its cost is in the numbers. Sequence models run as their config evaluates them
(``eval_sequence``; ``whole``: one batch is one sequence).

    python benchmarks/inference.py                                    # everything, at 4023 points
    python benchmarks/inference.py --models cnn --batches 352 --engines eager,onnx
    python benchmarks/inference.py --models cnn --batches 1 --iterations 3 --length 512   # a quick check

Writes ``benchmarks/results/inference.json`` and ``inference.md`` (``--output`` changes the stem).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from lightning_spectra.models.registry import model_classes
from lightning_spectra.runtime.composed_configs import load_config

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"
MODELS = tuple(model_classes())  # config names of every model
CPU_ENGINES = ("eager", "compile", "onnx")
GOAL = {"model": "cnn", "batch": 352, "p99_ms": 100.0}  # one HED train (352 frames) between trains at 10 Hz


# ---------------------------------------------------------------------------------------------- one arm
def build_module(name: str, length: int, checkpoint: str | None):
    """The :class:`RawSpectraModel` an arm times: from ``checkpoint``, or config ``name`` with fresh weights."""
    from lightning_spectra import models
    from lightning_spectra.apps.export import RawSpectraModel, read_checkpoint
    from lightning_spectra.data.preprocess import PointScaler, Preprocessing

    if checkpoint:
        model, preprocessing, scaler, selection = read_checkpoint(checkpoint)
        # A baseline removal stays outside the graph (lightning_spectra.apps.export.prestep): not timed here.
        return RawSpectraModel(model, dataclasses.replace(preprocessing, baseline="none"), scaler, selection)
    config = load_config(CONFIGS / f"{name}.yaml")["model"]
    model_class = getattr(models, config["class_path"].rpartition(".")[2])  # a name from models, not a path
    torch.manual_seed(0)  # the same weights in every arm's process
    model = model_class(spectrum_length=length, **config.get("init_args", {})).eval()
    recipe = Preprocessing(smoothing_window=11, smoothing_order=2, derivative=1, normalization="snv")
    scaler = PointScaler("standard").fit(np.random.default_rng(0).normal(size=(64, length)))
    return RawSpectraModel(model, recipe, scaler).eval()


def spectra(batch: int, length: int) -> np.ndarray:
    from lightning_spectra.apps.export import example_spectra

    return example_spectra(length, count=batch).numpy()


def torch_runner(module, engine: str, example: np.ndarray):
    """A call ``f(batch as numpy) -> numpy`` for a torch engine, and its device."""
    device = "cuda" if engine.endswith("-cuda") else "cpu"
    module = module.to(device)
    if engine.startswith("compile"):
        module = torch.compile(module)

    def run(x: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            out = module(torch.from_numpy(x).to(device)).cpu().numpy()  # .cpu() waits for the GPU
        return out

    return run


def onnx_runner(module, engine: str, example: np.ndarray, cache: Path, threads: int):
    """A call for ONNX Runtime on the module exported once per model and length (cached across arms)."""
    import onnxruntime

    from lightning_spectra.apps.export import INPUT_NAME, write_onnx

    path = cache / f"{module.model.__class__.__name__}-{example.shape[1]}.onnx"
    if not path.exists():
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        write_onnx(module, torch.from_numpy(spectra(3, example.shape[1])), partial, {})
        partial.replace(path)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    providers = ["CUDAExecutionProvider", "CPUExecutionProvider"] if engine == "onnx-cuda" else ["CPUExecutionProvider"]
    session = onnxruntime.InferenceSession(str(path), options, providers=providers)
    return lambda x: session.run(None, {INPUT_NAME: x})[0]


def run_arm(arm: str, args: argparse.Namespace) -> dict:
    """Time one arm in this process: ``model,engine,batch``."""
    name, engine, batch = arm.split(",")
    torch.set_num_threads(args.threads)
    checkpoints = dict(item.split("=", 1) for item in args.checkpoint)
    module = build_module(name, args.length, checkpoints.get(name)).eval()
    x = spectra(int(batch), args.length)
    start = time.perf_counter()
    if engine.startswith("onnx"):
        run = onnx_runner(module, engine, x, Path(args.cache), args.threads)
    else:
        run = torch_runner(module, engine, x)
    for _ in range(args.warmup):
        run(x)
    setup = time.perf_counter() - start  # export/compile, session and warm-up: not timed below
    latencies = []
    deadline = time.perf_counter() + args.min_seconds
    while len(latencies) < args.iterations or time.perf_counter() < deadline:
        t = time.perf_counter()
        run(x)
        latencies.append(time.perf_counter() - t)
    return {"model": name, "engine": engine, "batch": int(batch), "setup_s": setup, "latencies_s": latencies}


# ---------------------------------------------------------------------------------------------- the whole run
def machine() -> dict:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor() or "unknown",
    )
    info = {
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }
    try:
        import onnxruntime

        info["onnxruntime"] = onnxruntime.__version__
        info["onnxruntime_providers"] = onnxruntime.get_available_providers()
    except ImportError:
        info["onnxruntime"] = None
    return info


def default_engines() -> list[str]:
    engines = list(CPU_ENGINES)
    if torch.cuda.is_available():
        engines += ["eager-cuda", "compile-cuda"]
    try:
        import onnxruntime

        if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
            engines.append("onnx-cuda")
    except ImportError:
        pass
    return engines


def launch(arm: str, args: argparse.Namespace) -> dict:
    """Run one arm in a fresh interpreter; its result is the last line it prints."""
    command = [sys.executable, str(Path(__file__).resolve()), "--arm", arm, *passed_on(args)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=args.arm_timeout, check=False)
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"arm": arm, "error": f"exit {done.returncode}: {tail}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def passed_on(args: argparse.Namespace) -> list[str]:
    values = ["--length", args.length, "--iterations", args.iterations, "--warmup", args.warmup, "--threads"]
    values += [args.threads, "--min_seconds", args.min_seconds, "--cache", args.cache]
    return [str(v) for v in values] + [f"--checkpoint={item}" for item in args.checkpoint]


def summarise(results: list[dict]) -> list[dict]:
    """Per arm: every round's latencies pooled, p50/p99 in ms, spectra per second from the mean latency."""
    arms: dict[tuple, dict] = {}
    for r in results:
        if "error" in r:
            arms.setdefault(("error", r["arm"]), {"arm": r["arm"], "error": r["error"]})
            continue
        entry = arms.setdefault((r["model"], r["engine"], r["batch"]), {**r, "latencies_s": [], "setup_s": []})
        entry["latencies_s"] += r["latencies_s"]
        entry["setup_s"].append(r["setup_s"])
    rows = []
    for entry in arms.values():
        if "error" in entry:
            rows.append(entry)
            continue
        ms = np.asarray(entry.pop("latencies_s")) * 1e3
        rows.append(
            {
                **entry,
                "timed_calls": len(ms),
                "p50_ms": float(np.percentile(ms, 50)),
                "p99_ms": float(np.percentile(ms, 99)),
                "mean_ms": float(ms.mean()),
                "spectra_per_s": float(entry["batch"] / ms.mean() * 1e3),
            }
        )
    return rows


def markdown(rows: list[dict], info: dict, args: argparse.Namespace) -> str:
    lines = [
        "# Inference speed",
        "",
        f"Machine: {info['cpu']}, {info['cpus']} CPUs, {args.threads} threads; GPU: {info['gpu'] or 'none'}. "
        f"torch {info['torch']}, onnxruntime {info['onnxruntime']}, Python {info['python']}.",
        f"Spectra of {args.length} points; {args.rounds} alternating rounds of at least {args.iterations} timed calls "
        f"per arm after {args.warmup} warm-up calls, each arm in its own process. Every engine runs the whole "
        "exported path: raw spectra in, preprocessing in the graph, network, probabilities out.",
        "",
        "| model | engine | batch | spectra/s | p50 ms | p99 ms |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['arm']} | error: {r['error']} | | | | |")
        else:
            lines.append(
                f"| {r['model']} | {r['engine']} | {r['batch']} | {r['spectra_per_s']:,.0f} | {r['p50_ms']:.2f} "
                f"| {r['p99_ms']:.2f} |"
            )
    goal = [r for r in rows if r.get("model") == GOAL["model"] and r.get("batch") == GOAL["batch"]]
    if goal:
        best = min(goal, key=lambda r: r["p99_ms"])
        verdict = "met" if best["p99_ms"] <= GOAL["p99_ms"] else "not met"
        lines += [
            "",
            f"Goal (CNN, one {GOAL['batch']}-spectrum train, p99 at most {GOAL['p99_ms']:.0f} ms): {verdict}; fastest "
            f"is {best['engine']} at {best['p99_ms']:.1f} ms p99 ({best['spectra_per_s']:,.0f} spectra/s).",
        ]
    return "\n".join(lines) + "\n"


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default=",".join(MODELS), help="config names, comma-separated")
    parser.add_argument("--engines", default=None, help=f"comma-separated; default {','.join(CPU_ENGINES)} (+ cuda)")
    parser.add_argument("--batches", default="1,32,352", help="batch sizes, comma-separated")
    parser.add_argument("--length", type=int, default=4023, help="points per spectrum")
    parser.add_argument("--iterations", type=int, default=50, help="timed calls per arm and round (at least)")
    parser.add_argument("--min_seconds", type=float, default=0.0, help="and keep timing for at least this long")
    parser.add_argument("--warmup", type=int, default=5, help="untimed calls first")
    parser.add_argument("--rounds", type=int, default=2, help="every arm once per round, alternating")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="intra-op threads (torch, onnxruntime)")
    parser.add_argument("--checkpoint", action="append", default=[], help="NAME=PATH: time a trained model")
    parser.add_argument("--output", default=str(ROOT / "benchmarks/results/inference"), help="stem of .json/.md")
    parser.add_argument("--arm_timeout", type=float, default=1800, help="seconds one arm may take")
    parser.add_argument("--arm", default=None, help=argparse.SUPPRESS)  # model,engine,batch: run that arm here
    parser.add_argument("--cache", default=None, help=argparse.SUPPRESS)  # where arms share exported files
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    if args.arm:
        print(json.dumps(run_arm(args.arm, args)))
        return
    engines = args.engines.split(",") if args.engines else default_engines()
    arms = [f"{m},{e},{b}" for m in args.models.split(",") for b in args.batches.split(",") for e in engines]
    results = []
    with tempfile.TemporaryDirectory() as cache:
        args.cache = cache
        for k in range(args.rounds):
            order = arms if k % 2 == 0 else arms[::-1]  # alternate: no arm always runs first or last
            for arm in order:
                results.append(launch(arm, args))
                print(f"round {k + 1}/{args.rounds} {arm}: done", flush=True)
    info = machine()
    rows = summarise(results)
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps({"machine": info, "args": vars(args), "arms": rows}, indent=1))
    table = markdown(rows, info, args)
    out.with_suffix(".md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
