"""RegressionTask: what standardised value outputs mean (tasks/regression.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lightning_spectra.tasks import RegressionTask, Targets

TASK = RegressionTask(Targets.values(["fat", "water"], mean=[10.0, -1.0], scale=[2.0, 0.5]))


def test_outputs_are_standardised_and_restored_to_the_targets_units() -> None:
    assert TASK.out_features == 2 and TASK.target_names == ["fat", "water"] and TASK.class_names == []
    outputs = torch.tensor([[0.0, 0.0], [1.0, -2.0]])
    values = torch.tensor([[10.0, -1.0], [12.0, -2.0]])
    assert torch.allclose(TASK.predictions(outputs)["values"], values)
    assert torch.allclose(TASK.exported(outputs), values)
    assert float(TASK.loss(outputs, values)) == pytest.approx(0.0)
    assert float(TASK.train_metrics(outputs, values)["rmse"]) == pytest.approx(0.0)
    assert TASK.known(values) and not TASK.known(torch.tensor([[np.nan, 1.0]]))
    with pytest.raises(TypeError, match="not class probabilities"):
        TASK.probabilities(outputs)


def test_huber_is_chosen_by_the_model_settings() -> None:
    one = Targets.values(["c"])
    huber = RegressionTask.build(one, regression_loss="huber", huber_delta=1.0, unused_setting=3)
    outputs, target = torch.zeros(2, 1), torch.tensor([[0.0], [10.0]])
    assert float(huber.loss(outputs, target)) == pytest.approx((10 - 0.5) / 2)
    assert float(RegressionTask.build(one).loss(outputs, target)) == pytest.approx(50.0)


def test_a_map_explains_a_predicted_value_in_its_units() -> None:
    outputs = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    assert TASK.attribution_score(outputs, torch.tensor([0, 1])).tolist() == [12.0, 0.0]
    assert TASK.default_attribution_target(outputs).tolist() == [0, 0]
    assert TASK.labelled_attribution_target(torch.tensor([[3.0, 1.0], [4.0, 2.0]]), lambda: outputs).tolist() == [0, 0]
    assert torch.equal(
        TASK.deletion_score(outputs, torch.tensor([0, 1])), TASK.attribution_score(outputs, torch.tensor([0, 1]))
    )
    assert TASK.deletion_score_name == "value"
    assert float(TASK.importance_objective(outputs)) == pytest.approx(11.0)  # mean predicted fat


def test_the_mean_spectra_under_a_map_are_per_range_of_the_first_target() -> None:
    index, names = TASK.reference_groups(np.array([[8.0, 0.0], [10.0, 0.0], [14.0, 0.0]]))
    assert index.tolist() == [0, 1, 2] and len(names) == 3 and all("fat" in n for n in names)


def test_summary_lines_and_the_baseline_comparison() -> None:
    keys = [key for key, _, _ in TASK.summary_fields()]
    assert keys[:2] == ["versus_baselines", "rmse"] and "accuracy" not in keys
    summary = {
        "model": "CNN",
        "rmse": 0.52,
        "pls_rmse": 2.25,
        "classical_best_method": "kernel ridge",
        "classical_best_rmse": 0.59,
    }
    assert TASK.versus_baselines(summary) == {
        "versus_baselines": "CNN 0.52 | best classical 0.59 (kernel ridge) | PLS 2.25"
    }
    assert TASK.versus_baselines({"rmse": 1.0}) == {}


def test_a_regressor_reads_spectra_as_prepared_and_trains_in_float32() -> None:
    assert TASK.input_normalization("layer") == "none"
    assert not RegressionTask.trains_in_bf16 and not RegressionTask.combines_parts_by_vote


def test_an_earlier_releases_hyperparameters_give_its_targets() -> None:
    earlier = {"task": "regression", "num_classes": 0, "class_names": [], "target_names": ["amount"]}
    assert RegressionTask.earlier_targets({**earlier, "target_mean": [4.5], "target_scale": [3.0]}) == Targets.values(
        ["amount"], [4.5], [3.0]
    )
    assert RegressionTask.earlier_targets({"task": "regression"}).names == ("target",)
