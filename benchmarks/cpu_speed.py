"""The fast CPU path against a bare fp32 PyTorch loop: the default CNN config, side by side, in one process.

Arm ``ours``: ``train.py fit --config configs/cnn.yaml`` in-process (Lightning, precision resolved as in any run:
bf16 autocast on CPUs with native bf16, else float32; the fast conv block), with the post-fit attribution
callbacks left out (they run after training and do not change the time to target). Arm ``bare``: the paper's
``TrainingProc`` loop (zero_grad, forward, loss, backward, step, ``loss.item()``) in float32 on the same model
class with the paper's Conv -> BN -> ReLU -> MaxPool1d block, initialised with the config's seed, on the same
full-batch training tensor. The arms alternate (ours, bare, ours, bare, ...) so that other load on a shared
machine hits both; medians over ``--repeats`` are compared:

* ``ours to target``: training time until validation confidence first reached 100% (the Timing callback), and
  the wall clock from fit start to that validation (validation and checkpoints included);
* ``bare, same epochs``: the bare loop's time for the same number of epochs;
* the ratio of the two, and the test confidence and boundary of each of our runs.

    python benchmarks/cpu_speed.py --repeats 2
    python benchmarks/cpu_speed.py --repeats 2 --precision 32-true   # switch bf16 off
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import lightning.pytorch as L
import torch

from lightning_spectra.cli import main as cli_main
from lightning_spectra.data import HEDDataModule
from lightning_spectra.models import CNN
from lightning_spectra.models.cnn import paper_conv_block
from lightning_spectra.runtime.cpu_memory import SWITCH, keep_freed_memory
from lightning_spectra.runtime.precision import cpu_supports_bf16

ROOT = Path(__file__).resolve().parent.parent
CALLBACKS = [
    {"class_path": "lightning_spectra.callbacks.Timing"},
    {"class_path": "lightning.pytorch.callbacks.ModelCheckpoint", "init_args": {"save_last": "link"}},
    {"class_path": "cpu_speed.WallToTarget"},
]


class WallToTarget(L.Callback):
    """Wall clock from fit start to the end of the first epoch whose validation reached 100% confidence, and
    the process CPU seconds of the training epochs until then (written to a file for the benchmark)."""

    def __init__(self) -> None:
        self.out, self.done = os.environ.get("CPU_SPEED_WALL_FILE", "wall_to_target.json"), False
        self.train_cpu = 0.0

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.start = time.perf_counter()

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.epoch_cpu = time.process_time()

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *args) -> None:
        self.train_cpu += time.process_time() - self.epoch_cpu  # one full batch per epoch

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        value = trainer.callback_metrics.get("val/confidence")  # validation ran just before this hook
        if not self.done and value is not None and float(value) >= 1.0:
            self.done = True
            seconds = {"wall_to_target_s": time.perf_counter() - self.start, "cpu_to_target_s": self.train_cpu}
            Path(self.out).write_text(json.dumps(seconds))


def run_ours(epochs: int, precision: str | None) -> dict:
    """One ``fit`` of configs/cnn.yaml through the CLI; its summary.json plus the wall clock to target."""
    with tempfile.TemporaryDirectory(prefix="cpu-speed-") as tmp:
        os.environ["CPU_SPEED_WALL_FILE"] = str(Path(tmp) / "wall.json")
        args = [
            "fit",
            "--config",
            str(ROOT / "configs/cnn.yaml"),
            f"--trainer.logger.init_args.save_dir={tmp}",
            f"--trainer.max_epochs={epochs}",
            "--trainer.enable_progress_bar=false",
            f"--trainer.callbacks={json.dumps(CALLBACKS)}",
        ]
        if precision:
            args.append(f"--trainer.precision={precision}")
        cli_main(args)
        summary = json.loads(next(Path(tmp).glob("cnn/version_*/summary.json")).read_text())
        wall = Path(tmp) / "wall.json"
        summary.update(json.loads(wall.read_text()) if wall.exists() else {})
        return summary


def paper_block_cnn(dm: HEDDataModule) -> CNN:
    """The config's CNN, seeded as the config seeds it, with its conv blocks rebuilt as the paper wrote them."""
    L.seed_everything(12345, verbose=False)  # the config's seed_everything
    model = CNN(spectrum_length=dm.spectrum_length, targets=dm.targets, lr=0.002, weight_decay=2e-5)
    state = model.state_dict()
    model.conv1 = paper_conv_block(1, 64, kernel_size=5, stride=2)
    model.conv2 = paper_conv_block(64, 64, kernel_size=3, stride=2)
    model.conv3 = paper_conv_block(64, 4, kernel_size=3, stride=1)
    model.load_state_dict(state)  # same keys: the fast block keeps the paper's layout
    return model


def run_bare(dm: HEDDataModule, epochs: int) -> tuple[list[float], list[float]]:
    """Cumulative wall and process CPU seconds after each epoch of the paper's full-batch fp32 loop."""
    model = paper_block_cnn(dm)
    x, y = dm.splits.train.spectra, dm.splits.train.labels
    optimizer = model.configure_optimizers()
    model.train()
    wall, cpu = [], []
    start, start_cpu = time.perf_counter(), time.process_time()
    for _ in range(epochs):
        optimizer.zero_grad()
        loss = model.loss(model(x), y)
        loss.backward()
        optimizer.step()
        loss.item()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return wall, cpu


ARMS = {  # name -> (what runs, environment)
    "ours": ("ours", {}),
    "ours, glibc default allocator": ("ours", {SWITCH: "default"}),
    "bare": ("bare", {}),
    "bare + freed memory kept": ("bare", {"CPU_SPEED_KEEP_MEMORY": "1"}),
}


def run_arm(kind: str, epochs: int, precision: str | None) -> dict:
    """One arm in this (fresh) process: ours through the CLI, or the bare loop."""
    if kind == "ours":
        return run_ours(epochs, precision)
    if os.environ.get("CPU_SPEED_KEEP_MEMORY"):
        keep_freed_memory()  # what the CLI does for CPU runs, applied to the bare loop
    wall, cpu = run_bare(HEDDataModule(progress=False), epochs)
    return {"wall": wall, "cpu": cpu}


def spawn_arm(name: str, epochs: int, precision: str | None) -> dict:
    """Run one arm in a fresh Python process (a bare script gets glibc's default allocator, as a user's would)."""
    kind, env = ARMS[name]
    with tempfile.TemporaryDirectory(prefix="cpu-speed-arm-") as tmp:
        out = Path(tmp) / "arm.json"
        command = [sys.executable, __file__, "--arm", kind, "--epochs", str(epochs), "--out", str(out)]
        command += ["--precision", precision] if precision else []
        subprocess.run(command, env={**os.environ, **env}, check=True, cwd=ROOT)
        return json.loads(out.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=5, help="epochs of every run (configs/cnn.yaml: 5)")
    parser.add_argument("--precision", default=None, help="force ours to e.g. 32-true or bf16-mixed (default: auto)")
    parser.add_argument("--arms", nargs="+", default=list(ARMS), choices=list(ARMS))
    parser.add_argument("--json", type=Path, default=None, help="also write every measurement here")
    parser.add_argument("--arm", choices=["ours", "bare"], help=argparse.SUPPRESS)  # one arm, in a child process
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.arm:
        args.out.write_text(json.dumps(run_arm(args.arm, args.epochs, args.precision), default=str))
        return
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, {torch.get_num_threads()} threads, "
        f"torch {torch.__version__}, lightning {L.__version__}, native bf16: {cpu_supports_bf16()}, "
        f"load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    runs: dict[str, list[dict]] = {name: [] for name in args.arms}
    for repeat in range(args.repeats):
        for name in args.arms:  # interleaved, so that other load on a shared machine hits every arm
            runs[name].append(spawn_arm(name, args.epochs, args.precision))
            r = runs[name][-1]
            if "wall" in r:
                print(
                    f"[{repeat}] {name}: cumulative s {[round(t, 2) for t in r['wall']]}, "
                    f"CPU s {[round(t, 2) for t in r['cpu']]}",
                    flush=True,
                )
            else:
                print(
                    f"[{repeat}] {name}: precision {r['precision']}, epochs to target {r['epochs_to_target']}, "
                    f"train s to target {r['time_to_target_s']}, wall s to target {r.get('wall_to_target_s')}, "
                    f"train CPU s to target {r.get('cpu_to_target_s')}, epoch s "
                    f"{[round(t, 2) for t in r['epoch_times_s']]}, test confidence {r['confidence']:.2%}, "
                    f"boundary {r['boundary']:.0f}",
                    flush=True,
                )
    ours = [r for name in args.arms if ARMS[name][0] == "ours" for r in runs[name]]
    target_epochs = max(o["epochs_to_target"] or args.epochs for o in ours)
    med = statistics.median
    print(f"\nmedians over {args.repeats} repeats; epochs to 100% validation confidence: {target_epochs}")
    for name in args.arms:
        if ARMS[name][0] == "ours":
            r = runs[name]
            print(
                f"{name}: train s to target {med(o['time_to_target_s'] for o in r):.2f}, wall s to target "
                f"incl. validation {med(o['wall_to_target_s'] for o in r):.2f}, train CPU s to target "
                f"{med(o['cpu_to_target_s'] for o in r):.2f}; test confidence "
                f"{[round(100 * o['confidence'], 2) for o in r]} %, boundary {[o['boundary'] for o in r]}"
            )
        else:
            r = runs[name]
            print(
                f"{name}: s for {target_epochs} epochs {med(b['wall'][target_epochs - 1] for b in r):.2f}, "
                f"CPU s {med(b['cpu'][target_epochs - 1] for b in r):.2f}"
            )
    if "ours" in runs and "bare" in runs:
        ours_train = med(o["time_to_target_s"] for o in runs["ours"])
        bare_same = med(b["wall"][target_epochs - 1] for b in runs["bare"])
        print(f"ours / bare, training time to target: {ours_train / bare_same:.2f}")
    if args.json:
        args.json.write_text(json.dumps(runs, indent=1, default=str))


if __name__ == "__main__":
    main()
