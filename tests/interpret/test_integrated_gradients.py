"""Integrated Gradients through captum against a reference spectrum."""

from __future__ import annotations

import torch
from torch import nn

from lightning_spectra.interpret.gradcam import class_score
from lightning_spectra.interpret.integrated_gradients import (
    integrated_gradients,
    other_class_means,
    reference_spectra,
)
from lightning_spectra.models import CNN
from lightning_spectra.tasks import Targets


def test_linear_model_gets_weight_times_difference() -> None:
    torch.manual_seed(0)
    model = nn.Linear(6, 1)
    x, reference = torch.randn(3, 6), torch.randn(3, 6)
    for target, sign in ((1, 1.0), (0, -1.0)):  # class 0 of a single logit is explained by -z
        ig = integrated_gradients(model, x, torch.full((3,), target), reference, n_steps=8)
        torch.testing.assert_close(ig, sign * model.weight.detach() * (x - reference), rtol=1e-5, atol=1e-6)


def test_completeness_for_a_cnn_and_every_class() -> None:
    torch.manual_seed(1)
    model = CNN(spectrum_length=256, targets=Targets.classes(3)).eval()
    x = torch.randn(4, 256)
    target = torch.tensor([0, 1, 2, 1])
    reference = other_class_means(x, torch.tensor([0, 1, 2, 2]), target)
    ig = integrated_gradients(model, x, target, reference, n_steps=64)
    with torch.no_grad():
        difference = class_score(model(x), target) - class_score(model(reference), target)
    torch.testing.assert_close(ig.sum(dim=1), difference, rtol=0.05, atol=0.05)


def test_references() -> None:
    x = torch.tensor([[1.0, 1.0], [3.0, 3.0], [10.0, 20.0]])
    classes, target = torch.tensor([0, 0, 1]), torch.tensor([0, 1, 1])
    expected = torch.tensor([[10.0, 20.0], [2.0, 2.0], [2.0, 2.0]])  # the mean of the *other* class
    torch.testing.assert_close(other_class_means(x, classes, target), expected)
    axis = torch.linspace(0, 1, 200)
    peak = torch.exp(-(((axis - 0.5) / 0.01) ** 2))
    spectra = torch.stack([3 + axis + 5 * peak, 1 + 0 * axis])
    background = reference_spectra(spectra, "background", classes[:2], target[:2])
    assert abs(background[0, 100] - 3.5) < 0.5  # the peak is gone, the background stays
