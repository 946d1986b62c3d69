import numpy as np
from scipy import sparse
from scipy.sparse.linalg import spsolve

from lightning_spectra.data.baseline import remove_baseline


def paper_baseline_als(y: np.ndarray, lam: float, p: float, niter: int = 10) -> np.ndarray:
    """The paper's baseline_als (docs/paper.md §2.4), written out as its notebooks do."""
    n = len(y)
    d = sparse.csc_matrix(np.diff(np.eye(n), 2))
    w = np.ones(n)
    for _ in range(niter):
        weights = sparse.spdiags(w, 0, n, n)
        z = spsolve(weights + lam * d.dot(d.transpose()), w * y)
        w = p * (y > z) + (1 - p) * (y < z)
    return z


def test_matches_the_paper_implementation() -> None:
    rng = np.random.default_rng(0)
    x = np.linspace(10, 25, 400)
    y = 5 + 0.3 * x + 8 * np.exp(-(((x - 15) / 0.05) ** 2)) + 0.1 * rng.standard_normal(400)
    ours = y - remove_baseline(x, y[None, :], lam=1e5, p=0.002, iterations=10, progress=False)[0]
    np.testing.assert_allclose(ours, paper_baseline_als(y, 1e5, 0.002), atol=1e-6)


def test_removes_a_smooth_background_and_keeps_peaks() -> None:
    x = np.linspace(10, 25, 2000)
    peaks = 10 * np.exp(-(((x - 14) / 0.05) ** 2)) + 6 * np.exp(-(((x - 20) / 0.05) ** 2))
    background = 4 + 0.5 * x + 3 * np.exp(-(((x - 17) / 4) ** 2))
    corrected = remove_baseline(x, (peaks + background)[None, :], progress=False)[0]
    assert np.abs(corrected - peaks).max() < 0.5  # ALS sits slightly under the data by design
    assert abs(corrected[np.argmin(np.abs(x - 14))] - 10) < 0.5
