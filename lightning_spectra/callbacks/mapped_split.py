"""The maps of a split and everything its files, figures and summary numbers are made from."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from lightning_spectra.interpret.faithfulness import DeletionCurve
from lightning_spectra.interpret.gradcam import class_means
from lightning_spectra.interpret.groups import Groups
from lightning_spectra.interpret.map_checks import INTEGRATED_GRADIENTS

#: The maps that can come first, by their ``per_spectrum`` key: the layer's 1D Grad-CAM, or Integrated Gradients.
DEFAULT_MAPS = ("gradcam", "integrated_gradients")


@dataclass
class MappedSplit:
    """The maps of a split and what every output is written from, the same for classifiers and regressors.

    ``per_spectrum`` holds ``(N, L)`` arrays under the prefix of their table columns: ``spectrum``, ``gradcam``,
    then ``gradcam_classic`` (only where it says something the 1D map does not) and ``integrated_gradients``
    when made; ``means`` the same averaged per group ``(G, L)`` (NaN rows for empty groups). ``default``: the key
    of the map the figures draw first (:data:`DEFAULT_MAPS`).
    """

    split: str
    layer: str
    method: str
    axis: np.ndarray
    per_spectrum: dict[str, np.ndarray]
    unseen: np.ndarray
    positions: int
    groups: Groups
    curves: dict[str, DeletionCurve]
    default: str = "gradcam"

    means: dict[str, np.ndarray] = field(init=False)
    stem: str = field(init=False)

    def __post_init__(self) -> None:
        index, count = torch.as_tensor(self.groups.index), len(self.groups.names)
        self.means = {k: class_means(torch.as_tensor(v), index, count).numpy() for k, v in self.per_spectrum.items()}
        self.stem = f"gradcam_{self.split}"

    @property
    def maps_by_method(self) -> dict[str, np.ndarray]:
        """The maps of the layer's method and, when made, Integrated Gradients (named as in the summary)."""
        keys = {self.method: "gradcam", INTEGRATED_GRADIENTS: "integrated_gradients"}
        return {name: self.per_spectrum[key] for name, key in keys.items() if key in self.per_spectrum}

    @property
    def default_method(self) -> str:
        """The name of the map drawn first."""
        return INTEGRATED_GRADIENTS if self.default == "integrated_gradients" else self.method

    @property
    def layer_only(self) -> bool:
        """Whether the default map is the layer's own (its points unseen by the layer are shaded, its resolution
        is the layer's)."""
        return self.default == "gradcam"
