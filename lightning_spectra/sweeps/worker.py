"""One worker: trials one after another in this process until the study has its trials.

Coordination is Optuna's: every worker loads the same study from the shared storage, asks it for a trial,
runs it, tells the result. The worker adds three things around ``study.optimize``: it starts trials only
within the shared budget and waits while the last ones run elsewhere (:mod:`.budget`), it fails and retries
trials of dead workers (:mod:`.orphans`), and it catches every exception a trial raises (``catch=(Exception,)``)
so one bad configuration does not end the sweep. On a database storage it rides out a server restart: a lost
connection is reported in one line, the worker waits for the server (up to ``reconnect_patience_s``), fails
and retries the trial whose result could not be recorded, and carries on (:mod:`.database`).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lightning_spectra.runs.wandb_runs import quiet_wandb_without_account
from lightning_spectra.sweeps.budget import TrialBudget
from lightning_spectra.sweeps.orphans import OrphanReaper
from lightning_spectra.sweeps.storage import (
    DEFAULT_HEARTBEAT_S,
    DEFAULT_RECONNECT_PATIENCE_S,
    artifact_store,
    is_database_url,
    open_storage,
    retry_callback,
)
from lightning_spectra.sweeps.sweep_file import SweepSpec

if TYPE_CHECKING:
    import optuna

log = logging.getLogger(__name__)
WAIT_S = 2.0  # how often a worker with nothing to start looks again


def run_worker(
    spec: SweepSpec,
    study_name: str,
    storage: str,
    n_trials: int,
    out_dir: Path,
    worker_index: int = 0,
    accelerator: str = "cpu",
    max_failures: int = 5,
    heartbeat_interval: int = DEFAULT_HEARTBEAT_S,
    reconnect_patience_s: float = DEFAULT_RECONNECT_PATIENCE_S,
) -> None:
    """Run trials of ``study_name`` until it has ``n_trials`` finished ones (or this worker keeps failing)."""
    import optuna

    from lightning_spectra.sweeps.launch import die_with_launcher
    from lightning_spectra.sweeps.objective import Objective

    die_with_launcher()
    quiet_wandb_without_account()
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    study_storage = open_storage(storage, heartbeat_interval)
    study = optuna.load_study(
        study_name=study_name,
        storage=study_storage,
        sampler=spec.make_sampler(worker_index),
        pruner=spec.make_pruner(),
    )
    study.sampler = spec.make_sampler(worker_index, trials_before=len(study.get_trials(deepcopy=False)))
    artifacts = artifact_store(storage, out_dir)
    objective = _Tracked(Objective(spec, study_name, out_dir, accelerator, artifacts))
    reaper, budget = OrphanReaper(retry_callback()), TrialBudget(n_trials, max_failures)
    interrupted: int | None = None  # this worker's trial whose result a lost connection kept from the study
    while True:
        try:
            if interrupted is not None:
                _fail_and_retry(study, interrupted, "the database connection was lost during the trial")
                interrupted = None
            reaper(study)
            if budget.done(study):
                return
            if budget.enough(study):  # the last trials run on other workers: stay, in case one of them fails
                time.sleep(WAIT_S)
                continue
            study.optimize(objective, catch=(Exception,), callbacks=[reaper, budget])
        except Exception as err:
            if _finished_elsewhere(err):
                cut_off = objective.pop_unfinished()
                log.warning(
                    "trial %s was failed by another worker meanwhile (its heartbeat lapsed); moving on", cut_off
                )
                continue
            if not is_database_url(storage):
                raise
            from lightning_spectra.sweeps.database import is_connection_lost, wait_for_database

            if not is_connection_lost(err):
                raise
            wait_for_database(study_storage, err, reconnect_patience_s)
            cut_off = objective.pop_unfinished()
            interrupted = cut_off if cut_off is not None else interrupted


def _finished_elsewhere(err: Exception) -> bool:
    """Optuna refused to record this worker's trial: another worker had failed it (stale heartbeat, e.g. after
    a database outage longer than the grace period) and queued its retry already."""
    import optuna

    refused = isinstance(err, ValueError) and str(err).startswith("Cannot tell a ")  # study.tell's own words
    return refused or isinstance(err, optuna.exceptions.UpdateFinishedTrialError)


class _Tracked:
    """The objective, remembering the trial it runs so that one cut off by a lost database can be retried."""

    def __init__(self, objective: Callable[[optuna.Trial], Any]) -> None:
        self.objective, self.running = objective, None

    def __call__(self, trial: optuna.Trial) -> Any:
        self.running = trial.number
        return self.objective(trial)

    def pop_unfinished(self) -> int | None:
        number, self.running = self.running, None
        return number


def _fail_and_retry(study: optuna.Study, number: int | None, reason: str) -> None:
    """Fail this worker's trial ``number`` if the storage still has it RUNNING, and queue its retry."""
    import optuna
    from optuna.trial import TrialState

    from lightning_spectra.sweeps.objective import FAIL_REASON_ATTR

    if number is None:
        return
    frozen = study.get_trials(deepcopy=False)[number]
    if frozen.state != TrialState.RUNNING:
        return  # recorded before the connection went (or failed as stale by another worker meanwhile)
    try:
        optuna.Trial(study, frozen._trial_id).set_user_attr(FAIL_REASON_ATTR, reason)
        study.tell(number, state=TrialState.FAIL)
    except (optuna.exceptions.UpdateFinishedTrialError, ValueError, RuntimeError):
        return
    log.warning("trial %d failed: %s; it is queued again", number, reason)
    retry_callback()(study, study.get_trials(deepcopy=False)[number])
