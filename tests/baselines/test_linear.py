"""The linear baseline: chosen on validation data, scored on the test split, at chance on random labels."""

from __future__ import annotations

import numpy as np

from lightning_spectra.baselines import classification_baseline


def peaks(n: int, seed: int, classes: int = 3, length: int = 60) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % classes
    grid = np.arange(length)
    centres = 10 + 15 * labels + rng.normal(0, 1, n)
    spectra = np.exp(-0.5 * ((grid - centres[:, None]) / 3) ** 2) + rng.normal(0, 0.1, (n, length))
    return spectra, labels


def test_separable_classes_are_learned_and_the_choice_is_reported() -> None:
    result = classification_baseline(peaks(60, 0), peaks(30, 1), val=peaks(30, 2))
    assert result["accuracy"] >= 0.95 and result["val_accuracy"] >= 0.95
    assert result["method"].startswith(("logistic regression", "PLS-DA"))


def test_random_labels_stay_near_chance_without_a_validation_split() -> None:
    rng = np.random.default_rng(0)
    train = (rng.normal(size=(90, 40)), rng.integers(0, 3, 90))
    test = (rng.normal(size=(300, 40)), rng.integers(0, 3, 300))
    assert classification_baseline(train, test)["accuracy"] < 0.45
