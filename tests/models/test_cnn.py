"""The CNN's fast conv block computes exactly what the paper's Conv -> BN -> ReLU -> MaxPool block computes."""

from __future__ import annotations

import copy
import io
import warnings

import pytest
import torch
from torch import nn

from lightning_spectra.models import CNN
from lightning_spectra.models.cnn import MaxPool2ReLU, conv_block, paper_conv_block


@pytest.mark.parametrize("length", [10, 11])  # odd lengths drop the last element, as MaxPool1d does
def test_pool_relu_equals_relu_then_maxpool(length: int) -> None:
    torch.manual_seed(0)
    x = torch.randn(3, 4, length)
    x[0, 0, :4] = torch.tensor([1.0, 1.0, -2.0, -2.0])  # ties and a pair that ReLU zeroes
    fast_in, paper_in = x.clone().requires_grad_(), x.clone().requires_grad_()
    fast = MaxPool2ReLU()(fast_in)
    paper = torch.nn.MaxPool1d(2)(torch.relu(paper_in))
    assert torch.equal(fast, paper)
    grad = torch.randn_like(paper)
    fast.backward(grad)
    paper.backward(grad)
    assert torch.equal(fast_in.grad, paper_in.grad)


@pytest.mark.parametrize("length", [10, 11])
def test_pool_relu_without_gradients_is_traceable_and_the_same(length: int) -> None:
    x = torch.randn(3, 4, length)
    with torch.no_grad():
        traced = torch.jit.trace(MaxPool2ReLU(), x)  # an autograd Function could not be saved by TorchScript
        assert torch.equal(traced(x), torch.nn.MaxPool1d(2)(torch.relu(x)))
    torch.jit.save(traced, io.BytesIO())


def test_pool_relu_exports_as_onnx_maxpool_even_while_gradients_are_on(tmp_path) -> None:
    """predict's exporter traces with gradients on; the pairs' reshape and split ran 3.8x slower in ONNX Runtime."""
    import onnx

    layer = torch.nn.Sequential(torch.nn.Conv1d(1, 2, 3), MaxPool2ReLU())  # a weight: the pool input needs grad
    path = tmp_path / "pool.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(layer, (torch.randn(2, 1, 11),), str(path), dynamo=False)
    ops = [node.op_type for node in onnx.load(path).graph.node]
    assert "MaxPool" in ops and "Split" not in ops


def test_pool_relu_gradient_is_exact() -> None:
    x = torch.randn(2, 3, 9, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(MaxPool2ReLU(), (x,))


def test_fast_block_keeps_the_paper_block_state_dict() -> None:
    """Weights saved by (or mapped from) the paper's block load unchanged, with the same outputs."""
    torch.manual_seed(0)
    paper = paper_conv_block(1, 8, kernel_size=5, stride=2)
    fast = conv_block(1, 8, kernel_size=5, stride=2)
    assert list(fast.state_dict()) == list(paper.state_dict())
    fast.load_state_dict(paper.state_dict())
    x = torch.randn(4, 1, 101)
    assert torch.allclose(fast(x), paper(x), atol=1e-5)  # the first block folds BatchNorm: float rounding only


def test_cnn_parameter_keys_are_the_papers() -> None:
    keys = set(CNN(spectrum_length=4023).state_dict())
    assert {"conv1.0.weight", "conv1.1.running_mean", "conv3.1.bias", "head.2.weight"} <= keys
    assert not any(k.startswith(("conv1.2", "conv1.3")) for k in keys)


@pytest.mark.parametrize("momentum", [0.1, None])
def test_single_channel_block_folds_batchnorm_without_changing_the_function(momentum: float | None) -> None:
    """Outputs, every gradient and the running statistics equal the unfolded Conv -> BatchNorm block's."""
    torch.manual_seed(0)
    folded = conv_block(1, 8, kernel_size=5, stride=2)
    plain = nn.Sequential(*copy.deepcopy(list(folded)))  # the same modules, run one after the other
    for block in (folded, plain):
        block[1].momentum = momentum
        nn.init.normal_(block[1].weight, 1.0, 0.3)  # not the identity init, so scale errors would show
    plain.load_state_dict(folded.state_dict())
    x = (3 * torch.randn(6, 1, 101) + 1).requires_grad_()
    for _ in range(2):  # two batches: the running averages compound
        outputs = [block(x) for block in (folded, plain)]
        grads = [
            torch.autograd.grad(o.pow(2).sum(), [x, *block.parameters()])
            for o, block in zip(outputs, (folded, plain), strict=True)
        ]
        assert torch.allclose(outputs[0], outputs[1], atol=1e-5)
        for fast, slow in zip(*grads, strict=True):
            # a gradient sums many terms: its rounding error scales with its largest entry, not with each entry
            torch.testing.assert_close(fast, slow, rtol=1e-4, atol=max(1e-4, 1e-5 * float(slow.abs().max())))
        for name, value in plain.state_dict().items():
            assert torch.allclose(folded.state_dict()[name].float(), value.float(), atol=1e-6), name
    folded.eval(), plain.eval()
    assert torch.allclose(folded(x), plain(x), atol=1e-5)
