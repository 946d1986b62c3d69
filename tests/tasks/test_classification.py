"""ClassificationTask: what class logits mean (tasks/classification.py)."""

from __future__ import annotations

import pytest
import torch

from lightning_spectra.tasks import ClassificationTask, Targets

TWO, THREE = ClassificationTask(Targets.classes(2)), ClassificationTask(Targets.classes(["a", "b", "c"]))


def test_two_classes_share_one_logit_and_more_get_one_each() -> None:
    assert TWO.out_features == 1 and THREE.out_features == 3
    assert THREE.class_names == ["a", "b", "c"] and THREE.target_names == []
    with pytest.raises(ValueError, match="at least 2"):
        ClassificationTask(Targets.classes(["only"]))


def test_predictions_are_probabilities_and_labels_follow_the_paper() -> None:
    z = torch.tensor([[2.0], [-1.0]])
    p = TWO.predictions(z)["probabilities"]
    assert torch.allclose(p[:, 1], torch.sigmoid(z[:, 0])) and torch.allclose(p.sum(1), torch.ones(2))
    assert TWO.predict_labels(z).tolist() == [1, 0]  # sigmoid(z) > 0.5
    assert torch.equal(TWO.exported(z), p)
    logits = torch.tensor([[0.0, 3.0, 1.0]])
    assert THREE.predict_labels(logits).tolist() == [1]
    assert torch.allclose(THREE.probabilities(logits), torch.softmax(logits, 1))


def test_loss_is_bce_on_one_logit_and_cross_entropy_on_several() -> None:
    z, y = torch.tensor([[2.0], [-1.0]]), torch.tensor([1, 1])
    assert float(TWO.loss(z, y)) == pytest.approx(float(torch.nn.functional.softplus(-z).mean()))
    logits, labels = torch.tensor([[0.0, 3.0, 1.0]]), torch.tensor([2])
    assert float(THREE.loss(logits, labels)) == pytest.approx(float(torch.nn.functional.cross_entropy(logits, labels)))
    assert THREE.train_metrics(logits, torch.tensor([1]))["accuracy"] == 1.0
    assert THREE.known(torch.tensor([0, 2])) and not THREE.known(torch.tensor([0, -1]))


def test_a_map_explains_the_class_score_and_defaults_to_the_predicted_class() -> None:
    z = torch.tensor([[2.0], [-1.0]])
    assert TWO.attribution_score(z, torch.tensor([1, 0])).tolist() == [2.0, 1.0]  # +z for class 1, -z for 0
    assert TWO.default_attribution_target(z).tolist() == [1, 0]
    probability = TWO.deletion_score(z, torch.tensor([1, 1]))
    assert torch.allclose(probability, torch.sigmoid(z[:, 0])) and TWO.deletion_score_name == "probability"
    logits = torch.tensor([[0.0, 3.0, 1.0], [5.0, 0.0, 0.0]])
    assert THREE.attribution_score(logits, torch.tensor([2, 0])).tolist() == [1.0, 5.0]
    # unlabelled spectra (-1) are explained by their predicted class, labelled ones by their label
    explained = THREE.labelled_attribution_target(torch.tensor([2, -1]), lambda: logits)
    assert explained.tolist() == [2, 0]
    assert THREE.importance_targets(torch.tensor([2, -1]), lambda: logits).tolist() == [1, 0]
    assert THREE.importance_targets(torch.tensor([2, 1]), lambda: logits).tolist() == [2, 1]


def test_the_mean_spectra_under_a_map_are_per_class() -> None:
    index, names = THREE.reference_groups(torch.tensor([0, 2]).numpy())
    assert index.tolist() == [0, 2] and names == ["a", "b", "c"]


def test_summary_lines_and_the_baseline_comparison() -> None:
    keys = [key for key, _, _ in TWO.summary_fields()]
    assert keys[:4] == ["confidence", "boundary", "true_boundary", "accuracy"] and "rmse" not in keys
    summary = {
        "model": "CNN",
        "accuracy": 0.967,
        "linear_baseline_accuracy": 0.975,
        "classical_best_method": "SVC",
        "classical_best_accuracy": 0.983,
    }
    assert TWO.versus_baselines(summary) == {
        "versus_baseline": "CNN 96.7% | best classical 98.3% (SVC) | linear baseline 97.5%"
    }
    assert TWO.versus_baselines({"accuracy": 0.9}) == {}


def test_an_earlier_releases_hyperparameters_give_its_classes() -> None:
    assert ClassificationTask.earlier_targets({"num_classes": 3}) == Targets.classes(3)
    assert ClassificationTask.earlier_targets({"num_classes": 2, "class_names": ["x", "y"]}).names == ("x", "y")
