"""The networks for small regression sets (issue 33): SkipCNN's two paths, and FCNN1D as a one-layer MLP."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lightning_spectra.errors import SpectraConfigError
from lightning_spectra.interpret.receptive_field import receptive_fields
from lightning_spectra.models import FCNN1D, SkipCNN
from lightning_spectra.tasks import Targets

LENGTH = 101  # odd: the padded conv keeps ceil(L / 2) positions
BATCH = 5


def regressor(targets: int = 2, **kwargs) -> SkipCNN:
    return SkipCNN(spectrum_length=LENGTH, targets=Targets.values([f"t{i}" for i in range(targets)]), **kwargs)


@pytest.mark.parametrize(
    ("targets", "outputs"),
    [(Targets.classes(2), 1), (Targets.classes(3), 3), (Targets.values(["a"]), 1), (Targets.values(["a", "b"]), 2)],
    ids=["two classes", "three classes", "one target", "two targets"],
)
def test_outputs_are_one_per_logit_or_target(targets: Targets, outputs: int) -> None:
    model = SkipCNN(spectrum_length=LENGTH, targets=targets).eval()
    with torch.no_grad():
        assert model(torch.randn(BATCH, LENGTH)).shape == (BATCH, outputs)


def test_the_conv_keeps_every_other_point_and_position_m_looks_at_point_2m() -> None:
    """Padding ``k // 2`` keeps ``ceil(L / 2)`` positions at stride 2, centred on the points they are named for
    (away from the edges, where the padding cuts a field short), so no point of the spectrum goes unseen."""
    model = regressor().eval()
    assert model.conv(torch.randn(BATCH, 1, LENGTH)).shape == (BATCH, 8, (LENGTH + 1) // 2)
    fields = receptive_fields(model, LENGTH)
    inner = torch.arange(2, (LENGTH + 1) // 2 - 2)
    torch.testing.assert_close(fields.centres[inner], 2.0 * inner.double())
    assert bool(fields.seen.all())


def test_no_normalisation_layer_follows_the_input() -> None:
    """Only the input normalisation may normalise: none at all in a regressor's default (``none``)."""
    norms = (nn.LayerNorm, nn.modules.batchnorm._BatchNorm, nn.GroupNorm, nn.InstanceNorm1d)
    assert not any(isinstance(m, norms) for m in regressor().modules())
    classifier = SkipCNN(spectrum_length=LENGTH)  # a classifier's input LayerNorm, the paper models' default
    assert [type(m) for m in classifier.modules() if isinstance(m, norms)] == [nn.LayerNorm]


def test_the_skip_path_is_a_linear_model_of_the_spectrum() -> None:
    """With the conv path silenced, the network is exactly ``x W' + b``: the skip is a plain linear model."""
    torch.manual_seed(0)
    model = regressor().eval()
    weight, bias = torch.randn(2, LENGTH), torch.randn(2)
    with torch.no_grad():
        model.head[-1].weight.zero_()
        model.head[-1].bias.zero_()
        model.skip.weight.copy_(weight)
        model.skip.bias.copy_(bias)
        x = torch.randn(BATCH, LENGTH)
        torch.testing.assert_close(model(x), x @ weight.T + bias)


def test_the_skip_starts_at_zero_and_still_learns() -> None:
    """Zero-initialised (where L2 weight decay pulls it), so the untrained network is its conv path alone; a step
    moves the skip all the same, since its gradient is the input times the output's error."""
    torch.manual_seed(0)
    model = regressor(targets=1)
    x, y = torch.randn(BATCH, LENGTH), torch.randn(BATCH, 1)
    with torch.no_grad():
        torch.testing.assert_close(model(x), model.head(model.conv(x.unsqueeze(1))))
    model.loss(model(x), y).backward()
    assert model.skip.weight.grad.abs().sum() > 0 and model.skip.bias.grad.abs().sum() > 0


@pytest.mark.parametrize("setting", ["channels", "kernel_size", "stride"])
def test_sizes_below_one_are_one_line_errors(setting: str) -> None:
    with pytest.raises(SpectraConfigError, match=rf"model.init_args.{setting} must be a whole number of 1 or more"):
        SkipCNN(spectrum_length=LENGTH, **{setting: 0})


# ---------------------------------------------------------------------------------------------- FCNN1D as an MLP
@pytest.mark.parametrize("targets", [1, 3])
def test_a_64_unit_mlp_regressor_has_two_linear_layers_and_nothing_else(targets: int) -> None:
    """``hidden: [64]``: L*64 + 64 weights and biases into the hidden layer, 64*T + T out; a regressor without
    input normalisation keeps no LayerNorm (lightning_spectra/models/feature_norms.py)."""
    names = [f"t{i}" for i in range(targets)]
    model = FCNN1D(spectrum_length=LENGTH, hidden=(64,), targets=Targets.values(names))
    assert model.num_trainable_parameters == LENGTH * 64 + 64 + 64 * targets + targets
    with torch.no_grad():
        assert model(torch.randn(BATCH, LENGTH)).shape == (BATCH, targets)


def test_fcnn_takes_any_number_of_widths_but_not_none() -> None:
    blocks = FCNN1D(spectrum_length=LENGTH, hidden=(16, 8, 8, 4)).blocks
    assert [block[0].out_features for block in blocks] == [16, 8, 8, 4]
    with pytest.raises(SpectraConfigError, match=r"model.init_args.hidden must be one or more widths .* got \[\]"):
        FCNN1D(spectrum_length=LENGTH, hidden=())
