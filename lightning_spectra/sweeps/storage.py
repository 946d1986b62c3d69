"""Where a study lives: a journal file on one machine, a database (PostgreSQL) for workers on several.

SQLite locks under parallel writers, so the single-machine default is Optuna's append-only journal file
(``JournalStorage(JournalFileBackend(path))``), which any number of local workers share safely. A value with
``://`` is a SQLAlchemy database URL (``postgresql://user:pass@host/db``); workers on every machine that
can reach it join the same study with the same command.

Dead workers: ``RDBStorage`` has Optuna's heartbeat (each running trial writes a timestamp every
``heartbeat_interval`` seconds; a trial silent for ``grace_period`` is failed by the next worker that starts a
trial, and ``RetryHeartbeatStaleTrialCallback`` queues a copy with the same parameters; :mod:`.database` keeps
the heartbeat and the workers going through a server restart). Optuna 5's
``JournalStorage`` has no heartbeat (optuna/optuna#6615), so on a journal :mod:`.orphans` fails the trials
of worker processes that no longer exist and hands them to the same retry callback.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from lightning_spectra.sweeps.space import SweepSpecError

if TYPE_CHECKING:
    import optuna

    from lightning_spectra.sweeps.sweep_file import SweepSpec

DEFAULT_HEARTBEAT_S = 60
DEFAULT_RECONNECT_PATIENCE_S = 600  # how long a worker waits for an unreachable database before it stops
MAX_RETRY = 2  # a trial whose worker died is run again at most this often (a config that kills workers stops)
OBJECTIVES_ATTR = "objectives"


def is_database_url(storage: str) -> bool:
    return "://" in storage


def retry_callback() -> optuna.storages.RetryHeartbeatStaleTrialCallback:
    """Optuna's retry of a trial whose worker died: a WAITING copy with the same parameters.

    (``RetryFailedTrialCallback`` is its deprecated name in Optuna 5.)
    """
    import optuna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRY)


def open_storage(storage: str, heartbeat_interval: int = DEFAULT_HEARTBEAT_S) -> optuna.storages.BaseStorage:
    """A journal file for a path, an ``RDBStorage`` with heartbeat and retries for a database URL."""
    import optuna
    from optuna.storages.journal import JournalFileBackend

    if is_database_url(storage):
        if storage.startswith("sqlite:///"):  # SQLite creates the file but not its folder
            Path(storage.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        try:
            from lightning_spectra.sweeps.database import open_database

            return open_database(storage, heartbeat_interval, retry_callback())
        except ImportError:  # the database driver is an optional install
            hint = "pip install 'psycopg[binary]' (or psycopg2-binary with postgresql+psycopg2://)"
            raise SweepSpecError(f"no driver for {storage.split('://')[0]} storage; for PostgreSQL: {hint}") from None
    path = Path(storage)
    path.parent.mkdir(parents=True, exist_ok=True)
    return optuna.storages.JournalStorage(JournalFileBackend(str(path)))


def repair_journal(path: str | Path) -> int:
    """Cut a journal's torn last line (a writer killed mid-write); returns the bytes removed (0: intact).

    Optuna skips an unfinished last line when it reads, but the next record is appended to it, and the glued
    line makes the study unloadable. The torn bytes are kept in ``<journal>.torn`` and a note says so. Run
    while no worker writes (the launcher, before it starts them), under Optuna's own journal lock. A file that
    is not a journal (see :func:`check_journal`) is refused with a :class:`SweepSpecError` and left as it is.
    """
    from optuna.storages.journal import JournalFileSymlinkLock

    path = Path(path)
    if not path.is_file() or path.stat().st_size == 0:
        return 0
    lock = JournalFileSymlinkLock(str(path))
    lock.acquire()
    try:
        with open(path, "rb+") as f:
            data = f.read()
            check_journal(path, data)
            if data.endswith(b"\n"):
                return 0
            keep = data.rfind(b"\n") + 1
            with open(path.with_name(path.name + ".torn"), "ab") as torn:
                torn.write(data[keep:] + b"\n")
            f.truncate(keep)
    finally:
        lock.release()
    removed = len(data) - keep
    print(
        f"note: {path} ended in a cut-off record (a killed writer); removed its {removed} bytes "
        f"(kept in {path.name}.torn)",
        file=sys.stderr,
    )
    return removed


def check_journal(path: Path, data: bytes) -> None:
    """Refuse ``data`` (the bytes of ``path``) unless it reads as Optuna's journal: each complete line a JSON
    record with one of its operation codes, and an unfinished last line, if any, the start of such a record.

    ``--storage`` naming the wrong file (a CSV, a config) must end with one line, not lose its last line.
    """
    *lines, tail = data.split(b"\n")
    bad = next((n for n, line in enumerate(lines, start=1) if not _is_record(line)), None)
    start = b'{"op_code"'
    if bad is None and tail and not (tail.startswith(start) or start.startswith(tail)):
        bad = len(lines) + 1
    if bad is not None:
        raise SweepSpecError(
            f"{path}: not an Optuna journal (line {bad} is not a journal record); give --storage a journal "
            "file, a new file name or a database URL"
        )


def _is_record(line: bytes) -> bool:
    from optuna.storages.journal._storage import JournalOperation

    try:
        record = json.loads(line)
    except ValueError:
        return False
    return isinstance(record, dict) and record.get("op_code") in set(JournalOperation)


def create_or_load_study(
    storage: optuna.storages.BaseStorage, name: str, spec: SweepSpec, worker_index: int = 0
) -> optuna.Study:
    """Create the study, or load it when it exists (a re-run resumes); refuse one made for other objectives."""
    import optuna

    study = optuna.create_study(
        storage=storage,
        study_name=name,
        directions=spec.directions,
        sampler=spec.make_sampler(worker_index),
        pruner=spec.make_pruner(),
        load_if_exists=True,
    )
    recorded = study.user_attrs.get(OBJECTIVES_ATTR)
    wanted = dict(spec.objectives)
    directions = [d.name.lower() for d in study.directions]
    if recorded is None:
        study.set_user_attr(OBJECTIVES_ATTR, wanted)
        study.set_user_attr("sweep", str(spec.path))
    if study.metric_names is None:  # optuna-dashboard and trials_dataframe() name the objectives, not "values_0"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.set_metric_names(spec.metrics)
    elif list(recorded.items()) != list(wanted.items()) or directions != spec.directions:
        raise SweepSpecError(
            f"study {name!r} in this storage optimises {recorded}, not {wanted}; pick another --study name"
        )
    check_space(study, spec)
    return study


def artifact_folder(storage: str, out_dir: Path) -> Path:
    """Where the study's Optuna artifacts (best config, trial figures) go: ``artifacts/`` beside a journal file
    (optuna-dashboard finds them with ``--artifact-dir``), ``<out>/artifacts`` for a database."""
    return (Path(out_dir) if is_database_url(storage) else Path(storage).parent) / "artifacts"


def artifact_store(storage: str, out_dir: Path) -> optuna.artifacts.FileSystemArtifactStore:
    """The store of :func:`artifact_folder`, made if need be."""
    import optuna

    folder = artifact_folder(storage, out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    return optuna.artifacts.FileSystemArtifactStore(str(folder))


def check_space(study: optuna.Study, spec: SweepSpec) -> None:
    """Refuse a sweep file whose space gives a key the study has searched a distribution Optuna cannot mix with
    the recorded one (another type, log scale or list of choices): every new trial would fail on it. A new range
    of the same kind is fine; the study goes on with it."""
    from optuna.distributions import check_distribution_compatibility

    recorded = {}
    for trial in study.get_trials(deepcopy=False):
        recorded = {**trial.distributions, **recorded}  # the first trial's, as Optuna's own check compares
    for key, dim in spec.space.items():
        if key not in recorded:
            continue
        try:
            check_distribution_compatibility(recorded[key], dim.distribution)
        except ValueError:
            raise SweepSpecError(
                f"space.{key}: study {study.study_name!r} searched it as {recorded[key]}, the sweep file has "
                f"{dim.distribution}; Optuna cannot change a key's type, log scale or choices within a study: "
                "pick another --study name"
            ) from None
