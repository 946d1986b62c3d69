"""Three-class peak spectra and the label tables the file tests read (shared by test modules in every folder)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

CENTRES = {"alpha": 500.0, "beta": 600.0, "gamma": 700.0}  # one Gaussian peak position per class


def peak_spectra(
    n: int, length: int = 240, seed: int = 0, jitter: float = 1.0
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """``n`` spectra cycling through the three classes: a shifted, scaled peak on an offset, plus noise."""
    rng = np.random.default_rng(seed)
    x = np.linspace(400.0, 800.0, length)
    labels = [list(CENTRES)[i % 3] for i in range(n)]
    centres = np.asarray([CENTRES[c] for c in labels]) + jitter * rng.normal(0, 5, n)
    heights = 1 + jitter * rng.uniform(-0.5, 0.5, n)
    spectra = heights[:, None] * np.exp(-0.5 * ((x - centres[:, None]) / 15) ** 2)
    spectra += jitter * (rng.normal(0, 0.05, (n, length)) + rng.uniform(0, 0.3, (n, 1)))
    return x, spectra, labels


def write_table(path: Path, x: np.ndarray, spectra: np.ndarray, labels: list[str] | None) -> Path:
    with open(path, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow((["label"] if labels else ["name"]) + [f"{v:.4f}" for v in x])
        for i, spectrum in enumerate(spectra):
            out.writerow([labels[i] if labels else f"new_{i}"] + [f"{v:.6f}" for v in spectrum])
    return path
