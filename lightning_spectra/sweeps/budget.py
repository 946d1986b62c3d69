"""When a worker starts another trial, waits, or stops.

Optuna's ``MaxTrialsCallback`` counts finished trials only, so N workers that each see "one more to go"
all start one and the study overshoots by up to N - 1. Here the trials other workers are running count as
well: a worker starts a trial only while finished + running trials fall short of the target. The target
counts COMPLETE and PRUNED trials of the whole study (earlier runs included), never FAIL ones: a configuration
that raises, or a trial whose worker died and is being retried, does not use up the budget.

A worker with nothing to start while other workers' last trials run does not leave: it waits, so that if one
of those trials fails or its worker dies, someone is left to run the retry. So that a sweep whose every trial
fails (a broken config) still ends, a worker stops for good after ``max_failures`` of its own trials in a row
have failed.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial

log = logging.getLogger(__name__)


def count_states(study: optuna.Study) -> dict[str, int]:
    """Trials per state name (``COMPLETE``, ``PRUNED``, ``FAIL``, ``RUNNING``, ``WAITING``)."""
    counts: dict[str, int] = {}
    for trial in study.get_trials(deepcopy=False):
        counts[trial.state.name] = counts.get(trial.state.name, 0) + 1
    return counts


class TrialBudget:
    """Study callback that stops this worker's ``optimize`` loop when there is no trial left for it to start."""

    def __init__(self, n_trials: int, max_failures: int = 5) -> None:
        self.n_trials, self.max_failures = n_trials, max_failures
        self.failures_in_a_row = 0

    def _finished(self, counts: dict[str, int]) -> int:
        return counts.get("COMPLETE", 0) + counts.get("PRUNED", 0)

    def done(self, study: optuna.Study) -> bool:
        """The study has its trials, or this worker gave up on its failures: time to leave."""
        return self._finished(count_states(study)) >= self.n_trials or self.failures_in_a_row >= self.max_failures

    def enough(self, study: optuna.Study) -> bool:
        """Finished plus running trials reach the target: nothing to start now (also checked before starting)."""
        counts = count_states(study)
        return self._finished(counts) + counts.get("RUNNING", 0) >= self.n_trials

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        self.failures_in_a_row = self.failures_in_a_row + 1 if trial.state.name == "FAIL" else 0
        if self.failures_in_a_row >= self.max_failures:
            log.error("stopping this worker: its last %d trials failed", self.failures_in_a_row)
            study.stop()
        elif self.enough(study):
            study.stop()
