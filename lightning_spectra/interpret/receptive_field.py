"""Where along the spectrum each position of a layer looks: receptive-field centres and extents, by gradient probe.

Plain linear interpolation of a layer map from ``L'`` to ``L`` points assumes that layer position ``m`` sits at
``(m + 0.5) L / L'``. Unpadded strided stacks (the CNN: true stride 32, not 4023 / 124 = 32.4) and stacks whose
branches shrink differently (the MSResNet) break that assumption by tens to hundreds of points. Here every
layer position is located from the model itself: the gradient of the position's activations with respect to
the input says which input points it reads. This works for any architecture (branches, crops, padding) with
no per-layer bookkeeping.

- **Extent** (``first``, ``last``): the outermost input points with a non-zero gradient. While probing, the
  layers that make a gradient depend on the data are made structural from what they declare: a layer without
  weights that declares a window (``kernel_size`` and ``stride``, as torch's pools do; the CNN's fused
  max-pool + ReLU declares its own) averages that window, so every point a pool *could* pick counts; a layer
  without weights or sublayers that keeps the shape (an activation such as ReLU, dropout) passes its input
  through. Random probe spectra and random channel weights make an accidental cancellation vanishingly
  unlikely. So this is the structural receptive field.
- **Declared windows**: every layer run before the attribution layer that changes the length of the spectrum
  axis must declare its window (torch's convolutions and pools do; a custom layer sets ``kernel_size`` and
  ``stride``), unless the layers it runs account for the change (a residual block, a branch). One that does not
  is an error: its gradient may depend on the data (a max-like pool), which would narrow the fields silently.
- **Centre**: the midpoint of the extent. For a conv/pool stack this is the analytic centre (the CNN: 35 + 32 m);
  for a stack of branches (the MSResNet) it is the middle of what the branches read together. It does not
  depend on the weights, so the same architecture always gets the same centres.
- **Input normalisation**: a LayerNorm over the whole spectrum (the CNN's and ResNet's ``input_norm``) lets
  every point shift every activation a little through the spectrum's mean and spread. That coupling is the same
  for every position and says nothing about *where* a position looks, so such layers are bypassed while probing.
- **Unseen points**: input points inside no position's extent (the tail an unpadded strided stack drops). Maps
  carry no information there; :func:`upsample_by_receptive_field` reports them.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from functools import partial

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from lightning_spectra.interpret.layers import attribution_layer, layer_name, recorded_outputs
from lightning_spectra.interpret.model_modes import evaluation_mode

#: Probe spectra per model; more only tightens the extents, which are already structural with two.
DEFAULT_PROBES = 2
#: Rows (copies of the probe spectrum) per backward pass.
ROWS_PER_PASS = 64


@dataclass
class ReceptiveFields:
    """Per layer position ``m``: centre and extent along the input, in point indices (``0 .. length - 1``).

    Attributes:
        centres: ``(L',)`` float, increasing.
        first, last: ``(L',)`` int, inclusive extent.
        length: points of the spectrum.
    """

    centres: Tensor
    first: Tensor
    last: Tensor
    length: int

    @property
    def seen(self) -> Tensor:
        """``(length,)`` bool: input points inside at least one position's extent."""
        seen = torch.zeros(self.length, dtype=torch.bool)
        for a, b in zip(self.first.tolist(), self.last.tolist(), strict=True):
            seen[a : b + 1] = True
        return seen

    @classmethod
    def identity(cls, length: int) -> ReceptiveFields:
        """The input itself: position ``m`` is point ``m``."""
        index = torch.arange(length)
        return cls(index.double(), index.clone(), index.clone(), length)


def receptive_fields(
    model: nn.Module,
    length: int,
    layer: str | None = None,
    probes: Tensor | int = DEFAULT_PROBES,
    seed: int = 0,
) -> ReceptiveFields:
    """Receptive-field centre and extent of every position of the model's attribution layer.

    Args:
        model: a classifier of spectra ``(N, length)``; evaluated in eval mode (modes restored).
        length: spectrum length.
        layer: overrides the model's ``attribution_layer``.
        probes: probe spectra ``(P, length)`` (e.g. a few real spectra) or how many random ones to draw.
        seed: seed of the random probes and channel weights (the global RNG is left alone).
    """
    module = attribution_layer(model, layer)
    if module is None:
        return ReceptiveFields.identity(length)
    generator = torch.Generator().manual_seed(seed)
    if isinstance(probes, int):
        probes = torch.randn(probes, length, generator=generator, dtype=torch.float64)
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    dtype = next((p.dtype for p in model.parameters()), torch.float32)
    probes = probes.to(device=device, dtype=dtype)
    with ExitStack() as hooks:
        captured = hooks.enter_context(recorded_outputs(module))
        for m in model.modules():
            hooks.callback(m.register_forward_hook(partial(_structural_output, length)).remove)
        hooks.enter_context(evaluation_mode(model))
        hooks.enter_context(torch.inference_mode(False))
        hooks.enter_context(torch.enable_grad())
        with _declared_windows_checked(model, layer_name(model, layer)):
            positions = _layer_positions(model, probes[:1], captured)
        support = _combed_support(model, probes, positions, captured, generator)
        if support is None:  # receptive fields too irregular to probe several positions per row
            groups = [[m] for m in range(positions)]
            support = _group_gradients(model, probes, groups, captured, generator) > 0
    if not bool(support.any(dim=1).all()):
        raise RuntimeError("a layer position has no gradient with respect to the input: is the layer positional?")
    return _fields(support)


def _window(module: nn.Module) -> tuple[int, int, int, int] | None:
    """``(kernel_size, stride, padding, dilation)`` the layer declares, or ``None`` if it declares no window."""
    if not hasattr(module, "kernel_size") or not hasattr(module, "stride"):
        return None
    defaults = {"kernel_size": 1, "stride": 1, "padding": 0, "dilation": 1}
    values = [getattr(module, name, default) for name, default in defaults.items()]
    values = [v[0] if isinstance(v, tuple | list) else v for v in values]
    return tuple(v if isinstance(v, int) else 0 for v in values)  # a convolution's padding may be "same"


def _has_weights(module: nn.Module) -> bool:
    return next(module.parameters(), None) is not None


def _structural_output(length: int, module: nn.Module, inputs: tuple, output: Tensor) -> Tensor | None:
    """What a layer gives while probing, from what it declares (``None``: its own output).

    A window without weights (a pool) gives the mean of its window; a normalisation over the whole spectrum
    (``normalized_shape`` the spectrum length: the input LayerNorm) and a layer without weights or sublayers that
    keeps the shape (an activation, dropout) pass their input through. The input LayerNorm couples every point to
    every activation through the spectrum's mean and spread, the same for every position, which says nothing
    about *where* a position looks.
    """
    x = inputs[0] if inputs else None
    if not isinstance(x, Tensor) or not isinstance(output, Tensor):
        return None
    window = _window(module)
    if window is not None and not _has_weights(module):
        mean = _window_mean(x, module, *window)
        if mean.shape != output.shape:
            raise ValueError(
                f"{type(module).__name__} declares the window {window} (kernel_size, stride, padding, dilation), "
                f"which gives {tuple(mean.shape)}, but it returns {tuple(output.shape)}"
            )
        return mean
    if tuple(getattr(module, "normalized_shape", ())) == (length,):
        return x
    if window is None and not _has_weights(module) and next(module.children(), None) is None:
        return x if output.shape == x.shape else None
    return None


def _window_mean(x: Tensor, module: nn.Module, kernel: int, stride: int, padding: int, dilation: int) -> Tensor:
    """The mean over the declared window (zero padding counted, as ``avg_pool1d`` counts it by default)."""
    if dilation == 1:
        ceil_mode = bool(getattr(module, "ceil_mode", False))
        include_pad = bool(getattr(module, "count_include_pad", True))
        return F.avg_pool1d(x, kernel, stride, padding, ceil_mode, include_pad)
    weight = x.new_full((1, 1, kernel), 1 / kernel)  # avg_pool1d has no dilation: a dilated box filter
    rows = F.conv1d(x.reshape(-1, 1, x.shape[-1]), weight, None, stride, padding, dilation)
    return rows.reshape(*x.shape[:-1], rows.shape[-1])


@contextmanager
def _declared_windows_checked(model: nn.Module, layer: str) -> Iterator[None]:
    """Raise if a layer run up to ``layer`` changes the length of the last axis without declaring a window.

    A layer without a window is fine when the length changes of the layers it runs lead from its input length
    to its output length (a residual block of convolutions, a branch ending in a pool).
    """
    frames: list[list[tuple[int, int]]] = []  # per running layer: the length changes of its sublayers
    finished = False

    def before(_module: nn.Module, _inputs: tuple) -> None:
        frames.append([])

    def after(name: str, module: nn.Module, inputs: tuple, output: Tensor) -> None:
        nonlocal finished
        steps = frames.pop()
        start, end = _length(inputs[0] if inputs else None), _length(output)
        if start is None or end is None:
            return
        if frames:
            frames[-1].append((start, end))
        if finished:  # the layers after the attribution layer (and those around it) place nothing
            return
        if start != end and _window(module) is None and not _leads_to(start, end, steps):
            raise ValueError(
                f"layer '{name}' ({type(module).__name__}) changes the length from {start} to {end} before the "
                f"attribution layer '{layer}' but declares no window: give it kernel_size and stride (and padding, "
                "dilation) as torch's convolutions and pools have, so that receptive fields know where it reads"
            )
        finished = name == layer

    with ExitStack() as hooks:
        for name, module in model.named_modules():
            hooks.callback(module.register_forward_pre_hook(before).remove)
            hooks.callback(module.register_forward_hook(partial(after, name)).remove)
        yield


def _length(value: object) -> int | None:
    return int(value.shape[-1]) if isinstance(value, Tensor) and value.dim() >= 2 else None


def _leads_to(start: int, end: int, steps: list[tuple[int, int]]) -> bool:
    """Whether the length changes ``steps`` (in any order) lead from ``start`` to ``end``."""
    reached, grown = {start}, True
    while grown:
        grown = False
        for a, b in steps:
            if a in reached and b not in reached:
                reached.add(b)
                grown = True
    return end in reached


def _fields(support: Tensor) -> ReceptiveFields:
    length = support.shape[1]
    first = support.int().argmax(dim=1)
    last = length - 1 - support.flip(dims=[1]).int().argmax(dim=1)
    return ReceptiveFields((first + last).double() / 2, first, last, length)


def _combed_support(
    model: nn.Module, probes: Tensor, positions: int, captured: list[Tensor], generator: torch.Generator
) -> Tensor | None:
    """Support ``(L', length)`` probing positions ``S`` apart in one row (their receptive fields do not overlap).

    Scouts the first, middle and last position for the widest extent and the stride, then probes ``S`` combs.
    Returns ``None`` when the assumption fails (a support reaches the edge of its share of the axis).
    """
    length = probes.shape[1]
    scouts = sorted({0, positions // 2, positions - 1})
    scouted = _fields(_group_gradients(model, probes, [[m] for m in scouts], captured, generator) > 0)
    if positions < 8:
        return None
    width = int((scouted.last - scouted.first).max()) + 1
    stride = float(scouted.centres[-1] - scouted.centres[0]) / (positions - 1)
    if stride <= 0:
        return None
    spacing = int(math.ceil((width + 2 * stride) / stride)) + 1
    if spacing >= positions:
        return None
    groups = [list(range(r, positions, spacing)) for r in range(spacing)]
    gradients = _group_gradients(model, probes, groups, captured, generator) > 0
    support = torch.zeros(positions, length, dtype=torch.bool)
    half = spacing * stride / 2
    origin = float(scouted.centres[0])
    for row, group in enumerate(groups):
        for m in group:
            lo = max(int(math.floor(origin + stride * m - half)), 0)
            hi = min(int(math.ceil(origin + stride * m + half)), length)
            window = gradients[row, lo:hi]
            touches = (lo > 0 and bool(window[0])) or (hi < length and bool(window[-1]))
            if touches or not bool(window.any()):
                return None
            support[m, lo:hi] = window
    return support


def _group_gradients(
    model: nn.Module,
    probes: Tensor,
    groups: list[list[int]],
    captured: list[Tensor],
    generator: torch.Generator,
) -> Tensor:
    """``sum over probes of |d (sum over m in group of w_m . A[:, m]) / d x|``, one row per group."""
    total = torch.zeros(len(groups), probes.shape[1], dtype=torch.float64)
    for probe in probes:
        for start in range(0, len(groups), ROWS_PER_PASS):
            chunk = groups[start : start + ROWS_PER_PASS]
            total[start : start + len(chunk)] += _probe(model, probe, chunk, captured, generator)
    return total


def _layer_positions(model: nn.Module, probe: Tensor, captured: list[Tensor]) -> int:
    captured.clear()
    with torch.no_grad():
        model(probe)
    return int(captured[-1].shape[-1])


def _probe(
    model: nn.Module,
    probe: Tensor,
    groups: list[list[int]],
    captured: list[Tensor],
    generator: torch.Generator,
) -> Tensor:
    """``|d (sum over m in group of w_m . A[:, m]) / d x|`` per group, one copy of the probe per group."""
    captured.clear()
    x = probe.expand(len(groups), -1).clone().requires_grad_(True)
    model(x)
    output = captured[-1]
    if output.dim() == 2:
        output = output.unsqueeze(1)
    # Random channel weights: a plain sum over channels could cancel at some input point, random weights do not.
    mask = torch.zeros(len(groups), output.shape[1], output.shape[2], dtype=torch.float64)
    for row, group in enumerate(groups):
        mask[row, :, group] = torch.randn(output.shape[1], len(group), generator=generator, dtype=torch.float64)
    score = (output * mask.to(output)).sum()
    (gradient,) = torch.autograd.grad(score, x)
    return gradient.detach().abs().double().cpu()


def upsample_by_receptive_field(maps: Tensor, fields: ReceptiveFields) -> tuple[Tensor, Tensor]:
    """Layer maps ``(N, L')`` -> ``(N, length)``, linearly interpolated between the positions' centres.

    Between the first and last centre the map is interpolated; beyond them, up to the edge of what the
    layer sees, it keeps the outermost value; at points no position sees it is 0.

    Returns:
        the maps and the ``(length,)`` bool mask of points no position sees.
    """
    seen = fields.seen
    if maps.shape[-1] == fields.length and torch.equal(fields.centres, torch.arange(fields.length).double()):
        return maps, ~seen
    if maps.shape[-1] != len(fields.centres):
        raise ValueError(f"maps have {maps.shape[-1]} positions, the receptive fields {len(fields.centres)}")
    centres, order = torch.sort(fields.centres.to(maps.device, torch.float64))  # branched stacks: not always monotone
    maps = maps[..., order]  # may not be monotone to the last decimal
    grid = torch.arange(fields.length, dtype=torch.float64, device=maps.device).clamp(centres[0], centres[-1])
    right = torch.searchsorted(centres, grid, right=False).clamp(1, len(centres) - 1)
    left = right - 1
    span = (centres[right] - centres[left]).clamp_min(1e-12)
    weight = ((grid - centres[left]) / span).clamp(0, 1).to(maps.dtype)
    values = maps[..., left] * (1 - weight) + maps[..., right] * weight
    if len(centres) == 1:
        values = maps[..., :1].expand(*maps.shape[:-1], fields.length).clone()
    values = values.masked_fill(~seen.to(maps.device), 0.0)
    return values, ~seen
