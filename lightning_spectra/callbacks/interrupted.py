"""A fit stopped by SIGTERM (a scheduler's time limit, ``kill``) leaves a checkpoint to resume from and says so.

Lightning turns SIGTERM into a ``SIGTERMException`` at the end of the running training step; that exception is
a ``SystemExit`` without a code, so the process would end with status 0, the status that means "done", and
without a summary. This callback saves a resumable checkpoint at that moment (loop state, optimiser and the
``Timing`` totals included), marks the run's ``summary.json`` incomplete and prints one line with the command
that resumes it; :func:`lightning_spectra.cli.main` then exits with :data:`SIGTERM_STATUS`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import lightning.pytorch as L
from lightning.pytorch.utilities.exceptions import SIGTERMException

from lightning_spectra.errors import SIGTERM_STATUS as SIGTERM_STATUS  # re-exported: the status a run exits with
from lightning_spectra.runs.campaign import campaign_running
from lightning_spectra.runs.folder import run_dir, update_summary

CHECKPOINT_NAME = "interrupted.ckpt"


class SigtermCheckpoint(L.Callback):
    """On SIGTERM during ``fit``: write ``checkpoints/interrupted.ckpt`` and mark the summary incomplete."""

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException) -> None:
        if not isinstance(exception, SIGTERMException) or trainer.state.fn != "fit":
            return
        checkpoints = getattr(trainer.checkpoint_callback, "dirpath", None) or run_dir(trainer) / "checkpoints"
        path = Path(checkpoints) / CHECKPOINT_NAME
        trainer.save_checkpoint(path)  # every rank calls it; only rank zero writes
        update_summary(
            trainer,
            {
                "complete": False,
                "stopped_by": "SIGTERM",
                "stopped_at_epoch": trainer.current_epoch,  # 0-based; the checkpoint's "epoch"
                "resume_checkpoint": str(path),
            },
        )
        if trainer.is_global_zero and (hint := resume_hint(trainer.current_epoch, path)) is not None:
            print(hint, file=sys.stderr, flush=True)


def resume_hint(epoch: int, path: Path) -> str | None:
    """The line that tells how to resume a stopped fit; ``None`` inside a campaign (``ensemble fit``, ``cv``), whose
    own line follows: its command takes no ``--ckpt_path`` and resumes by itself."""
    if campaign_running():
        return None
    return f"stopped by SIGTERM at epoch {epoch} (0-based); resume with the same command and --ckpt_path {path}"
