"""``lightning-spectra-watch --bridge`` against a local Karabo bridge server at the HED rate: trains/s, latency
p50/p99 (a train's arrival to its rows written) and dropped trains, per model.

A server process (karabo_bridge's ``ServerInThread``, a PUSH socket on 127.0.0.1) sends trains of ``--pulses``
spectra of ``--points`` points (352 x 4023: a HED train) at ``--rate`` Hz for ``--seconds`` seconds, from the
moment the watcher connects; a train the server cannot hand on at once is lost upstream, as a detector's would
be. The watcher runs as the user runs it, in its own process (``--bridge_socket PULL --output ...``), and its
closing line gives the numbers. "sent" is what the server handed on; "dropped" the watcher's count of train ids
it never analysed between its first and last train.

Checkpoints: ``--checkpoint NAME=PATH`` (repeatable), or each of ``--models`` fitted for one epoch on the
simulated HED ramp (``--recipe``):

- ``files`` (default): the ramp written as an ``.npz`` and fitted with ``configs/examples/files_csv.yaml`` and
  the model's class: the files recipe's preprocessing (Savitzky-Golay, SNV, per-point scaling) is inside the
  exported graph, so the watcher runs ONNX Runtime;
- ``hed``: ``train.py fit --config <model>``: the ramp's ALS baseline removal cannot be in a graph, so the
  watcher runs the checkpoint in PyTorch with ALS per spectrum in NumPy (slow: see the results).

    python benchmarks/stream.py                                   # cnn, fcnn, lstm, resnet: 60 s each at 10 Hz
    python benchmarks/stream.py --models cnn --seconds 10         # a quick look
    python benchmarks/stream.py --checkpoint cnn=logs/cnn/version_0/checkpoints/last.ckpt --recipe hed

Writes ``benchmarks/results/stream.json`` and ``stream.md`` (``--output`` changes the stem).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from lightning_spectra.models.registry import model_classes

ROOT = Path(__file__).resolve().parent.parent
SOURCE, KEY = "HED_EXP_DET/CORR/SPECTRA:output", "data.spectra"
GOAL = {"model": "cnn", "rate_hz": 10.0, "p99_ms": 100.0, "dropped": 0}
SUMMARY = re.compile(
    r"# (?P<trains>\d+) trains \((?P<rows>\d+) rows\), (?P<rate>[\d.na]+) trains/s, latency p50 (?P<p50>[\d.na]+) ms "
    r"p99 (?P<p99>[\d.na]+) ms, (?P<dropped>\d+) dropped, (?P<malformed>\d+) malformed"
)


# ---------------------------------------------------------------------------------------------- checkpoints
def ramp_trains(pulses: int, points: int, count: int = 4) -> np.ndarray:
    """``count`` different trains ``(count, pulses, points)`` of the simulated ramp, float32 as a detector sends."""
    from lightning_spectra.data.simulate import simulate_ramp

    return np.stack([simulate_ramp(pulses, points, seed=seed)[1] for seed in range(count)]).astype(np.float32)


def fit(model: str, recipe: str, work: Path) -> Path:
    """A one-epoch checkpoint of ``model`` on the simulated HED ramp (``recipe``: see the module's docstring)."""
    from lightning_spectra.models.registry import model_classes

    save_dir = work / f"fit_{model}_{recipe}"
    if recipe == "hed":
        args = ["--config", model]
    else:
        from lightning_spectra.data.simulate import simulate_ramp

        x, spectra = simulate_ramp()
        labels = np.where(np.arange(len(spectra)) >= 185, "high", "low")  # the ramp's transition (HEDDataModule)
        np.savez(work / "ramp.npz", spectra=spectra, labels=labels, x_axis=x)
        cls = model_classes()[model]
        args = ["--config", "examples/files_csv", "--model.class_path", f"{cls.__module__}.{cls.__name__}"]
        args += ["--data.init_args.train_path", str(work / "ramp.npz")]
    args += ["--trainer.max_epochs", "1", "--test_after_fit", "false"]
    args += ["--trainer.logger.init_args.save_dir", str(save_dir), "--trainer.logger.init_args.name", model]
    done = subprocess.run([sys.executable, str(ROOT / "train.py"), "fit", *args], capture_output=True, text=True)
    checkpoints = sorted(save_dir.glob(f"{model}/version_*/checkpoints/last.ckpt"))
    if not checkpoints:
        raise SystemExit(f"fit of {model} ({recipe}) wrote no checkpoint:\n{done.stderr[-2000:]}")
    return checkpoints[-1]


# ---------------------------------------------------------------------------------------------- the server
def serve(endpoint_out, sent_out, pulses: int, points: int, rate: float, seconds: float) -> None:
    """A PUSH server at ``rate`` Hz for ``seconds`` once a client connected; the trains handed on, in ``sent_out``."""
    import queue

    import zmq
    from karabo_bridge import ServerInThread
    from zmq.utils.monitor import recv_monitor_message

    trains = ramp_trains(pulses, points)
    server = ServerInThread("tcp://127.0.0.1:*", sock="PUSH", maxlen=1)
    monitor = server.server_socket.get_monitor_socket()
    endpoint_out.put(server.server_socket.getsockopt_string(zmq.LAST_ENDPOINT))
    server.start()
    while recv_monitor_message(monitor)["event"] != zmq.EVENT_HANDSHAKE_SUCCEEDED:
        pass
    start, sent, tid = time.monotonic(), 0, 1_000_000_000
    for i in range(int(seconds * rate)):
        time.sleep(max(0.0, start + i / rate - time.monotonic()))
        data = {SOURCE: {KEY: trains[i % len(trains)]}}
        try:
            server.feed(data, {SOURCE: {"source": SOURCE, "timestamp.tid": tid + i}}, block=False)
            sent += 1
        except queue.Full:  # the last train is still waiting: this one is lost upstream
            pass
    time.sleep(1.0)
    monitor.close()
    server.stop()
    sent_out.put(sent)


# ---------------------------------------------------------------------------------------------- one run
def run(name: str, checkpoint: Path, args: argparse.Namespace, work: Path) -> dict:
    ctx = multiprocessing.get_context("spawn")
    endpoint_q, sent_q = ctx.Queue(), ctx.Queue()
    server = ctx.Process(target=serve, args=(endpoint_q, sent_q, args.pulses, args.points, args.rate, args.seconds))
    server.start()
    endpoint = endpoint_q.get(timeout=120)
    output = work / f"{name}.csv"
    command = [sys.executable, "-m", "lightning_spectra.apps.watch", "--ckpt_path", str(checkpoint)]
    command += ["--bridge", endpoint, "--bridge_socket", "PULL", "--source", SOURCE, "--key", KEY]
    command += ["--output", str(output), "--timeout", "5", "--engine", "auto"]
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, timeout=args.seconds + 600)
    server.join(timeout=60)
    sent = sent_q.get(timeout=10) if not sent_q.empty() else None
    lines = done.stdout.splitlines()
    match = next((m for line in reversed(lines) if (m := SUMMARY.fullmatch(line))), None)
    if match is None:
        raise SystemExit(f"{name}: the watcher gave no summary (exit {done.returncode}):\n{done.stderr[-2000:]}")
    engine = "onnx" if "the model runs in ONNX Runtime" in done.stdout else "pytorch"
    result = {k: float(v) if "." in v or v == "nan" else int(v) for k, v in match.groupdict().items()}
    return {
        "model": name,
        "checkpoint": str(checkpoint),
        "engine": engine,
        "sent": sent,
        **result,
        "wall_s": round(time.monotonic() - started, 1),
    }


def machine() -> dict:
    import onnxruntime
    import torch

    cpu = platform.processor() or platform.machine()
    with open("/proc/cpuinfo") if os.path.exists("/proc/cpuinfo") else open(os.devnull) as f:
        names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
    return {
        "cpu": names[0] if names else cpu,
        "cpus": os.cpu_count(),
        "torch": torch.__version__,
        "onnxruntime": onnxruntime.__version__,
        "python": platform.python_version(),
    }


def markdown(rows: list[dict], info: dict, args: argparse.Namespace) -> str:
    head = [
        "# Live stream: `lightning-spectra-watch --bridge`",
        "",
        f"Machine: {info['cpu']}, {info['cpus']} CPUs; torch {info['torch']}, onnxruntime {info['onnxruntime']}, "
        f"Python {info['python']}.",
        f"A local karabo_bridge ServerInThread (PUSH, 127.0.0.1) sends trains of {args.pulses} spectra x "
        f"{args.points} points at {args.rate:g} Hz for {args.seconds:g} s; the watcher (PULL, `--output` CSV) "
        "analyses each train (32 pulses an ONNX Runtime call). "
        "Latency: a train's arrival to its rows written and flushed. "
        f"Checkpoints: one epoch on the simulated HED ramp, recipe `{args.recipe}`. "
        f"Goal: {GOAL['model']} at {GOAL['rate_hz']:g} Hz with no train dropped and p99 <= {GOAL['p99_ms']:g} ms.",
        "",
        "| model | engine | sent | analysed | trains/s | p50 ms | p99 ms | dropped |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    body = [
        f"| {r['model']} | {r['engine']} | {r['sent']} | {r['trains']} | {r['rate']:.2f} | {r['p50']:.1f} | "
        f"{r['p99']:.1f} | {r['dropped']} |"
        for r in rows
    ]
    return "\n".join(head + body) + "\n"


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=sorted(model_classes()), help="default: every model")
    parser.add_argument("--checkpoint", action="append", default=[], help="NAME=PATH instead of fitting")
    parser.add_argument("--recipe", choices=("files", "hed"), default="files")
    parser.add_argument("--seconds", type=float, default=60.0, help="seconds of stream per model (default 60)")
    parser.add_argument("--rate", type=float, default=10.0, help="trains per second (default 10: the HED rate)")
    parser.add_argument("--pulses", type=int, default=352)
    parser.add_argument("--points", type=int, default=4023)
    parser.add_argument("--output", default=str(ROOT / "benchmarks" / "results" / "stream"))
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    with tempfile.TemporaryDirectory(prefix="stream-bench-") as tmp:
        work = Path(tmp)
        given = dict(c.split("=", 1) for c in args.checkpoint)
        checkpoints = {name: Path(path) for name, path in given.items()} or {
            model: fit(model, args.recipe, work) for model in args.models
        }
        rows = []
        for name, checkpoint in checkpoints.items():
            try:
                rows.append(run(name, checkpoint, args, work))
            except SystemExit as failed:  # one model's failure leaves the others' numbers
                print(failed, file=sys.stderr, flush=True)
                continue
            print(json.dumps(rows[-1]), flush=True)
    info = machine()
    stem = Path(args.output)
    stem.parent.mkdir(parents=True, exist_ok=True)
    stem.with_suffix(".json").write_text(json.dumps({"machine": info, "settings": vars(args), "rows": rows}, indent=2))
    stem.with_suffix(".md").write_text(markdown(rows, info, args))
    print(markdown(rows, info, args))


if __name__ == "__main__":
    main()
