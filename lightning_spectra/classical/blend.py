"""The network's share in the blend of a network and the classical calibration, chosen on the validation split.

The grid holds 0 (the classical model alone) and 1 (the network alone), so the chosen blend is never worse on
validation than either part: on a few hundred spectra a small network ensemble and a kernel ridge model averaged
reached 0.96-1.02x the best classical model where the networks alone reached 1.04-1.40x (issue 33;
BENCHMARKS.md "Regression").
"""

from __future__ import annotations

import numpy as np

#: The network's shares tried: 0 is the classical model alone, 1 the network alone.
WEIGHTS = tuple(np.round(np.linspace(0.0, 1.0, 11), 2))


def blend_rmse(network: np.ndarray, classical: np.ndarray, reference: np.ndarray, weight: float) -> float:
    """RMSE of ``weight * network + (1 - weight) * classical`` against ``reference`` (targets averaged)."""
    blended = weight * network + (1.0 - weight) * classical
    return float(np.sqrt(np.mean(np.square(blended - reference), axis=0)).mean())


def choose_weight(network: np.ndarray, classical: np.ndarray, reference: np.ndarray) -> float:
    """The share of :data:`WEIGHTS` with the lowest validation RMSE; ties go to the classical side (the smaller
    share: the model with fewer free choices)."""
    network, classical = np.asarray(network, np.float64), np.asarray(classical, np.float64)
    reference = np.asarray(reference, np.float64).reshape(network.shape)
    scores = [blend_rmse(network, classical, reference, w) for w in WEIGHTS]
    return float(WEIGHTS[int(np.argmin(scores))])
