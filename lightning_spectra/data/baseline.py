"""Baseline removal as in the paper: asymmetric least squares (Eilers and Boelens), via pybaselines."""

from __future__ import annotations

import numpy as np

from lightning_spectra.errors import SpectraDataError
from lightning_spectra.runtime.progress import track


def check_asls(lam: float, p: float) -> None:
    """Refuse ALS settings pybaselines would stop on with a traceback, in the option names a config uses.

    ``p`` is the weight of points above the baseline (those below get ``1 - p``), so it lies strictly between 0
    and 1; ``lam`` weighs smoothness and must be positive."""
    if not 0 < p < 1:
        raise SpectraDataError(
            f"preprocessing.baseline_p must be between 0 and 1 (exclusive), got {p}: it is the weight of points "
            "above the baseline (0.001 to 0.05 is usual)"
        )
    if not lam > 0:
        raise SpectraDataError(f"preprocessing.baseline_lam must be positive, got {lam} (1e4 to 1e7 is usual)")


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
    check_asls(lam, p)
    from pybaselines import Baseline

    fitter = Baseline(x_data=x, check_finite=False)
    corrected = np.empty_like(intensities, dtype=np.float64)
    for i in track(range(len(intensities)), "Removing baselines", enabled=progress):
        baseline, _ = fitter.asls(intensities[i], lam=lam, p=p, max_iter=iterations - 1, tol=0.0)
        corrected[i] = intensities[i] - baseline
    return corrected
