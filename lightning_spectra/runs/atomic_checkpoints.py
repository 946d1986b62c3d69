"""Checkpoints written whole or not at all.

Lightning's own writer moves a temporary file from the system's temp folder into place, which is a copy when
the two are on different file systems: a full disk then leaves a truncated ``.ckpt`` beside the good ones,
and a later ``--ckpt_path`` or resume reads it. :class:`AtomicCheckpointIO` (installed by the CLI) writes
into a temporary file in the checkpoint's own folder and renames it into place, with the mode an ordinary write
would give it (0644 under umask 022, see :mod:`lightning_spectra.runtime.atomic_files`), so colleagues sharing the
run folder can load it.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import torch
from lightning.fabric.utilities.types import _PATH
from lightning.pytorch.plugins.io import TorchCheckpointIO

from lightning_spectra.errors import SpectraRunError
from lightning_spectra.runtime.atomic_files import atomic_write


class AtomicCheckpointIO(TorchCheckpointIO):
    """:class:`TorchCheckpointIO` whose local writes are atomic: a failed write leaves no file behind and
    ends the run with one line naming the checkpoint."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: _PATH, storage_options: Any | None = None) -> None:
        if "://" in str(path):  # remote storage: fsspec's transaction does the job there
            return super().save_checkpoint(checkpoint, path, storage_options)
        path = Path(path)
        buffer = io.BytesIO()
        torch.save(checkpoint, buffer)  # in memory first (as Lightning does): the file is written in one go
        try:
            atomic_write(path, lambda tmp: tmp.write_bytes(buffer.getbuffer()))
        except OSError as err:
            raise SpectraRunError(
                f"{path}: could not write the checkpoint ({err.strerror or err}); the earlier checkpoints are kept"
            ) from err
        return None
