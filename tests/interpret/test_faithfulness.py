"""Deletion curves and ground-truth share on a model whose evidence is known exactly."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from lightning_spectra.interpret.faithfulness import (
    deletion_curve,
    ground_truth_share,
    region_scores,
    target_probability,
)


class Window(nn.Module):
    """One logit: the sum of the spectrum over points 40..49 minus 5 (class 1 when the window is bright)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x[:, 40:50].sum(dim=1, keepdim=True) - 5.0) * 2.0


def test_attribution_order_beats_random_and_a_flipped_sign_loses() -> None:
    torch.manual_seed(0)
    x = 0.1 * torch.randn(8, 100)
    x[:, 40:50] += 1.0  # class 1 for every spectrum
    reference = torch.zeros_like(x)
    target = torch.ones(8, dtype=torch.long)
    exact = torch.zeros_like(x)
    exact[:, 40:50] = 2.0 * x[:, 40:50]  # the exact attribution of this linear model against 0
    exact[:, 70:80] = -0.5  # some evidence against elsewhere (the model ignores it)
    good = deletion_curve(Window(), x, exact, target, reference, regions=10, steps=10, random_orders=4)
    assert good.attribution[0] == pytest.approx(good.random[0])
    assert good.attribution[1] < 0.01 < good.random[1]  # the one region that matters goes first
    assert good.gap > 0.3
    flipped = deletion_curve(Window(), x, -exact, target, reference, regions=10, steps=10, random_orders=4)
    assert flipped.gap < 0  # the evidence goes last: worse than chance
    assert set(good.summary()) == {
        "attribution_area",
        "random_area",
        "gap",
        "probability_before",
        "probability_all_replaced",
    }


def test_the_curve_follows_the_caller_s_score_under_its_name() -> None:
    """A regressor's curve follows its value (the caller's score, as captum's forward_func), not a probability."""
    torch.manual_seed(0)
    x = 0.1 * torch.randn(4, 100)
    x[:, 40:50] += 1.0
    attributions = torch.zeros_like(x)
    attributions[:, 40:50] = 1.0

    def value(outputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return outputs[:, 0]

    target = torch.zeros(4, dtype=torch.long)
    curve = deletion_curve(
        Window(), x, attributions, target, torch.zeros_like(x), 10, 10, 2, score=value, score_name="value"
    )
    with torch.no_grad():
        assert curve.attribution[0] == pytest.approx(float(Window()(x).mean()), rel=1e-5)
    assert curve.attribution[1] == pytest.approx(-10.0, abs=1e-4)  # the window replaced: (0 - 5) * 2
    assert {"value_before", "value_all_replaced"} <= set(curve.summary())


def test_target_probability_and_region_scores() -> None:
    logits = torch.tensor([[2.0], [-1.0]])
    torch.testing.assert_close(target_probability(logits, torch.tensor([1, 1])), torch.sigmoid(logits[:, 0]))
    torch.testing.assert_close(target_probability(logits, torch.tensor([0, 0])), torch.sigmoid(-logits[:, 0]))
    three = torch.tensor([[0.0, 1.0, 2.0]])
    assert target_probability(three, torch.tensor([2])).item() == pytest.approx(torch.softmax(three, 1)[0, 2].item())
    scores = region_scores(torch.arange(6.0)[None], np.array([0, 2, 6]))
    torch.testing.assert_close(scores, torch.tensor([[1.0, 14.0]], dtype=torch.float64))


def test_ground_truth_share_counts_absolute_mass_in_the_windows() -> None:
    axis = np.linspace(0.0, 9.0, 10)
    maps = torch.zeros(2, 10)
    maps[0, 2] = 3.0
    maps[1, 7] = -1.0  # negative mass counts too
    share = ground_truth_share(maps, axis, [(1.5, 2.5)])
    assert share == {"share": 0.75, "chance": 0.1}
