"""Running a model for attribution: in eval mode with its previous modes restored afterwards, on inputs that
autograd can use even when they were made under ``torch.inference_mode``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

from torch import Tensor, nn

SequenceLayout = Literal["eval", "train"]


@contextmanager
def evaluation_mode(model: nn.Module, sequence_layout: SequenceLayout = "eval") -> Iterator[nn.Module]:
    """Put ``model`` in eval mode for the block and restore its previous modes afterwards.

    Sequence models (anything with ``train_sequence``/``eval_sequence`` attributes) pick how a batch is cut
    into sequences from ``model.training``. The paper computed feature importance with ``model.eval()`` yet
    fed the training tensor in its *training* layout (``X2_TRN``, 31 x 51 x L), so
    ``sequence_layout="train"`` keeps eval-mode layers (dropout off, BatchNorm running statistics) while cutting
    the batch as in training. Other models ignore it.

    Examples:
        >>> from torch import nn
        >>> model = nn.Sequential(nn.Dropout()).train()
        >>> with evaluation_mode(model):
        ...     model.training
        False
        >>> model.training
        True
    """
    modes = {m: m.training for m in model.modules()}
    swap = sequence_layout == "train" and hasattr(model, "train_sequence") and hasattr(model, "eval_sequence")
    saved = model.eval_sequence if swap else None
    model.eval()
    if swap:
        model.eval_sequence = model.train_sequence
    try:
        yield model
    finally:
        if swap:
            model.eval_sequence = saved
        for m, training in modes.items():
            m.training = training


def gradient_ready(x: Tensor) -> Tensor:
    """A copy of ``x`` that autograd can use, even if ``x`` was made under ``torch.inference_mode``.

    Call inside ``torch.inference_mode(False)``: cloning there turns an inference tensor into a normal one.
    """
    return x.detach().clone().requires_grad_(True)
