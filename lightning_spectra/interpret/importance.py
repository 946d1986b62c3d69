"""Input-gradient feature importance (docs/paper.md §6): how the training loss responds to each point of the spectra.

The paper's procedure: ``model.eval()``, the whole training tensor in one forward pass, the mean BCE against
the labels, ``backward()``, and ``G = dL/dx`` (same shape as the input). Two summaries follow:

- ``signed_sum = sum over samples of G``. Because the loss is a mean, ``G_i = (1/N) dl_i/dx_i`` and the
  signed sum is the *average per-spectrum* gradient: positive where raising the intensity raises the loss.
- ``mean_square``: the paper's "AvgS" divides the sum of squares by the number of *points* (4023), a quirk of
  its code that makes the scale depend on the spectrum length. Here the default divides by the number of
  *samples* (``normalisation="samples"``), so the value is the mean over spectra of ``G_i ** 2`` and does not
  change when the x grid is resampled; ``normalisation="points"`` reproduces the paper's numbers.

Nothing here needs Lightning: the functions take any ``nn.Module`` mapping ``(N, L)`` spectra to logits.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from lightning_spectra.interpret.model_modes import SequenceLayout, evaluation_mode, gradient_ready

Normalisation = Literal["samples", "points"]
LossFn = Callable[[Tensor, Tensor], Tensor]


def default_loss(logits: Tensor, target: Tensor) -> Tensor:
    """The loss the classifiers train with: BCE on a single logit, else cross-entropy (both mean-reduced)."""
    if logits.shape[1] == 1:
        return F.binary_cross_entropy_with_logits(logits[:, 0], target.to(logits.dtype))
    return F.cross_entropy(logits, target.long())


def input_gradients(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    loss_fn: LossFn | None = None,
    eval_mode: bool = True,
    sequence_layout: SequenceLayout = "eval",
) -> tuple[Tensor, Tensor]:
    """``G = dL/dx`` of the mean loss over the whole set ``x`` in ONE forward pass, and the loss itself.

    One pass on purpose: sequence models (and BatchNorm in training mode) mix the rows of a batch, so the
    paper's numbers are those of the full tensor, not of per-sample passes. Gradients are enabled even if
    the caller runs under ``torch.no_grad`` or ``torch.inference_mode`` (Lightning's evaluation loops do),
    and only ``x`` receives a gradient: the parameters' ``.grad`` is left untouched.

    Args:
        model: maps ``(N, L)`` to logits ``(N, out_features)``.
        x: spectra ``(N, L)``, in the order the model expects (sequence models read the row order).
        y: labels ``(N,)`` (or probabilities for a single-logit model).
        loss_fn: ``loss(logits, y)``, mean-reduced; defaults to ``model.loss`` if present, else
            :func:`default_loss`.
        eval_mode: run with ``model.eval()`` (the paper's procedure); the previous modes are restored.
        sequence_layout: see :func:`~lightning_spectra.interpret.model_modes.evaluation_mode`.

    Returns:
        ``G`` ``(N, L)`` (float32, detached, on ``x``'s device) and the loss value (0-d tensor).
    """
    if loss_fn is None:
        loss_fn = getattr(model, "loss", None) or default_loss
    device = next((p.device for p in model.parameters()), x.device)
    with torch.inference_mode(False), torch.enable_grad():
        inputs = gradient_ready(x.to(device))
        target = y.to(device).clone()
        if eval_mode:
            with evaluation_mode(model, sequence_layout):
                loss = loss_fn(model(inputs), target)
        else:
            loss = loss_fn(model(inputs), target)
        (grad,) = torch.autograd.grad(loss, inputs)
    return grad.detach(), loss.detach()


def summarise_gradients(grad: Tensor, normalisation: Normalisation = "samples") -> tuple[Tensor, Tensor]:
    """Signed sum over samples and the mean square of ``G`` ``(N, L)`` (float64, on the CPU).

    ``normalisation="samples"`` divides the sum of squares by N (spectra); ``"points"`` by L, as the paper's
    "AvgS" did. Sums are taken in float64 so tiny gradients (1e-10 for the SCT model) keep their digits.
    """
    if normalisation not in ("samples", "points"):
        raise ValueError(f"normalisation must be 'samples' or 'points', got {normalisation!r}")
    g = grad.detach().to("cpu", torch.float64)
    signed = g.sum(dim=0)
    squares = g.square().sum(dim=0)
    return signed, squares / (g.shape[0] if normalisation == "samples" else g.shape[1])


def input_gradient_importance(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    loss_fn: LossFn | None = None,
    normalisation: Normalisation = "samples",
    eval_mode: bool = True,
    sequence_layout: SequenceLayout = "eval",
) -> tuple[Tensor, Tensor]:
    """The paper's feature importance: ``(signed_sum (L,), mean_square (L,))`` of ``dL/dx`` over the set.

    See :func:`input_gradients` for the arguments and :func:`summarise_gradients` for the normalisation.
    """
    grad, _ = input_gradients(model, x, y, loss_fn, eval_mode=eval_mode, sequence_layout=sequence_layout)
    return summarise_gradients(grad, normalisation)
