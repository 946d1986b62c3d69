"""Multi-label scores (metrics/multilabel.py): per-label precision, recall and F1 against scikit-learn, subset
accuracy, Hamming loss, the split metric, and the per-label thresholds chosen on validation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import f1_score, hamming_loss, precision_score, recall_score

from lightning_spectra.metrics.multilabel import (
    DEFAULT_THRESHOLD,
    MultiLabelMetrics,
    choose_thresholds,
    claimed,
    multilabel_scores,
)


def test_scores_match_scikit_learn() -> None:
    rng = np.random.default_rng(0)
    reference = rng.integers(0, 2, (50, 4))
    predicted = np.where(rng.random((50, 4)) < 0.8, reference, 1 - reference)
    scores = multilabel_scores(torch.as_tensor(predicted), torch.as_tensor(reference))
    kw = {"average": None, "zero_division": 0}
    np.testing.assert_allclose(scores.precision, precision_score(reference, predicted, **kw))
    np.testing.assert_allclose(scores.recall, recall_score(reference, predicted, **kw))
    np.testing.assert_allclose(scores.f1, f1_score(reference, predicted, **kw))
    assert scores.macro_f1 == pytest.approx(f1_score(reference, predicted, average="macro"))
    assert scores.hamming_loss == pytest.approx(hamming_loss(reference, predicted))
    assert scores.subset_accuracy == pytest.approx((predicted == reference).all(axis=1).mean())
    assert scores.support.tolist() == reference.sum(axis=0).tolist() and scores.spectra == 50


def test_unknown_rows_are_left_out_and_an_unused_label_does_not_lower_macro_f1() -> None:
    predicted = torch.tensor([[1, 0, 0], [1, 1, 0], [0, 1, 0], [1, 1, 1]])
    reference = torch.tensor([[1, 0, 0], [1, 1, 0], [0, 1, 0], [-1, -1, -1]])
    scores = multilabel_scores(predicted, reference)
    assert scores.spectra == 3 and scores.subset_accuracy == 1.0 and scores.hamming_loss == 0.0
    assert scores.f1.tolist() == [1.0, 1.0, 0.0] and scores.macro_f1 == 1.0  # label 2: never held, never claimed
    assert multilabel_scores(predicted[3:], reference[3:]) is None


def test_summary_and_logged_names() -> None:
    scores = multilabel_scores(torch.tensor([[1, 0], [1, 1]]), torch.tensor([[1, 0], [0, 1]]))
    summary = scores.summary(["quartz", "calcite"])
    assert summary["test_f1_quartz"] == pytest.approx(2 / 3) and summary["test_f1_calcite"] == 1.0
    assert summary["test_precision_quartz"] == 0.5 and summary["test_recall_quartz"] == 1.0
    assert summary["test_support_calcite"] == 1 and summary["test_subset_accuracy"] == 0.5
    assert summary["test_hamming_loss"] == 0.25 and summary["test_macro_f1"] == pytest.approx(5 / 6)
    logged = scores.metrics(["quartz", "calcite"])
    assert set(logged) == {"subset_accuracy", "macro_f1", "hamming_loss", "f1[quartz]", "f1[calcite]"}


def test_claimed_at_or_above_each_labels_threshold() -> None:
    p = torch.tensor([[0.5, 0.5, 0.2], [0.49, 0.7, 0.21]])
    assert claimed(p).tolist() == [[1, 1, 0], [0, 1, 0]]
    assert claimed(p, torch.tensor([0.4, 0.8, 0.21])).tolist() == [[1, 0, 0], [1, 0, 1]]


def test_thresholds_maximise_each_labels_f1() -> None:
    """Label 0's probabilities run low (a weak phase): 0.5 misses it, its chosen threshold finds it."""
    p = torch.tensor([[0.30, 0.9], [0.10, 0.2], [0.35, 0.8], [0.15, 0.6], [0.40, 0.1]])
    r = torch.tensor([[1, 1], [0, 0], [1, 1], [0, 0], [1, 0]])
    thresholds = choose_thresholds(p, r)
    assert thresholds[0] == pytest.approx(0.3)  # F1 1 above 0.15 up to 0.30: of 0.2, 0.25, 0.3 the closest to 0.5
    assert thresholds[1] == pytest.approx(0.65)  # F1 1 between 0.6 and 0.8: 0.65 is the closest to 0.5


def test_ties_go_to_the_threshold_closest_to_a_half_and_absent_labels_keep_it() -> None:
    p = torch.tensor([[0.9, 0.3, 0.7], [0.1, 0.2, 0.3], [-1.0, -1.0, -1.0]]).abs()
    r = torch.tensor([[1, 0, 1], [0, 0, 0], [-1, -1, -1]])
    thresholds = choose_thresholds(p, r)
    # label 0: F1 1 from 0.15 to 0.9, 0.5 among them; label 1: held by no spectrum; label 2: 0.35..0.7 holds 0.5
    assert thresholds.tolist() == [DEFAULT_THRESHOLD, DEFAULT_THRESHOLD, DEFAULT_THRESHOLD]
    # an equal distance either side of 0.5 goes to the higher threshold (fewer labels claimed)
    assert choose_thresholds(torch.tensor([[0.6], [0.4]]), torch.tensor([[1], [0]]), grid=(0.45, 0.55)).item() == 0.55
    assert choose_thresholds(torch.zeros(0, 2), torch.zeros(0, 2, dtype=torch.long)).tolist() == [0.5, 0.5]


def test_split_metric_scores_at_the_given_thresholds_and_keeps_the_outputs() -> None:
    metric = MultiLabelMetrics(["a", "b"])
    p = torch.tensor([[0.3, 0.9], [0.1, 0.2], [0.6, 0.6]])
    r = torch.tensor([[1, 1], [0, 0], [-1, -1]])
    metric.update(p[:2], r[:2])
    metric.update(p[2:], r[2:])
    at_half = metric.compute()
    assert at_half["subset_accuracy"] == 0.5 and at_half["f1[a]"] == 0.0 and at_half["f1[b]"] == 1.0
    probabilities, reference = metric.last_outputs
    assert probabilities.shape == (2, 2) and reference.tolist() == [[1, 1], [0, 0]]  # the unknown row left out
    metric.reset()
    metric.update(p, r, thresholds=torch.tensor([0.25, 0.5]))
    tuned = metric.compute()
    assert tuned["subset_accuracy"] == 1.0 and tuned["macro_f1"] == 1.0 and tuned["hamming_loss"] == 0.0
