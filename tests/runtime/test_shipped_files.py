"""The shipped configs and sweep files: found by name from any folder, a path wins, an unknown name is one line,
and the wheel carries them (with the console commands, ``py.typed`` and the one version)."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from conftest import recorded_figures

import lightning_spectra
from lightning_spectra.cli import main
from lightning_spectra.models.registry import model_classes
from lightning_spectra.runtime.composed_configs import composed_text, load_config
from lightning_spectra.runtime.shipped_files import CONFIGS, SWEEPS, config_args, config_file
from lightning_spectra.sweeps.command import main as sweep_main
from lightning_spectra.sweeps.sweep_file import load_spec

ROOT = Path(__file__).parents[2]
SCRIPTS = {
    "lightning-spectra": "lightning_spectra.runtime.entry_points:train",
    "lightning-spectra-sweep": "lightning_spectra.sweeps.command:main",
    "lightning-spectra-cv": "lightning_spectra.runtime.entry_points:cv",
    "lightning-spectra-ensemble": "lightning_spectra.runtime.entry_points:ensemble",
    "lightning-spectra-watch": "lightning_spectra.runtime.entry_points:watch",
    "lightning-spectra-report": "lightning_spectra.runtime.entry_points:report",
    "lightning-spectra-export": "lightning_spectra.runtime.entry_points:export",
}


@pytest.mark.parametrize(
    ("name", "shipped"),
    [
        ("cnn", "cnn.yaml"),
        ("paper/cnn", "paper/cnn.yaml"),
        ("examples/files_csv", "examples/files_csv.yaml"),
        ("configs/paper/lstm.yaml", "paper/lstm.yaml"),  # the repository path, as the docs write it
    ],
)
def test_a_config_name_is_the_shipped_file_from_any_folder(
    name: str, shipped: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert config_file(name) == CONFIGS.folder / shipped
    # the parser gets the shipped file composed with its bases (runtime/composed_configs.py)
    composed = composed_text(CONFIGS.folder / shipped)
    assert config_args(["fit", "--config", name]) == ["fit", "--config", composed]
    assert config_args([f"--config={name}"]) == [f"--config={composed}"]


def test_a_file_that_exists_wins_over_a_shipped_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("cnn").write_text("trainer: {max_epochs: 1}\n")
    assert config_file("cnn") == Path("cnn")


def test_inline_yaml_for_config_is_left_to_the_parser() -> None:
    args = ["fit", "--config", "{trainer: {max_epochs: 1}}"]
    assert config_args(args) == args


def test_an_unknown_config_is_one_line_listing_the_names_closest_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as stop:
        main(["fit", "--config", "cnnn"])
    err = capsys.readouterr().err.strip()
    assert stop.value.code == 2 and len(err.splitlines()) == 1
    assert err.startswith("error: config cnnn not found: no such file, and no shipped config of that name (known: cnn,")
    assert "paper/cnn" in err and "examples/files_csv" in err


def test_the_readmes_repository_path_is_the_shipped_config_outside_the_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """Issue 35: ``fit --config configs/paper/cnn.yaml`` from another folder was refused as a missing file by the
    check that runs before the name is resolved; a misspelt one is the line that lists the names."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as stop:
        main(["fit", "--config", "configs/paper/cnn.yaml", "--print_config"])
    printed = yaml.safe_load(capsys.readouterr().out)
    assert stop.value.code in (0, None)
    assert printed["trainer"]["logger"]["init_args"]["name"] == "paper_cnn"  # the paper's, not configs/cnn.yaml
    with pytest.raises(SystemExit) as stop:
        main(["fit", "--config", "configs/paper/cnnn.yaml"])
    err = capsys.readouterr().err.strip()
    assert stop.value.code == 2 and len(err.splitlines()) == 1
    known = "no such file, and no shipped config of that name (known: paper/cnn,"
    assert err.startswith(f"error: config configs/paper/cnnn.yaml not found: {known}")


def test_a_sweep_name_is_the_shipped_sweep_and_its_base_config_resolves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    spec = load_spec("cnn")
    assert spec.path == SWEEPS.folder / "cnn.yaml"
    assert spec.config == (CONFIGS.folder / "cnn.yaml").resolve()
    assert load_spec("sweeps/cnn_tradeoff.yaml").path == SWEEPS.folder / "cnn_tradeoff.yaml"


def test_a_sweep_file_may_name_its_base_config(tmp_path: Path) -> None:
    raw = yaml.safe_load((SWEEPS.folder / "cnn.yaml").read_text())
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump({**raw, "config": "paper/cnn"}))
    assert load_spec(path).config == (CONFIGS.folder / "paper" / "cnn.yaml").resolve()


def test_an_unknown_sweep_is_one_line_listing_the_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.chdir(tmp_path)
    assert sweep_main(["--sweep", "cnn_tradof", "--cpu-workers", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: sweep cnn_tradof not found: no such file, and no shipped sweep of that name (known: ")
    assert err.endswith(")") and "(known: cnn_tradeoff, " in err and len(err.splitlines()) == 1


def test_every_repository_path_is_the_shipped_file() -> None:
    """``configs/`` and ``sweeps/*.yaml`` in the repository are the package's files (links), not copies."""
    for shelf, folder in ((CONFIGS, ROOT / "configs"), (SWEEPS, ROOT / "sweeps")):
        for name in shelf.names():
            assert (folder / f"{name}.yaml").resolve() == (shelf.folder / f"{name}.yaml").resolve()


def test_every_model_has_its_config_and_every_paper_model_its_paper_config() -> None:
    """Read from the registry and the classes' ``paper_order``, never counted by hand: a new model is one module
    and one config (docs/models.md), and only the paper's models have a paper-exact config."""
    names = set(CONFIGS.names())
    for name, cls in model_classes().items():
        assert name in names, f"{name}: no configs/{name}.yaml"
        assert (f"paper/{name}" in names) == (cls.paper_order is not None), name
    assert names >= {"examples/files_csv", "examples/files_regression"} and SWEEPS.names()
    for name in SWEEPS.names():  # every shipped sweep's base config is found
        assert load_spec(name).config.is_file(), name


def test_the_wheel_ships_configs_sweeps_commands_and_the_version(tmp_path: Path) -> None:
    source = tmp_path / "source"
    shutil.copytree(
        ROOT / "lightning_spectra", source / "lightning_spectra", ignore=shutil.ignore_patterns("__pycache__")
    )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    command = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", "out", "."]
    subprocess.run(command, cwd=source, check=True, capture_output=True)
    [wheel] = (source / "out").glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        info = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        entry_points = configparser.ConfigParser()
        entry_points.read_string(archive.read(info).decode())
    assert {f"lightning_spectra/configs/{n}.yaml" for n in CONFIGS.names()} <= names
    assert {f"lightning_spectra/sweep_files/{n}.yaml" for n in SWEEPS.names()} <= names
    assert "lightning_spectra/py.typed" in names
    assert dict(entry_points["console_scripts"]) == SCRIPTS
    assert wheel.name.startswith(f"lightning_spectra-{lightning_spectra.__version__}-")


# ---------------------------------------------------------------------------------------------- what they draw
def keys_anywhere(value: object) -> set[str]:
    """Every mapping key of a loaded YAML document, at any depth."""
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in keys_anywhere(v)}
    if isinstance(value, list):
        return {k for v in value for k in keys_anywhere(v)}
    return set()


def test_no_shipped_config_or_sweep_writes_an_axis_label() -> None:
    """The file names its axis (or ``--data.init_args.x_label`` does): a label written in a config is wrong for
    every other data set (the regression example said wavelength (nm) on Raman spectra in cm-1)."""
    for shelf in (CONFIGS, SWEEPS):
        for name in shelf.names():
            keys = keys_anywhere(yaml.safe_load((shelf.folder / f"{name}.yaml").read_text()))
            assert not keys & {"xlabel", "x_label"}, name


@pytest.mark.parametrize("name", ["files_csv", "files_xy", "files_ucr", "files_regression"])
def test_every_files_example_draws_grad_cam_and_feature_importance(name: str) -> None:
    """The README promises the attribution figures for every config; a user's own data comes in by these."""
    config = load_config(CONFIGS.folder / "examples" / f"{name}.yaml")
    splits = {
        c["class_path"].rpartition(".")[2]: c.get("init_args", {}).get("split") for c in config["trainer"]["callbacks"]
    }
    assert splits["GradCAM"] == "test" and splits["FeatureImportance"] == "train"


def test_a_fit_with_files_csv_on_three_classes_draws_the_maps_in_the_files_own_units(tmp_path: Path) -> None:
    """The shipped example, two epochs, on a CSV whose titles line names its axis: Grad-CAM and feature importance
    are drawn, and every figure along the spectrum says Raman shift (cm-1)."""
    import json

    rng = np.random.default_rng(0)
    x = np.linspace(400.0, 800.0, 96)
    labels = [("quartz", "calcite", "gypsum")[i % 3] for i in range(30)]  # 6 test spectra: Grad-CAM's checks cost
    centres = np.array([{"quartz": 500.0, "calcite": 600.0, "gypsum": 700.0}[c] for c in labels])
    spectra = np.exp(-0.5 * ((x - centres[:, None]) / 15) ** 2) + rng.normal(0, 0.03, (len(labels), len(x)))
    rows = ["# Raman shift (cm-1), counts", ",".join(["label", *(f"{v:.2f}" for v in x)])]
    rows += [",".join([c, *(f"{v:.5f}" for v in s)]) for c, s in zip(labels, spectra, strict=True)]
    (tmp_path / "minerals.csv").write_text("\n".join(rows) + "\n")
    with pytest.MonkeyPatch.context() as patch:
        drawn = recorded_figures(patch)
        patch.setenv("LIGHTNING_SPECTRA_CACHE", str(tmp_path / "cache"))
        main(
            [
                "fit",
                "--config",
                "examples/files_csv",
                "--data.init_args.train_path",
                str(tmp_path / "minerals.csv"),
                "--trainer.max_epochs",
                "2",
                "--trainer.logger.init_args.save_dir",
                str(tmp_path / "logs"),
                "--trainer.enable_progress_bar",
                "false",
                "--data.init_args.linear_baseline",
                "false",  # the classical baselines are tested elsewhere
                "--model.init_args.channels",
                "[16, 16, 4]",  # the CNN's small version: Grad-CAM's checks run the model hundreds of times
            ]
        )
    summary = json.loads(next((tmp_path / "logs" / "files_csv").glob("version_*/summary.json")).read_text())
    assert {"gradcam_test_class_mean.png", "feature_importance_train.png", "input_gradients_train.png"} <= set(drawn)
    assert {"confusion_matrix_test.png", "learning_curve.png"} <= set(drawn)
    assert summary["feature_importance_train_figures"] and summary["gradcam_test_figures"]
    # the maps explain the tested weights: the epoch of best.ckpt, which the test after fit loads
    tested = torch.load(summary["attribution_checkpoint"], map_location="cpu", weights_only=True)
    assert Path(summary["attribution_checkpoint"]).name == "best.ckpt"
    assert summary["attribution_epoch"] == tested["epoch"] == summary["learning_curve_tested_epoch"]
    along = [n for n in drawn if n.startswith(("gradcam_", "feature_importance_", "input_gradients_"))]
    for name in (n for n in along if "deletion" not in n):  # the deletion curve's x is the share replaced
        panels = [ax for ax in drawn[name].axes if ax.get_label() != "<colorbar>"]
        assert panels[-1].get_xlabel() == "Raman shift (cm-1)", name
