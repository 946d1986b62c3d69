"""Integrated Gradients (Sundararajan et al. 2017, through captum) against a reference spectrum, for any model.

Gradient x input and Grad-CAM say how the score reacts to a small change; Integrated Gradients says how much of
the score *difference* between a spectrum and a reference each point accounts for:

    IG_i(x) = (x_i - r_i) * mean over alpha in (0, 1] of dy/dx_i at r + alpha (x - r)

and the points add up to ``y(x) - y(r)`` (completeness). The reference fixes the question asked:

- ``"other_class_mean"``: the mean spectrum of the other class(es) (for a spectrum explained as class c, the
  mean of every spectrum *not* in c). "Which points make this spectrum class c rather than the other class?"
- ``"lowest_group_mean"``: the mean spectrum of the lowest group (a regressor's lowest target range) for every
  spectrum. "Which points make this spectrum's predicted value higher than a low sample's?": the evidence for the
  amount is positive wherever it raises the value, in every range alike (against the other ranges' mean, a low
  sample's map would point the other way).
- ``"background"``: the spectrum's own smooth background (asymmetric least squares, the paper's baseline
  method), i.e. the spectrum with its peaks removed. "Which peaks carry the decision?"

Sequence models read the whole series: every path point moves all spectra of the series together (one model
call per step, ``internal_batch_size`` = the series), and the gradient of the summed scores includes what a
spectrum contributes to its neighbours' scores. For models that treat spectra independently (every other
model in eval mode) each row is exactly the spectrum's own IG.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
from torch import Tensor, nn

from lightning_spectra.interpret.gradcam import ScoreFn, class_score
from lightning_spectra.interpret.model_modes import evaluation_mode

Reference = Literal["other_class_mean", "lowest_group_mean", "background"]
REFERENCES = ("other_class_mean", "lowest_group_mean", "background")


def other_class_means(x: Tensor, classes: Tensor, target: Tensor) -> Tensor:
    """Per row: the mean of the spectra whose class differs from the row's target ``(N, L)``."""
    classes, target = classes.to(x.device).long(), target.to(x.device).long()
    out = torch.empty_like(x)
    for c in target.unique().tolist():
        others = x[classes != c]
        if len(others) == 0:
            raise ValueError(f"no spectrum outside class {c}: the other-class reference needs at least one")
        out[target == c] = others.mean(dim=0)
    return out


def smooth_backgrounds(x: Tensor, lam: float = 1e5, p: float = 0.002) -> Tensor:
    """Each spectrum's asymmetric-least-squares background ``(N, L)`` (the spectrum without its peaks)."""
    from lightning_spectra.data.baseline import remove_baseline  # the data package loads Lightning: only if used

    spectra = x.detach().double().cpu().numpy()
    axis = np.arange(spectra.shape[1], dtype=float)
    backgrounds = spectra - remove_baseline(axis, spectra, lam=lam, p=p, progress=False)
    return torch.as_tensor(backgrounds, dtype=x.dtype, device=x.device)


def reference_spectra(x: Tensor, kind: Reference, classes: Tensor, target: Tensor) -> Tensor:
    """The reference of every row for ``kind`` (see the module docstring)."""
    if kind == "other_class_mean":
        return other_class_means(x, classes, target)
    if kind == "lowest_group_mean":
        rows = x[classes.to(x.device).long() == int(classes[classes >= 0].min())] if (classes >= 0).any() else x[:0]
        if len(rows) == 0 or len(rows) == len(x):
            raise ValueError("the lowest-group reference needs spectra in more than one group")
        return rows.mean(dim=0, keepdim=True).expand_as(x).clone()
    if kind == "background":
        return smooth_backgrounds(x)
    raise ValueError(f"reference must be one of {REFERENCES}, got {kind!r}")


def integrated_gradients(
    model: nn.Module,
    x: Tensor,
    target: Tensor,
    reference: Tensor,
    n_steps: int = 32,
    eval_mode: bool = True,
    score: ScoreFn = class_score,
) -> Tensor:
    """Integrated Gradients ``(N, L)`` of the target scores from ``reference`` to ``x``: ``score(outputs,
    target)``, as for Grad-CAM (:data:`~.gradcam.ScoreFn`: a task's ``attribution_score``, a regressor's
    predicted value of output ``target`` in its units; by default the outputs are class logits).

    Runs with gradients on, even under ``torch.inference_mode``; the model is evaluated in eval mode (modes
    restored) unless ``eval_mode`` is False. Uses captum's Gauss-Legendre path.
    """
    from captum.attr import IntegratedGradients  # captum loads matplotlib (over a second): only when asked

    device = next((p.device for p in model.parameters()), x.device)
    target = target.to(device).long()

    def scores(inputs: Tensor) -> Tensor:
        return score(model(inputs), target)

    with torch.inference_mode(False), torch.enable_grad():
        inputs = x.detach().clone().to(device)
        baselines = reference.detach().clone().to(device, inputs.dtype)
        explainer = IntegratedGradients(scores)
        if eval_mode:
            with evaluation_mode(model):
                attributions = explainer.attribute(
                    inputs, baselines=baselines, n_steps=n_steps, internal_batch_size=len(inputs)
                )
        else:
            attributions = explainer.attribute(
                inputs, baselines=baselines, n_steps=n_steps, internal_batch_size=len(inputs)
            )
    return attributions.detach()
