"""The paper's LSTM ("MultiLen", docs/paper.md §4.5): spectra are tokens; 6,273,391 parameters at 4023 points.

By default every spectrum is its own sequence (users' data). The paper's construction, set in
``configs/lstm.yaml`` (conventions in :mod:`lightning_spectra.models.sequence`): training batches are cut
``"consecutive"`` (the paper's ``(1581, L) -> (31, 51, L)`` with ``batch_first=True``: 31
sequences of 51 consecutive rows, which mix spectra and noise copies of both classes); evaluation batches are
``"independent"`` (every test spectrum is a sequence of length 1, so the recurrence sees no context at test
time). Hidden and cell states start at zero for every sequence.
"""

from __future__ import annotations

from torch import Tensor, nn

from lightning_spectra.models.feature_norms import feature_norm, keeps_feature_norms
from lightning_spectra.models.sequence import (
    SequenceMode,
    SequenceModel,
    from_sequences,
    init_xavier_,
    spectrum_embedding,
)


class LSTMClassifier(SequenceModel):
    """Spectrum embedding -> 2-layer LSTM -> per-step LayerNorm + Linear.

    Any ``spectrum_length >= 2`` works. Init as the paper: xavier_uniform on Linear weights with bias 0.01; the
    LSTM keeps PyTorch's default init. A regressor keeps the embedding's and the head's LayerNorms only with
    ``input_normalization: layer`` (:mod:`lightning_spectra.models.feature_norms`).

    Args:
        hidden_size: embedding width and LSTM hidden size (paper 512).
        num_layers: stacked LSTM layers (paper 2).
    """

    # Each token is a whole spectrum embedded by a dense layer, so no layer keeps positions along the spectrum:
    # Grad-CAM has nothing to map; use input-gradient feature importance (docs/paper.md §6) instead.
    attribution_layer = "input"  # no layer keeps spectral positions: Grad-CAM at the input (grad x input)
    label = "LSTM"
    parameter_counts = (({}, 6_273_391),)
    paper_train_time_s, paper_epochs, paper_boundary = 0.463, 25, 175
    paper_order = 5
    tiny_arguments = {"hidden_size": 16, "num_layers": 1}

    def __init__(
        self,
        hidden_size: int = 512,
        num_layers: int = 2,
        train_sequence: SequenceMode = "independent",
        eval_sequence: SequenceMode = "independent",
        **kwargs,
    ) -> None:
        super().__init__(train_sequence=train_sequence, eval_sequence=eval_sequence, **kwargs)
        self.embedding = spectrum_embedding(
            self.spectrum_length,
            hidden_size,
            self.input_normalization,
            keeps_feature_norms(self),
            self.input_preparation,
        )
        self.lstm = nn.LSTM(hidden_size, hidden_size, num_layers, batch_first=True)
        self.head = nn.Sequential(feature_norm(self, hidden_size), nn.Linear(hidden_size, self.out_features))
        init_xavier_(self)

    def forward(self, x: Tensor) -> Tensor:
        tokens, transposed = self.to_sequences(self.embedding(x))
        hidden, _ = self.lstm(tokens)
        return from_sequences(self.head(hidden), transposed)
