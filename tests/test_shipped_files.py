"""The shipped configs and sweep files: found by name from any folder, a path wins, an unknown name is one line,
and the wheel carries them (with the console commands, ``py.typed`` and the one version)."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

import lightning_spectra
from lightning_spectra.cli import main
from lightning_spectra.runtime.shipped_files import CONFIGS, SWEEPS, config_args, config_file
from lightning_spectra.sweeps.command import main as sweep_main
from lightning_spectra.sweeps.sweep_file import load_spec

ROOT = Path(__file__).parent.parent
SCRIPTS = {
    "lightning-spectra": "lightning_spectra.cli:main",
    "lightning-spectra-sweep": "lightning_spectra.sweeps.command:main",
    "lightning-spectra-cv": "lightning_spectra.apps.cross_validation:main",
    "lightning-spectra-ensemble": "lightning_spectra.apps.ensemble:main",
    "lightning-spectra-watch": "lightning_spectra.apps.watch:main",
    "lightning-spectra-report": "lightning_spectra.apps.paper_report:main",
    "lightning-spectra-export": "lightning_spectra.apps.export:main",
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
    assert config_args(["fit", "--config", name]) == ["fit", "--config", str(CONFIGS.folder / shipped)]
    assert config_args([f"--config={name}"]) == [f"--config={CONFIGS.folder / shipped}"]


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
    assert len(CONFIGS.names()) == 20 and len(SWEEPS.names()) == 9


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
