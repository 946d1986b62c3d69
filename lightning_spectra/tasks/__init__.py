"""What a model's outputs mean: the task (classification, regression, multi-label) decides the output size, loss,
metrics, predictions and their columns, attribution target, summary fields and classical baselines. The data
describe their targets as :class:`~lightning_spectra.tasks.base.Targets`; :func:`task_for` picks the task class by
its ``kind``. A task is one class (:class:`~lightning_spectra.tasks.base.Task`, docs/tasks.md): defining it
registers it in :data:`TASKS`.
"""

from typing import Any

from lightning_spectra.errors import SpectraConfigError
from lightning_spectra.tasks.base import TASKS, Targets, Task
from lightning_spectra.tasks.classification import ClassificationTask
from lightning_spectra.tasks.multilabel import MultiLabelTask
from lightning_spectra.tasks.regression import RegressionTask

#: The task of a datamodule whose config leaves ``task`` unset.
DEFAULT_TASK = ClassificationTask.name


def task_class(kind: str) -> type[Task]:
    """The task class of ``kind``; another name is a one-line error listing the known ones."""
    if kind not in TASKS:
        raise SpectraConfigError(f"task must be one of {', '.join(map(repr, TASKS))}, got {kind!r}")
    return TASKS[kind]


def task_for(targets: Targets, **settings: Any) -> Task:
    """The task the data's ``targets`` call for, with the model's task ``settings`` (``regression_loss``...)."""
    return task_class(targets.kind).build(targets, **settings)


def task_from_export(metadata: dict[str, str]) -> Task:
    """The task of an exported model from its file's metadata (``targets``, ``task_state``): what turns the
    file's outputs into prediction columns where no checkpoint is at hand (``watch`` on ONNX Runtime)."""
    import json

    import torch

    task = task_for(Targets.of(json.loads(metadata["targets"])))
    state = {k: torch.as_tensor(v) for k, v in json.loads(metadata.get("task_state", "{}")).items()}
    task.load_state_dict(state, strict=False)  # buffers only: a file of an earlier release has none
    return task


__all__ = [
    "DEFAULT_TASK",
    "TASKS",
    "ClassificationTask",
    "MultiLabelTask",
    "RegressionTask",
    "Targets",
    "Task",
    "task_class",
    "task_for",
    "task_from_export",
]
