"""A small mapped split (two classes, one empty range of points) for the tests of the GradCAM steps."""

from __future__ import annotations

import numpy as np
import torch

from lightning_spectra.callbacks.mapped_split import MappedSplit
from lightning_spectra.interpret.faithfulness import DeletionCurve
from lightning_spectra.interpret.groups import Groups

LENGTH = 12


def small_mapped_split(curves: bool = True, classic: bool = True) -> MappedSplit:
    """Four spectra of 12 points on a 2 theta axis from 10 degrees; spectra 0, 1 explain class 0, 2, 3 class 1;
    the map of class 1 peaks at 2 theta 12 (point 4); the last two points are unseen."""
    spectra = np.tile(np.linspace(0.0, 1.0, LENGTH), (4, 1))
    maps = np.zeros((4, LENGTH))
    maps[:2, 8] = 1.0
    maps[2:, 4] = 2.0
    maps[2:, 11] = 5.0  # unseen: must not be the peak
    per_spectrum = {"spectrum": spectra, "gradcam": maps}
    if classic:
        per_spectrum["gradcam_classic"] = maps / 2
    unseen = np.zeros(LENGTH, dtype=bool)
    unseen[-2:] = True
    groups = Groups(
        kind="class",
        index=np.array([0, 0, 1, 1]),
        names=["low", "high"],
        titles=[" | a"] * 4,
        explains="label",
        grouped_by="labelled",
        score="probability of the explained class",
        reference_classes=torch.tensor([0, 0, 1, 1]),
        misclassified=np.array([False, True, False, False]),
        change=2,
    )
    fractions = np.linspace(0, 1, 3)
    deletion = {"1D Grad-CAM": DeletionCurve(fractions, np.array([0.9, 0.4, 0.1]), np.array([0.9, 0.6, 0.1]))}
    axis = 10.0 + 0.5 * np.arange(LENGTH)
    return MappedSplit(
        "test", "conv3", "1D Grad-CAM", axis, per_spectrum, unseen, 3, groups, deletion if curves else {}
    )
