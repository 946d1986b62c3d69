"""The Task contract, checked on every registered task (in the spirit of scikit-learn's ``check_estimator``).

A task passes when the rest of the package can use it without knowing which task it is: its labels encode, its
loss trains, its metric reports the names it declares, its predictions become CSV columns (from a torch model's
outputs and from an exported file's metadata alike), its maps have a score and a target, and its report and export
descriptions are complete. A new task (docs/tasks.md) is checked here without editing this file.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch

from lightning_spectra.data.formats import SpectraSource
from lightning_spectra.data.targets import ENCODERS, TargetEncoder
from lightning_spectra.tasks import TASKS, Targets, Task, task_for, task_from_export

SPECTRA, LENGTH = 12, 8


def test_the_contract_is_small() -> None:
    """At most ten members every task must define: everything else has a default."""
    assert inspect.isabstract(Task) and 0 < len(Task.__abstractmethods__) <= 10


def test_a_task_missing_an_abstract_member_cannot_be_built() -> None:
    class Half(Task):  # no name: not registered
        def loss(self, outputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
            return outputs.sum()

    with pytest.raises(TypeError, match="abstract"):
        Half(Targets())
    assert "Half" not in {cls.__name__ for cls in TASKS.values()}


def trained_task(name: str) -> tuple[Task, torch.Tensor]:
    """The task ``name`` on its encoder's example labels, and those labels encoded as a model's targets."""
    encoder_class = ENCODERS[name]
    labels = list(encoder_class.example_labels)
    labels = (labels * SPECTRA)[:SPECTRA]
    source = SpectraSource(
        path="examples.csv",
        spectra=np.random.default_rng(0).normal(size=(SPECTRA, LENGTH)),
        labels=labels,
        names=[f"s{i}" for i in range(SPECTRA)],
        where=[f"examples.csv, row {i + 2}" for i in range(SPECTRA)],
    )
    encoder = TargetEncoder.fit(source, name)
    encoded = encoder.encode(source, "train")
    encoder = encoder.standardised_on(encoded, "examples.csv")
    targets = Targets(name, tuple(encoder.class_names or encoder.target_names), *statistics(encoder))
    return task_for(targets), torch.as_tensor(encoder.encode(source, "train"))


def statistics(encoder: TargetEncoder) -> tuple:
    if encoder.mean is None:
        return None, None
    return tuple(np.ravel(encoder.mean).tolist()), tuple(np.ravel(encoder.scale).tolist())


@pytest.fixture(params=sorted(TASKS))
def task_name(request: pytest.FixtureRequest) -> str:
    return request.param


def test_class_facts(task_name: str) -> None:
    task = TASKS[task_name]
    assert task.name == task_name and task_name in ENCODERS, "every task has the datamodules' encoder of its labels"
    assert ENCODERS[task_name].task == task_name
    assert task.metrics and task.metrics[task.score_key] in ("max", "min"), "the score is a metric with a direction"
    assert task.series_score_key is None or task.metrics[task.series_score_key] in ("max", "min")
    assert all(direction in ("max", "min", None) for direction in task.metrics.values())
    assert isinstance(task.output_name, str) and task.output_name


def test_training_and_evaluation(task_name: str) -> None:
    task, target = trained_task(task_name)
    assert isinstance(task.out_features, int) and task.out_features >= 1
    outputs = torch.randn(SPECTRA, task.out_features, requires_grad=True)
    loss = task.loss(outputs, target)
    assert loss.ndim == 0 and torch.isfinite(loss)
    loss.backward()
    assert outputs.grad is not None and bool(outputs.grad.abs().sum() > 0), "the loss trains the outputs"
    assert task.known(target)
    metric = task.evaluation_metric()
    task.update(metric, outputs.detach(), target, torch.arange(SPECTRA))
    computed = metric.compute()
    assert task.score_key in computed, f"the split reports the score {task.score_key!r}"
    undeclared = {name.split("[")[0] for name in computed} - set(task.metrics)
    assert not undeclared, f"metrics {sorted(undeclared)} are logged but not declared in {task.__name__}.metrics"
    for name, value in task.train_metrics(outputs.detach(), target).items():
        assert torch.as_tensor(value).ndim == 0, name


def test_predictions_become_columns_alike_from_torch_and_from_an_export(task_name: str) -> None:
    task, _ = trained_task(task_name)
    outputs = torch.randn(SPECTRA, task.out_features)
    exported = task.exported(outputs)
    assert exported.shape[0] == SPECTRA
    assert torch.equal(task.predictions(outputs)[task.output_name], exported)
    columns = task.prediction_columns(exported.double().numpy())
    assert columns and all(
        len(cells) == SPECTRA and all(isinstance(c, str) for c in cells) for cells in columns.values()
    )
    assert isinstance(task.headline(columns), str)
    metadata = {
        "targets": __import__("json").dumps(task.targets.as_dict()),
        "task_state": __import__("json").dumps({k: v.tolist() for k, v in task.state_dict().items()}),
    }
    assert task_from_export(metadata).prediction_columns(exported.double().numpy()) == columns


def test_attribution(task_name: str) -> None:
    task, target = trained_task(task_name)
    outputs = torch.randn(SPECTRA, task.out_features, requires_grad=True)
    explained = task.default_attribution_target(outputs.detach())
    assert explained.shape == (SPECTRA,) and not explained.dtype.is_floating_point
    score = task.attribution_score(outputs, explained)
    assert score.shape == (SPECTRA,)
    (gradient,) = torch.autograd.grad(score.sum(), outputs)
    assert bool(gradient.abs().sum() > 0), "the explained score depends on the outputs"
    assert task.deletion_score(outputs, explained).shape == (SPECTRA,)
    assert task.importance_objective(outputs, task.importance_targets(target, lambda: outputs.detach())).ndim == 0
    chosen = task.labelled_attribution_target(target, lambda: outputs.detach())
    groups = task.attribution_groups(outputs.detach(), chosen, target, "label", 3)
    assert len(groups.index) == SPECTRA and len(groups.titles) == SPECTRA and groups.names
    index, names = task.reference_groups(target.numpy())
    assert len(index) == SPECTRA and names


def test_report_and_export(task_name: str) -> None:
    task, _ = trained_task(task_name)
    fields = task.summary_fields()
    assert fields and all(len(field) == 3 for field in fields)
    assert set(task.cross_validation_scores({})) >= set(task.scored_metrics())
    described = task.export_description()
    assert {"output_name", "names", "post_processing", "output"} <= set(described)
    assert described["output_name"] == task.output_name
