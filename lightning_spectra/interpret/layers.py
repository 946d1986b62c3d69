"""The layer an attribution map is taken at, and the forward hook that records its output.

A model names its positional layer in its ``attribution_layer`` class attribute (a submodule path such as
``"conv3"``, or ``"input"`` for the spectrum itself). That layer's output is ``(N, K, L')``, channels first,
or ``(N, L')`` for a layer without channels.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from torch import Tensor, nn

INPUT_LAYER = "input"  # attribution_layer name for the spectrum itself


def attribution_layer(model: nn.Module, layer: str | None = None) -> nn.Module | None:
    """The submodule the maps are taken at: ``layer``, or the one the model names in ``attribution_layer``.

    ``"input"`` names the spectrum itself (module ``None``): with one channel, 1D Grad-CAM there is
    gradient x input, the positional map of models whose first layer already mixes the whole spectrum.

    Examples:
        >>> from torch import nn
        >>> model = nn.Sequential(nn.Conv1d(1, 2, 3))
        >>> attribution_layer(model, "0")
        Conv1d(1, 2, kernel_size=(3,), stride=(1,))
        >>> attribution_layer(model, "input") is None
        True
    """
    name = layer if layer is not None else getattr(model, "attribution_layer", None)
    if not name:
        raise ValueError(f"{type(model).__name__} has no attribution_layer: Grad-CAM needs a positional layer")
    if name == INPUT_LAYER:
        return None
    return model.get_submodule(name)


def layer_name(model: nn.Module, layer: str | None = None) -> str | None:
    """``layer``, or the name the model gives in ``attribution_layer``."""
    return layer if layer is not None else getattr(model, "attribution_layer", None)


@contextmanager
def recorded_outputs(module: nn.Module) -> Iterator[list[Tensor]]:
    """The outputs of ``module``, one per forward pass run inside the block (the hook is removed after it).

    Examples:
        >>> import torch
        >>> conv = nn.Conv1d(1, 2, 3)
        >>> with recorded_outputs(conv) as outputs:
        ...     _ = conv(torch.zeros(1, 1, 8))
        >>> outputs[0].shape
        torch.Size([1, 2, 6])
    """
    outputs: list[Tensor] = []
    handle = module.register_forward_hook(lambda _module, _inputs, output: outputs.append(output))
    try:
        yield outputs
    finally:
        handle.remove()
