"""Spectral ranges: exactly the points inside the windows, on any axis order; one line for windows that cannot work."""

from __future__ import annotations

import numpy as np
import pytest

from lightning_spectra.data.options import plain
from lightning_spectra.data.ranges import SpectralRanges
from lightning_spectra.errors import SpectraConfigError

RISING = np.arange(1000.0, 2001.0, 50.0)  # 1000, 1050, ..., 2000: window edges fall on points


def brute_force(x: np.ndarray, keep: list | None, drop: list | None) -> list[float]:
    """The points of ``x`` inside any kept window (all when none) and inside no dropped one, in axis order."""
    inside = lambda v, windows: any(min(w) <= v <= max(w) for w in windows)  # noqa: E731
    return [v for v in x if (keep is None or inside(v, keep)) and not (drop and inside(v, drop))]


@pytest.mark.parametrize("axis", [RISING, RISING[::-1]], ids=["rising", "falling"])
@pytest.mark.parametrize(
    ("keep", "drop"),
    [
        ([[1100, 1400], [1600, 1800]], None),
        ([[1400, 1100]], None),  # written high to low
        (None, [[1380, 1450]]),
        ([[1000, 1500]], [[1200, 1250]]),
        ([[1300, 1300], [1950, 2100]], None),  # a window of one point; one reaching past the axis's end
    ],
)
def test_the_selection_is_exactly_the_points_inside_the_windows_edges_included(
    axis: np.ndarray, keep: list | None, drop: list | None
) -> None:
    indices = SpectralRanges(keep=keep, drop=drop).indices(axis)
    assert axis[indices].tolist() == brute_force(axis, keep, drop)
    assert np.all(np.diff(indices) > 0)  # the raw axis's order, rising or falling


def test_keep_1100_to_1400_keeps_both_edges_and_nothing_outside() -> None:
    assert RISING[SpectralRanges(keep=[[1100, 1400]]).indices(RISING)].tolist() == [
        1100,
        1150,
        1200,
        1250,
        1300,
        1350,
        1400,
    ]


def test_no_windows_select_nothing_and_cut_nothing() -> None:
    assert not SpectralRanges().active
    assert SpectralRanges().indices(RISING) is None and SpectralRanges().selection(None) is None


def test_a_selection_cuts_spectra_and_axis_alike() -> None:
    spectra = np.arange(2 * len(RISING), dtype=float).reshape(2, -1)
    selection = SpectralRanges(drop=[[1050, 1950]]).selection(RISING)
    assert selection.x.tolist() == [1000, 2000]
    assert selection(spectra).tolist() == [[0, len(RISING) - 1], [len(RISING), 2 * len(RISING) - 1]]
    np.testing.assert_array_equal(selection.raw_x, RISING)


def test_windows_are_saved_as_plain_float_lists() -> None:
    ranges = SpectralRanges(keep=[(1400, 1100)], drop=[[1200, 1250]])
    assert plain(ranges) == {"keep": [[1100.0, 1400.0]], "drop": [[1200.0, 1250.0]]}
    assert SpectralRanges(**plain(ranges)) == ranges


@pytest.mark.parametrize(
    ("ranges", "x", "message"),
    [
        (dict(keep=[[2500, 2600]]), RISING, r"ranges\.keep: window \[2500, 2600\] holds no point of the x axis of "),
        (dict(drop=[[10, 20]]), RISING, r"ranges\.drop: window \[10, 20\] holds no point"),
        (
            dict(keep=[[1000, 1100]], drop=[[900, 1200]]),
            RISING,
            r"ranges: keep .* and drop .* leave no point of 1000\.\.2000",
        ),
        (dict(keep=[[1000, 1100]]), None, r"ranges\.keep: the data has no x axis"),
        (dict(drop=[[1000, 1100]]), None, r"ranges\.drop: the data has no x axis"),
    ],
)
def test_windows_that_cannot_work_on_the_axis_are_one_line_naming_the_option(
    ranges: dict, x: np.ndarray | None, message: str
) -> None:
    with pytest.raises(SpectraConfigError, match=message) as info:
        SpectralRanges(**ranges).indices(x)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("ranges", "message"),
    [
        (dict(keep=[[1000]]), r"ranges\.keep: each window is two numbers \[low, high\], got \[1000\]"),
        (dict(drop=[[1, 2, 3]]), r"ranges\.drop: each window is two numbers"),
        (dict(keep=[["a", 2]]), r"ranges\.keep: each window is two numbers"),
        (dict(keep=[[1, float("nan")]]), r"ranges\.keep: window .* is not two finite numbers"),
        (dict(keep=[]), r"ranges\.keep must be a non-empty list"),
        (dict(drop="1000-1100"), r"ranges\.drop must be a non-empty list"),
    ],
)
def test_malformed_windows_are_refused_when_the_group_is_made(ranges: dict, message: str) -> None:
    with pytest.raises(SpectraConfigError, match=message):
        SpectralRanges(**ranges)
