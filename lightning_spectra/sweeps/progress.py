"""The launcher's console: one line per finished trial, with the best value so far and when the study should end.

    trial 3 complete: val/loss 0.4121 | 4/8 finished, best val/loss 0.3982 (trial 2) | ETA 1 min 20 s

The estimate is this launcher's own pace (its start to now, over the trials finished since), applied to the
trials still missing; trials that fail are reported but count for neither.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from lightning_spectra.sweeps.budget import count_states

if TYPE_CHECKING:
    import optuna

    from lightning_spectra.sweeps.sweep_file import SweepSpec

FINISHED = ("COMPLETE", "PRUNED")
REPORTED = (*FINISHED, "FAIL")


def duration(seconds: float) -> str:
    """``45 s``, ``3 min 05 s``, ``2 h 10 min``."""
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


class TrialProgress:
    """Call with the study now and then; returns the lines of the trials that finished since the last call."""

    def __init__(self, spec: SweepSpec, study: optuna.Study, n_trials: int) -> None:
        self.spec, self.n_trials = spec, n_trials
        self.seen = {t.number for t in study.get_trials(deepcopy=False) if t.state.name in REPORTED}
        self.finished_at_start = self._finished(study)
        self.start = time.monotonic()

    def _finished(self, study: optuna.Study) -> int:
        counts = count_states(study)
        return sum(counts.get(state, 0) for state in FINISHED)

    def __call__(self, study: optuna.Study) -> list[str]:
        trials = study.get_trials(deepcopy=False)
        new = [t for t in trials if t.state.name in REPORTED and t.number not in self.seen]
        self.seen.update(t.number for t in new)
        if not new:
            return []
        status = self._status(study, trials)
        return [f"{self._outcome(t)} | {status}" for t in new]

    def _outcome(self, trial) -> str:
        state = {"COMPLETE": "complete", "PRUNED": "pruned", "FAIL": "failed"}[trial.state.name]
        if trial.state.name == "COMPLETE":
            values = ", ".join(f"{m} {v:.4g}" for m, v in zip(self.spec.metrics, trial.values, strict=True))
            return f"trial {trial.number} {state}: {values}"
        return f"trial {trial.number} {state}"

    def _status(self, study: optuna.Study, trials: list) -> str:
        finished = self._finished(study)
        parts = [f"{finished}/{self.n_trials} finished"]
        complete = [t for t in trials if t.state.name == "COMPLETE"]
        if complete and len(self.spec.metrics) == 1:
            best = study.best_trial
            parts.append(f"best {self.spec.metrics[0]} {best.value:.4g} (trial {best.number})")
        elif complete:
            parts.append(f"Pareto front {len(study.best_trials)} trial(s)")
        done_here = finished - self.finished_at_start
        if done_here > 0 and finished < self.n_trials:
            pace = (time.monotonic() - self.start) / done_here
            parts.append(f"ETA {duration(pace * (self.n_trials - finished))}")
        return " | ".join(parts)
