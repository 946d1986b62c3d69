"""A sweep's study name is a name only: it becomes the folder ``sweeps/studies/<name>`` (journal, trials, W&B
runs, ``best.yaml``), so a separator, ``..`` or an absolute name is refused before anything is written."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import CONF

import lightning_spectra.sweeps.command as sweep_command
from lightning_spectra.sweeps.command import main as sweep_main

SWEEP = CONF / "sweep_cnn_tiny.yaml"


def _never_launch(*args, **kwargs) -> int:
    raise AssertionError("the sweep started with a study name that is a path")


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working folder three levels below tmp_path, where a sweep would write ``sweeps/studies/<name>``."""
    cwd = tmp_path / "a" / "b" / "c"
    cwd.mkdir(parents=True)
    monkeypatch.chdir(cwd)
    monkeypatch.setattr(sweep_command, "_launch", _never_launch)
    return cwd


@pytest.mark.parametrize("name", ["../../../../../x", "../x", "..", ".", "sub/x", "back\\slash", "new\nline", "-x"])
def test_a_study_name_that_is_a_path_is_one_line_and_writes_nothing(
    name: str, here: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    before = sorted(tmp_path.rglob("*"))
    assert sweep_main(["--sweep", str(SWEEP), f"--study={name}"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"error: --study {name!r}: a study name must be a name, not a path")
    assert sorted(tmp_path.rglob("*")) == before


def test_an_absolute_study_name_in_the_sweep_file_is_refused(
    here: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    target = tmp_path / "elsewhere"
    spec = {**yaml.safe_load(SWEEP.read_text()), "config": str(CONF / "cnn_tiny.yaml"), "study": str(target)}
    path = here / "sweep.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    assert sweep_main(["--sweep", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {path}: study {str(target)!r}: a study name must be a name, not a path")
    assert not target.exists() and not (here / "sweeps").exists()


def test_a_plain_study_name_reaches_the_launch(here: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    launched: list[tuple[str, Path]] = []
    monkeypatch.setattr(
        sweep_command, "_launch", lambda args, spec, name, storage, n, out: launched.append((name, out))
    )
    sweep_main(["--sweep", str(SWEEP), "--study", "cnn-lr.2"])
    assert launched == [("cnn-lr.2", here / "sweeps" / "studies" / "cnn-lr.2")]
