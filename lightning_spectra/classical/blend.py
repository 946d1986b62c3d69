"""The network's share in the blend of a network and the classical calibration, chosen on the validation split.

The grid holds 0 (the classical model alone) and 1 (the network alone); the share is the smallest whose validation
error is within one standard error of the best share's, so it is never clearly worse on validation than either
part alone, and the network has to earn its share. On a few hundred spectra a small network ensemble and a kernel
ridge model averaged reached 0.96-1.02x the best classical model where the networks alone reached 1.04-1.40x
(issue 33; BENCHMARKS.md "Regression: the shipped default").
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
    """The smallest network share of :data:`WEIGHTS` whose validation error is within one standard error of the
    best share's (the one-standard-error rule, the classical model as the simpler side).

    Why not simply the best share: the network's validation error is optimistic (validation chose its epoch, and
    often its settings), the classical model's is not (cross-validation on the training split chose it); and on
    a validation split of 6-16 spectra the best of 11 shares is mostly noise. Measured on wheat (80 calibration
    spectra), the best share gave the network 0.8-1.0 of the blend and a test RMSE 1.37x the classical model's;
    an even blend still cost 1.21x on corn (6 validation spectra) (BENCHMARKS.md, "Regression: the shipped
    default"). Where validation clearly prefers the network, it gets its share.
    """
    network, classical = np.asarray(network, np.float64), np.asarray(classical, np.float64)
    reference = np.asarray(reference, np.float64).reshape(network.shape)
    scale = np.square(reference - reference.mean(axis=0)).mean(axis=0)  # targets of every unit weigh alike
    scale = np.where(scale > 0, scale, 1.0)
    errors = np.stack(
        [(np.square(w * network + (1 - w) * classical - reference) / scale).mean(axis=1) for w in WEIGHTS]
    )  # (weights, spectra)
    best = int(np.argmin(errors.mean(axis=1)))
    differences = errors - errors[best]
    standard_error = differences.std(axis=1, ddof=1) / np.sqrt(max(len(reference), 1)) if len(reference) > 1 else 0
    acceptable = differences.mean(axis=1) <= standard_error
    return float(WEIGHTS[int(np.argmax(acceptable))])  # the first acceptable: the smallest network share
