"""The paper's multi-scale 1D ResNet (``MSResNet``, docs/paper.md §4.4): three residual branches with kernels 3, 5, 7.

294,247 parameters at 4023 points; 2,354,535 with the paper's unused ``Linear(4023 -> 512)``.

Two quirks of the original are kept because they shape the network: the k5 and k7 convolutions use padding
1 (not "same" padding), so those branches shrink faster, and each block's strided 1x1 shortcut is then longer
than the block output and is cropped at the *end*. The branches are merged by an element-wise sum after
average pooling them to one length. The paper's pools (kernels 16, 11, 6, stride 1) were picked by hand for
4023 points (branch lengths 126, 121, 116 -> 111); here every kernel is computed from the branch lengths:
the merged length is the shortest branch's length minus 5 and each branch's kernel is its length minus the
merged length plus 1, which gives exactly 16, 11, 6 -> 111 at 4023 points and works for any length.
"""

from __future__ import annotations

from torch import Tensor, nn

from lightning_spectra.models.base import SpectraModel, input_norm, require_length
from lightning_spectra.models.feature_norms import batch_norm_layer, feature_norm, uses_batch_norm

#: The shortest branch is average-pooled with this window (the paper's k7 branch: AvgPool1d(6)).
SHORTEST_POOL = 6
#: Strides of the residual stages, and whether the stem max-pools.
Layout = tuple[tuple[int, ...], bool]


def conv_out(length: int, kernel_size: int, stride: int = 1, padding: int = 0) -> int:
    """Output length of a Conv1d or pooling layer."""
    return (length + 2 * padding - kernel_size) // stride + 1


def stem_length(length: int, pool: bool = True) -> int:
    """Positions after the stem: conv k7/s2 and, unless left out for short spectra, max-pool k5/s2."""
    stem = conv_out(length, 7, 2, 3)
    return conv_out(stem, 5, 2, 1) if pool else stem


def msresnet_output_length(
    length: int, depth: int, kernel_sizes: tuple[int, ...], layout: Layout = ((2, 2, 2), True)
) -> int:
    """Positions after the stem and the merged branches (below 1: the spectrum is too short)."""
    strides, pool = layout
    stem = stem_length(length, pool)
    shortest = stem
    for k in kernel_sizes:
        branch = stem
        for stride in strides[:depth]:
            branch = conv_out(conv_out(branch, k, stride, 1), k, 1, 1) if branch >= 1 else 0
        shortest = min(shortest, branch)
    return shortest - SHORTEST_POOL + 1


def fitted_layout(length: int, depth: int, kernel_sizes: tuple[int, ...]) -> Layout:
    """The residual stages' strides and whether the stem max-pools: the paper's (every stage stride 2, pooled
    stem) where the spectrum is long enough, else the first of the layouts that downsample less, from the last
    stage backwards, then without the stem's pool, that leaves a position (down to about 60 points). A
    function of the length alone, so a checkpoint rebuilds the same layers."""
    for pool in (True, False):
        for halving in range(depth, -1, -1):
            layout = ((2,) * halving + (1,) * (depth - halving), pool)
            if msresnet_output_length(length, depth, kernel_sizes, layout) >= 1:
                return layout
    return (2,) * depth, True  # none fits: the caller refuses the length, naming the minimum


class BasicBlock(nn.Module):
    """conv(k, stride) -> BN -> ReLU -> conv(k) -> BN, plus a strided 1x1-conv shortcut cropped at the end
    (without ``batch_norm`` identities hold the BatchNorms' places)."""

    def __init__(
        self, in_channels: int, planes: int, kernel_size: int, stride: int = 2, batch_norm: bool = True
    ) -> None:
        super().__init__()
        self.kernel_size, self.stride = kernel_size, stride
        self.conv1 = nn.Conv1d(in_channels, planes, kernel_size, stride, padding=1, bias=False)
        self.bn1 = batch_norm_layer(planes, batch_norm)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv1d(planes, planes, kernel_size, 1, padding=1, bias=False)
        self.bn2 = batch_norm_layer(planes, batch_norm)
        self.shortcut = nn.Sequential(
            nn.Conv1d(in_channels, planes, 1, stride, bias=False), batch_norm_layer(planes, batch_norm)
        )

    def output_length(self, length: int) -> int:
        return conv_out(conv_out(length, self.kernel_size, self.stride, 1), self.kernel_size, 1, 1)

    def forward(self, x: Tensor) -> Tensor:
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        residual = self.shortcut(x)[..., : out.shape[-1]]  # the paper's residual[:, :, :-d]
        return self.relu(residual + out)


class MultiScale(nn.Module):
    """Three branches of residual blocks (kernels 3, 5, 7), average-pooled to one length and summed.

    Its output ``(B, planes[-1], length)`` is the model's last positional feature map (used for Grad-CAM).
    """

    def __init__(
        self,
        in_channels: int,
        planes: tuple[int, ...],
        kernel_sizes: tuple[int, ...],
        input_length: int,
        strides: tuple[int, ...] | None = None,
        batch_norm: bool = True,
    ) -> None:
        super().__init__()
        branches, lengths = [], []
        for k in kernel_sizes:
            blocks, channels, length = [], in_channels, input_length
            for p, stride in zip(planes, strides or (2,) * len(planes), strict=True):
                blocks.append(BasicBlock(channels, p, k, stride, batch_norm))
                channels, length = p, blocks[-1].output_length(length)
                if length < 1:
                    raise ValueError(f"input of {input_length} positions is too short for the k{k} branch")
            branches.append(blocks)
            lengths.append(length)
        self.output_length = min(lengths) - SHORTEST_POOL + 1
        if self.output_length < 1:
            raise ValueError(f"input of {input_length} positions is too short: branch lengths {lengths}")
        self.branches = nn.ModuleList(
            nn.Sequential(*blocks, nn.AvgPool1d(length - self.output_length + 1, stride=1))
            for blocks, length in zip(branches, lengths, strict=True)
        )

    def forward(self, x: Tensor) -> Tensor:
        return sum(branch(x) for branch in self.branches)


class MSResNet(SpectraModel):
    """LayerNorm -> stem (conv k7/s2, BN, ReLU, max-pool k5/s2) -> three-scale residual branches -> LN -> Linear.

    Default PyTorch init, as the paper. Spectra shorter than about 500 points (the k7 branch shrinks fastest) get
    stages that downsample less (:func:`fitted_layout`); the shortest that works is about 60 points.

    Args:
        planes: channels of the three residual stages in each branch (paper 64, 64, 8).
        kernel_sizes: kernel size of each branch (paper 3, 5, 7).
        include_unused_layer: also build the paper's ``Linear(spectrum_length -> 512)`` that is never
            called, only so the trainable-parameter count matches the paper's 2,354,535. It gets no gradient
            (under DDP this needs ``find_unused_parameters=True``).
        batch_norm: BatchNorm after every convolution; ``None`` (default): the task's choice, on for a classifier
            (the paper's), :data:`~lightning_spectra.models.feature_norms.REGRESSION_BATCH_NORM` for a regressor.

    A regressor keeps the head's LayerNorm only with ``input_normalization: layer``
    (:mod:`lightning_spectra.models.feature_norms`).
    """

    attribution_layer = "multiscale"
    cpu_bf16 = True  # measured faster in bf16 with the same result (BENCHMARKS.md, "Precision per model")
    label = "ResNet"
    minimum_length = 59  # less downsampling below 501 points (fitted_layout)
    # Without, and with, the paper's unused Linear(4023 -> 512).
    parameter_counts = (({}, 294_247), ({"include_unused_layer": True}, 2_354_535))
    paper_train_time_s, paper_epochs, paper_boundary = 8.211, 4, 178
    paper_order = 4
    tiny_arguments = {"planes": (8, 8, 4), "lr": 0.01}  # the small version needs a larger rate to learn quickly

    def __init__(
        self,
        planes: tuple[int, int, int] = (64, 64, 8),
        kernel_sizes: tuple[int, int, int] = (3, 5, 7),
        include_unused_layer: bool = False,
        batch_norm: bool | None = None,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        depth, kernel_sizes = len(planes), tuple(kernel_sizes)
        require_length(
            "MSResNet",
            self.spectrum_length,
            lambda n: msresnet_output_length(n, depth, kernel_sizes, fitted_layout(n, depth, kernel_sizes)),
        )
        strides, pool = fitted_layout(self.spectrum_length, depth, kernel_sizes)
        stem_channels = 64
        bn = uses_batch_norm(self, batch_norm)
        self.input_norm = input_norm(self.input_normalization, self.spectrum_length, self.input_preparation)
        self.stem = nn.Sequential(
            nn.Conv1d(1, stem_channels, 7, stride=2, padding=3, bias=False),
            batch_norm_layer(stem_channels, bn),
            nn.ReLU(),
            nn.MaxPool1d(5, stride=2, padding=1) if pool else nn.Identity(),
        )
        length = stem_length(self.spectrum_length, pool)
        self.multiscale = MultiScale(stem_channels, tuple(planes), kernel_sizes, length, strides, bn)
        features = planes[-1] * self.multiscale.output_length
        self.head = nn.Sequential(nn.Flatten(), feature_norm(self, features), nn.Linear(features, self.out_features))
        self.unused = nn.Linear(self.spectrum_length, 512) if include_unused_layer else None

    def forward(self, x: Tensor) -> Tensor:
        x = self.stem(self.input_norm(x).unsqueeze(1))
        return self.head(self.multiscale(x))
