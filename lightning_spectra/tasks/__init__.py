"""What a model's outputs mean: the task (classification or regression) decides the output size, loss, metrics,
predictions, attribution target, summary fields and classical baselines. The data describe their targets as
:class:`~lightning_spectra.tasks.base.Targets`; :func:`task_for` picks the task class by its ``kind``."""

from typing import Any

from lightning_spectra.tasks.base import Targets, Task
from lightning_spectra.tasks.classification import ClassificationTask
from lightning_spectra.tasks.regression import RegressionTask

#: Every task by the name its :attr:`Targets.kind` and the datamodules' ``task`` option use.
TASKS: dict[str, type[Task]] = {task.name: task for task in (ClassificationTask, RegressionTask)}
#: The task of a datamodule whose config leaves ``task`` unset.
DEFAULT_TASK = ClassificationTask.name


def task_class(kind: str) -> type[Task]:
    """The task class of ``kind``; another name is a one-line error listing the known ones."""
    if kind not in TASKS:
        raise ValueError(f"task must be one of {', '.join(map(repr, TASKS))}, got {kind!r}")
    return TASKS[kind]


def task_for(targets: Targets, **settings: Any) -> Task:
    """The task the data's ``targets`` call for, with the model's task ``settings`` (``regression_loss``...)."""
    return task_class(targets.kind).build(targets, **settings)


__all__ = ["DEFAULT_TASK", "TASKS", "ClassificationTask", "RegressionTask", "Targets", "Task", "task_class", "task_for"]
