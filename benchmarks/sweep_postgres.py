"""Trials per hour of the tiny CNN sweep with one and with two ``sweep.py`` launchers on one PostgreSQL database.

    python benchmarks/sweep_postgres.py --n-trials 12

Starts a throwaway server (``tests/pg_server.py``; needs ``apt-get install -y postgresql``) unless ``--storage``
names a database. Each launcher has one CPU worker (``--cpu-workers 1``) and its own output folder, as two
machines would; each setup gets a fresh study. A journal-file run with one launcher is the single-machine
reference. Two rates per setup: wall clock (launch to last exit, worker start-up included) and steady state
(first trial start to last trial end, from the study's own timestamps).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import optuna

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
SWEEP = ROOT / "tests" / "conf" / "sweep_cnn_tiny.yaml"


def run_setup(storage: str, study: str, launchers: int, n_trials: int, work: Path) -> dict[str, float]:
    from lightning_spectra.sweeps.storage import open_storage

    env = {**os.environ, "OMP_NUM_THREADS": "1", "WANDB_MODE": "offline", "WANDB_SILENT": "true"}
    common = ["--sweep", str(SWEEP), "--study", study, "--storage", storage, "--n-trials", str(n_trials)]
    start = time.monotonic()
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "sweep.py"),
                *common,
                "--cpu-workers",
                "1",
                "--out",
                str(work / f"{study}-{i}"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        for i in range(launchers)
    ]
    codes = [p.wait() for p in procs]
    wall = time.monotonic() - start
    trials = optuna.load_study(study_name=study, storage=open_storage(storage)).trials
    finished = [t for t in trials if t.state.name in ("COMPLETE", "PRUNED")]
    span = (max(t.datetime_complete for t in finished) - min(t.datetime_start for t in finished)).total_seconds()
    return {
        "exit codes": codes,
        "finished": len(finished),
        "trials": len(trials),
        "wall_s": wall,
        "per_hour_wall": 3600 * len(finished) / wall,
        "per_hour_steady": 3600 * len(finished) / span,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-trials", type=int, default=12)
    parser.add_argument("--storage", help="a database URL to use instead of a throwaway server")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    server = None
    if args.storage is None:
        from pg_server import PostgresServer

        server = PostgresServer()
        server.start()
    try:
        database = args.storage or server.create_database("bench")
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            stamp = int(time.time())
            setups = [
                ("journal file", str(work / "journal.log"), 1),
                ("PostgreSQL", database, 1),
                ("PostgreSQL", database, 2),
            ]
            print(f"load average before: {os.getloadavg()[0]:.1f}; {os.cpu_count()} CPUs", flush=True)
            print("| storage | launchers | finished trials | wall s | trials/h wall | trials/h steady |")
            print("| --- | --- | --- | --- | --- | --- |")
            for name, storage, launchers in setups:
                result = run_setup(storage, f"bench-{stamp}-{launchers}-{name[0]}", launchers, args.n_trials, work)
                print(
                    f"| {name} | {launchers} | {result['finished']} of {result['trials']} "
                    f"(exit {result['exit codes']}) | {result['wall_s']:.0f} | {result['per_hour_wall']:,.0f} | "
                    f"{result['per_hour_steady']:,.0f} |",
                    flush=True,
                )
            print(f"load average after: {os.getloadavg()[0]:.1f}")
    finally:
        if server is not None:
            server.remove()


if __name__ == "__main__":
    main()
