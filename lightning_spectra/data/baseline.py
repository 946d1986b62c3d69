"""Baseline removal as in the paper: asymmetric least squares (Eilers and Boelens), via pybaselines."""

from __future__ import annotations

import numpy as np

from lightning_spectra.runtime.progress import track


def remove_baseline(
    x: np.ndarray,
    intensities: np.ndarray,
    lam: float = 1e5,
    p: float = 0.002,
    iterations: int = 10,
    progress: bool = True,
) -> np.ndarray:
    """Subtract each spectrum's ALS baseline; ``intensities`` is ``(n_spectra, n_points)``.

    ``tol=0`` makes pybaselines run all ``iterations`` reweightings, as the paper's fixed ``niter=10`` did.
    """
    from pybaselines import Baseline

    fitter = Baseline(x_data=x, check_finite=False)
    corrected = np.empty_like(intensities, dtype=np.float64)
    for i in track(range(len(intensities)), "Removing baselines", enabled=progress):
        baseline, _ = fitter.asls(intensities[i], lam=lam, p=p, max_iter=iterations - 1, tol=0.0)
        corrected[i] = intensities[i] - baseline
    return corrected
