"""Every classifier: shapes, paper parameter counts, seeded reproducibility, that a few steps lower the loss,
the sequence models' batch conventions, and ``fit`` then ``test`` from the command line for each model."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
import torch
from conftest import every_model, memory_datamodule, tiny_args

from lightning_spectra.cli import main  # what train.py runs
from lightning_spectra.errors import SpectraConfigError
from lightning_spectra.interpret.gradcam import layer_gradients
from lightning_spectra.models import (
    CNN,
    FCNN1D,
    BinnedFCNN,
    ConvSCAttention,
    ConvSCTAttention,
    LSTMClassifier,
    MSResNet,
    SequenceClassifier,
    SpectraClassifier,
)
from lightning_spectra.models.registry import model_classes
from lightning_spectra.models.sequence import from_sequences, to_sequences
from lightning_spectra.tasks import Targets

pytestmark = pytest.mark.filterwarnings("ignore:You are trying to `self.log\\(\\)`")

MODELS = every_model()  # every model module of lightning_spectra/models
SEQUENCE_MODELS = every_model(sequences=True)
SHORT = 600  # a short spectrum every model accepts with the paper's layers (MSResNet keeps them from 501 points)
BATCH = 6


def build(cls: type[SpectraClassifier], **kwargs) -> SpectraClassifier:
    """A model for tests: sequence models cut the small test batches into real sequences (groups of 3)."""
    if issubclass(cls, SequenceClassifier):
        kwargs.setdefault("sequence_groups", 3)
    return cls(**kwargs)


def toy_batch(n: int = BATCH, length: int = SHORT) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Separable spectra: one Gaussian peak, early for class 0 and late for class 1, on a noisy floor."""
    generator = torch.Generator().manual_seed(0)
    labels = torch.arange(n) % 2
    grid = torch.arange(length, dtype=torch.float32)
    centres = torch.where(labels == 0, 0.25, 0.75) * length
    spectra = 10 * torch.exp(-0.5 * ((grid - centres[:, None]) / 8) ** 2)
    spectra = spectra + 0.3 * torch.rand(n, length, generator=generator)
    return spectra, labels, torch.arange(n)


# ---------------------------------------------------------------------------------------------- every model
@pytest.mark.parametrize("cls", MODELS)
@pytest.mark.parametrize("length", [4023, SHORT])
@pytest.mark.parametrize("num_classes", [2, 3])
def test_output_shape(cls: type[SpectraClassifier], length: int, num_classes: int) -> None:
    torch.manual_seed(0)
    model = build(cls, spectrum_length=length, targets=Targets.classes(num_classes))
    x = torch.randn(BATCH, length).abs()
    out_features = 1 if num_classes == 2 else num_classes
    for training in (True, False):
        model.train(training)
        with torch.no_grad():
            logits = model(x)
        assert logits.shape == (BATCH, out_features)
        assert torch.isfinite(logits).all()


# Each model's counts (the paper's, and this project's variants) are on its class: ``parameter_counts``.
PAPER_PARAMETERS = [(p.values[0], kwargs, count) for p in MODELS for kwargs, count in p.values[0].parameter_counts]


@pytest.mark.parametrize("cls", MODELS)
def test_every_model_states_its_facts(cls: type[SpectraClassifier]) -> None:
    """What reports and tests read from the class: a label, a parameter count, tiny settings it accepts."""
    assert cls.label and cls.parameter_counts and isinstance(cls.attribution_layer, str)
    assert cls.minimum_length is None or cls.minimum_length >= 2
    tiny = build(cls, spectrum_length=SHORT, **cls.tiny_arguments)
    assert tiny.num_trainable_parameters < build(cls, spectrum_length=SHORT).num_trainable_parameters


@pytest.mark.parametrize(("cls", "kwargs", "expected"), PAPER_PARAMETERS, ids=lambda v: getattr(v, "__name__", None))
def test_paper_parameter_count(cls: type[SpectraClassifier], kwargs: dict, expected: int) -> None:
    assert cls(spectrum_length=4023, **kwargs).num_trainable_parameters == expected


def test_conv_sct_stays_near_the_paper_count() -> None:
    assert abs(ConvSCTAttention(include_unused_layer=True).num_trainable_parameters / 1_953_353 - 1) < 0.02


@pytest.mark.parametrize("cls", MODELS)
def test_same_seed_same_weights(cls: type[SpectraClassifier]) -> None:
    torch.manual_seed(123)
    first = build(cls, spectrum_length=SHORT).state_dict()
    torch.manual_seed(123)
    second = build(cls, spectrum_length=SHORT).state_dict()
    assert first.keys() == second.keys()
    for name in first:
        assert torch.equal(first[name], second[name]), name


@pytest.mark.parametrize("cls", MODELS)
def test_training_steps_lower_the_loss(cls: type[SpectraClassifier]) -> None:
    torch.manual_seed(0)
    kwargs = {"early_stop": False} if cls is BinnedFCNN else {}
    # A smaller step than the paper's 2e-3: on six spectra the first full-size Adam steps can overshoot.
    model = build(cls, spectrum_length=SHORT, lr=5e-4, **kwargs)
    optimizer = model.configure_optimizers()
    batch = toy_batch()
    losses = []
    for _ in range(8):
        optimizer.zero_grad()
        loss = model.training_step(batch, 0)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]


@pytest.mark.parametrize("cls", MODELS)
def test_attribution_layer_is_channels_first_map(cls: type[SpectraClassifier]) -> None:
    """Grad-CAM reads ``(batch, channels, positions)`` with gradients of the same shape: at ``"input"`` the
    spectrum itself as one channel, else the named layer's output, which must itself be three-dimensional."""
    model = build(cls, spectrum_length=SHORT).eval()
    outputs = []
    if cls.attribution_layer != "input":
        model.get_submodule(cls.attribution_layer).register_forward_hook(lambda m, i, o: outputs.append(o))
    activations, gradients, _, _ = layer_gradients(model, toy_batch()[0])
    assert activations.ndim == 3 and activations.shape[0] == BATCH and gradients.shape == activations.shape
    if cls.attribution_layer == "input":
        assert activations.shape[1:] == (1, SHORT)
    else:
        assert [output.ndim for output in outputs] == [3]


@pytest.mark.parametrize("cls", MODELS)
def test_every_model_takes_64_point_spectra_and_learns_from_them(cls: type[SpectraClassifier]) -> None:
    """Short spectra (NIR filters, cut ranges) work with every model; the paper's fixed sizes adapt."""
    torch.manual_seed(0)
    model = build(cls, spectrum_length=64)
    x, y, _ = toy_batch(length=64)
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-4)  # as test_training_steps_lower_the_loss
    losses = []
    for _ in range(8):
        optimizer.zero_grad()
        loss = model.loss(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]


@pytest.mark.parametrize("cls", MODELS)
def test_too_short_spectra_are_refused_or_work(cls: type[SpectraClassifier]) -> None:
    """A model works at its ``minimum_length`` (two points where it takes any length); below it construction
    fails loudly, naming the minimum, rather than at the first forward."""
    minimum = cls.minimum_length or 2
    with torch.no_grad():
        outputs = build(cls, spectrum_length=minimum).eval()(torch.rand(BATCH, minimum))
    assert outputs.shape == (BATCH, 1) and torch.isfinite(outputs).all()
    if cls.minimum_length is not None:
        with pytest.raises(SpectraConfigError, match=rf"points are too short .*; it needs at least {minimum}\b"):
            build(cls, spectrum_length=minimum - 1)  # one line from the CLI (test_reliability.py)


def test_short_spectra_downsample_less_and_the_paper_sizes_stay_where_they_fit() -> None:
    from lightning_spectra.models.cnn import fitted_pools
    from lightning_spectra.models.resnet import fitted_layout

    assert fitted_pools(4023, (2, 2, 2)) == (2, 2, 2) and fitted_pools(71, (2, 2, 2)) == (2, 2, 2)
    assert fitted_pools(64, (2, 2, 2)) == (2, 2, 1)
    assert fitted_layout(501, 3, (3, 5, 7)) == ((2, 2, 2), True)
    assert fitted_layout(100, 3, (3, 5, 7)) == ((1, 1, 1), False)
    assert MSResNet(spectrum_length=100).multiscale.output_length >= 1


@pytest.mark.parametrize("cls", MODELS)
def test_input_normalization_is_a_choice_with_the_papers_default_for_classifiers(cls: type[SpectraClassifier]) -> None:
    """``layer`` makes a model blind to a spectrum's level and scale (the paper's choice for XRD phases);
    ``none`` keeps them, which a regressor of an amount needs (Beer-Lambert); regressors default to ``none``."""
    x = toy_batch(length=SHORT)[0]
    classifier = build(cls, spectrum_length=SHORT).eval()
    assert classifier.input_normalization == cls.default_input_normalization
    regressor = build(cls, spectrum_length=SHORT, targets=Targets.values(["target"])).eval()
    assert regressor.input_normalization == "none"
    with torch.no_grad():
        for kind in ("layer", "none", "point"):
            torch.manual_seed(0)
            model = build(cls, spectrum_length=SHORT, input_normalization=kind).eval()
            # the binned FCNN's outputs are row votes, which can agree by chance: compare what the rows see
            outputs = model.row_logits if isinstance(model, BinnedFCNN) else model
            scaled = torch.allclose(outputs(x), outputs(3 * x + 2), atol=1e-4)
            assert scaled == (kind == "layer"), kind  # only a LayerNorm over the spectrum divides the level out
    with pytest.raises(SpectraConfigError, match="input_normalization must be one of layer, none, point"):
        build(cls, spectrum_length=SHORT, input_normalization="snv")


def test_too_few_points_for_the_bins_and_negative_rates_are_one_line_errors() -> None:
    """Refused while the model is built, as ``error: ...`` (exit 2), not in fit."""
    with pytest.raises(SpectraConfigError, match="spectra of 10 points are too short for the BinnedFCNN with 15 bins"):
        build(BinnedFCNN, spectrum_length=10)
    with pytest.raises(SpectraConfigError, match="model.init_args.lr must be above 0, got -0.1"):
        build(CNN, spectrum_length=128, lr=-0.1)
    with pytest.raises(SpectraConfigError, match="model.init_args.weight_decay must be 0 or more"):
        build(CNN, spectrum_length=128, weight_decay=-1.0)


# ---------------------------------------------------------------------------------------------- sequences
def test_sequence_layouts() -> None:
    rows = torch.arange(12)
    consecutive, transposed = to_sequences(rows, "consecutive", 3)
    assert consecutive.tolist() == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]] and not transposed
    strided, transposed = to_sequences(rows, "strided", 3)
    assert strided.tolist() == [[0, 4, 8], [1, 5, 9], [2, 6, 10], [3, 7, 11]] and transposed
    assert to_sequences(rows, "whole", 3)[0].shape == (1, 12)
    assert to_sequences(rows, "independent", 3)[0].shape == (12, 1)
    for mode in ("consecutive", "strided", "whole", "independent"):
        assert torch.equal(from_sequences(*to_sequences(rows, mode, 3)), rows)


def test_paper_strided_sequences_hold_every_training_spectrum_once() -> None:
    spectrum_of_row = torch.arange(1581) % 31  # 51 blocks of the same 31 spectra
    sequences, _ = to_sequences(spectrum_of_row, "strided", 31)
    assert sequences.shape == (51, 31)
    assert all(sorted(s.tolist()) == list(range(31)) for s in sequences)
    lstm_sequences, _ = to_sequences(spectrum_of_row, "consecutive", 31)
    assert lstm_sequences.shape == (31, 51)


def test_indivisible_batch_falls_back_to_one_sequence() -> None:
    with pytest.warns(UserWarning, match="one sequence"):
        sequences, _ = to_sequences(torch.arange(7), "strided", 3)
    assert sequences.shape == (1, 7)


@pytest.mark.parametrize("cls", SEQUENCE_MODELS)
def test_tokens_hook_sees_the_rows_handed_to_the_sequences_until_removed(cls: type[SequenceClassifier]) -> None:
    model = build(cls, spectrum_length=64, eval_sequence="whole").eval()
    seen: list[torch.Tensor] = []
    handle = model.register_tokens_hook(seen.append)
    model(torch.randn(5, 64))
    handle.remove()
    model(torch.randn(5, 64))
    assert len(seen) == 1 and seen[0].shape[0] == 5  # one token per spectrum, before the sequences are cut


@pytest.mark.parametrize("cls", SEQUENCE_MODELS)
@pytest.mark.parametrize("mode", ["consecutive", "strided"])
def test_sequence_outputs_come_back_in_row_order(cls: type[SequenceClassifier], mode: str) -> None:
    """Running each sequence alone gives the rows of the batched output at that sequence's rows."""
    torch.manual_seed(0)
    model = build(cls, spectrum_length=SHORT, sequence_groups=3, eval_sequence=mode).eval()
    x = toy_batch()[0]
    with torch.no_grad():
        batched = model(x)
        model.eval_sequence = "whole"
        for k in range(3 if mode == "consecutive" else 2):
            rows = torch.arange(2 * k, 2 * k + 2) if mode == "consecutive" else torch.arange(k, BATCH, 2)
            torch.testing.assert_close(model(x[rows]), batched[rows])


def test_lstm_evaluates_every_spectrum_alone() -> None:
    model = build(LSTMClassifier, spectrum_length=SHORT).eval()
    x = toy_batch()[0]
    with torch.no_grad():
        torch.testing.assert_close(model(x), torch.cat([model(row[None]) for row in x]))


def _predicted_batch_sizes(model: SpectraClassifier, x: torch.Tensor) -> tuple[list[int], torch.Tensor]:
    sizes: list[int] = []
    hook = model.register_forward_pre_hook(lambda _, args: sizes.append(len(args[0])))
    model.trainer = None  # predict_step reads nothing of a trainer
    with torch.no_grad():
        out = model.predict_step((x, torch.zeros(len(x)), torch.arange(len(x))), 0)
    hook.remove()
    return sizes, out["probabilities"]


def test_predict_passes_independent_spectra_in_chunks_with_the_same_result(monkeypatch: pytest.MonkeyPatch) -> None:
    from lightning_spectra.models import base

    model = build(CNN, spectrum_length=SHORT).eval()
    x = toy_batch(2 * base.PREDICT_CHUNK + 5)[0]
    sizes, probabilities = _predicted_batch_sizes(model, x)
    assert sizes == [base.PREDICT_CHUNK, base.PREDICT_CHUNK, 5]
    monkeypatch.setattr(base, "PREDICT_CHUNK", len(x))
    assert _predicted_batch_sizes(model, x)[0] == [len(x)]
    torch.testing.assert_close(probabilities, _predicted_batch_sizes(model, x)[1])


def test_predict_keeps_a_whole_batch_sequence_whole() -> None:
    from lightning_spectra.models.base import PREDICT_CHUNK

    model = build(ConvSCTAttention, spectrum_length=SHORT, eval_sequence="whole").eval()
    sizes, _ = _predicted_batch_sizes(model, toy_batch(PREDICT_CHUNK + 3)[0])
    assert sizes == [PREDICT_CHUNK + 3]


def test_sequence_defaults_are_independent_and_the_paper_configs_set_the_paper_layouts() -> None:
    from conftest import ROOT, tiny_config

    from lightning_spectra.runtime.composed_configs import load_config

    for model in (param.values[0]() for param in SEQUENCE_MODELS):
        assert (model.train_sequence, model.eval_sequence, model.sequence_groups) == ("independent", "independent", 31)
    paper = {"lstm": ("consecutive", "independent"), "transformer": ("strided", "whole")}
    paper["conv_sct_attention"] = ("consecutive", "whole")
    for name, layouts in paper.items():
        for config in (ROOT / "configs" / f"{name}.yaml", tiny_config(name)):
            options = load_config(config)["model"]["init_args"]
            assert (options["train_sequence"], options["eval_sequence"]) == layouts, config


def test_conv_sct_temporal_attention_uses_the_series_order() -> None:
    """Windowed temporal attention: a spectrum's output depends on its neighbours in time, not on far ones."""
    torch.manual_seed(0)
    model = build(ConvSCTAttention, spectrum_length=SHORT, temporal_window=1, eval_sequence="whole").eval()
    x = toy_batch(8)[0]
    with torch.no_grad():
        out = model(x)
        far = x.clone()
        far[7] = far[7].flip(0)  # spectrum 7 is 7 places from spectrum 0: outside its window
        torch.testing.assert_close(model(far)[:3], out[:3])
        order = torch.tensor([0, 4, 1, 5, 2, 6, 3, 7])  # same spectra, other neighbours
        assert not torch.allclose(model(x[order]), out[order], atol=1e-6)
        model.temporal.window = None  # the order-free variant: permuting the series permutes the outputs
        torch.testing.assert_close(model(x[order]), model(x)[order], atol=1e-5, rtol=1e-5)


# ---------------------------------------------------------------------------------------------- model details
def test_resnet_pools_reproduce_the_paper_at_4023() -> None:
    multiscale = MSResNet().multiscale
    assert [branch[-1].kernel_size for branch in multiscale.branches] == [(16,), (11,), (6,)]
    assert multiscale.output_length == 111


def test_conv_sc_embedding_reads_500_positions_at_4023() -> None:
    assert ConvSCAttention().encoder.embedding[0].in_features == 500


def test_fcnn_paper_init_centres_weights_on_one() -> None:
    torch.manual_seed(0)
    paper = FCNN1D(spectrum_length=SHORT, paper_init=True).blocks[0][0].weight
    ours = FCNN1D(spectrum_length=SHORT).blocks[0][0].weight
    assert paper.mean().item() == pytest.approx(1.0, abs=0.01)
    assert ours.mean().item() == pytest.approx(0.0, abs=0.01)


def test_binned_rows_bundle_the_same_offset_of_every_bin() -> None:
    length, bins = 23, 4  # N2 = 5 rows per spectrum, the last 3 points dropped
    model = BinnedFCNN(spectrum_length=length, bins=bins, x_axis=[10.0 + 0.5 * i for i in range(length)])
    x = torch.arange(2 * length, dtype=torch.float32).view(2, length)
    rows = model.rows(x)
    assert rows.shape == (2, 5, 2 * bins)
    for c, ix, b in [(0, 0, 0), (1, 3, 2), (1, 4, 3)]:
        point = b * 5 + ix
        assert rows[c, ix, 2 * b].item() == 10.0 + 0.5 * point
        assert rows[c, ix, 2 * b + 1].item() == x[c, point].item()


def test_binned_bin_mlps_are_independent() -> None:
    model = BinnedFCNN(spectrum_length=SHORT, bins=4).eval()
    rows = torch.randn(5, 8)
    changed = rows.clone()
    changed[:, :2] += 1.0  # bin 0's (theta, I)
    with torch.no_grad():
        diff = (model.bin_mlps(changed) - model.bin_mlps(rows)).abs().view(5, 4, 2).sum((0, 2))
    assert diff[0] > 0 and torch.all(diff[1:] == 0)


def test_binned_majority_vote() -> None:
    model = BinnedFCNN(spectrum_length=SHORT)
    row_logits = torch.tensor([[1.0, 2.0, -1.0, 3.0], [1.0, -2.0, -1.0, 3.0], [-1.0, -2.0, 1.0, -3.0]])
    votes = model.vote_logits(row_logits.unsqueeze(-1))
    assert votes.shape == (3, 1)
    assert votes[0, 0] > 0  # 3 of 4 rows say class 1
    assert votes[1, 0] > 0  # a tie goes to class 1, as in the paper
    assert votes[2, 0] < 0
    three = BinnedFCNN(spectrum_length=SHORT, targets=Targets.classes(3))
    row_logits = torch.tensor([[[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]])
    assert three.vote_logits(row_logits).argmax(1).item() == 2


def test_binned_votes_pass_gradients_to_the_input() -> None:
    model = BinnedFCNN(spectrum_length=SHORT).eval()
    x = toy_batch()[0].requires_grad_()
    model(x).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_binned_early_stop_skips_the_step() -> None:
    model = BinnedFCNN(spectrum_length=SHORT, stop_accuracy=-1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert model.training_step(toy_batch(), 0) is None
    model.hparams.early_stop = False
    assert isinstance(model.training_step(toy_batch(), 0), torch.Tensor)


@pytest.mark.parametrize(("batch_size", "trained"), [(BATCH, False), (BATCH // 2, True)])
def test_binned_early_stop_reads_the_whole_epoch(batch_size: int, trained: bool) -> None:
    """A full batch stops before its first step (the paper); mini-batches train the epoch, then stop."""
    import lightning.pytorch as L
    from torch.utils.data import DataLoader, TensorDataset

    model = BinnedFCNN(spectrum_length=SHORT, stop_accuracy=-1.0)
    before = [p.detach().clone() for p in model.parameters()]
    trainer = L.Trainer(max_epochs=5, logger=False, enable_checkpointing=False, enable_progress_bar=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer.fit(model, DataLoader(TensorDataset(*toy_batch()), batch_size=batch_size))
    changed = any(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    assert changed is trained and trainer.current_epoch == 1


# ---------------------------------------------------------------------------------------------- command line
CLI_MODELS = {name: cls for name, cls in model_classes().items() if name != "cnn"}  # the CNN's: test_cli.py
FAST_CLI_MODELS = ("fcnn", "skip_cnn")  # through the command line in every run of the suite; the others: slow


def summary_of(save_dir: Path, name: str) -> dict:
    (folder,) = (save_dir / name).glob("version_*")
    return json.loads((folder / "summary.json").read_text())


@pytest.mark.filterwarnings("ignore:LightningCLI's args parameter")  # pytest's own argv, not ours
@pytest.mark.filterwarnings("ignore:The dirpath has changed")  # testing a checkpoint from another run: intended
@pytest.mark.parametrize(
    "name",
    # The two attention models (14-19 s), MSResNet (19 s), the binned FCNN, LSTM and Transformer (11-12 s each)
    # are kept for `make test-slow`: their layers are run by every per-model test above, and the command line by
    # the CNN (test_cli.py), FCNN and Skip CNN (the suite must stay within 10 minutes on 2 cores).
    [pytest.param(n, marks=pytest.mark.slow) if n not in FAST_CLI_MODELS else n for n in CLI_MODELS],
)
def test_cli_fit_then_test_from_checkpoint(name: str, tmp_path: Path) -> None:
    """``fit`` (which tests the in-memory model) and ``test`` of the saved checkpoint give the same predictions."""
    config = f"{name}_tiny.yaml"
    main(tiny_args("fit", tmp_path / "fit", config))
    fitted = summary_of(tmp_path / "fit", f"{name}_tiny")
    assert fitted["model"] == CLI_MODELS[name].__name__ and fitted["spectra"] == 349
    assert fitted["train_time_s"] > 0 and fitted["peak_memory_gib"] > 0 and "epochs_to_target" in fitted
    (run,) = (tmp_path / "fit").glob(f"{name}_tiny/version_*")
    assert (run / "figures" / "feature_importance_train.png").stat().st_size > 0
    # the default map (Integrated Gradients, every point) is always drawn; the layer's own map (gradient x input at
    # the input) beside it only where the layer keeps more than one position (not MSResNet's at this tiny length)
    assert fitted["gradcam_test_default_map"] == "integrated gradients"
    for figure in ("gradcam_test_spectra.png", "gradcam_test_class_mean.png"):
        assert (run / "figures" / figure).exists(), figure
    layer_map = fitted["gradcam_test_layer_positions"] > 1
    assert (run / "figures" / "gradcam_test_class_mean_layer.png").exists() == layer_map
    with open(run / "attribution" / "gradcam_test_class_mean.csv") as f:
        header = f.readline()
    assert "gradcam[before transition]" in header and "gradcam[after transition]" in header
    (ckpt,) = (tmp_path / "fit").glob(f"{name}_tiny/version_*/checkpoints/last.ckpt")
    main(tiny_args("test", tmp_path / "test", config, "--ckpt_path", str(ckpt)))
    tested = summary_of(tmp_path / "test", f"{name}_tiny")
    for key in ("confidence", "boundary", "accuracy"):
        assert tested[key] == fitted[key], key
    assert tested["loss"] == pytest.approx(fitted["loss"], rel=1e-5, abs=1e-7)


@pytest.mark.parametrize("cls", MODELS)
def test_two_fits_with_the_same_seed_give_identical_weights(cls: type[SpectraClassifier], tmp_path: Path) -> None:
    import lightning.pytorch as L

    from lightning_spectra.data import HEDDataModule

    def fit() -> dict[str, torch.Tensor]:
        L.seed_everything(7, verbose=False)
        data = HEDDataModule(simulated_points=SHORT, noise_copies=1, cache_dir=str(tmp_path), progress=False)
        model = cls(spectrum_length=data.spectrum_length, targets=Targets.classes(2), x_axis=data.x_axis)
        trainer = L.Trainer(
            max_epochs=2,
            deterministic=True,
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            num_sanity_val_steps=0,
        )
        trainer.fit(model, datamodule=data)
        return {k: v.clone() for k, v in model.state_dict().items()}

    first, second = fit(), fit()
    for key in first:
        torch.testing.assert_close(first[key], second[key], rtol=0, atol=0, msg=key)


# ---------------------------------------------------------------------------------------------- precise BatchNorm
def _precise_statistics(model: SpectraClassifier, data) -> torch.Tensor:
    import copy

    from torch.optim.swa_utils import update_bn

    reference = copy.deepcopy(model)
    update_bn(data.train_dataloader(), reference)
    return reference.conv1[1].running_mean


def test_precise_batchnorm_does_not_need_validation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With validation off, BatchNorm statistics are still recomputed at fit end and before a test."""
    import lightning.pytorch as L

    from lightning_spectra.data import HEDDataModule

    data = HEDDataModule(simulated_points=256, noise_copies=2, cache_dir=str(tmp_path), progress=False)
    quiet = dict(logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False)
    trainer = L.Trainer(max_epochs=2, limit_val_batches=0, **quiet)
    torch.manual_seed(0)
    model = CNN(spectrum_length=256)
    trainer.fit(model, datamodule=data)
    precise = _precise_statistics(model, data)
    torch.testing.assert_close(model.conv1[1].running_mean, precise)

    with monkeypatch.context() as patch:  # the same fit without the recompute keeps the running averages
        patch.setattr(CNN, "refresh_batchnorm", lambda self: None)
        torch.manual_seed(0)
        stale = CNN(spectrum_length=256)
        L.Trainer(max_epochs=2, limit_val_batches=0, **quiet).fit(stale, datamodule=data)
    assert not torch.allclose(stale.conv1[1].running_mean, precise, atol=1e-3)

    stale.load_state_dict(model.state_dict())  # the trained weights with stale statistics, as from a checkpoint
    stale.conv1[1].running_mean.zero_()
    L.Trainer(**quiet).test(stale, datamodule=data, verbose=False)
    torch.testing.assert_close(stale.conv1[1].running_mean, precise)


def test_precise_batchnorm_keeps_stored_statistics_without_training_spectra(tmp_path: Path) -> None:
    """``predict`` from a checkpoint reads no training file: the checkpoint's statistics must survive (a
    recompute over no batch would reset them to mean 0, variance 1), and with training spectra the recompute
    reads them in their stored order, so two evaluations of the same weights agree exactly."""
    from types import SimpleNamespace

    from lightning_spectra.data.base import InMemorySpectra

    torch.manual_seed(0)
    model = CNN(spectrum_length=128)
    bn = model.conv1[1]
    bn.running_mean.uniform_(1, 2)
    stored = bn.running_mean.clone()
    empty = memory_datamodule(train=InMemorySpectra(torch.zeros(0, 128), torch.zeros(0)))
    model.trainer = SimpleNamespace(datamodule=empty, global_step=7)
    model.refresh_batchnorm()
    torch.testing.assert_close(bn.running_mean, stored)

    spectra = torch.rand(40, 128) * 5
    full = memory_datamodule(train=InMemorySpectra(spectra, torch.zeros(40)), batch_size=8)
    model.trainer = SimpleNamespace(datamodule=full, global_step=8)
    model.refresh_batchnorm()
    first = bn.running_var.clone()
    assert not torch.allclose(bn.running_mean, stored)
    model.trainer = SimpleNamespace(datamodule=full, global_step=9)
    model.refresh_batchnorm()
    torch.testing.assert_close(bn.running_var, first, rtol=0, atol=0)


def test_from_datamodule_takes_sizes_axis_and_classes_from_the_data() -> None:
    from lightning_spectra.data import HEDDataModule

    data = HEDDataModule(simulated_points=512, noise_copies=1, progress=False)
    model = CNN.from_datamodule(data, lr=1e-3)
    assert model.spectrum_length == data.spectrum_length
    assert model.class_names == data.class_names and model.hparams.lr == 1e-3
    assert torch.allclose(model.x_axis, torch.tensor(data.x_axis, dtype=torch.float64))


def test_from_datamodule_refuses_a_size_given_twice() -> None:
    from lightning_spectra.data import HEDDataModule

    data = HEDDataModule(simulated_points=512, noise_copies=1, progress=False)
    with pytest.raises(SpectraConfigError, match="^spectrum_length: from_datamodule takes these from the datamodule$"):
        CNN.from_datamodule(data, spectrum_length=100)


@pytest.mark.parametrize("cls", MODELS)
def test_spectra_of_another_length_are_one_line_naming_both(cls: type[SpectraClassifier]) -> None:
    model = build(cls, spectrum_length=SHORT)
    name = cls.__name__
    message = (
        f"{name} was built for spectra of {SHORT} points but got 4023 (input of shape (6, 4023)); build it with "
        f"{name}.from_datamodule(datamodule) or {name}(spectrum_length=4023, ...)"
    )
    with pytest.raises(SpectraConfigError) as refused:
        model(torch.randn(BATCH, 4023))
    assert str(refused.value) == message
    with pytest.raises(
        SpectraConfigError, match=rf"^{name} takes spectra of shape \(N, {SHORT}\) or \(N, 1, {SHORT}\)"
    ):
        model(torch.randn(BATCH, 2, SHORT))


# BinnedFCNN cuts any input into rows of bins itself, so (N, 1, L) always worked there.
@pytest.mark.parametrize("cls", [p for p in MODELS if p.values[0] is not BinnedFCNN])
def test_spectra_with_one_channel_give_the_same_outputs(cls: type[SpectraClassifier]) -> None:
    """``(N, 1, L)``, as tsai and aeon lay spectra out, is read as ``(N, L)``."""
    torch.manual_seed(0)
    model = build(cls, spectrum_length=SHORT).eval()
    x = torch.randn(BATCH, SHORT)
    with torch.no_grad():
        assert torch.allclose(model(x[:, None, :]), model(x), atol=1e-6)
