"""How attribution maps are grouped: by the explained class (classifiers) or by target range (regressors)."""

from __future__ import annotations

import numpy as np
import torch

from lightning_spectra.interpret.groups import class_groups, range_groups
from lightning_spectra.models import CNN
from lightning_spectra.tasks import Targets

LENGTH = 128


def test_classes_group_by_the_explained_class_and_flag_mistakes() -> None:
    model = CNN(spectrum_length=LENGTH, targets=Targets.classes(["a", "b", "c"]))
    logits = torch.tensor([[5.0, 0, 0], [5.0, 0, 0], [0, 5.0, 0], [0, 0, 5.0]])  # predicted a, a, b, c
    labels = torch.tensor([0, 1, 1, -1])  # the second is wrong, the last unlabelled
    explained = torch.tensor([0, 1, 1, 2])
    groups = model.task.attribution_groups(logits, explained, labels, "label", ranges=3)
    assert (
        groups.titles == class_groups(["a", "b", "c"], model.probabilities(logits), explained, labels, "label").titles
    )
    assert groups.kind == "class" and groups.names == ["a", "b", "c"]
    assert groups.index.tolist() == [0, 1, 1, 2] and groups.counts.tolist() == [1, 2, 1]
    assert groups.misclassified.tolist() == [False, True, False, False]
    assert groups.reference_classes.tolist() == [0, 1, 1, 2]  # the unlabelled one by its prediction
    assert "MISCLASSIFIED" in groups.titles[1] and "label" not in groups.titles[3]
    assert groups.change == 2  # a, a | b, c: the prediction first leaves the series' first class at index 2


def test_regressors_group_by_quantile_ranges_of_the_reference() -> None:
    model = CNN(spectrum_length=LENGTH, targets=Targets.values(["c"], mean=[0.0], scale=[1.0]))
    reference = torch.tensor([[1.0], [2.0], [3.0], [4.0], [5.0], [float("nan")]])
    logits = torch.tensor([[1.0], [2.0], [3.0], [4.0], [5.0], [5.5]])  # standardised = units (mean 0, scale 1)
    groups = model.task.attribution_groups(logits, torch.zeros(6, dtype=torch.long), reference, "label", ranges=2)
    assert groups.titles == range_groups("c", logits, reference, "label", ranges=2).titles
    assert groups.kind == "range" and len(groups.names) == 2
    assert groups.index.tolist() == [0, 0, 0, 1, 1, 1]  # the unknown reference placed by its prediction, 5.5
    assert groups.misclassified is None and groups.change is None
    assert "reference c = 1" in groups.titles[0] and "reference" not in groups.titles[5]
    assert np.array_equal(groups.reference_classes.numpy(), groups.index)
