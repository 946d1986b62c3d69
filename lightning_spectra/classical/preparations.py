"""The preprocessings a classical calibration chooses from by cross-validation, in NumPy and in torch.

Each works on spectra as the datamodule read them before its per-point scaling (the classical model puts that
scaling back first, see :mod:`~lightning_spectra.classical.calibration`): a chemometrician chooses between the
raw spectra, SNV (each spectrum to zero mean and unit standard deviation: scatter), a Savitzky-Golay first
derivative (offsets), and the derivative followed by SNV (both). Window 15, order 2 (the benchmarks' choice),
shortened to the spectrum's length for short spectra.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.signal import savgol_filter
from torch import nn

from lightning_spectra.data.savitzky_golay import SavitzkyGolay

PREPARATIONS = ("raw", "snv", "sg1", "sg1_snv")
SG_WINDOW, SG_ORDER = 15, 2


def savgol_window(length: int) -> int:
    """The derivative's window for spectra of ``length`` points: 15, or the longest odd window that fits
    (0 below 3 points, where no derivative is offered)."""
    window = min(SG_WINDOW, length if length % 2 else length - 1)
    return window if window > SG_ORDER else 0


def available(length: int) -> tuple[str, ...]:
    """The preparations that spectra of ``length`` points allow."""
    return PREPARATIONS if savgol_window(length) else ("raw", "snv")


def prepare(name: str, spectra: np.ndarray) -> np.ndarray:
    """``spectra`` ``(N, L)`` through preparation ``name``."""
    spectra = np.asarray(spectra, dtype=np.float64)
    if name.startswith("sg1"):
        spectra = savgol_filter(spectra, savgol_window(spectra.shape[1]), SG_ORDER, deriv=1, axis=1)
    if name.endswith("snv"):
        centred = spectra - spectra.mean(axis=1, keepdims=True)
        spread = np.sqrt(np.square(centred).mean(axis=1, keepdims=True))
        spectra = centred / np.where(spread > 0, spread, 1.0)
    return spectra


class Preparation(nn.Module):
    """:func:`prepare` as a float64 torch module (exported inside the ONNX graph)."""

    def __init__(self, name: str, length: int) -> None:
        super().__init__()
        if name not in PREPARATIONS:
            raise ValueError(f"preparation must be one of {', '.join(PREPARATIONS)}; got {name!r}")
        self.name = name
        derivative = name.startswith("sg1")
        self.savgol = (
            SavitzkyGolay(savgol_window(length), SG_ORDER, 1, length, dtype=torch.float64) if derivative else None
        )
        self.snv = name.endswith("snv")

    def forward(self, spectra: torch.Tensor) -> torch.Tensor:
        if self.savgol is not None:
            spectra = self.savgol(spectra)
        if self.snv:
            centred = spectra - spectra.mean(dim=1, keepdim=True)
            spread = centred.square().mean(dim=1, keepdim=True).sqrt()
            spectra = centred / torch.where(spread > 0, spread, torch.ones_like(spread))
        return spectra
