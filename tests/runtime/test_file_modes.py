"""Files a run writes get the process's umask, as ``open()`` gives them: colleagues sharing a run folder (a
beamline's group folder) read figures, ``summary.json``, checkpoints, predictions and the cache. The atomic
writer's ``mkstemp`` alone would leave every one of them 0600."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import run_folder, tiny_args
from spectra_tables import peak_spectra, write_table

from lightning_spectra.cli import main
from lightning_spectra.runtime.atomic_files import atomic_write


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def modes(folder: Path) -> dict[str, int]:
    """Each plain file under ``folder`` (``last.ckpt`` may be a link) and its permission bits."""
    files = [p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()]
    return {str(p.relative_to(folder)): stat.S_IMODE(p.stat().st_mode) for p in files}


def test_a_fit_and_a_predict_under_umask_022_leave_every_file_0644(
    umask_022: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("LIGHTNING_SPECTRA_CACHE", str(cache))
    train = write_table(tmp_path / "train.csv", *peak_spectra(45, seed=3))
    x, spectra, _ = peak_spectra(4, seed=9)
    new = write_table(tmp_path / "new.csv", x, spectra, None)
    baseline = ("--data.init_args.preprocessing.baseline", "asls")  # a baseline correction is cached
    data = ("--data.init_args.train_path", str(train), *baseline, "--trainer.max_epochs", "2")
    main(tiny_args("fit", tmp_path / "logs", "files_tiny.yaml", *data))
    run = run_folder(tmp_path / "logs", "files_tiny")
    ckpt = run / "checkpoints" / "last.ckpt"
    predict = ("--ckpt_path", str(ckpt), "--data.init_args.predict_path", str(new))
    main(tiny_args("predict", tmp_path / "logs", "files_tiny.yaml", *predict))

    written = {**modes(tmp_path / "logs"), **{f"cache/{k}": v for k, v in modes(cache).items()}}
    names = {Path(name).name for name in written}
    assert {"summary.json", "predictions.csv", "config.yaml"} <= names and any(n.endswith(".ckpt") for n in names)
    assert any(name.endswith(".png") for name in names) and any(name.startswith("cache/") for name in written)
    assert {name: oct(mode) for name, mode in written.items() if mode != 0o644} == {}


def test_a_rewrite_keeps_the_files_own_mode_and_a_new_file_follows_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        atomic_write(tmp_path / "new.txt", lambda tmp: tmp.write_text("a"))
        shared = tmp_path / "shared.txt"
        shared.write_text("old")
        shared.chmod(0o664)
        atomic_write(shared, lambda tmp: tmp.write_text("new"))
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new.txt").stat().st_mode) == 0o640
    assert stat.S_IMODE(shared.stat().st_mode) == 0o664 and shared.read_text() == "new"
