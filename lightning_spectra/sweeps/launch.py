"""Starting the workers: one process per listed GPU, pinned to it with ``CUDA_VISIBLE_DEVICES``, or N on CPU.

This is the only process handling a sweep does. Each worker is ``python -m lightning_spectra.sweeps`` with the
sweep's arguments and its own index; its output goes to ``<out>/workers/worker-<i>.log``. Storage, trial
hand-out, retries and stopping are Optuna's, through the storage all workers share. CPU threads are split
between the workers (``OMP_NUM_THREADS``) so N workers do not fight over the same cores.

Workers die with the launcher, however it ends: on Linux each asks the kernel for a SIGTERM when its parent
dies (``prctl(PR_SET_PDEATHSIG)``), so a launcher killed with SIGKILL leaves no worker running trials
unsupervised (a rerun would add a second one); a SIGTERM ends a worker at once, its running trial left to be
retried like any dead worker's.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import lightning_spectra

POLL_S = 1.0
LAUNCHER_ENV = "LIGHTNING_SPECTRA_SWEEP_LAUNCHER"  # the launcher's PID, in the environment of its workers
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def plan_devices(devices: str | None, cpu_workers: int | None) -> list[str | None]:
    """One entry per worker: a GPU id, or ``None`` for a CPU worker.

    ``devices="0,1"`` gives a worker per GPU (``"0,0,1,1"`` two per GPU); ``cpu_workers=N`` gives N CPU
    workers; neither gives one worker per visible GPU, or one CPU worker on a machine without one.
    """
    if devices and cpu_workers:
        raise ValueError("give either --devices or --cpu-workers, not both")
    if devices:
        return [d.strip() for d in devices.split(",") if d.strip()]
    if cpu_workers:
        return [None] * cpu_workers
    import torch

    return [str(i) for i in range(torch.cuda.device_count())] or [None]


def check_devices(devices: list[str | None]) -> None:
    """Refuse GPU ids this machine does not have, before any trial runs (each would fail on its own)."""
    from lightning_spectra.sweeps.space import SweepSpecError

    gpus = [d for d in devices if d is not None]
    if not gpus:
        return
    import torch

    count = torch.cuda.device_count()
    if count == 0:
        raise SweepSpecError(f"--devices {','.join(gpus)}: this machine has no GPU; use --cpu-workers N")
    # Numbers are checked where they index the GPUs torch sees; a launcher given CUDA_VISIBLE_DEVICES, or GPU
    # UUIDs, is left to the workers.
    missing = [d for d in gpus if d.isdigit() and int(d) >= count and "CUDA_VISIBLE_DEVICES" not in os.environ]
    if missing:
        have = f"this machine has {count} (0-{count - 1})"
        raise SweepSpecError(f"--devices {','.join(gpus)}: no GPU {', '.join(missing)}; {have}")


def worker_env(device: str | None, n_workers: int) -> dict[str, str]:
    """The environment of one worker: its GPU only (none for CPU workers) and its share of CPU threads."""
    env = dict(os.environ)
    env["CUDA_VISIBLE_DEVICES"] = device if device is not None else ""
    env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // n_workers)))
    package_root = str(Path(lightning_spectra.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    env[LAUNCHER_ENV] = str(os.getpid())
    return env


def die_with_launcher() -> None:
    """In a worker the launcher started: end on SIGTERM at once, and get one when the launcher dies (Linux).

    The parent-death signal is asked for only once the worker runs, so a launcher that died before is caught
    by comparing the parent with the launcher's PID right after. A worker started by hand (or a test calling
    the worker in-process) has no launcher to follow and is left alone.
    """
    launcher = os.environ.get(LAUNCHER_ENV)
    if launcher is None:
        return
    # Lightning only notes a SIGTERM during a fit and stops at the end of the batch; the worker must stop now.
    # SystemExit is no Exception: Optuna records nothing, the trial stays RUNNING and is retried at the next start.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != int(launcher):
        sys.exit(f"the sweep launcher (PID {launcher}) has ended; this worker stops")


def start_workers(worker_args: Sequence[str], devices: Sequence[str | None], log_dir: Path) -> list[subprocess.Popen]:
    """Start one worker per device entry with ``worker_args`` plus ``--worker-index i --accelerator ...``."""
    log_dir.mkdir(parents=True, exist_ok=True)
    procs = []
    for i, device in enumerate(devices):
        cmd = [
            sys.executable,
            "-m",
            "lightning_spectra.sweeps",
            *worker_args,
            "--worker-index",
            str(i),
            "--accelerator",
            "cpu" if device is None else "gpu",
        ]
        with open(log_dir / f"worker-{i}.log", "ab") as out:
            procs.append(
                subprocess.Popen(cmd, env=worker_env(device, len(devices)), stdout=out, stderr=subprocess.STDOUT)
            )
    return procs


def wait_for(
    procs: Sequence[subprocess.Popen], tick: Callable[[], None] | None = None, tick_every_s: float = 30.0
) -> list[int]:
    """Wait for every worker, calling ``tick`` now and then (progress); stop them all if this process is told to.

    A SIGTERM or Ctrl-C here terminates the workers; their running trials are failed and retried when the
    sweep is started again.
    """
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    last_tick = time.monotonic()
    try:
        while [p.poll() for p in procs].count(None):  # poll every worker: an exited one is reaped, not a zombie
            time.sleep(POLL_S)
            if tick is not None and time.monotonic() - last_tick >= tick_every_s:
                tick()
                last_tick = time.monotonic()
    finally:
        signal.signal(signal.SIGTERM, previous)
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
    return [p.returncode for p in procs]
