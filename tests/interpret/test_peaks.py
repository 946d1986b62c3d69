"""The per-peak table: peaks of class-mean spectra with each class's integrated signed attribution."""

from __future__ import annotations

import numpy as np
import pytest

from lightning_spectra.interpret.peaks import peak_rows, peak_table


def test_peaks_and_their_signed_integrals() -> None:
    x = np.linspace(10.0, 20.0, 1001)
    dx = x[1] - x[0]

    def gauss(c: float) -> np.ndarray:
        return np.exp(-0.5 * ((x - c) / 0.1) ** 2)

    means = np.stack([gauss(12.0) + 0.5 * gauss(18.0), gauss(15.0) + 0.5 * gauss(18.0)])
    maps = np.stack([gauss(12.0) - gauss(15.0), -gauss(12.0) + 2 * gauss(15.0)])
    peaks = peak_table(x, means, maps, ["a", "b"])
    assert [round(p.position, 2) for p in peaks] == [12.0, 15.0, 18.0]  # 18 listed once although in both
    assert [p.found_in for p in peaks] == ["a", "b", "a"]
    half_width_integral = float(np.sum(gauss(12.0)[(x >= peaks[0].lo) & (x <= peaks[0].hi)]) * dx)
    assert peaks[0].attribution["a"] == pytest.approx(half_width_integral, rel=0.02)
    assert peaks[0].attribution["b"] == pytest.approx(-half_width_integral, rel=0.02)  # sign kept
    assert peaks[1].attribution["b"] == pytest.approx(2 * half_width_integral, rel=0.02)
    assert abs(peaks[2].attribution["a"]) < 1e-6
    rows = peak_rows(peaks)
    assert list(rows[0]) == ["position", "lo", "hi", "height", "found_in", "attribution[a]", "attribution[b]"]
