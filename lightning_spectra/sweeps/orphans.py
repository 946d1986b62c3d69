"""Trials whose worker process died: failed and queued again, without waiting for a heartbeat.

Optuna 5's ``JournalStorage`` records no heartbeat (only ``RDBStorage`` does; optuna/optuna#6615), so a
killed worker would leave its trial RUNNING for ever. Instead every trial records which process runs it (host,
PID namespace, PID and the process's start time, so a reused PID is not mistaken for the worker) in the
user attribute ``worker``. A RUNNING trial whose process no longer exists on this host is failed and passed to
Optuna's ``RetryHeartbeatStaleTrialCallback``, which adds a WAITING copy with the same parameters that the next
free worker runs. Workers check after each of their trials and the launcher before and after its workers run,
so a death is noticed at the next trial end, with no grace period. Trials of other hosts are left alone (on a
database their heartbeat covers them), except ones that never recorded a worker at all for ``UNCLAIMED_S``.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import psutil

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial

WORKER_ATTR = "worker"
UNCLAIMED_S = 300  # a trial is claimed milliseconds after it starts; one unclaimed this long lost its worker


def _pid_namespace() -> str:
    try:
        return os.readlink("/proc/self/ns/pid")  # containers sharing a host name have their own PIDs
    except OSError:
        return ""


def this_process() -> dict[str, Any]:
    """What identifies the running worker process, across PID reuse and containers."""
    return {
        "host": socket.gethostname(),
        "pidns": _pid_namespace(),
        "pid": os.getpid(),
        "started": psutil.Process().create_time(),
    }


def claim(trial: optuna.Trial) -> None:
    """Record that this process runs ``trial`` (and on which device), first thing in the objective."""
    trial.set_user_attr(
        WORKER_ATTR, {**this_process(), "trial": trial.number, "device": os.environ.get("CUDA_VISIBLE_DEVICES")}
    )


def _worker_is_dead(trial: FrozenTrial, here: dict[str, Any]) -> bool:
    worker = trial.user_attrs.get(WORKER_ATTR)
    if not worker or worker.get("trial") != trial.number:  # unclaimed, or a retry still carrying its original's
        started = trial.datetime_start or dt.datetime.now()
        return (dt.datetime.now() - started).total_seconds() > UNCLAIMED_S
    if (worker["host"], worker["pidns"]) != (here["host"], here["pidns"]):
        return False  # another machine's process: cannot tell from here
    try:
        process = psutil.Process(worker["pid"])
        return process.create_time() != worker["started"] or process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def fail_orphaned_trials(
    study: optuna.Study, retry: Callable[[optuna.Study, FrozenTrial], None] | None = None
) -> list[int]:
    """Fail the RUNNING trials whose worker died, retry each through ``retry``; returns their numbers."""
    import optuna
    from optuna.trial import TrialState

    here, failed = this_process(), []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if not _worker_is_dead(trial, here):
            continue
        try:
            study.tell(trial.number, state=TrialState.FAIL)
        except (optuna.exceptions.UpdateFinishedTrialError, ValueError, RuntimeError):
            continue  # another worker failed it first, or it finished meanwhile
        failed.append(trial.number)
        if retry is not None:
            retry(study, study.get_trials(deepcopy=False)[trial.number])
    return failed


class OrphanReaper:
    """Study callback: after each trial of this worker, fail and retry the trials of dead workers.

    It also runs Optuna's own heartbeat check (database storage), which Optuna does only when a trial starts,
    so that a worker waiting for the last trials notices a dead worker on another machine too.
    """

    def __init__(self, retry: Callable[[optuna.Study, FrozenTrial], None] | None = None) -> None:
        self.retry = retry

    def __call__(self, study: optuna.Study, trial: FrozenTrial | None = None) -> None:
        import optuna

        fail_orphaned_trials(study, self.retry)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            optuna.storages.fail_stale_trials(study)  # a no-op without a heartbeat (journal)
