"""The paper's BatchNorm at test time: normalise each evaluated batch with its own statistics.

The paper's notebooks predicted without ``model.eval()`` (docs/paper.md §3), so the BatchNorm models (CNN,
ResNet, binned FCNN, Conv SC) normalised the 349-spectrum test batch with that batch's mean and variance. This callback
restores that behaviour for the paper-exact presets (``configs/paper/``): during validation, test and predict
batches every BatchNorm layer uses batch statistics, without touching the stored running statistics.
Our default is eval mode with precise statistics (docs/deviations.md, item 2): a spectrum's prediction then
does not depend on which other spectra share its batch.
"""

from __future__ import annotations

import lightning.pytorch as L
from torch import nn


def _batchnorms(module: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    return [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


class PaperBatchNorm(L.Callback):
    """Evaluate BatchNorm layers in train mode on the batch's own statistics, as the paper did."""

    def _use_batch_statistics(self, pl_module: L.LightningModule) -> None:
        # Set per batch, after every epoch-start hook (precise BN's update_bn restores eval mode when it ends).
        for norm in _batchnorms(pl_module):
            norm.train()
            norm.track_running_stats = False  # train mode without running buffers: batch statistics, no update

    def _restore(self, pl_module: L.LightningModule) -> None:
        for norm in _batchnorms(pl_module):
            norm.track_running_stats = True
            norm.eval()

    def on_validation_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, *args) -> None:
        self._use_batch_statistics(pl_module)

    def on_test_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, *args) -> None:
        self._use_batch_statistics(pl_module)

    def on_predict_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, *args) -> None:
        self._use_batch_statistics(pl_module)

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._restore(pl_module)

    def on_test_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._restore(pl_module)

    def on_predict_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._restore(pl_module)
