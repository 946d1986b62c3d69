"""PaperBatchNorm: evaluation batches normalised with their own statistics, running statistics untouched."""

from __future__ import annotations

import copy

import lightning.pytorch as L
import torch
from torch.utils.data import DataLoader, TensorDataset

from lightning_spectra.callbacks import PaperBatchNorm
from lightning_spectra.models import CNN


def predict(model: CNN, x: torch.Tensor, callbacks: list[L.Callback]) -> torch.Tensor:
    data = DataLoader(TensorDataset(x, torch.zeros(len(x), dtype=torch.long), torch.arange(len(x))), batch_size=len(x))
    trainer = L.Trainer(logger=False, enable_progress_bar=False, enable_model_summary=False, callbacks=callbacks)
    return trainer.predict(model, data)[0]["probabilities"][:, 1]


def test_predictions_use_the_batch_statistics_and_leave_the_running_ones_alone() -> None:
    torch.manual_seed(0)
    model = CNN(spectrum_length=128)
    x = 5 * torch.rand(12, 128) + 3
    stored = copy.deepcopy(model.state_dict())
    with torch.no_grad():
        train_mode = torch.sigmoid(copy.deepcopy(model).train()(x)[:, 0])  # what the paper's notebooks computed
        eval_mode = torch.sigmoid(copy.deepcopy(model).eval()(x)[:, 0])
    assert not torch.allclose(train_mode, eval_mode, atol=1e-4)  # the two modes differ on this batch

    torch.testing.assert_close(predict(model, x, [PaperBatchNorm()]), train_mode)
    for name, value in model.state_dict().items():
        torch.testing.assert_close(value, stored[name])
    assert all(m.track_running_stats for m in model.modules() if isinstance(m, torch.nn.BatchNorm1d))
    torch.testing.assert_close(predict(model, x, []), eval_mode)
