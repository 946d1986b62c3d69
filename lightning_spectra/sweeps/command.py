"""``python sweep.py --sweep sweeps/cnn.yaml --study cnn-lr --n-trials 20 --devices 0,1`` (or ``--cpu-workers 2``).

Creates (or resumes) the study, starts the workers, waits, then prints the best trial(s) and writes their
configs. The same command run again resumes the study; run on several machines with the same
``--storage postgresql://...`` it adds their workers to the same study.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from lightning_spectra.errors import SpectraConfigError
from lightning_spectra.runtime.commands import command
from lightning_spectra.sweeps.space import SweepSpecError
from lightning_spectra.sweeps.storage import (
    DEFAULT_HEARTBEAT_S,
    DEFAULT_RECONNECT_PATIENCE_S,
    artifact_folder,
    is_database_url,
)
from lightning_spectra.sweeps.sweep_file import SweepSpec, check_study_name, load_spec

if TYPE_CHECKING:
    import optuna

TICK_S = 2.0  # how often the launcher looks for finished trials to report
UNREACHABLE_EVERY_S = 30.0


def positive_int(text: str) -> int:
    """An argparse type: ``--n-trials -3`` or ``--cpu-workers 0`` is refused, not taken silently."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=command("sweep"), description=__doc__.split("\n\n")[1].replace("``", ""), epilog="See docs/sweeps.md."
    )
    p.add_argument(
        "--sweep", required=True, help="sweep file (base config, search space, objectives), or a shipped one: cnn"
    )
    p.add_argument("--study", help="study name (default: the sweep file's `study`, else its file name)")
    p.add_argument(
        "--storage",
        help="journal file path, or a database URL such as postgresql://user:pw@host/db (default: <out>/journal.log)",
    )
    p.add_argument(
        "--n-trials", type=positive_int, help="finished trials the study should have (default: the sweep file's)"
    )
    where = p.add_mutually_exclusive_group()
    where.add_argument("--devices", help="GPU ids, one worker each, e.g. 0,1 (default: every visible GPU)")
    where.add_argument("--cpu-workers", type=positive_int, help="number of CPU workers (no GPU)")
    p.add_argument(
        "--out", help="output folder: trials/, wandb/, workers/, best config (default: sweeps/studies/<study>)"
    )
    p.add_argument(
        "--max-failures",
        type=positive_int,
        default=5,
        help="a worker stops after this many failed trials in a row (default: 5)",
    )
    p.add_argument(
        "--heartbeat",
        type=int,
        default=DEFAULT_HEARTBEAT_S,
        help="database storage: seconds between heartbeats; a trial silent for twice this is retried (default: 60)",
    )
    p.add_argument(
        "--reconnect-patience",
        type=float,
        default=DEFAULT_RECONNECT_PATIENCE_S,
        help="database storage: seconds a worker waits for an unreachable database before it stops (default: 600)",
    )
    p.add_argument("--worker-index", type=int, help=argparse.SUPPRESS)  # set by the launcher for its workers
    p.add_argument("--accelerator", default="cpu", help=argparse.SUPPRESS)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run a sweep (or, with ``--worker-index``, be one of its workers); returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        spec = load_spec(args.sweep)
        source = "--study" if args.study else f"{spec.path}: study" if spec.study else f"sweep file name {spec.path}"
        study_name = check_study_name(args.study or spec.study or spec.path.stem, source)
        n_trials = args.n_trials or spec.n_trials
        if not n_trials:
            raise SweepSpecError("give --n-trials or n_trials in the sweep file")
        out_dir = Path(args.out or Path("sweeps") / "studies" / study_name).resolve()
        storage = args.storage or str(out_dir / "journal.log")
        if not is_database_url(storage):
            storage = str(Path(storage).resolve())
            if Path(storage).is_dir():
                raise SweepSpecError(
                    f"--storage {args.storage} is a folder; give a journal file in it (e.g. "
                    f"{Path(args.storage) / 'journal.log'}) or a database URL"
                )
        if args.worker_index is None:
            from lightning_spectra.runs.folder import check_writable

            check_writable(out_dir, "--out")  # trials, configs and worker logs go there
        if args.worker_index is not None:
            from lightning_spectra.sweeps.worker import run_worker

            sys.argv = sys.argv[:1]  # LightningCLI warns when it gets args and the process has its own too
            run_worker(
                spec,
                study_name,
                storage,
                n_trials,
                out_dir,
                args.worker_index,
                args.accelerator,
                args.max_failures,
                args.heartbeat,
                args.reconnect_patience,
            )
            return 0
        return _launch(args, spec, study_name, storage, n_trials, out_dir)
    except (SweepSpecError, SpectraConfigError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except Exception as err:
        if not _database_lost(err):
            raise
        from lightning_spectra.sweeps.database import describe

        print(
            f"error: cannot reach the study's database ({describe(err)}); check the URL, the server and its port "
            "(firewall), then run the same command again",
            file=sys.stderr,
        )
        return 3


def _database_lost(err: Exception) -> bool:
    """A lost database connection, told without importing SQLAlchemy where no database is used."""
    if "sqlalchemy" not in sys.modules:
        return False
    from lightning_spectra.sweeps.database import is_connection_lost

    return is_connection_lost(err)


def _launch(
    args: argparse.Namespace, spec: SweepSpec, study_name: str, storage: str, n_trials: int, out_dir: Path
) -> int:
    from lightning_spectra.sweeps.best_configs import print_report, progress_line, write_best_configs
    from lightning_spectra.sweeps.budget import TrialBudget
    from lightning_spectra.sweeps.check import check_keys, check_objectives, sample_params
    from lightning_spectra.sweeps.launch import check_devices, plan_devices, start_workers, wait_for
    from lightning_spectra.sweeps.objective import Objective
    from lightning_spectra.sweeps.orphans import fail_orphaned_trials
    from lightning_spectra.sweeps.progress import TrialProgress
    from lightning_spectra.sweeps.storage import (
        artifact_store,
        create_or_load_study,
        open_storage,
        repair_journal,
        retry_callback,
    )

    devices = plan_devices(args.devices, args.cpu_workers)
    check_devices(devices)  # before any trial: a GPU this machine lacks would fail every one
    check_objectives(spec)  # before any trial: a sweep whose every trial would fail stops here
    check_keys(spec, Objective(spec, study_name, out_dir).trial_args(0, sample_params(spec)))
    if not is_database_url(storage):
        repair_journal(storage)  # no worker of ours runs yet
    study = create_or_load_study(open_storage(storage, args.heartbeat), study_name, spec)
    fail_orphaned_trials(study, retry_callback())
    where = ", ".join(f"GPU {d}" if d is not None else "CPU" for d in devices)
    print(
        f"{progress_line(study, n_trials)}; storage {_shown(storage)}; {len(devices)} worker(s): {where}; "
        f"logs in {out_dir / 'workers'}",
        flush=True,
    )
    worker_args = [
        "--sweep",
        str(spec.path.resolve()),
        "--study",
        study_name,
        "--storage",
        storage,
        "--n-trials",
        str(n_trials),
        "--out",
        str(out_dir),
        "--max-failures",
        str(args.max_failures),
        "--heartbeat",
        str(args.heartbeat),
        "--reconnect-patience",
        str(args.reconnect_patience),
    ]
    done = TrialBudget(n_trials).enough(study)  # nothing to start when the study already has its trials
    procs = [] if done else start_workers(worker_args, devices, out_dir / "workers")
    progress = _Progress(TrialProgress(spec, study, n_trials), study, storage)
    try:
        codes = wait_for(procs, tick=progress, tick_every_s=TICK_S)
    except KeyboardInterrupt:  # the workers got the Ctrl-C too and have stopped; report what there is
        codes = [130] * len(procs)
    fail_orphaned_trials(study, retry_callback())  # a worker that died last leaves no one else to do it
    progress()  # the trials that finished since the last look
    written = write_best_configs(spec, study, out_dir)
    if written and len(study.directions) == 1:  # best.yaml beside the study in optuna-dashboard
        import optuna

        store = artifact_store(storage, out_dir)
        optuna.artifacts.upload_artifact(artifact_store=store, file_path=str(written[0]), study_or_trial=study)
    print_report(spec, study, written, n_trials)
    print(dashboard_line(storage, out_dir), flush=True)
    crashed = [f"worker {i} (exit {code})" for i, code in enumerate(codes) if code != 0]
    if crashed:
        print(
            f"warning: {', '.join(crashed)} ended early; see {out_dir / 'workers'}. "
            "Run the same command again to finish the study.",
            file=sys.stderr,
        )
        return 1
    if problem := unfinished(study, n_trials):  # the workers gave up: their trials kept failing
        print(f"error: {problem}", file=sys.stderr)
        return 1
    return 0


class _Progress:
    """Prints a line per finished trial (:mod:`.progress`), or, at most every ``UNREACHABLE_EVERY_S``, one line
    saying the database is unreachable (the workers wait for it)."""

    def __init__(self, lines: Callable[[optuna.Study], list[str]], study: optuna.Study, storage: str) -> None:
        self.lines, self.study, self.storage = lines, study, storage
        self.said_unreachable = -UNREACHABLE_EVERY_S

    def __call__(self) -> None:
        try:
            lines = self.lines(self.study)
        except Exception as err:
            if not (is_database_url(self.storage) and _database_lost(err)):
                raise
            if time.monotonic() - self.said_unreachable < UNREACHABLE_EVERY_S:
                return
            from lightning_spectra.sweeps.database import describe

            self.said_unreachable = time.monotonic()
            lines = [f"study {self.study.study_name}: database unreachable ({describe(err)}); the workers wait for it"]
        for line in lines:
            print(line, flush=True)


def _shown(storage: str) -> str:
    """The storage as printed: a database URL without its password (logs are shared, passwords are not)."""
    if not is_database_url(storage):
        return storage
    from sqlalchemy.engine import make_url

    return make_url(storage).render_as_string(hide_password=True)


def dashboard_line(storage: str, out_dir: Path) -> str:
    """The command that shows the study, its trials' figures and best config in optuna-dashboard (a database
    URL as :func:`_shown` prints it: its password is the user's to add)."""
    command = ["optuna-dashboard", _shown(storage), "--artifact-dir", str(artifact_folder(storage, out_dir))]
    return f"see the study in a browser: {shlex.join(command)}"


def unfinished(study, n_trials: int) -> str | None:
    """Why the study lacks its trials once the workers are done (their failure reasons are in the report)."""
    from lightning_spectra.sweeps.budget import count_states

    counts = count_states(study)
    finished = counts.get("COMPLETE", 0) + counts.get("PRUNED", 0)
    if finished >= n_trials:
        return None
    failed = counts.get("FAIL", 0)
    return f"study {study.study_name} has {finished} of {n_trials} trials finished; {failed} failed (reasons above)"
