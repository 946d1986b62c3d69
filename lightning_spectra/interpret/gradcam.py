"""1D Grad-CAM (Shi et al. 2023) and classic Grad-CAM for spectrum classifiers.

For a target score ``y`` and the activations ``A`` ``(channels K, positions L')`` of the model's
``attribution_layer``:

- **1D Grad-CAM** (the reference method): ``map = sum_k dy/dA_k * A_k``: no gradient averaging over positions
  and no ReLU, so the map keeps *where* the gradient is large and evidence *against* the class (negative
  values). This is gradient x activation summed over channels (captum's ``LayerGradientXActivation``).
- **Classic Grad-CAM** (Selvaraju et al.): ``alpha_k = mean over positions of dy/dA_k``,
  ``map = sum_k alpha_k A_k``, ReLU optional (captum's ``LayerGradCam``). Kept for comparison.

Conventions:

- **Target score.** The caller's ``score(outputs, target)`` (:data:`ScoreFn`, as captum's ``forward_func``):
  for a model of this package its task's :meth:`~lightning_spectra.tasks.base.Task.attribution_score` (a
  regressor's predicted value of output ``target`` in the target's units), which the callbacks pass. The
  default, :func:`class_score`, reads the outputs as class logits: the logit of the target class; for a single
  logit ``z`` for class 1 and ``-z`` for class 0, since ``p(class 0) = sigmoid(-z)``, so the class-0 map is
  exactly the negative of the class-1 map. The default target (``default_target``, by default
  :func:`predicted_class`) is the class the model predicts (explain the decision that was made).
- **Layer.** A model's ``attribution_layer`` names the submodule whose output ``(N, K, L')`` is mapped
  (:mod:`.layers`).
- **Upsampling.** By receptive field (:mod:`.receptive_field`): each layer value is placed at the centre of
  the input points its position reads, and the map is interpolated linearly between those centres. Points
  no position reads are 0 in the map and flagged in ``unseen``. (Plain interpolation over equal cells, as
  captum's ``LayerAttribution.interpolate``, puts the CNN's positions up to 36 points and the MSResNet's up to
  280 points away from what they read at 4023 points.)
- **Names.** At the ``"input"`` layer the map is gradient x input, not Grad-CAM; :func:`method_name` gives the
  honest name, and the classic (GAP) map carries no positional information there (see :func:`classic_informative`).
- **Rows that interact.** With ``model.eval()`` a convolutional model treats every spectrum on its own, so one
  backward pass of the summed scores gives every row's gradient. Sequence models evaluated on a whole
  sequence (``sequence_mode`` other than ``"independent"``) let a spectrum's score depend on the other
  spectra; their maps then take one backward pass per spectrum so that row ``i`` gets ``dy_i/dA_i`` only,
  through the per-spectrum tokens the model reports to ``register_tokens_hook``
  (:class:`~lightning_spectra.models.sequence.SequenceClassifier`).

Nothing here needs Lightning.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from lightning_spectra.interpret.layers import INPUT_LAYER, attribution_layer, layer_name, recorded_outputs
from lightning_spectra.interpret.model_modes import evaluation_mode, gradient_ready
from lightning_spectra.interpret.receptive_field import ReceptiveFields, receptive_fields, upsample_by_receptive_field

#: What a map explains, per row ``(N,)``, from a model's outputs and the explained output of each row ``(N,)``:
#: a task's :meth:`~lightning_spectra.tasks.base.Task.attribution_score`, or :func:`class_score` for class logits.
ScoreFn = Callable[[Tensor, Tensor], Tensor]
#: The explained output of each row ``(N,)`` when the caller names none, from the model's outputs.
TargetFn = Callable[[Tensor], Tensor]


@dataclass
class GradCAMMaps:
    """Grad-CAM maps of N spectra, both methods, upsampled to the spectrum length L.

    Attributes:
        maps: 1D Grad-CAM ``(N, L)``, signed.
        classic: classic Grad-CAM ``(N, L)`` (ReLU applied only if asked).
        layer_maps: 1D Grad-CAM at the layer's own resolution ``(N, L')``.
        target: the class each map explains ``(N,)``.
        logits: the model's logits ``(N, out_features)``.
        unseen: ``(L,)`` bool, points no layer position reads (the maps are 0 there).
        fields: receptive fields of the layer positions.
    """

    maps: Tensor
    classic: Tensor
    layer_maps: Tensor
    target: Tensor
    logits: Tensor
    unseen: Tensor
    fields: ReceptiveFields


def method_name(model: nn.Module, layer: str | None = None) -> str:
    """What the maps of ``model`` are, for titles and summaries: gradient x input at the input, else 1D Grad-CAM."""
    return "gradient x input" if layer_name(model, layer) == INPUT_LAYER else "1D Grad-CAM"


def classic_informative(maps: GradCAMMaps, layer: str | None) -> bool:
    """Whether the classic (GAP-weighted) map says anything the 1D map does not.

    At the input (one channel) classic Grad-CAM is the spectrum times one number; after an input LayerNorm
    that number, the mean gradient, is exactly 0 (a LayerNorm's output does not change when a constant is
    added to its input, so its input gradient sums to 0). Either way no positional information: not drawn.
    """
    if layer == INPUT_LAYER:
        return False
    top = float(maps.maps.abs().max()) if maps.maps.numel() else 0.0
    return float(maps.classic.abs().max()) > 1e-6 * max(top, 1e-30)


def predicted_class(logits: Tensor) -> Tensor:
    """Predicted class per row: ``z > 0`` for one logit (sigmoid > 0.5, as the paper), else the argmax."""
    return (logits[:, 0] > 0).long() if logits.shape[1] == 1 else logits.argmax(dim=1)


def class_score(logits: Tensor, target: Tensor) -> Tensor:
    """The score Grad-CAM differentiates, per row: the target's logit; ``+z``/``-z`` for a single logit."""
    target = target.to(logits.device).long()
    if logits.shape[1] == 1:
        return logits[:, 0] * (2 * target - 1).to(logits.dtype)
    # A one-hot product rather than gather: same value, and its backward is deterministic on every device.
    return (logits * F.one_hot(target, logits.shape[1]).to(logits.dtype)).sum(dim=1)


def contrasted(scores: Tensor, logits: Tensor) -> Tensor:
    """A class score minus the mean of the other classes' logits (for two classes the log-odds, which alone
    sets the class probability): "why this class rather than the others", where a single logit also carries
    what raises every class alike. Single-logit models and regressors keep their score."""
    classes = logits.shape[1]
    if classes < 2:
        return scores
    return scores - (logits.sum(dim=1) - scores) / (classes - 1)


def rows_interact(model: nn.Module) -> bool:
    """Whether, in the model's current mode, one spectrum's output depends on the other spectra of the batch."""
    if getattr(model, "sequence_mode", "independent") != "independent":
        return True
    return model.training and any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())


def layer_gradients(
    model: nn.Module,
    x: Tensor,
    target: Tensor | int | None = None,
    layer: str | None = None,
    per_row: bool | None = None,
    contrast: bool = False,
    score: ScoreFn = class_score,
    default_target: TargetFn = predicted_class,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Activations ``A`` and gradients ``dy/dA`` ``(N, K, L')`` (channels first) of the attribution layer.

    Runs with gradients enabled even under ``torch.inference_mode`` and in the model's *current* mode (see
    :func:`grad_cam` for the eval-mode wrapper). ``per_row=None`` decides with :func:`rows_interact`;
    ``contrast``: a classifier's score minus the other classes' mean logit (:func:`contrasted`); ``score`` and
    ``default_target``: what is explained (:data:`ScoreFn`, :data:`TargetFn`).

    Returns:
        activations, gradients (both detached, float32), target ``(N,)`` and logits ``(N, out_features)``.
    """
    module = attribution_layer(model, layer)
    device = next((p.device for p in model.parameters()), x.device)
    with torch.inference_mode(False), torch.enable_grad(), ExitStack() as hooks:
        inputs = gradient_ready(x.to(device))  # so A needs a gradient even if the parameters are frozen
        captured = hooks.enter_context(recorded_outputs(module)) if module is not None else [inputs]
        tokens: list[Tensor] = []
        if hasattr(model, "register_tokens_hook"):  # sequence models: the tokens below the rows' mixing
            hooks.callback(model.register_tokens_hook(tokens.append).remove)
        logits = model(inputs)
        if len(captured) != 1 or not isinstance(captured[0], Tensor):
            raise RuntimeError(
                f"attribution layer {type(module).__name__} must return one tensor and run once "
                f"per forward pass (ran {len(captured)} times)"
            )
        activations = captured[0]
        if activations.shape[0] != len(x):
            raise RuntimeError(
                f"attribution layer output {tuple(activations.shape)} does not start with the "
                f"{len(x)} spectra of the batch"
            )
        if target is None:  # the caller's choice: a task's (a regressor's first target), else the predicted class
            target = default_target(logits.detach())
        elif isinstance(target, int):
            target = torch.full((len(x),), target, dtype=torch.long)
        scores = score(logits, target)
        if contrast:
            scores = contrasted(scores, logits)
        if per_row is None:
            per_row = rows_interact(model)
        if per_row:
            gradients = _per_row_gradients(scores, activations, tokens[0] if len(tokens) == 1 else None)
        else:
            (gradients,) = torch.autograd.grad(scores.sum(), activations)
    activations, gradients = activations.detach(), gradients.detach()
    if activations.dim() == 2:  # a layer without channels: one channel
        activations, gradients = activations.unsqueeze(1), gradients.unsqueeze(1)
    return activations, gradients, target.to(logits.device).long(), logits.detach()


def _per_row_gradients(scores: Tensor, activations: Tensor, tokens: Tensor | None) -> Tensor:
    """``dy_i/dA_i`` for every row i when rows interact (``activations`` rows start with i).

    With the per-row tokens ``T`` (row i a function of spectrum i only), ``dy_i/dA_i = dy_i/dT_i . dT_i/dA_i``:
    N cheap backward passes through the layers that mix rows give the ``dy_i/dT_i``, then ONE backward pass
    through the per-row encoder with those as output gradients gives every row at once. Without tokens, N
    full backward passes.
    """
    n = len(scores)
    if tokens is not None and tokens.shape[0] == n and tokens.requires_grad:
        try:
            rows = [torch.autograd.grad(scores[i], tokens, retain_graph=True)[0][i] for i in range(n)]
            (gradients,) = torch.autograd.grad(tokens, activations, grad_outputs=torch.stack(rows), retain_graph=True)
            return gradients
        except RuntimeError:  # the layer is not below the tokens (or the scores skip them): do it the long way
            pass
    rows = [torch.autograd.grad(scores[i], activations, retain_graph=i < n - 1)[0][i] for i in range(n)]
    return torch.stack(rows)


def upsample(maps: Tensor, length: int) -> Tensor:
    """Layer-resolution maps ``(N, L')`` -> ``(N, length)`` over equal cells (``align_corners=False``).

    Right only where position ``m`` reads around ``(m + 0.5) length / L'``; :func:`grad_cam` places values by
    receptive field instead. Kept for layers known to be equally spaced and for comparisons.
    """
    if maps.shape[-1] == length:
        return maps
    return F.interpolate(maps.unsqueeze(1), size=length, mode="linear", align_corners=False).squeeze(1)


def grad_cam(
    model: nn.Module,
    x: Tensor,
    target: Tensor | int | None = None,
    layer: str | None = None,
    relu: bool = False,
    eval_mode: bool = True,
    per_row: bool | None = None,
    fields: ReceptiveFields | None = None,
    contrast: bool = False,
    score: ScoreFn = class_score,
    default_target: TargetFn = predicted_class,
) -> GradCAMMaps:
    """1D Grad-CAM and classic Grad-CAM of the spectra ``x`` ``(N, L)`` in one forward pass.

    Args:
        model: maps ``(N, L)`` to logits; names its layer in ``attribution_layer`` (or pass ``layer``).
        x: spectra. For sequence models pass the whole series in order, as evaluation does: the maps of
            a few spectra taken out of their series would explain a different prediction.
        target: class per spectrum, one class for all, or ``None`` for the predicted class.
        layer: overrides the model's ``attribution_layer``.
        relu: apply the ReLU of classic Grad-CAM to ``classic`` (the 1D maps never get one).
        eval_mode: evaluate with ``model.eval()`` (BatchNorm running statistics, no dropout), then restore.
        per_row: force (or forbid) one backward pass per spectrum; ``None`` decides from the model.
        fields: receptive fields of the layer's positions (computed with :func:`receptive_fields` if not given;
            pass them to map several batches of one model without probing it again).
        contrast: explain the class score minus the other classes' mean logit (:func:`contrasted`); for class
            logits only (a regressor's value has nothing to contrast with).
        score: the number explained per row, from the outputs and ``target`` (captum's ``forward_func``); a
            model of this package: ``model.task.attribution_score``. Default: the outputs are class logits.
        default_target: the target per row when ``target`` is ``None``, from the outputs; a model of this
            package: ``model.task.default_attribution_target``. Default: the predicted class.
    """
    how = {"per_row": per_row, "contrast": contrast, "score": score, "default_target": default_target}
    if eval_mode:
        with evaluation_mode(model):
            a, g, target, logits = layer_gradients(model, x, target, layer, **how)
    else:
        a, g, target, logits = layer_gradients(model, x, target, layer, **how)
    layer_maps = (g * a).sum(dim=1)
    classic = (g.mean(dim=2, keepdim=True) * a).sum(dim=1)
    if relu:
        classic = classic.clamp_min(0)
    length = x.shape[-1]
    if fields is None:
        fields = receptive_fields(model, length, layer)
    maps, unseen = upsample_by_receptive_field(layer_maps, fields)
    classic_maps, _ = upsample_by_receptive_field(classic, fields)
    return GradCAMMaps(maps, classic_maps, layer_maps, target, logits, unseen, fields)


def class_means(values: Tensor, classes: Tensor, num_classes: int) -> Tensor:
    """Mean of the rows of ``values`` ``(N, L)`` per class ``(num_classes, L)``; NaN rows for absent classes."""
    classes = classes.to(values.device).long()
    out = torch.full((num_classes, values.shape[1]), float("nan"), dtype=values.dtype, device=values.device)
    for c in range(num_classes):
        rows = values[classes == c]
        if len(rows):
            out[c] = rows.mean(dim=0)
    return out
