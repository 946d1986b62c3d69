"""The task objects of the shared base: every model is a classifier or a regressor by its ``targets`` alone.

The regression check: every model learns a synthetic linear target (a concentration that scales one peak
against another) from 60 short spectra and predicts 30 unseen ones with R^2 > 0.95; in CI at a tiny size (its
class's ``tiny_arguments``, 128 points), and at full size in the slow suite.
"""

from __future__ import annotations

import pytest
import torch
from conftest import every_model
from torch.optim.swa_utils import update_bn

from lightning_spectra.metrics.regression import regression_metrics
from lightning_spectra.models import CNN, SequenceClassifier, SpectraClassifier, SpectraModel
from lightning_spectra.tasks import DEFAULT_TASK, TASKS, ClassificationTask, RegressionTask, Targets, task_for

LENGTH = 520  # the paper's layers in every model (MSResNet keeps them from 501 points)
TINY_LENGTH = 128


def linear_target_spectra(n: int, seed: int, length: int = LENGTH) -> tuple[torch.Tensor, torch.Tensor]:
    """Spectra whose first peak grows with the target ``c`` in [2, 12] while the second shrinks, plus noise."""
    g = torch.Generator().manual_seed(seed)
    c = 2 + 10 * torch.rand(n, generator=g)
    grid = torch.arange(length, dtype=torch.float32) * LENGTH / length  # the same peaks at any length
    peak = lambda centre, width: torch.exp(-0.5 * ((grid - centre) / width) ** 2)  # noqa: E731
    share = (c - 2) / 10
    spectra = share[:, None] * peak(150, 12) + (1 - share[:, None]) * peak(360, 15) + 0.5 * peak(260, 40)
    return spectra + 0.01 * torch.randn(n, length, generator=g), c[:, None]


def fit_regressor(cls: type[SpectraModel], steps: int, length: int = LENGTH, **settings) -> float:
    """Full-batch Adam on 60 spectra of the model built with ``settings``, precise BatchNorm, then R^2 on 30
    unseen spectra. Sequence models keep
    their default: every spectrum its own sequence (attending over the other spectra only adds noise here)."""
    torch.manual_seed(0)
    x, y = linear_target_spectra(60, seed=1, length=length)
    extra = {"sequence_groups": 3} if issubclass(cls, SequenceClassifier) else {}
    model = cls(
        spectrum_length=length,
        targets=Targets.values(["c"], mean=y.mean(0).tolist(), scale=y.std(0).tolist()),
        **extra,
        **settings,
    )
    optimiser = model.configure_optimizers()
    optimiser = optimiser["optimizer"] if isinstance(optimiser, dict) else optimiser
    model.train()
    for _ in range(steps):
        optimiser.zero_grad()
        model.loss(model(x), y).backward()
        optimiser.step()
    update_bn([(x, y, torch.arange(len(x)))], model)
    model.eval()
    x_test, y_test = linear_target_spectra(30, seed=2, length=length)
    with torch.no_grad():
        predicted = model.predict_values(model(x_test))
    return float(regression_metrics(predicted, y_test)["r2"][0])


@pytest.mark.parametrize("cls", every_model())
def test_every_model_recovers_a_linear_target(cls: type[SpectraModel]) -> None:
    """The small version of each model (a second or less on a CPU); the rate of its tiny settings if it has one."""
    assert fit_regressor(cls, 100, TINY_LENGTH, **{"lr": 3e-3, **cls.tiny_arguments}) > 0.95


@pytest.mark.slow
@pytest.mark.parametrize("cls", every_model())
def test_every_model_recovers_a_linear_target_at_full_size(cls: type[SpectraModel]) -> None:
    assert fit_regressor(cls, 300, lr=3e-3) > 0.95


def test_regressor_outputs_one_value_per_target_and_restores_units() -> None:
    model = CNN(spectrum_length=LENGTH, targets=Targets.values(["a", "b"], mean=[10, -1], scale=[2, 0.5]))
    assert model.out_features == 2 and isinstance(model.task, RegressionTask) and model.class_names == []
    outputs = torch.tensor([[0.0, 0.0], [1.0, -2.0]])
    assert torch.allclose(model.predict_values(outputs), torch.tensor([[10.0, -1.0], [12.0, -2.0]]))
    # The loss compares standardised values: a perfect standardised output has zero loss.
    assert float(model.loss(outputs, torch.tensor([[10.0, -1.0], [12.0, -2.0]]))) == pytest.approx(0.0)


def test_huber_loss_is_gentler_on_outliers_than_mse() -> None:
    one = Targets.values(["c"], [0.0], [1.0])
    mse = RegressionTask(one, "mse")
    huber = RegressionTask(one, "huber", huber_delta=1.0)
    outputs, target = torch.zeros(2, 1), torch.tensor([[0.0], [10.0]])
    assert float(huber.loss(outputs, target)) == pytest.approx((10 - 0.5) / 2)
    assert float(mse.loss(outputs, target)) == pytest.approx(50.0)


def test_bad_regression_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="target_scale must be positive"):
        RegressionTask(Targets.values(["c"], [0.0], [0.0]))
    with pytest.raises(ValueError, match="2 values for 1 targets"):
        RegressionTask(Targets.values(["c"], [0.0, 1.0], [1.0]))
    with pytest.raises(ValueError, match="regression_loss"):
        RegressionTask(Targets.values(["c"]), loss_name="l1")
    with pytest.raises(ValueError, match="task must be"):
        CNN(spectrum_length=LENGTH, targets=Targets("clustering", ("a",)))


def test_classifier_is_unchanged_and_the_old_name_still_works() -> None:
    assert SpectraClassifier is SpectraModel
    model = CNN(spectrum_length=LENGTH, targets=Targets.classes(3))
    assert isinstance(model.task, ClassificationTask) and model.out_features == 3 and model.target_names == []
    logits = torch.tensor([[0.0, 2.0, 1.0]])
    assert model.predict_labels(logits).tolist() == [1]
    assert torch.allclose(model.probabilities(logits).sum(1), torch.ones(1))


def test_regression_checkpoint_restores_the_units(tmp_path) -> None:
    import lightning.pytorch as L

    model = CNN(spectrum_length=LENGTH, targets=Targets.values(["fat"], mean=[20.0], scale=[4.0]))
    trainer = L.Trainer(logger=False, enable_checkpointing=False, enable_progress_bar=False, max_epochs=0)
    trainer.strategy.connect(model)
    trainer.save_checkpoint(tmp_path / "m.ckpt")
    loaded = CNN.load_from_checkpoint(tmp_path / "m.ckpt", map_location="cpu")
    assert isinstance(loaded.task, RegressionTask) and loaded.target_names == ["fat"]
    assert float(loaded.predict_values(torch.ones(1, 1))) == pytest.approx(24.0)


# ---------------------------------------------------------------------------------------------- tasks/base.py
def test_targets_are_frozen_plain_and_round_trip_through_a_checkpoint_dict() -> None:
    targets = Targets.values(["fat"], mean=[1], scale=[2])
    assert targets.names == ("fat",) and targets.mean == (1.0,) and isinstance(targets.mean[0], float)
    with pytest.raises(AttributeError):
        targets.kind = "classification"  # type: ignore[misc]
    saved = targets.as_dict()
    assert saved == {"kind": "regression", "names": ["fat"], "mean": [1.0], "scale": [2.0]}
    assert Targets.of(saved) == targets and Targets.of(targets) is targets
    assert Targets.of(None) == Targets.classes(2) == Targets("classification", ("0", "1"))


def test_the_task_is_chosen_by_the_kind_of_targets() -> None:
    assert {"classification", "regression"} <= set(TASKS) and TASKS[DEFAULT_TASK] is ClassificationTask
    assert isinstance(task_for(Targets.classes(3)), ClassificationTask)
    regressor = task_for(Targets.values(["c"]), regression_loss="huber", huber_delta=0.5)
    assert isinstance(regressor, RegressionTask) and regressor.loss_name == "huber" and regressor.huber_delta == 0.5
    with pytest.raises(ValueError, match="task must be one of 'classification'.*'regression'.*, got 'clustering'"):
        task_for(Targets("clustering", ("a",)))


def test_the_model_saves_its_targets_as_plain_lists() -> None:
    model = CNN(spectrum_length=LENGTH, targets=Targets.classes(["a", "b", "c"]))
    assert model.hparams["targets"] == {"kind": "classification", "names": ["a", "b", "c"], "mean": None, "scale": None}
    assert model.class_names == ["a", "b", "c"] and model.num_classes == 3
