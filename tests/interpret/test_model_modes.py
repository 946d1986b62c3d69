"""Eval mode for an attribution with the model's modes restored, and inputs autograd can use."""

from __future__ import annotations

import torch
from torch import nn

from lightning_spectra.interpret.model_modes import evaluation_mode, gradient_ready


class Sequences(nn.Sequential):
    train_sequence, eval_sequence = "strided", "whole"


def test_eval_mode_inside_and_every_module_s_mode_restored() -> None:
    model = Sequences(nn.Dropout(), nn.BatchNorm1d(3)).train()
    model[1].eval()  # a mixed state must come back as it was
    with evaluation_mode(model):
        assert not any(m.training for m in model.modules())
        assert model.eval_sequence == "whole"
    assert model.training and model[0].training and not model[1].training


def test_train_layout_in_eval_mode_and_restored() -> None:
    model = Sequences(nn.Dropout()).train()
    with evaluation_mode(model, "train"):
        assert not model.training and model.eval_sequence == "strided"
    assert model.eval_sequence == "whole"


def test_gradient_ready_turns_an_inference_tensor_into_a_leaf() -> None:
    with torch.inference_mode():
        x = torch.ones(2, 3)
    with torch.inference_mode(False):
        ready = gradient_ready(x)
        (ready * 2).sum().backward()
    assert ready.is_leaf and not ready.is_inference() and torch.equal(ready.grad, torch.full((2, 3), 2.0))
