"""The paper's CNN (docs/paper.md §4.3): three conv blocks, a LayerNorm head, 23,307 parameters at 4023 points."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from lightning_spectra.models.base import SpectraModel, init_normal_, input_norm, require_length
from lightning_spectra.models.feature_norms import batch_norm_layer, feature_norm, uses_batch_norm


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

    kernel_size = stride = 2  # its window, declared as nn.MaxPool1d declares its own (receptive fields read it)

    def forward(self, x: Tensor) -> Tensor:
        if torch.is_grad_enabled() and x.requires_grad and not torch.onnx.is_in_onnx_export():
            return _MaxPool2ReLU.apply(x)
        # Inference and export (which traces with gradients on, callbacks/onnx_predictions.py): max_pool1d is as
        # fast as pairwise maxima in eager PyTorch and exports as ONNX's MaxPool (pairs traced to a reshape and
        # split that ran 3.8x slower in ONNX Runtime).
        return F.max_pool1d(x, 2).clamp_min(0)


class SingleChannelConvBlock(nn.Sequential):
    """Conv1d(1 -> C) -> BatchNorm -> rest, with the BatchNorm folded into the convolution.

    The block's input has one channel and its output C of them (64 in the CNN: a 0.8 GB tensor for the HED
    training batch), so BatchNorm's passes over the output (statistics, normalisation, and two more in backward)
    dominate the block's cost. The conv is linear in its input patches ``p`` (``kernel_size`` values each), so
    the batch mean and variance of output channel ``c`` follow from the patches' mean ``m`` and covariance ``S``:
    ``mean_c = w_c.m + b_c`` and ``var_c = w_c' S w_c``. Training-mode BatchNorm is then one convolution with
    weights ``gamma w_c / sqrt(var_c + eps)``, and autograd differentiates through ``m`` and ``S`` exactly as
    through BatchNorm's batch statistics. Running statistics are updated as ``nn.BatchNorm1d`` updates them
    (momentum, or the cumulative average when momentum is None). Same function and gradients as the unfolded
    block up to float rounding (``tests/models/test_cnn.py``); same state-dict keys (``0.*`` conv, ``1.*`` BatchNorm).
    Any other BatchNorm (e.g. ``SyncBatchNorm`` under DDP) runs the plain sequence.
    """

    @property
    def kernel_size(self) -> tuple[int, ...]:
        """The convolution's window: the folded path calls ``F.conv1d``, not the conv module, so the block
        declares it (receptive fields read it)."""
        return self[0].kernel_size

    @property
    def stride(self) -> tuple[int, ...]:
        return self[0].stride

    def forward(self, x: Tensor) -> Tensor:
        conv, norm, *rest = self
        if type(norm) is not nn.BatchNorm1d or not norm.affine or not norm.track_running_stats:
            return super().forward(x)
        weight = conv.weight[:, 0, :]  # (C, k)
        if norm.training:
            with torch.autocast(x.device.type, enabled=False):  # statistics in float32 under bf16 autocast
                patches = x[:, 0].float().unfold(-1, conv.kernel_size[0], conv.stride[0]).reshape(-1, weight.shape[1])
                patch_mean = patches.mean(0)
                centred = patches - patch_mean
                covariance = centred.T @ centred / len(patches)
                mean = weight @ patch_mean + conv.bias
                var = ((weight @ covariance) * weight).sum(1)  # biased, as BatchNorm normalises with
            self._update_running_stats(norm, mean.detach(), var.detach(), len(patches))
        else:
            mean, var = norm.running_mean, norm.running_var
        scale = norm.weight / torch.sqrt(var + norm.eps)
        folded = F.conv1d(x, (weight * scale[:, None])[:, None, :], norm.bias + (conv.bias - mean) * scale, conv.stride)
        for module in rest:
            folded = module(folded)
        return folded

    @staticmethod
    def _update_running_stats(norm: nn.BatchNorm1d, mean: Tensor, var: Tensor, count: int) -> None:
        """What ``nn.BatchNorm1d`` does in training mode: an exponential (or cumulative) average, unbiased var."""
        with torch.no_grad():
            norm.num_batches_tracked.add_(1)
            factor = 1.0 / float(norm.num_batches_tracked) if norm.momentum is None else norm.momentum
            norm.running_mean.lerp_(mean.to(norm.running_mean.dtype), factor)
            norm.running_var.lerp_((var * count / max(count - 1, 1)).to(norm.running_var.dtype), factor)


def conv_block(
    in_channels: int, out_channels: int, kernel_size: int, stride: int, pool: int = 2, batch_norm: bool = True
) -> nn.Sequential:
    """Conv1d -> BatchNorm -> MaxPool(pool) + ReLU, no padding (the paper's Conv -> BN -> ReLU -> MaxPool).

    Pairs (``pool=2``, the paper's CNN) use the fused :class:`MaxPool2ReLU`; other sizes pool, then ReLU. A
    one-channel input folds BatchNorm into the conv (:class:`SingleChannelConvBlock`). The state-dict keys
    (``0.*`` conv, ``1.*`` BatchNorm) are those of the paper's four-layer block; without ``batch_norm`` an
    identity holds the BatchNorm's place (and the folded block runs the plain sequence).
    """
    last = [MaxPool2ReLU()] if pool == 2 else [nn.ReLU()] if pool == 1 else [nn.MaxPool1d(pool), nn.ReLU()]
    block = SingleChannelConvBlock if in_channels == 1 else nn.Sequential
    return block(
        nn.Conv1d(in_channels, out_channels, kernel_size, stride), batch_norm_layer(out_channels, batch_norm), *last
    )


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


def fitted_pools(length: int, pools: tuple[int, int, int]) -> tuple[int, int, int]:
    """``pools``, or for spectra too short for them the same with pooling dropped from the last block backwards
    (pool 1) until at least one position is left: the paper's sizes where they fit, a working CNN down to 13
    points. A function of the length alone, so a checkpoint rebuilds the same layers."""
    fitted = list(pools)
    for block in (2, 1, 0):
        if cnn_output_length(length, tuple(fitted)) >= 1:
            break
        fitted[block] = 1
    return tuple(fitted)


class CNN(SpectraModel):
    """LayerNorm -> 3 conv blocks (64, 64, 4 channels) -> flatten -> LayerNorm -> Linear.

    A regressor keeps the head's LayerNorm only with ``input_normalization: layer``: it divides each spectrum's
    features by their own spread, which hides the magnitude that carries the amount
    (:mod:`lightning_spectra.models.feature_norms`).

    Args:
        channels: output channels of the three conv blocks.
        init_std: std of the N(0, std) init of conv and linear weights (paper: 0.05); without BatchNorm the
            convolutions take He's init instead (nothing else would keep the activations' scale).
        pools: max-pool sizes of the three blocks; ``(2, 3, 2)`` is the authors' later "2mpool3" variant
            (22,803 parameters), the one their published ``CNN.pth`` holds. Spectra too short for them get
            less pooling in the last blocks (:func:`fitted_pools`).
        batch_norm: BatchNorm after each convolution; ``None`` (default): the task's choice, on for a classifier
            (the paper's), :data:`~lightning_spectra.models.feature_norms.REGRESSION_BATCH_NORM` for a regressor.
    """

    attribution_layer = "conv3"
    cpu_bf16 = True  # measured faster in bf16 with the same result (BENCHMARKS.md, "Precision per model")
    label = "CNN"
    minimum_length = 17  # less pooling below 71 points (fitted_pools)
    # The paper's count, and the authors' later "2mpool3" CNN, the one in their CNN.pth.
    parameter_counts = (({}, 23_307), ({"pools": (2, 3, 2)}, 22_803))
    paper_train_time_s, paper_epochs, paper_boundary = 0.753, 5, 173
    paper_order = 3
    tiny_arguments = {"channels": (16, 16, 4)}  # the paper's layout with fewer channels: the same head

    def __init__(
        self,
        channels: tuple[int, int, int] = (64, 64, 4),
        init_std: float = 0.05,
        pools: tuple[int, int, int] = (2, 2, 2),
        batch_norm: bool | None = None,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        c1, c2, c3 = channels
        pools = fitted_pools(self.spectrum_length, tuple(pools))
        self.input_norm = input_norm(self.input_normalization, self.spectrum_length, self.input_preparation)
        bn = uses_batch_norm(self, batch_norm)
        self.conv1 = conv_block(1, c1, kernel_size=5, stride=2, pool=pools[0], batch_norm=bn)
        self.conv2 = conv_block(c1, c2, kernel_size=3, stride=2, pool=pools[1], batch_norm=bn)
        self.conv3 = conv_block(c2, c3, kernel_size=3, stride=1, pool=pools[2], batch_norm=bn)
        require_length("CNN", self.spectrum_length, lambda n: cnn_output_length(n, pools))
        length = cnn_output_length(self.spectrum_length, pools)
        self.head = nn.Sequential(
            nn.Flatten(), feature_norm(self, c3 * length), nn.Linear(c3 * length, self.out_features)
        )
        init_normal_(self, init_std)
        if not bn:
            # Without BatchNorm nothing rescales the activations: N(0, 0.05) shrinks them about tenfold through the
            # first block (5 inputs per output) and a tiny regressor recovered a linear target with R^2 0.42. He's
            # init keeps their scale through each ReLU block (R^2 0.998; tests/tasks/test_tasks.py).
            for conv in (self.conv1[0], self.conv2[0], self.conv3[0]):
                nn.init.kaiming_normal_(conv.weight, nonlinearity="relu")

    def forward(self, x: Tensor) -> Tensor:
        x = self.input_norm(x).unsqueeze(1)
        return self.head(self.conv3(self.conv2(self.conv1(x))))
