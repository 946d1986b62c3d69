"""The paper's classification confidence and boundary over a time-ordered series of predictions.

Sun et al. (2021) score a ramp by how cleanly its predicted labels switch from the first state to the
second: the ambiguous region is the open interval between the end of the leading run of the first class and
the start of the trailing run of the second class, and confidence is the share of spectra outside it. The
boundary is the index of the last spectrum of the leading run. The metric never looks at labels, so we also
report accuracy and the distance of the predicted boundary from the true one when labels are known.

Which class is the "first" state is not assumed: a series may start in any class (labels sorted by name need
not follow time). It is the true class of the first spectrum when labels are known, else the most common
prediction in the first half of the series; the "last" state likewise from the end. ``change_point`` is a
second, robust estimate of where the state changes: the end of the first state in the one-step series that
disagrees least with the predictions (a few stray predictions move it little, unlike the paper's boundary).
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


def infer_states(labels: torch.Tensor) -> tuple[int, int]:
    """``(first, last)`` states of a series: the most common label of its first and of its second half.

    When both halves agree (a series that barely changes), ``last`` is the most common other label, or
    ``first + 1`` if there is none, so the two states always differ.
    """
    y = labels.detach().to("cpu", torch.long).flatten()
    half = max(y.numel() // 2, 1)
    first = int(torch.mode(y[:half]).values)
    last = int(torch.mode(y[half:]).values) if y.numel() > half else first
    if last == first:
        others = y[y != first]
        last = int(torch.mode(others).values) if others.numel() else first + 1
    return first, last


def change_point(labels: torch.Tensor, first: int, last: int) -> int:
    """Last index of ``first`` in the one-step series (``first`` then ``last``) closest to ``labels``.

    -1 means the best step puts every spectrum in ``last``; ties take the earliest step.
    """
    y = labels.detach().to("cpu", torch.long).flatten()
    n = y.numel()
    not_first = torch.cat([torch.zeros(1, dtype=torch.long), torch.cumsum((y != first).long(), 0)])
    not_last_after = (y != last).long().sum() - torch.cat(
        [torch.zeros(1, dtype=torch.long), torch.cumsum((y != last).long(), 0)]
    )
    errors = not_first + not_last_after  # errors[k]: first state on y[:k], last on y[k:]
    return int(torch.argmin(errors[: n + 1])) - 1


def series_boundary(labels: torch.Tensor, first: int | None = None, last: int | None = None) -> SeriesBoundary:
    """Confidence and boundary of a time-ordered label series, exactly as the paper's notebooks compute them.

    Special cases follow the paper: all ``first`` or all ``last`` gives 0.5 ("boundary not found"),
    and a series with neither a leading nor a trailing run gives 0. ``first``/``last`` default to the states
    :func:`infer_states` reads from the labels themselves.
    """
    y = labels.detach().to("cpu", torch.long).flatten()
    n = y.numel()
    if n < 2:
        raise ValueError(f"a series needs at least 2 predictions to have a boundary, got {n}")
    if first is None or last is None:
        first, last = infer_states(y)
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

    ``first``/``last``: the states the series goes from and to; ``None`` (default) takes them from the true
    labels at the series' two ends when known, else from the predictions (:func:`infer_states`).
    """

    full_state_update = False
    higher_is_better = True

    def __init__(self, first: int | None = None, last: int | None = None, **kwargs) -> None:
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

    def states(self, preds: torch.Tensor, target: torch.Tensor) -> tuple[int, int]:
        if self.first is not None and self.last is not None:
            return self.first, self.last
        if target.numel() and bool((target >= 0).all()) and int(target[0]) != int(target[-1]):
            return int(target[0]), int(target[-1])
        return infer_states(preds)

    def compute(self) -> dict[str, torch.Tensor]:
        preds, target, _ = self.ordered()
        first, last = self.states(preds, target)
        result = series_boundary(preds, first, last)
        step = change_point(preds, first, last)
        out = {
            "confidence": torch.tensor(result.confidence),
            "boundary": torch.tensor(float(result.boundary)),
            "change_point": torch.tensor(float(step)),
            "spectra": torch.tensor(float(preds.numel())),
        }
        if target.numel() and bool((target >= 0).all()):
            out["accuracy"] = (preds == target).float().mean()
            truth = series_boundary(target, first, last)
            if truth.confidence == 1.0:  # labels switch exactly once: the true boundary is defined
                out["true_boundary"] = torch.tensor(float(truth.boundary))
                out["boundary_error"] = torch.tensor(float(result.boundary - truth.boundary))
                out["change_point_error"] = torch.tensor(float(step - truth.boundary))
        return out
