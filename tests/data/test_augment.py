"""Training-batch augmentation: off by default, each change of the right kind, seeded."""

from __future__ import annotations

import pytest
import torch

from lightning_spectra.data.augment import Augmentation, shifted
from lightning_spectra.errors import SpectraDataError


def test_all_zero_is_the_identity() -> None:
    x = torch.randn(4, 50)
    assert Augmentation()(x) is x


def test_offset_and_slope_change_spectra_by_a_constant_and_a_line() -> None:
    x = torch.randn(3, 50)
    torch.manual_seed(0)
    moved = Augmentation(offset=1.0)(x) - x
    assert torch.allclose(moved, moved[:, :1].expand_as(moved)) and moved.abs().sum() > 0
    tilted = Augmentation(slope=1.0)(x) - x
    second_difference = tilted[:, 2:] - 2 * tilted[:, 1:-1] + tilted[:, :-2]
    assert torch.allclose(second_difference, torch.zeros_like(second_difference), atol=1e-5)
    assert tilted.abs().sum() > 0


def test_scale_multiplies_and_noise_is_seeded() -> None:
    x = torch.rand(3, 50) + 1
    torch.manual_seed(0)
    ratio = Augmentation(scale=0.2)(x) / x
    assert torch.allclose(ratio, ratio[:, :1].expand_as(ratio))
    torch.manual_seed(1)
    a = Augmentation(noise=0.1)(x)
    torch.manual_seed(1)
    assert torch.equal(a, Augmentation(noise=0.1)(x))


def test_shift_moves_whole_points_and_repeats_the_edge() -> None:
    x = torch.arange(6.0).unsqueeze(0).repeat(2, 1)
    out = shifted(x, torch.tensor([1, -2]))
    assert out.tolist() == [[0, 0, 1, 2, 3, 4], [2, 3, 4, 5, 5, 5]]


def test_negative_amounts_are_refused() -> None:
    with pytest.raises(SpectraDataError, match="augmentation.noise must be >= 0"):
        Augmentation(noise=-0.1)


def test_a_shift_not_shorter_than_the_spectra_is_refused() -> None:
    """A shift of the spectrum's length or more draws every point from beyond an edge: flat spectra, no word."""
    Augmentation(shift=5).check_length(6)
    with pytest.raises(SpectraDataError, match=r"^augmentation.shift 6 is not shorter than the spectra \(6 points\)"):
        Augmentation(shift=6).check_length(6)
