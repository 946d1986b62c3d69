"""The paper's CNN (spec 4.3): three conv blocks, a LayerNorm head, 23,307 parameters at 4023 points."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from lightning_spectra.models.base import SpectraClassifier, init_normal_, require_length


class _MaxPool2ReLU(torch.autograd.Function):
    """``relu(max_pool1d(x, 2))`` in two cheap passes instead of ``max_pool2d_with_indices`` plus a full ReLU.

    ReLU and max-pooling commute (both are monotone), so pooling first halves the ReLU's work. The pairs are
    compared directly (no int64 index tensor), and only two half-size boolean masks are kept for backward.
    Ties send the gradient to the first element of the pair, as ``max_pool1d`` does, so values and gradients
    equal the classic ``ReLU -> MaxPool1d(2)`` exactly.
    """

    @staticmethod
    def forward(ctx, x: Tensor) -> Tensor:
        pairs = x[..., : x.shape[-1] // 2 * 2].unflatten(-1, (-1, 2))
        left, right = pairs.unbind(-1)
        left_wins = left >= right
        out = torch.where(left_wins, left, right).clamp_min_(0)
        positive = out > 0
        ctx.save_for_backward(left_wins & positive, ~left_wins & positive)
        ctx.odd = x.shape[-1] % 2
        return out

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:
        to_left, to_right = ctx.saved_tensors
        zero = grad.new_zeros(())
        grad_in = torch.stack((torch.where(to_left, grad, zero), torch.where(to_right, grad, zero)), -1).flatten(-2)
        return F.pad(grad_in, (0, 1)) if ctx.odd else grad_in  # a trailing odd element never reaches the output


class MaxPool2ReLU(nn.Module):
    """Max-pool over non-overlapping pairs, then ReLU: the same function as ``ReLU -> MaxPool1d(2)``, faster."""

    def forward(self, x: Tensor) -> Tensor:
        return _MaxPool2ReLU.apply(x)


def conv_block(in_channels: int, out_channels: int, kernel_size: int, stride: int, pool: int = 2) -> nn.Sequential:
    """Conv1d -> BatchNorm -> MaxPool(pool) + ReLU, no padding (the paper's Conv -> BN -> ReLU -> MaxPool).

    Pairs (``pool=2``, the paper's CNN) use the fused :class:`MaxPool2ReLU`; other sizes pool, then ReLU. The
    state-dict keys (``0.*`` conv, ``1.*`` BatchNorm) are those of the paper's four-layer block.
    """
    last = [MaxPool2ReLU()] if pool == 2 else [nn.MaxPool1d(pool), nn.ReLU()]
    return nn.Sequential(nn.Conv1d(in_channels, out_channels, kernel_size, stride), nn.BatchNorm1d(out_channels), *last)


def paper_conv_block(
    in_channels: int, out_channels: int, kernel_size: int, stride: int, pool: int = 2
) -> nn.Sequential:
    """The paper's block as written: Conv1d -> BatchNorm -> ReLU -> MaxPool1d (reference for tests, benchmarks)."""
    return nn.Sequential(
        nn.Conv1d(in_channels, out_channels, kernel_size, stride),
        nn.BatchNorm1d(out_channels),
        nn.ReLU(),
        nn.MaxPool1d(pool),
    )


def conv_length(length: int, kernel_size: int, stride: int, pool: int = 2) -> int:
    """Output length of an unpadded conv followed by max pooling."""
    return ((length - kernel_size) // stride + 1) // pool


def cnn_output_length(length: int, pools: tuple[int, int, int] = (2, 2, 2)) -> int:
    """Positions left after the three conv blocks (below 1: the spectrum is too short)."""
    for (k, s), pool in zip(((5, 2), (3, 2), (3, 1)), pools, strict=True):
        length = conv_length(length, k, s, pool)
    return length


class CNN(SpectraClassifier):
    """LayerNorm -> 3 conv blocks (64, 64, 4 channels) -> flatten -> LayerNorm -> Linear.

    Args:
        channels: output channels of the three conv blocks.
        init_std: std of the N(0, std) init of conv and linear weights (paper: 0.05).
        pools: max-pool sizes of the three blocks; ``(2, 3, 2)`` is the authors' later "2mpool3" variant
            (22,803 parameters), the one their published ``CNN.pth`` holds.
    """

    attribution_layer = "conv3"

    def __init__(
        self,
        channels: tuple[int, int, int] = (64, 64, 4),
        init_std: float = 0.05,
        pools: tuple[int, int, int] = (2, 2, 2),
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        c1, c2, c3 = channels
        self.input_norm = nn.LayerNorm(self.spectrum_length)
        self.conv1 = conv_block(1, c1, kernel_size=5, stride=2, pool=pools[0])
        self.conv2 = conv_block(c1, c2, kernel_size=3, stride=2, pool=pools[1])
        self.conv3 = conv_block(c2, c3, kernel_size=3, stride=1, pool=pools[2])
        require_length("CNN", self.spectrum_length, lambda n: cnn_output_length(n, pools))
        length = cnn_output_length(self.spectrum_length, pools)
        self.head = nn.Sequential(nn.Flatten(), nn.LayerNorm(c3 * length), nn.Linear(c3 * length, self.out_features))
        init_normal_(self, init_std)

    def forward(self, x: Tensor) -> Tensor:
        x = self.input_norm(x).unsqueeze(1)
        return self.head(self.conv3(self.conv2(self.conv1(x))))
