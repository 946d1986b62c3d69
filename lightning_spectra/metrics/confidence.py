"""The paper's classification confidence and boundary over a time-ordered series of predictions.

Sun et al. (2021) score a ramp by how cleanly its predicted labels switch from the first state to the
second: the ambiguous region is the open interval between the end of the leading run of the first class and
the start of the trailing run of the second class, and confidence is the share of spectra outside it. The
boundary is the index of the last spectrum of the leading run. The metric never looks at labels, so we also
report accuracy and the distance of the predicted boundary from the true one when labels are known.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torchmetrics import Metric


@dataclass(frozen=True)
class SeriesBoundary:
    """Where an ordered series of predicted labels switches state, in the paper's terms."""

    confidence: float
    boundary: int  # last index of the leading run of the first class ("var_C0")
    interval_end: int  # first index of the trailing run of the second class ("var_C1")


def series_boundary(labels: torch.Tensor, first: int = 0, last: int = 1) -> SeriesBoundary:
    """Confidence and boundary of a time-ordered label series, exactly as the paper's notebooks compute them.

    Special cases follow the paper: all ``first`` or all ``last`` gives 0.5 ("boundary not found"),
    and a series with neither a leading nor a trailing run gives 0.
    """
    y = labels.detach().to("cpu", torch.long).flatten()
    n = y.numel()
    if n < 2:
        raise ValueError(f"a series needs at least 2 predictions to have a boundary, got {n}")
    # Leading run: var_C0 = last j such that y[0..j] are all `first`, counted in pairs as the paper does.
    not_first = torch.nonzero(y != first).flatten()
    lead_end = (int(not_first[0]) - 1) if not_first.numel() else n - 1
    c0 = max(lead_end, 0)
    not_last = torch.nonzero(y != last).flatten()
    trail_start = (int(not_last[-1]) + 1) if not_last.numel() else 0
    c1 = min(trail_start, n - 1)
    if c0 == n - 1 or c1 == 0:
        confidence = 0.5
    elif c0 == 0 and c1 == n - 1:
        confidence = 0.0
    else:
        confidence = 1.0 - (c1 - c0 - 1) / n
    return SeriesBoundary(confidence=confidence, boundary=c0, interval_end=c1)


class SeriesConfidence(Metric):
    """Paper confidence/boundary of a series that may arrive in shards and out of order.

    Every update carries each spectrum's position in the series, so the series is rebuilt in time order
    after a DDP gather; positions seen twice (DistributedSampler pads the last shard) count once.
    """

    full_state_update = False
    higher_is_better = True

    def __init__(self, first: int = 0, last: int = 1, **kwargs) -> None:
        super().__init__(**kwargs)
        self.first, self.last = first, last
        self.add_state("preds", default=[], dist_reduce_fx="cat")
        self.add_state("target", default=[], dist_reduce_fx="cat")
        self.add_state("index", default=[], dist_reduce_fx="cat")

    def update(self, preds: torch.Tensor, index: torch.Tensor, target: torch.Tensor | None = None) -> None:
        """``preds``: predicted labels; ``index``: position in the series; ``target``: true labels or -1."""
        self.preds.append(preds.detach().long().flatten())
        self.index.append(index.detach().long().flatten())
        if target is None:
            target = torch.full_like(self.preds[-1], -1)
        self.target.append(target.detach().long().flatten())

    def ordered(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Predictions, targets and positions in series order, duplicates removed."""
        cat = lambda s: torch.cat(s) if isinstance(s, list) else s  # noqa: E731 - list before sync, tensor after
        preds, target, index = cat(self.preds), cat(self.target), cat(self.index)
        order = torch.argsort(index, stable=True)
        preds, target, index = preds[order], target[order], index[order]
        keep = torch.ones_like(index, dtype=torch.bool)
        keep[1:] = index[1:] != index[:-1]
        return preds[keep], target[keep], index[keep]

    def compute(self) -> dict[str, torch.Tensor]:
        preds, target, _ = self.ordered()
        result = series_boundary(preds, self.first, self.last)
        out = {
            "confidence": torch.tensor(result.confidence),
            "boundary": torch.tensor(float(result.boundary)),
            "spectra": torch.tensor(float(preds.numel())),
        }
        if target.numel() and bool((target >= 0).all()):
            out["accuracy"] = (preds == target).float().mean()
            truth = series_boundary(target, self.first, self.last)
            if truth.confidence == 1.0:  # labels switch exactly once: the true boundary is defined
                out["true_boundary"] = torch.tensor(float(truth.boundary))
                out["boundary_error"] = torch.tensor(float(result.boundary - truth.boundary))
        return out
