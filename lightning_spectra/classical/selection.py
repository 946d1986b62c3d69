"""Which classical calibration a run ships: each family on the preprocessing its own RMSECV picks, then the family
with the lowest RMSECV, all on the training split alone.

Validation and test spectra never influence the choice (the test split used to pick the family: BENCHMARKS.md's
"best classical" was the lowest *test* RMSE). Every candidate is scored on the same k folds (one seed), so their
RMSECVs compare like with like.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from lightning_spectra.baselines.kernel import KernelRidgeFit, fit_kernel_ridge
from lightning_spectra.baselines.regression import PLSFit, fit_pls
from lightning_spectra.classical.preparations import available, prepare

FAMILIES = {"pls": "PLS", "krr": "kernel ridge"}


@dataclass
class Candidate:
    """One family fitted on the whole training split with the preparation its RMSECV chose."""

    family: str  # "pls" or "krr"
    preparation: str
    rmsecv: float  # in the targets' units, averaged over targets
    fit: PLSFit | KernelRidgeFit

    @property
    def name(self) -> str:
        """``kernel ridge (sg1)``: the family and its preparation, as reports print them."""
        return f"{FAMILIES[self.family]} ({self.preparation})"

    def predict(self, spectra: np.ndarray) -> np.ndarray:
        """Targets ``(N, T)`` of unscaled spectra ``(N, L)``."""
        return self.fit.predict(prepare(self.preparation, spectra))


@dataclass
class Selection:
    """The candidates of every family and the one with the lowest RMSECV."""

    families: dict[str, Candidate]

    @property
    def best(self) -> Candidate:
        return min(self.families.values(), key=lambda c: c.rmsecv)  # ties: PLS, the simpler, comes first


def _fit(family: str, spectra: np.ndarray, targets: np.ndarray, seed: int) -> tuple[float, PLSFit | KernelRidgeFit]:
    if family == "pls":
        fit = fit_pls(spectra, targets, seed=seed)
        return float(fit.rmsecv.min()), fit
    fit = fit_kernel_ridge(spectra, targets, seed=seed)
    return fit.cv_rmse, fit


def select_classical(
    spectra: np.ndarray, targets: np.ndarray, seed: int = 0, families: tuple[str, ...] = tuple(FAMILIES)
) -> Selection:
    """Each of ``families`` on every preparation of :mod:`~lightning_spectra.classical.preparations`, training
    spectra ``(N, L)`` (before the datamodule's per-point scaling) and targets ``(N, T)``; per family the
    preparation with the lowest RMSECV (the earlier, simpler one on ties)."""
    spectra = np.asarray(spectra, dtype=np.float64)
    targets = np.asarray(targets, dtype=np.float64).reshape(len(spectra), -1)
    # One BLAS thread: hundreds of small eigendecompositions and PLS fits ran 55x slower on two threads of a
    # loaded 2-core machine (0.81 s against 0.014 s per 256 x 256 eigh), where one thread finished the tablet
    # set's whole choice (320 spectra) in 1.9 s.
    with threadpool_limits(1):
        return Selection(_choose(spectra, targets, seed, families))


def _choose(spectra: np.ndarray, targets: np.ndarray, seed: int, families: tuple[str, ...]) -> dict[str, Candidate]:
    chosen: dict[str, Candidate] = {}
    for family in families:
        for preparation in available(spectra.shape[1]):
            rmsecv, fit = _fit(family, prepare(preparation, spectra), targets, seed)
            if family not in chosen or rmsecv < chosen[family].rmsecv:
                chosen[family] = Candidate(family, preparation, rmsecv, fit)
    return chosen
