"""The paper's training set: a few spectra picked from the ramp, plus seeded noisy copies of them.

As in the paper (docs/paper.md §2.6), every 10th spectrum forms a pool; pool indices 0-15 (class 0) and
20-34 (class 1) are the originals (spectra next to the transition are deliberately left out); 50 copies add
uniform noise in [0, 1/6) to every point. Copy ``n`` is seeded with ``n * 1000``, and NumPy's ``RandomState([seed])``
draws exactly the uniform numbers Python's ``random.seed(seed); random.random()`` gave the paper (only
the scaling rounds differently: ``u * (1/6)`` rather than ``u / 6``). Each copy starts from the clean
originals, so the binned notebook's accumulating-noise bug is not reproduced.
"""

from __future__ import annotations

import numpy as np

SEED_STEP = 1000


def pool_indices(pool_stride: int, pool_ranges: list[tuple[int, int]], n_spectra: int) -> np.ndarray:
    """Spectrum indices of the originals: ``pool_stride * k`` for ``k`` in each inclusive range, in order."""
    pool = np.arange(0, n_spectra, pool_stride)
    chosen = []
    for first, last in pool_ranges:
        if not 0 <= first <= last < len(pool):
            raise ValueError(f"pool range ({first}, {last}) outside the {len(pool)}-spectrum pool")
        chosen.extend(pool[first : last + 1])
    return np.asarray(chosen)


def uniform_noise(shape: tuple[int, ...], amplitude: float, seed: int) -> np.ndarray:
    """Uniform noise in ``[0, amplitude)``, the same stream as Python's ``random`` seeded with ``seed``."""
    return np.random.RandomState([seed]).random_sample(shape) * amplitude


def with_noisy_copies(originals: np.ndarray, copies: int, amplitude: float, first_copy: int = 0) -> np.ndarray:
    """``originals`` followed by ``copies`` noisy versions of them, in the paper's block layout.

    Row ``r`` of the result holds original ``r % len(originals)``; copy ``n`` uses seed
    ``(first_copy + n) * 1000``, so later copies (e.g. a validation draw) never reuse a training seed.
    """
    blocks = [originals]
    for n in range(first_copy, first_copy + copies):
        blocks.append(originals + uniform_noise(originals.shape, amplitude, n * SEED_STEP))
    return np.concatenate(blocks, axis=0)
