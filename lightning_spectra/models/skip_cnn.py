"""A one-convolution CNN with a linear skip path, without normalisation layers: a network for small regression sets.

Measured on public NIR sets (issue 33), what reached parity with a tuned kernel ridge model at a few hundred
spectra was a small network with no BatchNorm or LayerNorm, trained with L2 weight decay, early stopping and
several seeds: this one, or FCNN1D with ``hidden: [64]``. Normalisation layers inside the network divide out the
absolute level of the features, which an amount (Beer-Lambert) is read from, and their batch statistics are
noisy on a few hundred spectra.
"""

from __future__ import annotations

from torch import Tensor, nn

from lightning_spectra.errors import SpectraConfigError
from lightning_spectra.models.base import SpectraModel, input_norm


def conv_positions(length: int, kernel_size: int, stride: int) -> int:
    """Positions a Conv1d with ``kernel_size // 2`` zero padding on each side keeps of ``length`` points."""
    return (length + 2 * (kernel_size // 2) - kernel_size) // stride + 1


class SkipCNN(SpectraModel):
    """Input normalisation -> [Conv1d(1 -> C, k, stride) -> ReLU -> Flatten -> Linear] + Linear skip.

    The conv path learns local shapes (a peak's width and position); the skip path is a linear model of the
    whole (input-normalised) spectrum, the part of the signal a ridge or PLS model already captures, so the
    network needs only to learn what is not linear. No normalisation layer follows the input: see the module
    docstring.

    The conv is padded by ``kernel_size // 2`` on each side, so every point lies in some position's field
    (position ``m`` is centred on point ``stride * m``) and any ``spectrum_length >= 1`` works.

    Init: PyTorch's defaults, except the skip path's weight and bias, which start at zero. The skip is the
    linear model that L2 weight decay pulls towards zero (ridge regression), so zero is where its prior is
    centred; the network then starts as its conv path alone, and the skip grows only as far as the data asks.
    Zero does not stall it: the skip is a last layer, so its gradient is the input times the output's error.

    Grad-CAM at ``conv`` sees only the conv path, not the skip's share of an output, so the default map is
    Integrated Gradients, which reads both.

    Args:
        channels: output channels of the convolution (C).
        kernel_size: the convolution's window, in points (k).
        stride: the convolution's step, in points.
    """

    attribution_layer = "conv"
    default_map = "integrated_gradients"  # Grad-CAM at the conv would miss the skip path
    label = "Skip CNN"
    # Classifier of two classes at 4023 points: input LayerNorm 8,046 + conv 80 + head 16,097 + skip 4,024.
    parameter_counts = (({}, 28_247),)
    paper_order = None  # not one of the paper's models
    tiny_arguments = {"channels": 4, "kernel_size": 5}

    def __init__(self, channels: int = 8, kernel_size: int = 9, stride: int = 2, **kwargs) -> None:
        super().__init__(**kwargs)
        for name, value in (("channels", channels), ("kernel_size", kernel_size), ("stride", stride)):
            if not (isinstance(value, int) and value >= 1):
                raise SpectraConfigError(f"model.init_args.{name} must be a whole number of 1 or more, got {value}")
        length = self.spectrum_length
        self.input_norm = input_norm(self.input_normalization, length, self.input_preparation)
        self.conv = nn.Conv1d(1, channels, kernel_size, stride, padding=kernel_size // 2)
        positions = conv_positions(length, kernel_size, stride)
        self.head = nn.Sequential(nn.ReLU(), nn.Flatten(), nn.Linear(channels * positions, self.out_features))
        self.skip = nn.Linear(length, self.out_features)
        nn.init.zeros_(self.skip.weight)
        nn.init.zeros_(self.skip.bias)

    def forward(self, x: Tensor) -> Tensor:
        x = self.input_norm(x)
        return self.head(self.conv(x.unsqueeze(1))) + self.skip(x)
