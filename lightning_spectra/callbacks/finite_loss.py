"""Stop a fit whose training loss is no longer a finite number, instead of finishing with a useless model.

A NaN or infinite loss (a learning rate far too large, an overflow) poisons the weights: every later step and
the final summary would be meaningless, yet Lightning keeps going. The check costs no device sync per step:
each step's finiteness is accumulated on the device and read once per epoch, before that epoch's validation
(so before its checkpoint is written).
"""

from __future__ import annotations

import lightning.pytorch as L
import torch

from lightning_spectra.errors import SpectraRunError


class FiniteLoss(L.Callback):
    """Raise :class:`SpectraRunError` at the end of the first epoch whose training loss, or whose weights
    after its last step, were NaN or infinite."""

    def __init__(self) -> None:
        self._bad: torch.Tensor | None = None

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._bad = torch.zeros((), dtype=torch.bool, device=pl_module.device)

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs, batch, batch_idx) -> None:
        loss = outputs.get("loss") if isinstance(outputs, dict) else outputs
        if isinstance(loss, torch.Tensor) and self._bad is not None:
            self._bad |= ~torch.isfinite(loss.detach()).all()

    def on_validation_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # Validation at an epoch's end runs before on_train_epoch_end, and the checkpoint after it: checking
        # here too keeps NaN weights out of last.ckpt.
        if trainer.training or trainer.state.fn == "fit":
            self._raise_if_bad(trainer, pl_module)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._raise_if_bad(trainer, pl_module)

    def _raise_if_bad(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._bad is None:
            return
        tensors = [t.detach() for t in (*pl_module.parameters(), *pl_module.buffers()) if t.is_floating_point()]
        weights_bad = torch.stack([~torch.isfinite(t).all() for t in tensors]).any() if tensors else self._bad
        if bool(self._bad | weights_bad):  # a finite loss's step can still leave inf/NaN weights or BN statistics
            lr = getattr(pl_module.hparams, "lr", None) if hasattr(pl_module, "hparams") else None
            hint = f"; lower the learning rate (model.init_args.lr is {lr})" if lr is not None else ""
            raise SpectraRunError(
                f"training loss or weights became NaN or infinite in epoch {trainer.current_epoch}; "
                f"the model is useless{hint}"
            )
