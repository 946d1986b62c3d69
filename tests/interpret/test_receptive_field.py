"""Receptive fields by gradient probe, and the known-window test: a map is drawn where the model reads."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lightning_spectra.interpret import grad_cam, upsample
from lightning_spectra.interpret.receptive_field import (
    ReceptiveFields,
    receptive_fields,
    upsample_by_receptive_field,
)
from lightning_spectra.models import CNN, ConvSCAttention, MSResNet


def test_cnn_and_conv_sc_fields_match_the_analytic_ones() -> None:
    # CNN: conv k5/s2, pool 2, conv k3/s2, pool 2, conv k3/s1, pool 2 -> position m reads 32 m .. 32 m + 70.
    fields = receptive_fields(CNN(spectrum_length=1024), 1024)
    m = torch.arange(len(fields.centres))
    assert torch.equal(fields.first, 32 * m) and torch.equal(fields.last, 32 * m + 70)
    torch.testing.assert_close(fields.centres, (32 * m + 35).double())
    assert int((~fields.seen).sum()) == 1024 - (32 * m[-1] + 71)  # the tail the unpadded stack drops
    # Conv SC encoder: conv k5/s2, pool 2, conv k5/s1, pool 2 -> 8 m .. 8 m + 26.
    fields = receptive_fields(ConvSCAttention(spectrum_length=512, embed_dim=16, dim_feedforward=16), 512)
    m = torch.arange(len(fields.centres))
    assert torch.equal(fields.first, 8 * m) and torch.equal(fields.last, 8 * m + 26)


class ReadsOnePosition(nn.Module):
    """A model's layers up to its attribution layer, then a head that reads only position ``position`` of it:
    a model that reads one known window of the spectrum (that position's receptive field)."""

    def __init__(self, model: nn.Module, position: int, channels: int) -> None:
        super().__init__()
        self.model, self.position = model, position
        self.attribution_layer = f"model.{model.attribution_layer}"
        self.weight = nn.Parameter(torch.linspace(0.5, 1.5, channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        captured = []
        handle = self.model.get_submodule(self.model.attribution_layer).register_forward_hook(
            lambda _m, _i, out: captured.append(out)
        )
        try:
            self.model(x)
        finally:
            handle.remove()
        return (captured[0][:, :, self.position] * self.weight).sum(dim=1, keepdim=True)


def read_window(model: nn.Module, length: int) -> tuple[int, int]:
    """The input points the model's logit depends on, by plain autograd (input LayerNorm switched off: it
    couples every point to every other through the mean, which says nothing about position)."""
    if hasattr(model.model, "input_norm"):
        model.model.input_norm = nn.Identity()
    x = torch.randn(4, length, requires_grad=True)
    model(x).sum().backward()
    support = (x.grad.abs().sum(dim=0) > 0).nonzero()[:, 0]
    return int(support[0]), int(support[-1])


ARCHITECTURES = {
    "CNN": (lambda n: CNN(spectrum_length=n), 1024, 4),
    "MSResNet": (lambda n: MSResNet(spectrum_length=n), 1024, 8),
    "ConvSC": (lambda n: ConvSCAttention(spectrum_length=n, embed_dim=16, dim_feedforward=16), 1024, 8),
}


@pytest.mark.parametrize("name", list(ARCHITECTURES))
@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_map_is_centred_on_the_window_the_model_reads(name: str, where: str) -> None:
    build, length, channels = ARCHITECTURES[name]
    torch.manual_seed(0)
    base = build(length).eval()
    positions = len(receptive_fields(base, length).centres)
    position = {"first": 0, "middle": positions // 2, "last": positions - 1}[where]
    model = ReadsOnePosition(base, position, channels).eval()
    lo, hi = read_window(model, length)
    x = torch.randn(6, length)
    result = grad_cam(model, x, target=1)
    assert bool((result.layer_maps[:, position] != 0).any())
    others = torch.cat([result.layer_maps[:, :position], result.layer_maps[:, position + 1 :]], dim=1)
    assert bool((others == 0).all())  # the head reads one position only
    window_centre = (lo + hi) / 2
    top, bottom = peak_interval(result.maps)
    # Only this position sees the points between the window's centre and the spectrum's edge, so at the first
    # and last position the map keeps its value out to that edge: a plateau that must end at the centre.
    assert top - 2 <= window_centre <= bottom + 2, f"map peaks at {top}..{bottom}, the model reads {lo}..{hi}"
    if where == "middle":
        assert bottom - top <= 2
    assert not result.unseen[lo : hi + 1].any()
    if where == "last":  # the equal-cell interpolation this replaced misses the window's centre by far there
        old_top, old_bottom = peak_interval(upsample(result.layer_maps, length))
        assert min(abs(old_top - window_centre), abs(old_bottom - window_centre)) > 10


def peak_interval(maps: torch.Tensor) -> tuple[int, int]:
    """First and last point where the summed absolute map is at its maximum."""
    total = maps.abs().sum(dim=0)
    at_max = (total >= total.max() * (1 - 1e-6)).nonzero()[:, 0]
    return int(at_max[0]), int(at_max[-1])


def test_identity_fields_and_unseen_points() -> None:
    maps = torch.randn(2, 7)
    same, unseen = upsample_by_receptive_field(maps, ReceptiveFields.identity(7))
    assert torch.equal(same, maps) and not unseen.any()
    fields = ReceptiveFields(torch.tensor([2.0, 6.0]), torch.tensor([0, 4]), torch.tensor([4, 8]), 12)
    values, unseen = upsample_by_receptive_field(torch.tensor([[1.0, 3.0]]), fields)
    expected = torch.tensor([[1.0, 1.0, 1.0, 1.5, 2.0, 2.5, 3.0, 3.0, 3.0, 0.0, 0.0, 0.0]])
    torch.testing.assert_close(values, expected)
    assert unseen.tolist() == [False] * 9 + [True] * 3


class PairMax(nn.Module):
    """Max over non-overlapping pairs written by hand: a layer that halves the length and says nothing of it."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[..., : x.shape[-1] // 2 * 2].unflatten(-1, (-1, 2)).amax(-1)


class DeclaredPairMax(PairMax):
    kernel_size = stride = 2


class PoolThenConv(nn.Module):
    attribution_layer = "conv"

    def __init__(self, pool: nn.Module) -> None:
        super().__init__()
        self.pool, self.conv = pool, nn.Conv1d(1, 3, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(self.pool(x.unsqueeze(1))).sum(dim=(1, 2), keepdim=True)[:, 0]


def test_a_layer_that_changes_the_length_must_declare_its_window() -> None:
    with pytest.raises(ValueError, match=r"layer 'pool' \(PairMax\) changes the length from 64 to 32 .*declares no"):
        receptive_fields(PoolThenConv(PairMax()), 64)
    # Declared, the pair max is probed as the mean of its pair: position m reads 2 m .. 2 m + 5 (conv k3 on pairs),
    # whatever the probe spectra; its own gradient would reach one point of each pair only.
    fields = receptive_fields(PoolThenConv(DeclaredPairMax()), 64)
    m = torch.arange(30)
    assert torch.equal(fields.first, 2 * m) and torch.equal(fields.last, 2 * m + 5)


def test_a_declared_window_must_give_the_layer_s_length() -> None:
    class WrongWindow(PairMax):
        kernel_size, stride = 2, 1

    with pytest.raises(ValueError, match=r"WrongWindow declares the window \(2, 1, 0, 1\)"):
        receptive_fields(PoolThenConv(WrongWindow()), 64)
