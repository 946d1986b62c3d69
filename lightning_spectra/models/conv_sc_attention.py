"""The paper's convolutional spatial-channel attention model (docs/paper.md §4.7): 659,525 parameters at 4023 points.

Reconstructed from the tensor shapes of the authors' checkpoint and their later ``ConvSC`` code:

    (B, L) -> conv1 (1->64, k5, s2) -> conv3 (64->8, k5) -> F = LayerNorm(Linear(n -> 256)(.))   # (B, 8, 256)
    spatial attention: MultiheadAttention over the 256 positions, each an 8-channel token        -> S
    channel attention (DANet CAM, gamma starts at 0)                                          -> C = gamma*A F + F
    fusion G = F + S + C -> LayerNorm -> dec_conv3 (8->1, k1, BN, ReLU) -> fc1

``n`` (500 at 4023 points) is computed from the spectrum length. The authors' trained weights
(``ConvSC_Att.pth``) settle what the code alone left open: their feed-forward block (``norm1``, ``linear1``,
``linear2``, ``norm2``; 526,592 parameters) still holds its initial values exactly, so it never received a
gradient and **fc1 reads dec_conv3** (as the authors' later ``ConvSC.forward``, which computes the block and
discards it); their BatchNorm weights are 0.989-1.011 after 8 Adam steps, so **BatchNorm weights start at 1**
(PyTorch's default), not at N(0, 0.05) as the later ``_create_weights`` would draw them (which starts the
single dec_conv3 channel sign-flipped half of the time). The head count is not recoverable from the weights;
we use **4 heads** (the default of the authors' ``ConvSC`` class; any divisor of 8 gives the same parameter
count). ``include_unused_layer=True`` builds the never-used feed-forward block, so the model counts the paper's
659,525 parameters and loads every tensor of the checkpoint (:func:`.paper_weights.load_paper_weights`).
The encoder up to dec_conv3 is :class:`ConvSCEncoder`, which the SCT model (:mod:`.conv_sct_attention`) reuses.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from lightning_spectra.errors import SpectraConfigError
from lightning_spectra.models.base import SpectraModel, init_normal_, input_norm
from lightning_spectra.models.cnn import conv_block, conv_length
from lightning_spectra.models.feature_norms import keeps_feature_norms


def init_sc_(module: nn.Module, std: float = 0.05) -> None:
    """Conv1d and Linear weights ~ N(0, std); BatchNorm weights keep PyTorch's 1, as the authors' checkpoint shows."""
    init_normal_(module, std)


class ChannelAttention(nn.Module):
    """DANet's channel attention module (CAM) on ``(B, C, N)``: ``gamma * softmax(rowmax(E) - E) F + F``, E = F Fᵀ.

    ``gamma`` starts at 0, so the module starts as the identity and learns how much channel mixing to add.
    """

    def __init__(self) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, f: Tensor) -> Tensor:
        energy = f @ f.transpose(1, 2)
        energy = energy.amax(dim=-1, keepdim=True) - energy
        return self.gamma * (torch.softmax(energy, dim=-1) @ f) + f


class SpatialChannelAttention(nn.Module):
    """Self-attention across positions (tokens are C-channel vectors) and across channels, fused by summation.

    Input and output ``(B, C, N)``; returns ``F + S + CAM(F)`` as the paper does (so F enters twice).
    """

    def __init__(self, channels: int, num_heads: int) -> None:
        super().__init__()
        self.spatial = nn.MultiheadAttention(channels, num_heads, batch_first=True)
        self.channel = ChannelAttention()

    def forward(self, f: Tensor) -> Tensor:
        tokens = f.transpose(1, 2)
        spatial, _ = self.spatial(tokens, tokens, tokens, need_weights=False)
        return f + spatial.transpose(1, 2) + self.channel(f)


class FeedForward(nn.Module):
    """Transformer-style feed-forward block: ``norm2(norm1(x) + W2 ReLU(W1 norm1(x)))``."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.linear1 = nn.Linear(dim, hidden)
        self.activation = nn.ReLU()
        self.linear2 = nn.Linear(hidden, dim)
        self.norm2 = nn.LayerNorm(dim)

    def forward(self, x: Tensor) -> Tensor:
        x = self.norm1(x)
        return self.norm2(x + self.linear2(self.activation(self.linear1(x))))


class ConvSCEncoder(nn.Module):
    """Convolutions -> embedding -> spatial-channel attention -> 1x1 decoder conv: ``(B, L) -> (B, D)``.

    ``conv3``'s output ``(B, channels, n)`` is the last map whose positions follow the spectrum (Grad-CAM layer).
    ``include_unused_layer`` builds the paper's feed-forward block, which ``forward`` never calls (see the module
    docstring): it only counts parameters and holds the checkpoint's untrained tensors. Without
    ``feature_norms`` (a regressor that keeps each spectrum's magnitude,
    :mod:`lightning_spectra.models.feature_norms`) identities hold the places of the embedding's LayerNorm and
    of ``norm``, which normalise each spectrum's own channels.
    """

    def __init__(
        self,
        spectrum_length: int,
        conv_channels: int = 64,
        channels: int = 8,
        embed_dim: int = 256,
        num_heads: int = 4,
        dim_feedforward: int = 1024,
        include_unused_layer: bool = False,
        feature_norms: bool = True,
    ) -> None:
        super().__init__()
        self.conv1 = conv_block(1, conv_channels, kernel_size=5, stride=2)
        self.conv3 = conv_block(conv_channels, channels, kernel_size=5, stride=1)
        positions = conv_length(conv_length(spectrum_length, 5, 2), 5, 1)
        if positions < 1:
            raise SpectraConfigError(
                f"spectra of {spectrum_length} points are too short for the Conv SC attention model; "
                "it needs at least 27"
            )
        norm = nn.LayerNorm if feature_norms else lambda _: nn.Identity()
        self.embedding = nn.Sequential(nn.Linear(positions, embed_dim), norm(embed_dim))
        self.attention = SpatialChannelAttention(channels, num_heads)
        self.norm = norm(embed_dim)
        self.dec_conv3 = nn.Sequential(nn.Conv1d(channels, 1, 1), nn.BatchNorm1d(1), nn.ReLU())
        if include_unused_layer:
            self.feed_forward = FeedForward(embed_dim, dim_feedforward)

    def forward(self, x: Tensor) -> Tensor:
        f = self.embedding(self.conv3(self.conv1(x.unsqueeze(1))))
        return self.dec_conv3(self.norm(self.attention(f))).squeeze(1)


class ConvSCAttention(SpectraModel):
    """:class:`ConvSCEncoder` -> ``fc1`` Linear on dec_conv3. No input LayerNorm (as the paper). Needs >= 27 points.

    Init as the authors' checkpoint shows: Conv1d and Linear weights ~ N(0, ``init_std``), BatchNorm weights 1;
    the attention's input projection keeps PyTorch's default. BatchNorm is evaluated in eval mode (running
    statistics); the paper predicted in train mode, i.e. with the statistics of the 349-spectrum test batch.

    Args:
        num_heads: heads of the spatial attention over 8-channel tokens; must divide ``channels``.
        channels: output channels of conv3, the token width of the spatial attention (paper 8).
        embed_dim: embedded positions per channel (paper 256).
        dim_feedforward: hidden width of the unused feed-forward block (paper 1024).
        init_std: std of the N(0, std) weight init (paper 0.05).
        include_unused_layer: build the paper's never-called feed-forward block (659,525 parameters instead of
            132,933; needed to load every tensor of the authors' checkpoint; under DDP it needs
            ``find_unused_parameters=True``).
    """

    attribution_layer = "encoder.conv3"
    default_input_normalization = "none"  # the paper's model starts with its convolution
    label = "Conv SC attention"
    minimum_length = 27
    # Without, and with, the paper's never-trained feed-forward block.
    parameter_counts = (({}, 132_933), ({"include_unused_layer": True}, 659_525))
    paper_train_time_s, paper_epochs, paper_boundary = 1.652, 8, 182
    paper_order = 7
    tiny_arguments = {"embed_dim": 32, "dim_feedforward": 32, "num_heads": 2}

    def __init__(
        self,
        num_heads: int = 4,
        channels: int = 8,
        embed_dim: int = 256,
        dim_feedforward: int = 1024,
        init_std: float = 0.05,
        include_unused_layer: bool = False,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.input_norm = input_norm(self.input_normalization, self.spectrum_length, self.input_preparation)
        self.encoder = ConvSCEncoder(
            self.spectrum_length,
            channels=channels,
            embed_dim=embed_dim,
            num_heads=num_heads,
            dim_feedforward=dim_feedforward,
            include_unused_layer=include_unused_layer,
            feature_norms=keeps_feature_norms(self),
        )
        self.fc1 = nn.Linear(embed_dim, self.out_features)
        init_sc_(self, init_std)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc1(self.encoder(self.input_norm(x)))
