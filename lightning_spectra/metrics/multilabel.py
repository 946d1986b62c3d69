"""Scores of a multi-label split (which phases are present in a mixture's pattern), and per-label thresholds.

A spectrum's prediction is a *set*: label ``j`` is claimed when its probability reaches its threshold
``thresholds[j]``. The scores compare claimed and reference sets:

- per label: precision, recall and F1 (0 where undefined, as scikit-learn's ``zero_division=0``);
- ``macro_f1``: the mean F1 over the labels that occur among the references or the claims (scikit-learn's
  ``f1_score(average="macro")`` leaves none out; leaving out a label absent from a small split and never claimed
  keeps it from counting as a failure, as :mod:`lightning_spectra.metrics.classification` does for classes);
- ``subset_accuracy``: the share of spectra whose claimed set is exactly the reference set (strict: one phase
  missed in a five-phase mixture is a miss);
- ``hamming_loss``: the share of (spectrum, label) pairs claimed wrongly, the lenient counterpart.

Spectra whose reference is unknown (any entry -1: new spectra) are left out. The per-label thresholds are chosen
on the validation split by :func:`choose_thresholds`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torchmetrics import Metric
from torchmetrics.utilities import dim_zero_cat

#: The probabilities :func:`choose_thresholds` tries per label: 0.05 to 0.95 in steps of 0.05. Coarse on purpose:
#: a validation split of tens of spectra cannot tell finer thresholds apart, and ends of 0 and 1 would claim a
#: label for every spectrum or for none.
THRESHOLD_GRID = tuple(round(0.05 * k, 2) for k in range(1, 20))
#: The threshold of a label :func:`choose_thresholds` cannot choose for, and of a model before any choice.
DEFAULT_THRESHOLD = 0.5


def claimed(probabilities: torch.Tensor, thresholds: torch.Tensor | float = DEFAULT_THRESHOLD) -> torch.Tensor:
    """The labels claimed per spectrum ``(N, L)`` (0/1): probability at or above the label's threshold."""
    return (probabilities >= torch.as_tensor(thresholds, dtype=probabilities.dtype, device=probabilities.device)).long()


@dataclass(frozen=True)
class MultiLabelScores:
    """Scores of the labelled spectra of one split (see the module docstring); per-label tensors are ``(L,)``."""

    precision: torch.Tensor
    recall: torch.Tensor
    f1: torch.Tensor
    support: torch.Tensor  # spectra holding each label
    macro_f1: float
    subset_accuracy: float
    hamming_loss: float
    spectra: int

    def metrics(self, label_names: Sequence[str]) -> dict[str, float]:
        """What a split logs per epoch (``val/macro_f1``, ``val/f1[quartz]``...): the split's three numbers and
        every label's F1 (``<name>[<label>]``, as the regression metrics name their targets)."""
        out = {"subset_accuracy": self.subset_accuracy, "macro_f1": self.macro_f1, "hamming_loss": self.hamming_loss}
        out.update({f"f1[{name}]": float(v) for name, v in zip(label_names, self.f1, strict=True)})
        return out

    def summary(self, label_names: Sequence[str], split: str = "test") -> dict[str, float | int]:
        """Flat summary keys (W&B plots flat keys) as the classifier writes them: ``test_precision_<label>``,
        ``test_recall_<label>``, ``test_f1_<label>``, ``test_support_<label>``, ``test_macro_f1``,
        ``test_subset_accuracy`` and ``test_hamming_loss``."""
        out: dict[str, float | int] = {}
        for name, values in (("precision", self.precision), ("recall", self.recall), ("f1", self.f1)):
            out.update({f"{split}_{name}_{label}": float(v) for label, v in zip(label_names, values, strict=True)})
        out.update({f"{split}_support_{label}": int(v) for label, v in zip(label_names, self.support, strict=True)})
        out[f"{split}_macro_f1"] = self.macro_f1
        out[f"{split}_subset_accuracy"] = self.subset_accuracy
        out[f"{split}_hamming_loss"] = self.hamming_loss
        return out


def _counts(predicted: torch.Tensor, reference: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """True positives, false positives and false negatives per label (counted along dim -2)."""
    p, r = predicted.bool(), reference.bool()
    return (p & r).sum(dim=-2), (p & ~r).sum(dim=-2), (~p & r).sum(dim=-2)


def _f1(tp: torch.Tensor, fp: torch.Tensor, fn: torch.Tensor) -> torch.Tensor:
    """F1 from counts, 0 where no spectrum holds or is claimed to hold the label."""
    denominator = (2 * tp + fp + fn).double()
    return torch.where(denominator > 0, 2 * tp.double() / denominator.clamp(min=1), torch.zeros_like(denominator))


def multilabel_scores(predicted: torch.Tensor, reference: torch.Tensor) -> MultiLabelScores | None:
    """Scores of claimed 0/1 sets ``predicted`` against ``reference`` ``(N, L)``; rows whose reference is unknown
    (negative) are left out. ``None`` when no spectrum has a known reference.

    Examples:
        >>> scores = multilabel_scores(torch.tensor([[1, 0], [1, 1], [0, 0]]), torch.tensor([[1, 0], [1, 0], [-1, -1]]))
        >>> scores.precision.tolist(), scores.recall.tolist(), scores.subset_accuracy, scores.hamming_loss
        ([1.0, 0.0], [1.0, 0.0], 0.5, 0.25)
    """
    known = (reference >= 0).all(dim=1)
    if not bool(known.any()):
        return None
    p, r = predicted[known].long().cpu(), reference[known].long().cpu()
    tp, fp, fn = _counts(p, r)
    precision = torch.where(tp + fp > 0, tp.double() / (tp + fp).clamp(min=1), torch.zeros(len(tp), dtype=torch.double))
    recall = torch.where(tp + fn > 0, tp.double() / (tp + fn).clamp(min=1), torch.zeros(len(tp), dtype=torch.double))
    f1 = _f1(tp, fp, fn)
    occurs = (tp + fp + fn) > 0
    return MultiLabelScores(
        precision=precision,
        recall=recall,
        f1=f1,
        support=r.sum(dim=0),
        macro_f1=float(f1[occurs].mean()) if bool(occurs.any()) else 1.0,  # nothing held, nothing claimed: exact
        subset_accuracy=float((p == r).all(dim=1).double().mean()),
        hamming_loss=float((p != r).double().mean()),
        spectra=len(p),
    )


def choose_thresholds(
    probabilities: torch.Tensor, reference: torch.Tensor, grid: Sequence[float] = THRESHOLD_GRID
) -> torch.Tensor:
    """Per-label thresholds ``(L,)`` chosen on a validation split's probabilities and reference sets ``(N, L)``.

    Each label's threshold is the probability of ``grid`` at which that label's F1 on the split is highest. A tie
    goes to the threshold closest to 0.5 (the least tuned; between two equally close, the higher, which claims
    fewer labels). A label no known spectrum of the split holds keeps 0.5: its F1 is 0 at every threshold that
    claims nothing wrongly, so the split says nothing of where it lies. Rows with an unknown reference are left out.

    Examples:
        >>> p = torch.tensor([[0.3, 0.9], [0.2, 0.1], [0.35, 0.8]])
        >>> choose_thresholds(p, torch.tensor([[1, 1], [0, 0], [1, 1]])).tolist()
        [0.3, 0.5]
    """
    known = (reference >= 0).all(dim=1)
    p, r = probabilities[known].double().cpu(), reference[known].long().cpu()
    thresholds = torch.full((p.shape[1],), DEFAULT_THRESHOLD, dtype=torch.float64)
    if len(p) == 0:
        return thresholds
    grid_t = torch.as_tensor(list(grid), dtype=torch.float64)
    # (G, N, L): every grid threshold's claims at once; F1 per (threshold, label)
    tp, fp, fn = _counts(p.unsqueeze(0) >= grid_t[:, None, None], r.unsqueeze(0).expand(len(grid_t), -1, -1))
    f1 = _f1(tp, fp, fn)
    distance = (grid_t - DEFAULT_THRESHOLD).abs()
    for j in range(p.shape[1]):
        if not bool(r[:, j].any()):
            continue  # absent from the split: nothing to choose by
        best = f1[:, j] >= f1[:, j].max() - 1e-12
        # closest to 0.5 among the best (rounded: 0.45 and 0.55 lie equally far, not 1e-17 apart in binary);
        # -grid breaks an equal distance towards the higher threshold
        candidates = torch.nonzero(best).flatten().tolist()
        order = sorted(candidates, key=lambda g: (round(float(distance[g]), 9), -float(grid_t[g])))
        thresholds[j] = grid_t[order[0]]
    return thresholds


class MultiLabelMetrics(Metric):
    """Collects a split's per-label probabilities and reference sets ``(B, L)``; :meth:`compute` scores the sets
    claimed at the thresholds the last :meth:`update` was given (the task's, saved with the model).

    ``choose`` (the validation split's metric): called with the split's probabilities and references when it is
    computed, it returns the thresholds the split is then scored at (the task chooses and keeps them).
    ``last_outputs`` keeps the probabilities and references of the split it last computed (after the DDP
    gather; ``reset`` leaves them), for the test's per-label scores.
    """

    full_state_update = False

    def __init__(
        self,
        label_names: Sequence[str],
        choose: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    ) -> None:
        super().__init__()
        self.label_names = list(label_names)
        self.choose = choose
        self.add_state("probabilities", default=[], dist_reduce_fx="cat")
        self.add_state("reference", default=[], dist_reduce_fx="cat")
        self.thresholds = torch.full((len(self.label_names),), DEFAULT_THRESHOLD)
        self.last_outputs: tuple[torch.Tensor, torch.Tensor] | None = None

    def update(
        self, probabilities: torch.Tensor, reference: torch.Tensor, thresholds: torch.Tensor | None = None
    ) -> None:
        p = probabilities.detach().reshape(len(probabilities), -1).float()
        r = reference.detach().reshape(len(reference), -1).long()
        known = (r >= 0).all(dim=1)
        self.probabilities.append(p[known])
        self.reference.append(r[known])
        if thresholds is not None:
            self.thresholds = thresholds.detach().float().cpu()

    def compute(self) -> dict[str, float]:
        if isinstance(self.probabilities, list) and not self.probabilities:  # no batch (after a sync: a tensor)
            return {}
        probabilities, reference = dim_zero_cat(self.probabilities).cpu(), dim_zero_cat(self.reference).cpu()
        if len(reference) == 0:
            return {}
        self.last_outputs = (probabilities, reference)
        if self.choose is not None:  # every process gathered the same split: all choose the same thresholds
            self.thresholds = self.choose(probabilities, reference).float().cpu()
        scores = multilabel_scores(claimed(probabilities, self.thresholds), reference)
        return {} if scores is None else scores.metrics(self.label_names)
