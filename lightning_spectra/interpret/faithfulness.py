"""Is an attribution map real? A deletion curve per model, and the share of attribution on known peaks.

**Deletion curve** (after Petsiuk et al. 2018, RISE): cut the axis into equal regions, rank them by the summed
attribution of each spectrum (strongest evidence *for* the explained class first), replace them by the
reference spectrum a few at a time and record the mean probability of the explained class. A map that points
at what the model really uses makes the probability fall fast: a small area under the curve. The same
replacement in random orders gives the area to beat. ``gap = random_area - attribution_area`` is the number
reported: above 0 the map ranks regions better than chance, 0 or below it does not. A regressor's curve follows
its predicted value instead (in the target's units, and so its areas and gap): evidence that raises the value
removed first must lower it faster than a random order.

**Ground-truth share**: on data whose informative peaks are known (the simulated ramp), the share of the
absolute attribution that lies on them, next to the share of the axis they cover (what a map spread evenly
would get).

Sequence models read the whole series, so every step replaces regions in every spectrum of the series at once
(each in its own order) and evaluates the series as a whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from lightning_spectra.interpret.gradcam import ScoreFn
from lightning_spectra.interpret.model_modes import evaluation_mode


@dataclass
class DeletionCurve:
    """Mean probability of the explained class (a regressor's predicted value) as regions are replaced.

    Attributes:
        fractions: ``(S + 1,)`` share of the regions replaced, 0 to 1.
        attribution: ``(S + 1,)`` replacing in the order of the attribution.
        random: ``(S + 1,)`` mean over random orders.
        score: what the curve follows, ``"probability"`` or ``"value"``: it names the summary's start and end.
    """

    fractions: np.ndarray
    attribution: np.ndarray
    random: np.ndarray
    score: str = "probability"

    @property
    def attribution_area(self) -> float:
        return float(np.trapezoid(self.attribution, self.fractions))

    @property
    def random_area(self) -> float:
        return float(np.trapezoid(self.random, self.fractions))

    @property
    def gap(self) -> float:
        """``random_area - attribution_area``: how much faster the attribution order removes the evidence."""
        return self.random_area - self.attribution_area

    def summary(self) -> dict[str, float]:
        return {
            "attribution_area": round(self.attribution_area, 6),
            "random_area": round(self.random_area, 6),
            "gap": round(self.gap, 6),
            f"{self.score}_before": round(float(self.attribution[0]), 6),
            f"{self.score}_all_replaced": round(float(self.attribution[-1]), 6),
        }


def target_probability(logits: Tensor, target: Tensor) -> Tensor:
    """Probability of ``target`` per row: sigmoid of ``+z``/``-z`` for one logit, else the softmax entry."""
    target = target.to(logits.device).long()
    if logits.shape[1] == 1:
        return torch.sigmoid(logits[:, 0] * (2 * target - 1).to(logits.dtype))
    return torch.softmax(logits, dim=1).gather(1, target[:, None])[:, 0]


def region_bounds(length: int, regions: int) -> np.ndarray:
    """``regions + 1`` boundaries of equal contiguous regions of ``length`` points."""
    return np.linspace(0, length, min(regions, length) + 1).round().astype(int)


def region_scores(attributions: Tensor, bounds: np.ndarray) -> Tensor:
    """Summed attribution of every region ``(N, R)``."""
    cumulative = torch.nn.functional.pad(attributions.double().cumsum(dim=1), (1, 0))
    index = torch.as_tensor(bounds, device=attributions.device)
    return cumulative[:, index[1:]] - cumulative[:, index[:-1]]


def deletion_curve(
    model: nn.Module,
    x: Tensor,
    attributions: Tensor,
    target: Tensor,
    reference: Tensor,
    regions: int = 50,
    steps: int = 10,
    random_orders: int = 3,
    seed: int = 0,
    score: ScoreFn = target_probability,
    score_name: str = "probability",
) -> DeletionCurve:
    """Deletion curve of ``attributions`` ``(N, L)`` (see the module docstring), model in eval mode.

    Args:
        regions: equal regions the axis is cut into (ranked per spectrum).
        steps: points of the curve after the start; ``regions / steps`` regions are replaced per step.
        random_orders: random rankings averaged for the baseline curve.
        score: what the curve follows per row, from the outputs and ``target``; a model of this package:
            ``model.task.deletion_score`` (a regressor's predicted value in its units). Default: the outputs are
            class logits, and the curve follows the probability of ``target``.
        score_name: its name in :meth:`DeletionCurve.summary` (``model.task.deletion_score_name``).
    """
    if attributions.shape != x.shape or reference.shape != x.shape:
        raise ValueError(f"x {tuple(x.shape)}, attributions and reference must have one shape")
    bounds = region_bounds(x.shape[1], regions)
    count = len(bounds) - 1
    ranked = region_scores(attributions.to(x.device), bounds).argsort(dim=1, descending=True).cpu()
    generator = torch.Generator().manual_seed(seed)
    orders = [
        torch.stack([torch.randperm(count, generator=generator) for _ in range(len(x))]) for _ in range(random_orders)
    ]
    replaced_per_step = np.linspace(0, count, steps + 1).round().astype(int)
    point_region = torch.as_tensor(np.repeat(np.arange(count), np.diff(bounds)))
    with torch.no_grad(), evaluation_mode(model):
        curves = [
            _curve(model, x, reference, target, order, replaced_per_step, point_region, score)
            for order in [ranked, *orders]
        ]
    return DeletionCurve(replaced_per_step / count, curves[0], np.mean(curves[1:], axis=0), score_name)


def _curve(
    model: nn.Module,
    x: Tensor,
    reference: Tensor,
    target: Tensor,
    order: Tensor,
    replaced_per_step: np.ndarray,
    point_region: Tensor,
    score: ScoreFn,
) -> np.ndarray:
    rank = torch.empty_like(order)  # rank[i, r]: when region r of spectrum i is replaced
    rank.scatter_(1, order, torch.arange(order.shape[1]).expand_as(order))
    point_rank = rank[:, point_region].to(x.device)  # (N, L)
    device = next((p.device for p in model.parameters()), x.device)
    values = []
    for k in replaced_per_step:
        mixed = torch.where(point_rank < int(k), reference, x)
        values.append(float(score(model(mixed.to(device)), target).mean()))
    return np.asarray(values)


def ground_truth_share(attributions: Tensor, x_axis: np.ndarray, windows: Sequence[tuple[float, float]]) -> dict:
    """Share of the absolute attribution (summed over spectra) inside ``windows`` of the x axis.

    Returns ``share`` and ``chance``, the share of the axis the windows cover (a flat map's share).
    """
    inside = np.zeros(len(x_axis), dtype=bool)
    for lo, hi in windows:
        inside |= (x_axis >= lo) & (x_axis <= hi)
    mass = attributions.abs().double().sum(dim=0).cpu().numpy()
    total = float(mass.sum())
    share = float(mass[inside].sum() / total) if total > 0 else float("nan")
    return {"share": round(share, 6), "chance": round(float(inside.mean()), 6)}
