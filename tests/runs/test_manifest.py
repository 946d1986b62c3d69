"""What a command wrote into a folder: ``--overwrite`` deletes that and nothing of the user's (issue 35)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lightning_spectra.errors import SpectraConfigError
from lightning_spectra.runs.manifest import MANIFEST, delete_written, read_manifest, record_written, refuse_foreign


def test_only_recorded_paths_are_deleted_and_emptied_folders_go(tmp_path: Path) -> None:
    record_written(tmp_path, "ensemble", ["member0", "figures/parity_ensemble_fat.png"])
    record_written(tmp_path, "ensemble", ["member0", "predictions.csv"])  # recorded once
    assert read_manifest(tmp_path)["paths"] == ["member0", "figures/parity_ensemble_fat.png", "predictions.csv"]
    (tmp_path / "member0" / "checkpoints").mkdir(parents=True)
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "parity_ensemble_fat.png").write_text("ours")
    (tmp_path / "member1").mkdir()  # the user's, named like ours
    (tmp_path / "member1" / "notes.txt").write_text("mine")
    assert delete_written(tmp_path) == ["member0", "figures/parity_ensemble_fat.png"]  # predictions.csv never made
    assert sorted(p.name for p in tmp_path.iterdir()) == ["member1"]


def test_a_hand_edited_manifest_never_deletes_outside_the_folder(tmp_path: Path) -> None:
    outside = tmp_path / "precious.csv"
    outside.write_text("mine")
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / MANIFEST).write_text(json.dumps({"command": "cv", "paths": ["../precious.csv", str(outside), "."]}))
    assert delete_written(folder) == []
    assert outside.read_text() == "mine" and folder.is_dir()


def test_a_folder_of_other_files_is_refused_and_an_empty_or_recorded_one_taken(tmp_path: Path) -> None:
    refuse_foreign(tmp_path / "new", "--out", "ensemble", "ensemble")  # not there yet
    (tmp_path / "data.csv").write_text("1,2\n")
    with pytest.raises(SpectraConfigError) as refused:
        refuse_foreign(tmp_path, "--out", "ensemble", "ensemble")
    assert str(refused.value) == (
        f"--out {tmp_path}: holds other files (data.csv) and no ensemble of ours; give an empty or new folder"
    )
    record_written(tmp_path, "ensemble", ["ensemble_plan.json"])
    refuse_foreign(tmp_path, "--out", "ensemble", "ensemble")


def test_a_folder_of_another_commands_run_is_refused(tmp_path: Path) -> None:
    """``cv --overwrite`` into an ensemble's folder would delete the ensemble (issue 35)."""
    record_written(tmp_path, "ensemble", ["ensemble_plan.json"])
    with pytest.raises(SpectraConfigError) as refused:
        refuse_foreign(tmp_path, "--out", "cross-validation", "cv")
    assert str(refused.value) == (
        f"--out {tmp_path}: holds the files of another command's run (ensemble, listed in {MANIFEST}); give "
        "another folder"
    )
