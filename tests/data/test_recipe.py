"""The default recipe for users' spectra (configs/examples/files_csv.yaml) with every model: it learns a small
synthetic multi-class set, and a spectrum's prediction never depends on the other spectra in its batch."""

from __future__ import annotations

import warnings
from pathlib import Path

import lightning.pytorch as L
import numpy as np
import pytest
import torch
from conftest import ROOT, every_model

from lightning_spectra.apps.paper_report import read_columns
from lightning_spectra.data import SpectraFilesDataModule
from lightning_spectra.data.beer_lambert import ANALYTE_BAND, beer_lambert
from lightning_spectra.models import SpectraClassifier
from lightning_spectra.runtime.composed_configs import load_config
from lightning_spectra.tasks import Targets

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")

LENGTH = 512


def recipe() -> dict:
    return load_config(ROOT / "configs" / "examples" / "files_csv.yaml")  # with its base


@pytest.fixture(scope="module")
def four_classes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """120 spectra, four classes told apart by small peaks on a varying background (offset, slope, scale)."""
    rng = np.random.default_rng(0)
    n = 120
    labels = np.arange(n) % 4
    grid = np.linspace(0, 1, LENGTH)
    centres = np.array([0.25, 0.4, 0.55, 0.7])[labels] + rng.normal(0, 0.005, n)
    peak = np.exp(-0.5 * ((grid - centres[:, None]) / 0.015) ** 2)
    background = 2 + rng.normal(0, 0.3, (n, 1)) + rng.normal(0, 0.5, (n, 1)) * grid
    spectra = rng.uniform(0.5, 1.5, (n, 1)) * (background + peak) + rng.normal(0, 0.02, (n, LENGTH))
    path = tmp_path_factory.mktemp("recipe") / "four.npz"
    np.savez(path, spectra=spectra, labels=np.array(["a", "b", "c", "d"])[labels], x_axis=grid)
    return path


def recipe_datamodule(path: Path) -> SpectraFilesDataModule:
    options = {k: v for k, v in recipe()["data"]["init_args"].items() if k != "train_path"}
    return SpectraFilesDataModule(train_path=str(path), **{**options, "progress": False})


def recipe_model(cls: type[SpectraClassifier], dm: SpectraFilesDataModule) -> SpectraClassifier:
    """The recipe's model in its small version (the class's ``tiny_arguments``), so it learns in seconds on two
    CPU cores; layouts are the defaults."""
    options = recipe()["model"]["init_args"]
    return cls(
        spectrum_length=dm.spectrum_length,
        targets=dm.targets,
        x_axis=dm.x_axis,
        **{**options, **cls.tiny_arguments},
    )


def test_recipe_defaults_are_the_datamodule_defaults() -> None:
    """The example config spells out the defaults, so a plain SpectraFilesDataModule uses the same recipe; an
    option group's keys are compared one by one with the group's default."""
    import dataclasses
    import inspect

    defaults = inspect.signature(SpectraFilesDataModule.__init__).parameters
    for key, value in recipe()["data"]["init_args"].items():
        if key not in defaults or key == "train_path":
            continue
        default = defaults[key].default
        if dataclasses.is_dataclass(default):
            for inner, inner_value in value.items():
                assert getattr(default, inner) == inner_value, f"{key}.{inner}"
        else:
            assert default == value, key


@pytest.mark.parametrize("cls", every_model())
def test_every_model_learns_four_classes_with_the_recipe(cls: type[SpectraClassifier], four_classes: Path) -> None:
    L.seed_everything(0, verbose=False)
    dm = recipe_datamodule(four_classes)
    model = recipe_model(cls, dm)
    trainer = L.Trainer(
        max_epochs=25,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        deterministic=True,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer.fit(model, datamodule=dm)
        accuracy = trainer.test(model, datamodule=dm, verbose=False)[0]["test/accuracy"]
    assert accuracy >= 0.95


@pytest.mark.parametrize("cls", every_model())
def test_a_prediction_does_not_depend_on_the_rest_of_the_batch(cls: type[SpectraClassifier]) -> None:
    torch.manual_seed(0)
    model = cls(
        spectrum_length=LENGTH, targets=Targets.classes(3), **{**recipe()["model"]["init_args"], **cls.tiny_arguments}
    ).eval()
    batch = torch.randn(7, LENGTH)
    with torch.no_grad():
        together = model(batch)
        alone = torch.cat([model(batch[i : i + 1]) for i in range(len(batch))])
        reordered = model(batch.flip(0)).flip(0)
    torch.testing.assert_close(alone, together, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(reordered, together, atol=1e-5, rtol=1e-4)


# ---------------------------------------------------------------------------------------------- regression
def regression_recipe_args(path: Path, out: Path, *extra: str, callbacks: bool = False) -> list[str]:
    """The shipped regression recipe on ``path``; its fit and test only unless ``callbacks`` (the config's own:
    checkpoint, predictions, attribution)."""
    return [
        "fit",
        "--config",
        str(ROOT / "configs" / "examples" / "files_regression.yaml"),
        "--data.init_args.train_path",
        str(path),
        "--data.init_args.progress",
        "false",
        "--trainer.logger.init_args.save_dir",
        str(out),
        "--trainer.enable_progress_bar",
        "false",
        *([] if callbacks else ["--trainer.callbacks", "[]"]),
        *extra,
    ]


def test_the_regression_recipe_calibrates_a_beer_lambert_band_on_drifting_baselines(tmp_path: Path) -> None:
    """The acceptance of a quantitative model: the recipe's CNN reaches R^2 >= 0.99 on the test split."""
    import json

    from lightning_spectra.cli import main

    main(regression_recipe_args(beer_lambert(tmp_path / "beer.npz"), tmp_path / "logs", callbacks=True))
    summary = json.loads(next((tmp_path / "logs").rglob("summary.json")).read_text())
    assert summary["r2"] >= 0.99, summary
    assert summary["classical_best_method"].split(" (")[0] in ("PLS", "kernel ridge")  # "kernel ridge (sg1)"
    # The explanation of the tested weights: the highest concentration range's mean default map is largest, and
    # positive, on the analyte band (1120 nm, width 12 nm), not on the matrix band at 1060 nm or the baseline.
    assert summary["attribution_epoch"] == int(Path(summary["attribution_checkpoint"]).name.split("-")[0][6:])
    peaks = summary["gradcam_test_peak_x"]
    highest = max(peaks, key=lambda name: float(name.split(" to ")[-1]))
    centre, width = ANALYTE_BAND
    assert abs(peaks[highest] - centre) <= 2 * width, peaks
    means = read_columns(Path(summary["gradcam_test_files"]["range_mean_csv"]))
    default = means[f"integrated_gradients[{highest}]"]
    assert default.max() > 0 and abs(means["x"][int(np.argmax(default))] - centre) <= 2 * width


def test_msresnet_calibrates_100_point_spectra(tmp_path: Path) -> None:
    import json

    from lightning_spectra.cli import main

    args = regression_recipe_args(beer_lambert(tmp_path / "beer.npz"), tmp_path / "logs")
    main(
        [
            *args,
            "--model",
            "lightning_spectra.models.MSResNet",
            "--model.planes",
            "[8, 8, 4]",
            "--trainer.max_epochs",
            "30",
            "--model.input_preparation",
            "sg1",  # no SNV: on these scatter-free spectra it would divide out the band that carries the amount
            "--model.classical_blend",
            "false",  # the network alone: the classical calibration is exact on Beer-Lambert spectra
        ]
    )
    summary = json.loads(next((tmp_path / "logs").rglob("summary.json")).read_text())
    assert summary["model"] == "MSResNet" and summary["r2"] >= 0.9, summary
    assert "blend_network_weight" not in summary
