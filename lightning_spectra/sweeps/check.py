"""Checks of a sweep against its base config before the first trial, so a sweep whose every trial would fail
(a misspelt key in ``space``, an objective nothing logs) stops at once with one line instead of running them.

Keys are checked by parsing one trial's arguments exactly as a trial does (the same ``train.py`` parser, no
training); objectives against the names a fit logs or writes to ``summary.json``.
"""

from __future__ import annotations

import difflib
import sys
from typing import Any

from lightning_spectra.sweeps.space import SweepSpecError
from lightning_spectra.sweeps.sweep_file import SweepSpec

#: What every fit writes to summary.json, whatever its task (Timing's numbers, the model's size).
RUN_SUMMARY = {
    "loss",
    "train_time_s",
    "epochs",
    "fit_time_s",
    "process_time_s",
    "epochs_to_target",
    "time_to_target_s",
    "peak_memory_gib",
    "trainable_parameters",
}


def known_names() -> tuple[set[str], set[str], set[str]]:
    """What a fit logs (``stage/name``), what it writes to summary.json (test metrics without prefix, baselines,
    Timing's numbers) and which of those only the test after fit produces: from every registered task's
    metrics, score and numeric summary fields."""
    from lightning_spectra.tasks import TASKS  # imports torch: after the sweep command's parser

    split = {name for task in TASKS.values() for name in task.metrics}
    logged = {"train/loss", "val/loss", "test/loss", "time/epoch_s", "trainable_parameters"}
    logged |= {f"train/{task.score_key}" for task in TASKS.values()}
    logged |= {f"{stage}/{name}" for stage in ("val", "test") for name in split}
    numeric = {
        key
        for task in TASKS.values()
        for key in (*task.cross_validation_scores({}), *(k for k, _, fmt in summary_fields(task) if fmt != "{}"))
    }
    summary = split | numeric | RUN_SUMMARY
    from_test = {f"test/{n}" for n in (*split, "loss")} | split | {"loss"}
    return logged, summary, from_test


def summary_fields(task: type) -> tuple:
    """A task class's summary lines, of a task built on two example names (the lines do not depend on them)."""
    from lightning_spectra.tasks import Targets

    return task.build(Targets(task.name, ("a", "b"))).summary_fields()


def check_objectives(spec: SweepSpec) -> None:
    """Every objective (and the pruner's monitor) is a name a fit logs; test metrics need the test after fit."""
    fixed = {**spec.overrides, **spec.trial_only}
    names = [*spec.metrics, *([spec.pruning_monitor] if spec.pruning_monitor else [])]
    logged, summary, from_test = known_names()
    for name in names:
        if name not in logged | summary:
            close = difflib.get_close_matches(name, sorted(logged | summary), n=3)
            hint = (
                f"; did you mean {' or '.join(close)}?" if close else f"; known: {', '.join(sorted(logged | summary))}"
            )
            raise SweepSpecError(f"{spec.path}: objective {name!r} is never logged by a fit{hint}")
        if name in from_test and fixed.get("test_after_fit") is False and name not in logged - from_test:
            raise SweepSpecError(
                f"{spec.path}: objective {name!r} comes from the test after fit, which test_after_fit: false turns off"
            )


def check_keys(spec: SweepSpec, trial_args: list[str]) -> None:
    """Parse one trial's ``train.py`` arguments (no training); a key the config does not take is one line."""
    from lightning_spectra.cli import SpectraCLI

    class ParsedError(Exception):  # not an error: stops the CLI once its arguments parsed
        pass

    class ParseOnly(SpectraCLI):
        def before_instantiate_classes(self) -> None:
            raise ParsedError

    argv, sys.argv = sys.argv, sys.argv[:1]  # LightningCLI warns when it gets args and the process has its own
    try:
        ParseOnly(args=trial_args, parser_kwargs={"exit_on_error": False})
    except ParsedError:
        return
    except Exception as err:  # noqa: BLE001 - jsonargparse's errors say which key; pass them on whole
        message = " ".join(str(err).split())
        raise SweepSpecError(f"{spec.path}: a trial's config does not parse: {message[:1000]}") from None
    finally:
        sys.argv = argv


def sample_params(spec: SweepSpec) -> dict[str, Any]:
    """One value per searched key (its low end or first choice), as a trial would pass it."""
    values = {}
    for key, dim in spec.space.items():
        dist = dim.distribution
        stored = dist.choices[0] if hasattr(dist, "choices") else dist.low
        values[key] = dim.value(stored)
    return values
