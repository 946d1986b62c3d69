"""One worker: trials one after another in this process until the study has its trials.

Coordination is Optuna's: every worker loads the same study from the shared storage, asks it for a trial,
runs it, tells the result. The worker adds three things around ``study.optimize``: it starts trials only
within the shared budget and waits while the last ones run elsewhere (:mod:`.budget`), it fails and retries
trials of dead workers (:mod:`.orphans`), and it catches every exception a trial raises (``catch=(Exception,)``)
so one bad configuration does not end the sweep.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from lightning_spectra.logging import quiet_wandb_without_account
from lightning_spectra.sweeps.budget import TrialBudget
from lightning_spectra.sweeps.orphans import OrphanReaper
from lightning_spectra.sweeps.spec import SweepSpec
from lightning_spectra.sweeps.storage import DEFAULT_HEARTBEAT_S, open_storage, retry_callback

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
) -> None:
    """Run trials of ``study_name`` until it has ``n_trials`` finished ones (or this worker keeps failing)."""
    import optuna

    from lightning_spectra.sweeps.objective import Objective

    quiet_wandb_without_account()
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    study = optuna.load_study(
        study_name=study_name,
        storage=open_storage(storage, heartbeat_interval),
        sampler=spec.make_sampler(worker_index),
        pruner=spec.make_pruner(),
    )
    study.sampler = spec.make_sampler(worker_index, trials_before=len(study.get_trials(deepcopy=False)))
    objective = Objective(spec, study_name, out_dir, accelerator)
    reaper, budget = OrphanReaper(retry_callback()), TrialBudget(n_trials, max_failures)
    while True:
        reaper(study)
        if budget.done(study):
            return
        if budget.enough(study):  # the last trials run on other workers: stay, in case one of them fails
            time.sleep(WAIT_S)
            continue
        study.optimize(objective, catch=(Exception,), callbacks=[reaper, budget])
