"""The paper's Transformer (docs/paper.md §4.6): spectra as tokens, attention across the spectra of a sequence.

How batches become sequences is explained in :mod:`lightning_spectra.models.sequence`.
"""

from __future__ import annotations

from torch import Tensor, nn

from lightning_spectra.models.feature_norms import keeps_feature_norms
from lightning_spectra.models.sequence import (
    SequenceMode,
    SequenceModel,
    from_sequences,
    init_xavier_,
    sinusoidal_encoding,
    spectrum_embedding,
)


class UnnormalisedEncoderLayer(nn.TransformerEncoderLayer):
    """A post-norm encoder layer whose ``norm1`` and ``norm2`` may be identities (a regressor's, see
    :mod:`lightning_spectra.models.feature_norms`): PyTorch's fused inference path reads the norms' ``eps`` and
    weights, so this layer always runs the plain computation, which is the same function."""

    def forward(
        self,
        src: Tensor,
        src_mask: Tensor | None = None,
        src_key_padding_mask: Tensor | None = None,
        is_causal: bool = False,
    ) -> Tensor:
        x = self.norm1(src + self._sa_block(src, src_mask, src_key_padding_mask, is_causal=is_causal))
        return self.norm2(x + self._ff_block(x))


def without_norms(encoder: nn.TransformerEncoder) -> None:
    """Identities for the LayerNorms of every (:class:`UnnormalisedEncoderLayer`) layer of ``encoder``: swapped
    after the encoder is built, as its constructor reads the norms' ``eps``; the other keys stay."""
    for layer in encoder.layers:
        layer.norm1, layer.norm2 = nn.Identity(), nn.Identity()


class TransformerClassifier(SequenceModel):
    """Spectrum embedding -> sinusoidal positions -> TransformerEncoder -> per-token Linear (docs/paper.md §4.6).

    1,830,511 parameters at 4023 points. By default every spectrum is its own sequence; the paper's layouts,
    set in ``configs/transformer.yaml``: training sequences ``"strided"`` (51 sequences of 31 rows),
    evaluation ``"whole"`` (the test series is one sequence, so positions 0..348 are
    used although training saw only 0..30). Post-norm encoder layers with ReLU, no mask, as PyTorch's
    defaults; ``batch_first=True`` internally, which is the same computation as the paper's sequence-first
    layout. Any ``spectrum_length >= 2`` works. A regressor keeps the embedding's LayerNorm and the encoder
    layers' LayerNorms (each normalises one token, one spectrum's features) only with ``input_normalization:
    layer`` (:mod:`lightning_spectra.models.feature_norms`).

    Args:
        d_model: token width (paper 256).
        nhead: attention heads (paper 8).
        dim_feedforward: encoder feed-forward width (paper 256).
        num_layers: encoder layers (paper 2).
        dropout: encoder and positional dropout (paper 0.0).
    """

    # Each token is a whole spectrum embedded by a dense layer, so no layer keeps positions along the spectrum:
    # Grad-CAM has nothing to map; use input-gradient feature importance (docs/paper.md §6) instead.
    attribution_layer = "input"  # no layer keeps spectral positions: Grad-CAM at the input (grad x input)
    label = "Transformer"
    parameter_counts = (({}, 1_830_511),)
    paper_train_time_s, paper_epochs, paper_boundary = 0.449, 30, 184
    paper_order = 6
    tiny_arguments = {"d_model": 16, "nhead": 2, "dim_feedforward": 32, "num_layers": 1}

    def __init__(
        self,
        d_model: int = 256,
        nhead: int = 8,
        dim_feedforward: int = 256,
        num_layers: int = 2,
        dropout: float = 0.0,
        train_sequence: SequenceMode = "independent",
        eval_sequence: SequenceMode = "independent",
        **kwargs,
    ) -> None:
        super().__init__(train_sequence=train_sequence, eval_sequence=eval_sequence, **kwargs)
        norms = keeps_feature_norms(self)
        self.embedding = spectrum_embedding(
            self.spectrum_length, d_model, self.input_normalization, norms, self.input_preparation
        )
        self.position_dropout = nn.Dropout(dropout)
        layer_class = nn.TransformerEncoderLayer if norms else UnnormalisedEncoderLayer
        layer = layer_class(d_model, nhead, dim_feedforward, dropout, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers, enable_nested_tensor=False)
        if not norms:
            without_norms(self.encoder)
        self.decoder = nn.Linear(d_model, self.out_features)
        init_xavier_(self)

    def forward(self, x: Tensor) -> Tensor:
        tokens, transposed = self.to_sequences(self.embedding(x))
        positions = sinusoidal_encoding(tokens.shape[1], tokens.shape[2], tokens.dtype, tokens.device)
        tokens = self.encoder(self.position_dropout(tokens + positions))
        return from_sequences(self.decoder(tokens), transposed)
