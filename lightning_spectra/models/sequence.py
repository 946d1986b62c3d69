"""Sequence machinery shared by every model that reads spectra as tokens (LSTM, Transformer, Conv SCT).

Sequence models (LSTM, Transformer, Conv SCT attention) embed each *whole spectrum* as one token and run a
recurrent or attention layer across the spectra of a batch. Which spectra form a sequence is part of the
model, so it is spelled out here once:

- The paper trains on the full training tensor in its stored order: 1581 rows = 51 blocks of the same 31
  spectra (row ``r`` holds training spectrum ``r mod 31``), and reshapes it to ``(31, 51, L)``.
  ``sequence_groups`` is that leading 31.
- ``"consecutive"``: the ``sequence_groups`` rows of that reshape are the sequences, i.e. 31 sequences of 51
  consecutive rows (the LSTM, ``batch_first=True``).
- ``"strided"``: its columns are the sequences, i.e. 51 sequences of 31 rows ``k, k+51, k+102, ...`` (the
  Transformer, whose sequence axis is dim 0). Since gcd(51, 31) = 1 every such sequence holds each of the 31
  training spectra once, in a scrambled order with both classes mixed.
- ``"whole"``: the whole batch is one sequence (the Transformer at test time: the 349 test spectra in time
  order, so attention spans the whole ordered series).
- ``"independent"``: every spectrum is its own sequence of length 1 (the LSTM at test time).
- If the batch size is not a multiple of ``sequence_groups``, ``"consecutive"`` and ``"strided"`` fall back
  to ``"whole"`` (one sequence of the whole batch); a warning says so once.

By default every model treats each spectrum on its own (``"independent"`` for training and evaluation): a
spectrum's prediction must not depend on which other spectra share its batch, which is what users' data with
shuffled mini-batches needs. The paper's layouts are set explicitly in ``configs/lstm.yaml``,
``configs/transformer.yaml`` and ``configs/conv_sct_attention.yaml``.

Training batches use ``train_sequence``, evaluation batches (``model.training`` False: validation, test,
predict, attribution after ``model.eval()``) use ``eval_sequence``. These conventions assume full-batch
loaders that keep the paper's row order (no shuffling, no mini-batches, one process); with other loaders
sequences are simply whatever rows share a batch. Outputs are per-token logits put back in the input's row
order, so ``forward`` maps ``(B, L)`` to ``(B, out_features)`` like every other model.
"""

from __future__ import annotations

import math
import warnings
from collections import OrderedDict
from collections.abc import Callable
from typing import Literal

import torch
from torch import Tensor, nn
from torch.utils.hooks import RemovableHandle

from lightning_spectra.models.base import InputNormalization, SpectraModel, input_norm

SequenceMode = Literal["consecutive", "strided", "whole", "independent"]


def to_sequences(x: Tensor, mode: SequenceMode, groups: int) -> tuple[Tensor, bool]:
    """Arrange rows ``(N, ...)`` as batch-first sequences ``(S, T, ...)``; see the module docstring.

    Returns the sequences and whether they are transposed (needed by :func:`from_sequences`).
    """
    n = x.shape[0]
    if mode == "independent":
        return x.unsqueeze(1), False
    if mode != "whole" and n % groups:
        warnings.warn(
            f"batch of {n} rows is not a multiple of sequence_groups={groups}: using one sequence of all rows",
            stacklevel=3,
        )
    if mode == "whole" or n % groups:
        return x.unsqueeze(0), False
    sequences = x.reshape(groups, n // groups, *x.shape[1:])
    if mode == "strided":
        return sequences.transpose(0, 1), True
    return sequences, False


def from_sequences(y: Tensor, transposed: bool) -> Tensor:
    """Undo :func:`to_sequences`: per-token outputs ``(S, T, ...)`` back to rows ``(N, ...)`` in input order."""
    if transposed:
        y = y.transpose(0, 1)
    return y.reshape(-1, *y.shape[2:])


def init_xavier_(module: nn.Module, bias: float = 0.01) -> None:
    """The paper's init for the sequence models: xavier_uniform on every Linear weight, biases filled with 0.01."""
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.constant_(m.bias, bias)


def sinusoidal_encoding(length: int, dim: int, dtype: torch.dtype, device: torch.device) -> Tensor:
    """The sinusoidal positional encoding ``(length, dim)`` of the PyTorch tutorial the paper used.

    Computed per call rather than stored, so there is no ``max_len`` and nothing in the state dict.
    """
    position = torch.arange(length, dtype=torch.float32, device=device).unsqueeze(1)
    div_term = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32, device=device) * (-math.log(10000.0) / dim))
    pe = torch.zeros(length, dim, device=device)
    pe[:, 0::2] = torch.sin(position * div_term)
    pe[:, 1::2] = torch.cos(position * div_term[: dim // 2])
    return pe.to(dtype)


def spectrum_embedding(
    spectrum_length: int,
    dim: int,
    normalization: InputNormalization = "layer",
    feature_norm: bool = True,
    preparation: str = "raw",
) -> nn.Sequential:
    """Input normalisation (the paper's LayerNorm) -> Linear -> LayerNorm -> ReLU: one token per spectrum (the
    LSTM's and Transformer's encoder). Without ``feature_norm`` (a regressor that keeps each spectrum's
    magnitude, :mod:`lightning_spectra.models.feature_norms`) an identity holds the second LayerNorm's place."""
    first = input_norm(normalization, spectrum_length, preparation)
    norm = nn.LayerNorm(dim) if feature_norm else nn.Identity()
    return nn.Sequential(first, nn.Linear(spectrum_length, dim), norm, nn.ReLU())


class SequenceModel(SpectraModel):
    """Base for models that read the spectra of a batch as tokens of sequences (see the module docstring).

    Args:
        train_sequence: how a training batch is cut into sequences.
        eval_sequence: how an evaluation batch (``model.training`` False) is cut into sequences.
        sequence_groups: leading size of the paper's reshape ``(N, L) -> (groups, N // groups, L)``; the
            number of distinct training spectra (31 in the paper's training set).
    """

    def __init__(
        self,
        train_sequence: SequenceMode = "independent",
        eval_sequence: SequenceMode = "independent",
        sequence_groups: int = 31,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        if sequence_groups < 1:
            raise ValueError(f"sequence_groups must be positive, got {sequence_groups}")
        self.train_sequence = train_sequence
        self.eval_sequence = eval_sequence
        self.sequence_groups = sequence_groups
        # an OrderedDict, as torch keeps its hooks: RemovableHandle holds a weak reference to it
        self._tokens_hooks: OrderedDict[int, Callable[[Tensor], None]] = OrderedDict()

    @property
    def sequence_mode(self) -> SequenceMode:
        """The sequence construction in effect now: ``train_sequence`` in training mode, else ``eval_sequence``."""
        return self.train_sequence if self.training else self.eval_sequence

    def to_sequences(self, x: Tensor) -> tuple[Tensor, bool]:
        """The per-spectrum tokens ``x`` ``(N, ...)`` cut into sequences; every tokens hook sees ``x`` first."""
        for hook in self._tokens_hooks.values():
            hook(x)
        return to_sequences(x, self.sequence_mode, self.sequence_groups)

    def register_tokens_hook(self, hook: Callable[[Tensor], None]) -> RemovableHandle:
        """Call ``hook(tokens)`` with the tokens every forward pass hands to :meth:`to_sequences`: row ``i`` is
        computed from spectrum ``i`` alone up to there, which makes per-spectrum gradients cheap
        (:mod:`lightning_spectra.interpret.gradcam`). ``handle.remove()`` removes it."""
        handle = RemovableHandle(self._tokens_hooks)
        self._tokens_hooks[handle.id] = hook
        return handle


SequenceClassifier = SequenceModel  # the name configs, checkpoints and subclasses of earlier releases used
