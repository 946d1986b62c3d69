"""The Task contract (lightning_spectra/data/task_contract.py) on every registered task, and that it catches a
task that breaks it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lightning_spectra.data import task_contract
from lightning_spectra.data.task_contract import CHECKS, TaskContractError, check_task
from lightning_spectra.tasks import TASKS, RegressionTask, Targets, Task


def test_a_task_missing_an_abstract_member_cannot_be_built() -> None:
    class Half(Task):  # no name: not registered
        def loss(self, outputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
            return outputs.sum()

    with pytest.raises(TypeError, match="abstract"):
        Half(Targets())
    assert "Half" not in {cls.__name__ for cls in TASKS.values()}
    task_contract.check_contract_size()


@pytest.mark.parametrize("name", sorted(TASKS))
def test_every_registered_task_keeps_the_contract(name: str) -> None:
    check_task(name)


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_each_check_catches_a_task_that_breaks_it(monkeypatch: pytest.MonkeyPatch, check) -> None:
    """A regressor made wrong in the way each check looks for fails that check."""
    breakages = {
        "check_class_facts": ("metrics", {"mae": "min"}),  # its score rmse has no direction any more
        "check_training": ("metrics", {"rmse": "min", "r2": "max", "bias": None, "rpd": "max"}),  # mae undeclared
        "check_predictions": ("prediction_columns", lambda self, exported: {"predicted": ["1"]}),
        "check_attribution": ("attribution_score", lambda self, outputs, target: outputs[:, 0] * 0),
        "check_report": ("export_description", lambda self: {"output_name": "values"}),
    }
    attribute, broken = breakages[check.__name__]
    monkeypatch.setattr(RegressionTask, attribute, broken)
    with pytest.raises(TaskContractError, match="task 'regression'"):
        check("regression")


def test_the_checks_start_from_the_encoders_example_labels() -> None:
    task, target = task_contract.example_task("regression")
    assert task.target_names and np.isfinite(target.numpy()).all()
