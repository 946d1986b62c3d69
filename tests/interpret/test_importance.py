"""Input-gradient feature importance against closed forms on linear models, and the traps around it."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from lightning_spectra.interpret import evaluation_mode, input_gradient_importance, input_gradients


def binary_linear(length: int = 7) -> nn.Linear:
    torch.manual_seed(0)
    return nn.Linear(length, 1).double()


def test_binary_linear_closed_form() -> None:
    # BCE(sigmoid(w.x + b), y), mean over N: dL/dx_i = (sigmoid(z_i) - y_i) w / N.
    model = binary_linear()
    x = torch.randn(5, 7, dtype=torch.float64)
    y = torch.tensor([0, 1, 1, 0, 1])
    w = model.weight.detach()[0]
    residual = torch.sigmoid(x @ w + model.bias.detach()) - y
    grad = residual[:, None] * w[None, :] / len(x)

    signed, mean_square = input_gradient_importance(model, x, y)
    torch.testing.assert_close(signed, grad.sum(0))
    torch.testing.assert_close(mean_square, grad.square().sum(0) / len(x))
    _, paper = input_gradient_importance(model, x, y, normalisation="points")
    torch.testing.assert_close(paper, grad.square().sum(0) / x.shape[1])  # the paper's AvgS divides by L
    assert signed.shape == mean_square.shape == (7,)


def test_multiclass_linear_closed_form() -> None:
    # Cross-entropy: dL/dx_i = W^T (softmax(z_i) - onehot(y_i)) / N.
    torch.manual_seed(1)
    model = nn.Linear(6, 3).double()
    x = torch.randn(4, 6, dtype=torch.float64)
    y = torch.tensor([0, 2, 1, 2])
    residual = torch.softmax(model(x).detach(), 1) - F.one_hot(y, 3)
    grad = residual @ model.weight.detach() / len(x)
    g, loss = input_gradients(model, x, y)
    torch.testing.assert_close(g, grad)
    torch.testing.assert_close(loss, F.cross_entropy(model(x), y).detach())


def test_runs_under_inference_mode_and_leaves_parameters_alone() -> None:
    model = binary_linear()
    x = torch.randn(5, 7, dtype=torch.float64)
    y = torch.tensor([0, 1, 1, 0, 1])
    expected = input_gradient_importance(model, x, y)
    with torch.inference_mode():  # as inside Lightning's validation/test loops
        x_inference = x.clone()  # an inference tensor, which autograd refuses unless cloned out
        got = input_gradient_importance(model, x_inference, y)
    with torch.no_grad():
        got_no_grad = input_gradient_importance(model, x, y)
    for a, b, c in zip(expected, got, got_no_grad, strict=True):
        torch.testing.assert_close(a, b)
        torch.testing.assert_close(a, c)
    assert all(p.grad is None for p in model.parameters())


def test_eval_mode_is_used_and_restored() -> None:
    torch.manual_seed(2)
    model = nn.Sequential(nn.Dropout(0.5), nn.Linear(8, 1))
    model.train()
    x, y = torch.randn(16, 8), torch.randint(0, 2, (16,))
    first, _ = input_gradient_importance(model, x, y)
    second, _ = input_gradient_importance(model, x, y)
    torch.testing.assert_close(first, second)  # no dropout noise: eval mode
    assert model.training and model[0].training  # modes put back

    residual = torch.sigmoid(model[1](x).detach()[:, 0]) - y
    torch.testing.assert_close(first, (residual[:, None] * model[1].weight.detach()).sum(0).double() / len(x))


class SequenceProbe(nn.Module):
    """Records which sequence layout a forward pass would use (as SequenceClassifier.sequence_mode does)."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(4, 1)
        self.train_sequence, self.eval_sequence = "strided", "whole"
        self.seen: list[str] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen.append(self.train_sequence if self.training else self.eval_sequence)
        return self.linear(x)


def test_sequence_layout_follows_the_paper_on_request() -> None:
    model = SequenceProbe()
    x, y = torch.randn(6, 4), torch.randint(0, 2, (6,))
    input_gradients(model, x, y, sequence_layout="train")
    input_gradients(model, x, y, sequence_layout="eval")
    assert model.seen == ["strided", "whole"]
    assert model.eval_sequence == "whole" and model.training
    with evaluation_mode(model, "train"):
        assert not model.training and model.eval_sequence == "strided"
    assert model.eval_sequence == "whole"


def test_model_loss_is_used_and_bad_normalisation_rejected() -> None:
    model = binary_linear()
    model.loss = lambda logits, target: logits.sum() * 0 + (logits[:, 0] ** 2).mean()  # any mean loss
    x, y = torch.randn(3, 7, dtype=torch.float64), torch.tensor([0, 1, 0])
    g, _ = input_gradients(model, x, y)
    z = model(x).detach()[:, 0]
    torch.testing.assert_close(g, 2 * z[:, None] * model.weight.detach() / 3)
    with pytest.raises(ValueError, match="normalisation"):
        input_gradient_importance(model, x, y, normalisation="spectra")
