"""Savitzky-Golay smoothing or derivative as a torch module, exactly ``scipy.signal.savgol_filter``'s default.

The exported model (:mod:`lightning_spectra.apps.export`) and the classical calibrations
(:mod:`lightning_spectra.classical.calibration`) both run it inside their graphs.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from lightning_spectra.errors import SpectraDataError


class SavitzkyGolay(nn.Module):
    """``scipy.signal.savgol_filter(x, window, order, deriv=deriv, axis=1)`` (``mode="interp"``) on ``(N, L)``.

    The filter is linear, so it is built once from scipy applied to unit vectors: a convolution with the
    interior kernel, and two small matrices for the ``window // 2`` points at each end, where scipy evaluates
    the polynomial fitted to the first (last) ``window`` points. Even windows are asymmetric (one point more
    on the right), as in scipy.

    In float64 (the classical calibrations, :mod:`lightning_spectra.classical`) the interior is a gather of every
    window and a matrix product instead of a convolution: ONNX Runtime has no double-precision Conv, and a float32
    derivative of spectra with a large offset (absorbance 2 +- 0.01) keeps only about three digits.
    """

    def __init__(self, window: int, order: int, deriv: int, length: int, dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        from scipy.signal import savgol_filter

        if window > length:
            raise SpectraDataError(f"smoothing_window {window} is longer than the spectra ({length} points)")
        size = 2 * window + 1  # long enough for an interior row whose window touches neither end
        response = savgol_filter(np.eye(size), window, order, deriv=deriv, axis=0)  # [i, j]: output i, input j
        self.window, self.edge = window, window // 2
        before = window - 1 - self.edge  # interior points used left of the output point
        centre = size // 2
        self.skip = self.edge - before  # 1 for even windows: the first valid output is still an edge point
        kernel = response[centre, centre - before : centre + self.edge + 1]
        self.register_buffer("kernel", torch.tensor(kernel, dtype=dtype).view(1, 1, -1))
        self.register_buffer("first", torch.tensor(response[: self.edge, :window].T, dtype=dtype))
        self.register_buffer("last", torch.tensor(response[size - self.edge :, size - window :].T, dtype=dtype))
        windows = torch.arange(length - window + 1)[:, None] + torch.arange(window) if dtype == torch.float64 else None
        self.register_buffer("windows", windows, persistent=False)  # rebuilt from the length, not stored

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.windows is not None:
            interior = (x[:, self.windows] @ self.kernel.view(-1))[:, self.skip :]
        else:
            interior = F.conv1d(x.unsqueeze(1), self.kernel).squeeze(1)[:, self.skip :]
        return torch.cat([x[:, : self.window] @ self.first, interior, x[:, -self.window :] @ self.last], dim=1)
