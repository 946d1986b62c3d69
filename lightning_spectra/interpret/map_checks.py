"""A second opinion and a faithfulness check for a set of maps: Integrated Gradients against a reference, and
the deletion curve of every map (:mod:`.integrated_gradients`, :mod:`.faithfulness`)."""

from __future__ import annotations

from collections.abc import Mapping

from torch import Tensor, nn

from lightning_spectra.interpret.faithfulness import DeletionCurve, deletion_curve, target_probability
from lightning_spectra.interpret.gradcam import ScoreFn, class_score
from lightning_spectra.interpret.integrated_gradients import integrated_gradients

INTEGRATED_GRADIENTS = "integrated gradients"  # the method name of Integrated Gradients maps


def check_maps(
    model: nn.Module,
    x: Tensor,
    maps: Tensor,
    method: str,
    target: Tensor,
    reference: Tensor,
    ig_steps: int | None = None,
    deletion: Mapping[str, int] | None = None,
    score: ScoreFn = class_score,
    deletion_score: ScoreFn = target_probability,
    deletion_score_name: str = "probability",
) -> tuple[Tensor | None, dict[str, DeletionCurve]]:
    """Integrated Gradients of ``x`` from ``reference`` (if ``ig_steps``) and the deletion curve of every map
    (if ``deletion``, the keyword arguments of :func:`~.faithfulness.deletion_curve`), by method name.

    Args:
        maps: ``(N, L)`` maps of ``method`` explaining ``target``.
        reference: ``(N, L)`` reference spectra; the deletion curves replace regions by them too.
        score: what Integrated Gradients explains (:func:`~.integrated_gradients.integrated_gradients`).
        deletion_score, deletion_score_name: what the deletion curves follow (:func:`~.faithfulness.deletion_curve`).

    Returns:
        the Integrated Gradients maps ``(N, L)`` on the CPU (or ``None``) and the curves, ``method`` first.

    Examples:
        >>> import torch
        >>> model = torch.nn.Linear(4, 2)
        >>> x, target = torch.randn(3, 4), torch.tensor([0, 1, 1])
        >>> ig, curves = check_maps(model, x, x, "gradient x input", target, torch.zeros(3, 4), ig_steps=4)
        >>> ig.shape, curves
        (torch.Size([3, 4]), {})
    """
    x = x.detach().float()
    maps_by_method = {method: maps.float()}
    if ig_steps is not None:
        ig = integrated_gradients(model, x, target, reference, n_steps=ig_steps, score=score)
        maps_by_method[INTEGRATED_GRADIENTS] = ig.float()
    curves = {}
    if deletion is not None:
        for name, values in maps_by_method.items():
            followed = {"score": deletion_score, "score_name": deletion_score_name}
            curves[name] = deletion_curve(model, x, values.to(x.device), target, reference, **deletion, **followed)
    ig = maps_by_method.get(INTEGRATED_GRADIENTS)
    return None if ig is None else ig.cpu(), curves
