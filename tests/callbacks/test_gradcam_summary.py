"""The numbers of a mapped split for summary.json."""

from __future__ import annotations

import pytest
from mapped_splits import small_mapped_split

from lightning_spectra.callbacks.gradcam_summary import gradcam_summary


def test_peaks_on_seen_points_change_misclassified_and_deletion() -> None:
    summary = gradcam_summary(small_mapped_split(), None, "other_class_mean")
    assert summary["gradcam_test_peak_x"] == {"low": 14.0, "high": 12.0}  # not the unseen 15.5
    assert summary["gradcam_test_unseen_points"] == 2 and summary["gradcam_test_layer_positions"] == 3
    assert summary["gradcam_test_predicted_change"] == 2 and summary["gradcam_test_misclassified"] == 1
    assert summary["gradcam_test_deletion_gap"] == pytest.approx(0.1)
    assert summary["gradcam_test_deletion_reference"] == "other_class_mean"
    assert not any("ground_truth" in key for key in summary)


def test_ground_truth_share_where_the_data_knows_the_windows() -> None:
    summary = gradcam_summary(small_mapped_split(curves=False), [(11.9, 12.1)], "background")
    # class 1's maps: 2 at 2 theta 12 and 5 at 15.5 (unseen, still attribution); class 0's: 1 at 14
    assert summary["gradcam_test_ground_truth_share"] == pytest.approx(4 / (2 + 4 + 10), abs=1e-6)  # rounded
    assert summary["gradcam_test_ground_truth_chance"] == pytest.approx(1 / 12, abs=1e-6)
    assert "gradcam_test_deletion_reference" not in summary


def test_unordered_data_report_no_predicted_change() -> None:
    summary = gradcam_summary(small_mapped_split(), None, "other_class_mean", ordered=False)
    assert "gradcam_test_predicted_change" not in summary and summary["gradcam_test_misclassified"] == 1
