"""No hidden per-spectrum normalisation in a regressor (issue 33): with ``input_normalization: none`` a spectrum's
amplitude reaches the output; with ``layer`` it does not; old checkpoints with the LayerNorms still load."""

from __future__ import annotations

from pathlib import Path

import lightning.pytorch as L
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from lightning_spectra.models import CNN, MSResNet, SequenceClassifier, SpectraModel
from lightning_spectra.models.feature_norms import feature_norm, keeps_feature_norms
from lightning_spectra.models.registry import model_classes
from lightning_spectra.tasks import Targets

LENGTH = 128  # long enough for every model's tiny version
MODELS = [pytest.param(cls, id=cls.__name__) for cls in model_classes().values()]
#: Modules that normalise a spectrum's features by their own statistics (BatchNorm is over the batch instead).
PER_SPECTRUM_NORMS = (nn.LayerNorm, nn.GroupNorm, nn.InstanceNorm1d, nn.RMSNorm)
#: Where the models keep their input normalisation (``input_normalization``).
INPUT_NORMS = ("input_norm", "embedding.0")


def spectra() -> torch.Tensor:
    """Positive spectra, as absorbances are."""
    return torch.rand(4, LENGTH, generator=torch.Generator().manual_seed(1)) + 0.5


def tiny(cls: type[SpectraModel], **kwargs) -> SpectraModel:
    """The model's tiny version as a one-target regressor, seeded, in eval mode, its BatchNorm statistics those
    of :func:`spectra` (as ``refresh_batchnorm`` sets them): with the fresh 0 and 1 the tiny signals are so
    small against the biases that a ReLU can be off for every input, which hides any dependence."""
    torch.manual_seed(0)
    kwargs = {**cls.tiny_arguments, "spectrum_length": LENGTH, "targets": Targets.values(["y"]), **kwargs}
    if issubclass(cls, SequenceClassifier):
        kwargs.setdefault("sequence_groups", 1)
    model = cls(**kwargs)
    batch_norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for norm in batch_norms:
        norm.reset_running_stats()
        norm.momentum = None  # a cumulative average: one pass gives the batch's statistics
    if batch_norms:
        with torch.no_grad():
            model.train()(spectra())
    return model.eval()


def zero_biases(model: nn.Module) -> None:
    """Every bias (and LayerNorm/BatchNorm shift, and BatchNorm's running mean) zero: Linear -> LayerNorm is
    then exactly scale-invariant, so an invariance that the biases would only blur is caught."""
    with torch.no_grad():
        for name, tensor in [*model.named_parameters(), *model.named_buffers()]:
            if name.endswith(("bias", "running_mean")):
                tensor.zero_()


def amplitude_changes_output(model: SpectraModel) -> bool:
    x = spectra()
    with torch.no_grad():
        a, b = model(x), model(2 * x)
    assert a.abs().max() > 0, "a zero output would hide the check"
    return not torch.allclose(a, b, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("cls", MODELS)
def test_a_regressor_without_input_normalisation_keeps_the_amplitude(cls: type[SpectraModel]) -> None:
    model = tiny(cls, input_normalization="none")
    hidden = [name for name, m in model.named_modules() if isinstance(m, PER_SPECTRUM_NORMS)]
    assert hidden == [], f"per-spectrum norms left in a regressor with input_normalization none: {hidden}"
    assert amplitude_changes_output(model)
    zero_biases(model)
    assert amplitude_changes_output(model)


@pytest.mark.parametrize("cls", MODELS)
def test_a_regressor_with_layer_input_normalisation_is_blind_to_the_amplitude(cls: type[SpectraModel]) -> None:
    model = tiny(cls, input_normalization="layer")
    x = spectra()
    with torch.no_grad():
        torch.testing.assert_close(model(2 * x), model(x), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("cls", MODELS)
def test_classifiers_keep_every_norm(cls: type[SpectraModel]) -> None:
    """A classifier builds the same layers whatever its input normalisation, as the paper's models did; a
    regressor with ``layer`` builds the classifier's layers too."""

    def layers(model: nn.Module) -> list[tuple[str, str]]:
        # the input normalisation itself (the sequence models' is their embedding's first layer) may differ
        return [(name, type(m).__name__) for name, m in model.named_modules() if name not in INPUT_NORMS]

    def classifier(normalization: str) -> SpectraModel:
        return tiny(cls, targets=None, input_normalization=normalization)

    assert layers(classifier("none")) == layers(classifier("layer"))
    assert keeps_feature_norms(classifier("none"))
    regressor = tiny(cls, input_normalization="layer")
    assert [n for n, _ in layers(regressor)] == [n for n, _ in layers(classifier("layer"))]


def test_feature_norm_follows_the_rule() -> None:
    assert isinstance(feature_norm(tiny(CNN, targets=None, input_normalization="none"), 3), nn.LayerNorm)
    assert isinstance(feature_norm(tiny(CNN, input_normalization="point"), 3), nn.Identity)
    assert isinstance(feature_norm(tiny(CNN, input_normalization="layer"), 3), nn.LayerNorm)


@pytest.mark.parametrize("cls", [CNN, MSResNet], ids=["CNN", "MSResNet"])
def test_batch_norm_switch(cls: type[SpectraModel]) -> None:
    def batch_norms(model: nn.Module) -> int:
        return sum(isinstance(m, nn.BatchNorm1d) for m in model.modules())

    assert batch_norms(tiny(cls, targets=None)) > 0  # the paper's classifier
    assert batch_norms(tiny(cls, batch_norm=False)) == 0
    assert batch_norms(tiny(cls)) == 0  # a regressor's default (measured, feature_norms.REGRESSION_BATCH_NORM)
    assert batch_norms(tiny(cls, batch_norm=True)) == batch_norms(tiny(cls, targets=None))
    without = tiny(cls, batch_norm=False)
    assert amplitude_changes_output(without)


def old_regressor(cls: type[SpectraModel]) -> SpectraModel:
    """A regressor as built before issue 33: BatchNorm and its head's LayerNorm in place, with weights of its own."""
    model = tiny(cls, input_normalization="none", batch_norm=True)
    model.head[1] = nn.LayerNorm(model.head[2].in_features)
    with torch.no_grad():
        model.head[1].weight.uniform_(0.5, 1.5)
        model.head[1].bias.uniform_(-0.5, 0.5)
    return model


def saved_checkpoint(model: SpectraModel, folder: Path) -> Path:
    """A checkpoint of ``model`` after one training step, written by Lightning as a run writes it."""
    x, y = spectra(), torch.randn(4, 1)
    loader = DataLoader(TensorDataset(x, y, torch.arange(4)), batch_size=4)
    trainer = L.Trainer(
        max_steps=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
    )
    trainer.fit(model.train(), train_dataloaders=loader)
    path = folder / "old.ckpt"
    trainer.save_checkpoint(path)
    checkpoint = torch.load(path, weights_only=False)
    del checkpoint["hyper_parameters"]["batch_norm"]  # a setting the releases before issue 33 did not have
    torch.save(checkpoint, path)
    return path


@pytest.mark.parametrize("cls", [CNN, MSResNet], ids=["CNN", "MSResNet"])
def test_an_old_regression_checkpoint_loads_whole(cls: type[SpectraModel], tmp_path: Path) -> None:
    """The LayerNorm and the BatchNorms the checkpoint holds come back where the model now builds identities, so
    the loaded model computes what the saved one did."""
    old = old_regressor(cls)
    path = saved_checkpoint(old, tmp_path)
    old.eval()
    x = spectra()
    with torch.no_grad():
        expected = old(x)
    for settings in ({}, {"batch_norm": True}):
        loaded = cls.load_from_checkpoint(path, map_location="cpu", **settings).eval()
        assert isinstance(loaded.head[1], nn.LayerNorm)
        assert any(isinstance(m, nn.BatchNorm1d) for m in loaded.modules())
        with torch.no_grad():
            torch.testing.assert_close(loaded(x), expected)
    assert type(tiny(cls).head[1]) is nn.Identity and loaded.input_normalization == "none"
