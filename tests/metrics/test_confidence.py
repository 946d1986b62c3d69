import pytest
import torch

from lightning_spectra.metrics import SeriesConfidence, series_boundary


def labels(text: str) -> torch.Tensor:
    return torch.tensor([int(c) for c in text])


@pytest.mark.parametrize(
    ("series", "confidence", "boundary"),
    [
        ("0000011111", 1.0, 4),  # one clean switch
        ("0001011111", 1 - 2 / 10, 2),  # stray spectra: ambiguous region (2, 5) holds 3 and 4
        ("0000000000", 0.5, 9),  # all class 0: boundary not found
        ("1111111111", 0.5, 0),  # all class 1
        ("0101010101", 0.0, 0),  # no clean run at either end
        ("1000011111", 1 - 4 / 10, 0),  # leading run has length zero
        ("0000011110", 1 - 4 / 10, 4),  # no trailing run of 1s: region (4, 9)
    ],
)
def test_paper_special_cases(series: str, confidence: float, boundary: int) -> None:
    result = series_boundary(labels(series), first=0, last=1)  # the paper's fixed direction: 0 then 1
    assert result.confidence == pytest.approx(confidence)
    assert result.boundary == boundary


def test_metric_accuracy_and_distance_to_true_boundary() -> None:
    metric = SeriesConfidence()
    metric.update(labels("0001111111"), torch.arange(10), labels("0000011111"))
    out = metric.compute()
    assert out["confidence"] == 1.0
    assert out["boundary"] == 2 and out["true_boundary"] == 4 and out["boundary_error"] == -2
    assert out["accuracy"] == pytest.approx(0.8)


def test_shards_out_of_order_with_padding_duplicates_are_rebuilt_in_time_order() -> None:
    metric = SeriesConfidence()
    # Two "ranks" of an interleaved DistributedSampler; position 0 is repeated to pad the last shard.
    metric.update(labels("00111"), torch.tensor([0, 2, 4, 6, 8]))
    metric.update(labels("00110"), torch.tensor([1, 3, 5, 7, 0]))
    preds, _, index = metric.ordered()
    assert index.tolist() == list(range(9))
    assert preds.tolist() == [0, 0, 0, 0, 1, 1, 1, 1, 1]
    assert "accuracy" not in metric.compute()  # no labels given


def test_series_of_one_is_rejected() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        series_boundary(labels("0"))


def test_a_series_that_starts_in_class_1_is_scored_like_one_that_starts_in_class_0() -> None:
    forward = SeriesConfidence()
    forward.update(labels("0000011111"), torch.arange(10), labels("0000011111"))
    backward = SeriesConfidence()
    backward.update(labels("1111100000"), torch.arange(10), labels("1111100000"))
    for out in (forward.compute(), backward.compute()):
        assert out["confidence"] == 1.0 and out["boundary"] == 4 and out["true_boundary"] == 4
        assert out["accuracy"] == 1.0 and out["change_point"] == 4


def test_direction_is_read_from_predictions_when_there_are_no_labels() -> None:
    result = series_boundary(labels("2222200000"))
    assert result.confidence == 1.0 and result.boundary == 4


def test_a_fixed_class_order_is_respected() -> None:
    metric = SeriesConfidence(first=0, last=1)
    metric.update(labels("1111100000"), torch.arange(10))
    assert metric.compute()["confidence"] == 0.0  # read as 0 -> 1, the series never gets going


def test_change_point_ignores_stray_predictions() -> None:
    from lightning_spectra.metrics.confidence import change_point

    noisy = labels("0100000000111101111111")  # true change after index 9; a stray 1 early and a 0 late
    assert change_point(noisy, 0, 1) == 9
    assert series_boundary(noisy, 0, 1).boundary == 0  # the paper's boundary stops at the first stray
    assert change_point(labels("1111"), 0, 1) == -1
