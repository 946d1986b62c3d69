"""The paper's CNN (spec 4.3): three conv blocks, a LayerNorm head, 23,307 parameters at 4023 points."""

from __future__ import annotations

from torch import Tensor, nn

from lightning_spectra.models.base import SpectraClassifier, init_normal_


def conv_block(in_channels: int, out_channels: int, kernel_size: int, stride: int, pool: int = 2) -> nn.Sequential:
    """Conv1d -> BatchNorm -> ReLU -> MaxPool(pool), no padding (as in the paper)."""
    return nn.Sequential(
        nn.Conv1d(in_channels, out_channels, kernel_size, stride),
        nn.BatchNorm1d(out_channels),
        nn.ReLU(),
        nn.MaxPool1d(pool),
    )


def conv_length(length: int, kernel_size: int, stride: int, pool: int = 2) -> int:
    """Output length of an unpadded conv followed by max pooling."""
    return ((length - kernel_size) // stride + 1) // pool


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
        length = self.spectrum_length
        for (k, s), pool in zip(((5, 2), (3, 2), (3, 1)), pools, strict=True):
            length = conv_length(length, k, s, pool)
        if length < 1:
            raise ValueError(f"spectra of {self.spectrum_length} points are too short for the CNN")
        self.head = nn.Sequential(nn.Flatten(), nn.LayerNorm(c3 * length), nn.Linear(c3 * length, self.out_features))
        init_normal_(self, init_std)

    def forward(self, x: Tensor) -> Tensor:
        x = self.input_norm(x).unsqueeze(1)
        return self.head(self.conv3(self.conv2(self.conv1(x))))
