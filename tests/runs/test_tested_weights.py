"""The attribution callbacks explain the weights the run tests, not the last epoch's (runs/tested_weights.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import fit_keeping_epoch_0

from lightning_spectra.apps.watch import load_classifier
from lightning_spectra.data import SpectraFilesDataModule
from lightning_spectra.data.options import PreprocessingOptions
from lightning_spectra.interpret.gradcam import grad_cam


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict]:
    """A fit whose tested weights are epoch 0's, with GradCAM and FeatureImportance; every epoch's checkpoint is
    kept, so the final weights are in the epoch=2 file."""
    attribution = {"class_path": "lightning_spectra.callbacks.GradCAM", "init_args": {"faithfulness": False}}
    importance = {"class_path": "lightning_spectra.callbacks.FeatureImportance"}
    return fit_keeping_epoch_0(tmp_path_factory, "tested", 60, [attribution, importance], save_top_k=-1)


def test_the_maps_explain_the_best_checkpoint_not_the_last_epoch(fitted: tuple[Path, Path, dict]) -> None:
    run, train, drawn = fitted
    summary = json.loads((run / "summary.json").read_text())
    [best] = (run / "checkpoints").glob("epoch=0-*.ckpt")
    assert summary["attribution_epoch"] == 0 and Path(summary["attribution_checkpoint"]) == best
    data = SpectraFilesDataModule(
        train_path=str(train), preprocessing=PreprocessingOptions(normalization="max"), progress=False
    )
    test = data.splits.test
    maps = np.load(summary["gradcam_test_files"]["maps"])
    tested, _ = load_classifier(best)
    [final] = (run / "checkpoints").glob("epoch=2-*.ckpt")
    last, _ = load_classifier(final)
    expected = grad_cam(tested, test.spectra, test.labels).maps.numpy()
    np.testing.assert_allclose(maps, expected, rtol=1e-4, atol=1e-6)
    other = grad_cam(last, test.spectra, test.labels).maps.numpy()
    assert not np.allclose(other, expected, rtol=1e-3, atol=1e-5)  # the last epoch's weights explain otherwise


def test_every_attribution_figure_names_the_epoch_explained(fitted: tuple[Path, Path, dict]) -> None:
    _, _, drawn = fitted
    names = [n for n in drawn if n.startswith(("gradcam_", "feature_importance_", "input_gradients_"))]
    assert {"gradcam_test_class_mean.png", "feature_importance_train.png"} <= set(names)
    for name in names:
        if "deletion" not in name:
            assert "weights of epoch 0 (best val/loss)" in drawn[name].get_suptitle(), name


def test_the_last_weights_are_put_back_after_the_block() -> None:
    """A notebook user's model holds the last epoch's weights after ``fit``, whatever the callbacks explained."""
    from types import SimpleNamespace

    import torch

    from lightning_spectra.runs.tested_weights import tested_weights

    model = torch.nn.Linear(3, 2)
    best = {"state_dict": {"weight": torch.ones(2, 3), "bias": torch.zeros(2)}, "epoch": 4}
    with pytest.MonkeyPatch.context() as patch:
        path = Path(__file__).parents[1] / "conf" / "files_tiny.yaml"  # any file: load_checkpoint gives its contents
        patch.setattr("lightning_spectra.runs.tested_weights.load_checkpoint", lambda _path: best)
        checkpoint = SimpleNamespace(monitor="val/rmse", best_model_path=str(path))
        trainer = SimpleNamespace(checkpoint_callback=checkpoint, current_epoch=9)
        last = model.weight.detach().clone()
        with tested_weights(trainer, model) as weights:
            assert torch.equal(model.weight, torch.ones(2, 3))
            assert (weights.epoch, weights.caption) == (4, "weights of epoch 4 (best val/rmse)")
        assert torch.equal(model.weight, last)
        trainer.checkpoint_callback = SimpleNamespace(monitor=None, best_model_path=str(path))
        with tested_weights(trainer, model) as weights:  # nothing monitored: the final weights, as they are
            assert torch.equal(model.weight, last) and weights.epoch == 8 and weights.checkpoint is None
