"""The Task contract, checked on a registered task: :func:`check_task`, in the spirit of scikit-learn's
``check_estimator``. The tests run it on every task of :data:`lightning_spectra.tasks.TASKS`; a new task's author
runs it too (docs/tasks.md).

A task passes when the rest of the package can use it without knowing which task it is: its labels encode, its
loss trains, its metric reports the names it declares, its predictions become CSV columns (from a torch model's
outputs and from an exported file's metadata alike), its maps have a score and a target, and its report and export
descriptions are complete. It lives beside the encoders (the data layer) because the check starts from labels.
"""

from __future__ import annotations

import inspect
import json

import numpy as np
import torch

from lightning_spectra.data.formats import SpectraSource
from lightning_spectra.data.targets import ENCODERS, TargetEncoder
from lightning_spectra.errors import SpectraError
from lightning_spectra.tasks import TASKS, Targets, Task, task_for, task_from_export

#: Example spectra per check, and their points.
SPECTRA, POINTS = 12, 8
#: The most members a task must define itself (issue 36: everything else has a default).
MOST_ABSTRACT = 10


class TaskContractError(SpectraError):
    """A task that breaks the contract; the message names the task and the broken rule."""


def _require(condition: object, task: str, rule: str) -> None:
    if not condition:
        raise TaskContractError(f"task {task!r}: {rule}")


def check_contract_size() -> None:
    """The base class is abstract with at most :data:`MOST_ABSTRACT` abstract members."""
    count = len(Task.__abstractmethods__)
    _require(inspect.isabstract(Task) and 0 < count <= MOST_ABSTRACT, "Task", f"{count} abstract members")


def example_task(name: str) -> tuple[Task, torch.Tensor]:
    """The task ``name`` fitted on its encoder's example labels, and those labels encoded as a model's targets."""
    _require(name in ENCODERS, name, "has no target encoder (a TargetEncoder subclass with task = its name)")
    labels = (list(ENCODERS[name].example_labels) * SPECTRA)[:SPECTRA]
    source = SpectraSource(
        path="examples.csv",
        spectra=np.random.default_rng(0).normal(size=(SPECTRA, POINTS)),
        labels=labels,
        names=[f"s{i}" for i in range(SPECTRA)],
        where=[f"examples.csv, row {i + 2}" for i in range(SPECTRA)],
    )
    encoder = TargetEncoder.fit(source, name)
    encoder = encoder.standardised_on(encoder.encode(source, "train"), "examples.csv")
    statistics = (None, None)
    if encoder.mean is not None:
        statistics = (tuple(np.ravel(encoder.mean).tolist()), tuple(np.ravel(encoder.scale).tolist()))
    targets = Targets(name, tuple(encoder.class_names or encoder.target_names), *statistics)
    return task_for(targets), torch.as_tensor(encoder.encode(source, "train"))


def check_class_facts(name: str) -> None:
    task = TASKS[name]
    _require(task.name == name and ENCODERS.get(name) is not None and ENCODERS[name].task == name, name, "encoder")
    _require(task.metrics and task.metrics.get(task.score_key) in ("max", "min"), name, "score_key needs a direction")
    series = task.series_score_key
    _require(series is None or task.metrics.get(series) in ("max", "min"), name, "series_score_key needs a direction")
    _require(all(d in ("max", "min", None) for d in task.metrics.values()), name, "directions are max, min or None")
    _require(isinstance(task.output_name, str) and task.output_name, name, "output_name")


def check_training(name: str) -> None:
    task, target = example_task(name)
    _require(isinstance(task.out_features, int) and task.out_features >= 1, name, "out_features >= 1")
    outputs = torch.randn(SPECTRA, task.out_features, requires_grad=True)
    loss = task.loss(outputs, target)
    _require(loss.ndim == 0 and bool(torch.isfinite(loss)), name, "the loss is a finite scalar")
    loss.backward()
    _require(outputs.grad is not None and bool(outputs.grad.abs().sum() > 0), name, "the loss trains the outputs")
    _require(task.known(target), name, "encoded training labels are known")
    metric = task.evaluation_metric()
    task.update(metric, outputs.detach(), target, torch.arange(SPECTRA))
    computed = metric.compute()
    _require(task.score_key in computed, name, f"the split metric reports the score {task.score_key!r}")
    undeclared = sorted({key.split("[")[0] for key in computed} - set(task.metrics))
    _require(not undeclared, name, f"metrics {undeclared} are logged but not declared in metrics")
    for key, value in task.train_metrics(outputs.detach(), target).items():
        _require(torch.as_tensor(value).ndim == 0, name, f"train metric {key} is a scalar")


def check_predictions(name: str) -> None:
    task, _ = example_task(name)
    outputs = torch.randn(SPECTRA, task.out_features)
    exported = task.exported(outputs)
    _require(exported.shape[0] == SPECTRA, name, "exported keeps one row per spectrum")
    _require(torch.equal(task.predictions(outputs)[task.output_name], exported), name, "predictions hold exported")
    columns = task.prediction_columns(exported.double().numpy())
    rows = all(len(cells) == SPECTRA and all(isinstance(c, str) for c in cells) for cells in columns.values())
    _require(columns and rows, name, "prediction_columns: one text cell per spectrum in every column")
    _require(isinstance(task.headline(columns), str), name, "headline")
    metadata = {
        "targets": json.dumps(task.targets.as_dict()),
        "task_state": json.dumps({k: v.tolist() for k, v in task.state_dict().items()}),
    }
    rebuilt = task_from_export(metadata).prediction_columns(exported.double().numpy())
    _require(rebuilt == columns, name, "an exported file's metadata rebuilds the same prediction columns")


def check_attribution(name: str) -> None:
    task, target = example_task(name)
    outputs = torch.randn(SPECTRA, task.out_features, requires_grad=True)
    explained = task.default_attribution_target(outputs.detach())
    _require(explained.shape == (SPECTRA,) and not explained.dtype.is_floating_point, name, "one output index each")
    score = task.attribution_score(outputs, explained)
    _require(score.shape == (SPECTRA,), name, "attribution_score: one number per spectrum")
    (gradient,) = torch.autograd.grad(score.sum(), outputs)
    _require(bool(gradient.abs().sum() > 0), name, "the explained score depends on the outputs")
    _require(task.deletion_score(outputs, explained).shape == (SPECTRA,), name, "deletion_score per spectrum")
    chosen = task.importance_targets(target, lambda: outputs.detach())
    _require(task.importance_objective(outputs, chosen).ndim == 0, name, "importance_objective is a scalar")
    chosen = task.labelled_attribution_target(target, lambda: outputs.detach())
    groups = task.attribution_groups(outputs.detach(), chosen, target, "label", 3)
    _require(len(groups.index) == SPECTRA and len(groups.titles) == SPECTRA and groups.names, name, "groups")
    index, names = task.reference_groups(target.numpy())
    _require(len(index) == SPECTRA and names, name, "reference_groups")


def check_report(name: str) -> None:
    task, _ = example_task(name)
    fields = task.summary_fields()
    _require(fields and all(len(field) == 3 for field in fields), name, "summary_fields: (key, label, format)")
    _require(set(task.cross_validation_scores({})) >= set(task.scored_metrics()), name, "cross-validation scores")
    described = task.export_description()
    _require({"output_name", "names", "post_processing", "output"} <= set(described), name, "export_description")
    _require(described["output_name"] == task.output_name, name, "the export's output is output_name")


#: Every check of one task, in order.
CHECKS = (check_class_facts, check_training, check_predictions, check_attribution, check_report)


def check_task(name: str) -> None:
    """Run every check on the registered task ``name``; the first broken rule raises :class:`TaskContractError`."""
    check_contract_size()
    _require(name in TASKS, name, f"is not registered (known: {', '.join(TASKS)})")
    for check in CHECKS:
        check(name)
