"""Convolutional spatial-channel-temporal attention, the paper's proposed model (docs/paper.md §4.8): OUR DESIGN.

The authors' notebook and weights for this model are not public; only its headline numbers are (1,953,353
trainable parameters, 5 epochs, "self-attention across spatial, channel and temporal dimensions", and a
feature-importance file named "Convolutional SCT_CAM-FFwd attention"). This module is a reconstruction that
follows those clues and says where it had to choose:

- **Spatial and channel attention** are the Conv SC model's, reused unchanged: :class:`ConvSCEncoder` turns
  every spectrum into a 256-vector (conv -> embedding -> spatial MHA + CAM channel attention -> 1x1 decoder
  conv), exactly what Conv SC's ``fc1`` reads (dec_conv3, as the authors' Conv SC checkpoint shows).
- **Temporal attention uses the series order** (:class:`TemporalAttention`): the per-spectrum vectors are the
  tokens of a time-ordered sequence and each token attends only to the tokens within ``temporal_window``
  positions of it (a banded attention mask); multi-head attention (8 heads) and then a feed-forward layer
  (256 -> 2048 -> 256, ReLU) are each *added* to a token through a learned gate that starts at 0.1; then
  ``fc1`` classifies every token. A spectrum is thus judged with its neighbours in time, which is what a ramp
  offers beyond single spectra; moving a spectrum to another place in the series changes what it sees.
- **Sequences in time order** (set in ``configs/conv_sct_attention.yaml``; the defaults, for users' own
  spectra, treat every spectrum alone so a prediction never depends on its batch): training batches
  ``"consecutive"`` (the paper's ``(31, 51, L)`` reshape with
  the originals in time order: 31 sequences of 51 rows, each the training spectra 0, 10, ..., 150, 200, ...,
  340 in time order, wrapping once), evaluation batches ``"whole"`` (the ordered test series is one sequence).
  In training, neighbours are 10 frames apart (50 across the left-out gap); in the test series 1 frame.
- **Chosen on validation only**: window and gate were picked by the validation loss (the 31 originals with a
  fresh noise draw, in time order) on the default and the hard simulated ramp; the test ramp was not looked
  at. The numbers are in docs/models.md.
- **Why gates, not a standard encoder layer**: a post-norm ``nn.TransformerEncoderLayer`` in this place
  pulled the tokens of every training sequence (both classes) together; with the paper's Adam at 2e-3 and
  5 full-batch steps the loss oscillated and every spectrum got one class. Gated residuals keep each
  spectrum's own features and add a fraction of the temporal context (the idea of the CAM's ``gamma``, which
  starts at 0); starting the gates at 0 (ReZero) leaves them below 1e-3 after 5 Adam steps, i.e. Conv SC in
  all but name.
- **Size**: 8 heads and a feed-forward width of 2048 (PyTorch's default) give 1,314,050 temporal parameters
  (2 of them the gates). With the paper's never-trained Conv SC feed-forward block counted
  (``include_unused_layer=True``) that is **1,973,575** in all at 4023 points, 1.04 % above the paper's
  1,953,353; without it 1,446,983. The paper's extra 1,293,828 over Conv SC matches no simple configuration
  (docs/paper.md §4.8), so we kept round, standard sizes.
- Init as Conv SC (weights ~ N(0, 0.05), BatchNorm weights 1), applied to the temporal layer as well.

Attribution: ``encoder.conv3`` (channels-first, positions along the spectrum), as Conv SC.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from lightning_spectra.models.base import input_norm
from lightning_spectra.models.conv_sc_attention import ConvSCEncoder, init_sc_
from lightning_spectra.models.feature_norms import keeps_feature_norms
from lightning_spectra.models.sequence import SequenceMode, SequenceModel, from_sequences


def outside_window(length: int, window: int | None, device: torch.device) -> Tensor | None:
    """Boolean attention mask ``(length, length)``, True where two positions are more than ``window`` apart."""
    if window is None:
        return None
    position = torch.arange(length, device=device)
    return (position[:, None] - position[None, :]).abs() > window


class TemporalAttention(nn.Module):
    """Self-attention across neighbouring spectra of a sequence, then a feed-forward layer, each added through a gate.

    ``x + a * MHA(x)``, then ``+ b * FF(.)``, on ``(sequences, spectra, dim)`` in time order; a token attends to
    the tokens at most ``window`` positions away (``None``: the whole sequence, order-free). The learned gates
    ``a``, ``b`` start at ``gate``.
    """

    def __init__(self, dim: int, num_heads: int, hidden: int, gate: float = 0.1, window: int | None = 1) -> None:
        super().__init__()
        if window is not None and window < 0:
            raise ValueError(f"temporal window must be >= 0 or None, got {window}")
        self.window = window
        self.attention = nn.MultiheadAttention(dim, num_heads, batch_first=True)
        self.feed_forward = nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(), nn.Linear(hidden, dim))
        self.attention_gate = nn.Parameter(torch.full((1,), gate))
        self.feed_forward_gate = nn.Parameter(torch.full((1,), gate))

    def forward(self, x: Tensor) -> Tensor:
        mask = outside_window(x.shape[1], self.window, x.device)
        context, _ = self.attention(x, x, x, attn_mask=mask, need_weights=False)
        x = x + self.attention_gate * context
        return x + self.feed_forward_gate * self.feed_forward(x)


class ConvSCTAttention(SequenceModel):
    """:class:`ConvSCEncoder` per spectrum -> temporal attention across neighbouring spectra -> ``fc1`` per spectrum.

    Spectra need >= 27 points. BatchNorm layers are evaluated in eval mode (the paper's models predicted in
    train mode).

    Args:
        num_heads: heads of the spatial attention over 8-channel tokens (as Conv SC).
        temporal_heads: heads of the temporal attention; must divide ``embed_dim``.
        temporal_feedforward: hidden width of the temporal feed-forward layer.
        temporal_gate: initial value of the two temporal gates; 0 starts the model as exactly Conv SC.
        temporal_window: a spectrum attends to the spectra at most this many places away in its sequence
            (``None``: to all of them, ignoring order).
        channels: output channels of conv3 (as Conv SC, 8).
        embed_dim: per-spectrum feature width, the temporal token width (256).
        dim_feedforward: hidden width of the encoder's unused feed-forward block (as Conv SC, 1024).
        init_std: std of the N(0, std) weight init (0.05).
        include_unused_layer: build Conv SC's never-trained feed-forward block (counts as the paper counted).
    """

    attribution_layer = "encoder.conv3"
    default_input_normalization = "none"  # the paper's model starts with its convolution
    label = "Conv SCT attention"
    minimum_length = 27
    # Our design, and counted as the paper counted Conv SC; the paper's (unpublished) model has 1,953,353.
    parameter_counts = (({}, 1_446_983), ({"include_unused_layer": True}, 1_973_575))
    paper_train_time_s, paper_epochs, paper_boundary = 1.269, 5, 188
    paper_order = 8
    tiny_arguments = {
        "embed_dim": 32,
        "dim_feedforward": 32,
        "num_heads": 2,
        "temporal_heads": 2,
        "temporal_feedforward": 32,
    }

    def __init__(
        self,
        num_heads: int = 4,
        temporal_heads: int = 8,
        temporal_feedforward: int = 2048,
        temporal_gate: float = 0.1,
        temporal_window: int | None = 1,
        channels: int = 8,
        embed_dim: int = 256,
        dim_feedforward: int = 1024,
        init_std: float = 0.05,
        include_unused_layer: bool = False,
        train_sequence: SequenceMode = "independent",
        eval_sequence: SequenceMode = "independent",
        **kwargs,
    ) -> None:
        super().__init__(train_sequence=train_sequence, eval_sequence=eval_sequence, **kwargs)
        self.input_norm = input_norm(self.input_normalization, self.spectrum_length, self.input_preparation)
        self.encoder = ConvSCEncoder(
            self.spectrum_length,
            channels=channels,
            embed_dim=embed_dim,
            num_heads=num_heads,
            dim_feedforward=dim_feedforward,
            include_unused_layer=include_unused_layer,
            feature_norms=keeps_feature_norms(self),  # a regressor's per-spectrum LayerNorms (feature_norms.py)
        )
        self.temporal = TemporalAttention(
            embed_dim, temporal_heads, temporal_feedforward, temporal_gate, temporal_window
        )
        self.fc1 = nn.Linear(embed_dim, self.out_features)
        init_sc_(self, init_std)

    def forward(self, x: Tensor) -> Tensor:
        tokens, transposed = self.to_sequences(self.encoder(self.input_norm(x)))
        return self.fc1(from_sequences(self.temporal(tokens), transposed))
