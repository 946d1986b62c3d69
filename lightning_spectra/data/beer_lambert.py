"""A synthetic quantitative set whose answer is known: absorbance spectra whose analyte band height is the
concentration (Beer-Lambert), beside a matrix band of varying height, on baselines that drift in offset and slope
from sample to sample, with detector noise. A regressor must read the analyte band (:data:`ANALYTE_BAND`); its
attribution can be checked against it (tests, ``benchmarks/attribution.py --regression``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

#: Centre and width (nm) of the analyte band; the matrix band sits at 1060 nm (width 15 nm).
ANALYTE_BAND = (1120.0, 12.0)


def beer_lambert(path: Path, n: int = 240, length: int = 100, seed: int = 0) -> Path:
    """Write ``n`` spectra of ``length`` points (1000-1198 nm) with their concentrations (0-10) to the ``.npz``
    file ``path`` (``spectra``, ``y``, ``x_axis``, ``target_names``) and return it."""
    rng = np.random.default_rng(seed)
    x = np.linspace(1000.0, 1198.0, length)  # nm
    concentration = rng.uniform(0.0, 10.0, n)
    matrix = rng.uniform(4.0, 6.0, n)

    def band(centre: float, width: float) -> np.ndarray:
        return np.exp(-0.5 * ((x - centre) / width) ** 2)

    baseline = rng.normal(0.0, 2.0, (n, 1)) + rng.normal(0.0, 0.02, (n, 1)) * (x - x[0])
    spectra = 0.1 * concentration[:, None] * band(*ANALYTE_BAND) + 0.1 * matrix[:, None] * band(1060.0, 15.0)
    spectra = spectra + baseline + rng.normal(0.0, 0.002, (n, length))
    np.savez(path, spectra=spectra, y=concentration[:, None], x_axis=x, target_names=np.array(["concentration"]))
    return path
