"""Which weights a run's test, ``predict`` and export use, so that its explanations explain those weights.

After ``fit`` the CLI tests the monitored best checkpoint when there is one (the users' recipe keeps the epoch
with the lowest validation loss), else the final weights. The attribution callbacks run at ``on_fit_end``, when
the model still holds the last epoch's weights: :func:`tested_weights` puts the tested ones in for the block and
the last ones back after it, and says which epoch and file they came from.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning.pytorch as L
import torch

from lightning_spectra.runs.checkpoint import load_checkpoint


@dataclass(frozen=True)
class ExplainedWeights:
    """The weights an attribution explains: Lightning's 0-based ``epoch`` (as in the checkpoint and the CSV
    log) and the ``checkpoint`` file they were loaded from (``None``: the model's weights as they were)."""

    epoch: int | None
    checkpoint: str | None = None
    monitor: str | None = None

    @property
    def caption(self) -> str:
        """For figure titles: ``weights of epoch 12 (best val/loss)``."""
        if self.epoch is None:
            return "weights as loaded"
        source = f"best {self.monitor}" if self.monitor else ("checkpoint" if self.checkpoint else "final weights")
        return f"weights of epoch {self.epoch} ({source})"

    def summary(self) -> dict[str, Any]:
        """The run summary's ``attribution_epoch`` and ``attribution_checkpoint``."""
        return {"attribution_epoch": self.epoch, "attribution_checkpoint": self.checkpoint}


def tested_checkpoint(trainer: L.Trainer) -> str | None:
    """The checkpoint the test after ``fit`` uses: the monitored best one when the run keeps one, else ``None``
    (the final weights). One rule for the CLI's test and the attribution callbacks."""
    checkpoint = trainer.checkpoint_callback
    if getattr(checkpoint, "monitor", None) and getattr(checkpoint, "best_model_path", ""):
        return str(checkpoint.best_model_path)
    return None


def checkpoint_epoch(path: str | Path) -> int | None:
    """The epoch a Lightning checkpoint was saved at (``None`` where it does not say)."""
    epoch = load_checkpoint(path).get("epoch")
    return None if epoch is None else int(epoch)


@contextmanager
def tested_weights(trainer: L.Trainer, pl_module: L.LightningModule, stage: str = "fit") -> Iterator[ExplainedWeights]:
    """Inside the block ``pl_module`` holds the weights that were (``test``) or will be (``fit``) tested.

    ``fit``: the monitored best checkpoint's weights (the last epoch's are put back afterwards), else the final
    weights as they are. ``test``: the weights the test loaded (``trainer.ckpt_path``), already in the model.
    """
    if stage == "test":
        path = trainer.ckpt_path
        yield ExplainedWeights(checkpoint_epoch(path) if path else None, None if path is None else str(path))
        return
    final = ExplainedWeights(max(trainer.current_epoch - 1, 0))
    path = tested_checkpoint(trainer)
    if path is None or not Path(path).is_file():
        yield final
        return
    checkpoint = load_checkpoint(path)  # a Lightning checkpoint with a state_dict, or one line naming the file
    monitor = getattr(trainer.checkpoint_callback, "monitor", None)
    last = {name: value.detach().clone() for name, value in pl_module.state_dict().items()}
    pl_module.load_state_dict(checkpoint["state_dict"])
    try:
        epoch = checkpoint.get("epoch")
        yield ExplainedWeights(None if epoch is None else int(epoch), str(path), monitor)
    finally:
        with torch.no_grad():
            pl_module.load_state_dict(last)
