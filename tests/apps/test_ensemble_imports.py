"""A shared ensemble folder is data: a member config saved in it may name only this package's, Lightning's and
torch's classes, and nothing it names elsewhere is imported (jsonargparse imports every class path it parses)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml
from conftest import CONF, fit_files_tiny
from spectra_tables import peak_spectra, write_table

from lightning_spectra.apps.ensemble import RESULT, check_saved_config, main
from lightning_spectra.errors import SpectraConfigError

PAYLOAD = "from pathlib import Path\nPath(__file__).with_name('RAN').write_text('imported')\nclass Model: pass\n"


def _ensemble_naming(tmp_path: Path, model: object) -> Path:
    """An ensemble folder of one member whose saved config gives ``model`` as its model, ``payload.py`` beside
    the config and in the folder (as a colleague could leave them), and the ensemble's result file."""
    ensemble = tmp_path / "ens"
    (ensemble / "member0").mkdir(parents=True)
    config = {**yaml.safe_load((CONF / "cnn_tiny.yaml").read_text()), "model": model}
    (ensemble / "member0" / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    for folder in (ensemble, ensemble / "member0"):
        (folder / "payload.py").write_text(PAYLOAD)
    members = [{"checkpoint": "member0/checkpoints/last.ckpt"}]
    (ensemble / RESULT).write_text(json.dumps({"target_names": ["y"], "members": members}))
    return ensemble


@pytest.mark.parametrize(
    "model",
    [
        {"class_path": "payload.Model"},
        {"class_path": "member0.payload.Model"},
        "payload.Model",
        json.dumps({"class_path": "payload.Model"}),
        "other.yaml",
    ],
)
def test_a_member_config_naming_a_module_in_the_folder_is_one_line_and_nothing_is_imported(
    model: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    ensemble = _ensemble_naming(tmp_path, model)
    (ensemble / "member0" / "other.yaml").write_text("class_path: payload.Model\n")
    monkeypatch.chdir(ensemble)
    monkeypatch.syspath_prepend(str(ensemble))  # as `python -m` puts the working folder first
    monkeypatch.syspath_prepend(str(ensemble / "member0"))
    monkeypatch.setattr(sys, "argv", sys.argv[:1])
    with pytest.raises(SystemExit) as exit_info:
        main(["predict", "--ensemble", str(ensemble), "--predict_path", str(tmp_path / "new.csv")])
    assert not list(ensemble.rglob("RAN")) and "payload" not in sys.modules  # it ran, though the parser refused
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "Traceback" not in err
    assert "which is not a class of lightning_spectra, lightning, torch; a saved member config may name only" in err


def test_a_member_config_a_fit_saved_passes(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> None:
    """What a real fit saves (model, data, trainer, loggers, callbacks, optimizer) is all ours, Lightning's or
    torch's; a file name such as ``train.csv`` is not taken for a class path."""
    train = write_table(tmp_path / "train.csv", *peak_spectra(30, seed=3))
    run = fit_files_tiny(tmp_path_factory, train, epochs=1)
    check_saved_config(run / "config.yaml")
    config = yaml.safe_load((run / "config.yaml").read_text())
    config["data"]["init_args"]["train_path"] = "train.csv"
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    check_saved_config(tmp_path / "config.yaml")


def test_a_member_config_whose_base_names_a_foreign_class_is_refused(tmp_path: Path) -> None:
    """``base:`` may name a local file under any name: the composed config is checked too."""
    member = tmp_path / "member0"
    member.mkdir()
    (member / "shared").write_text("model:\n  class_path: payload.Model\n")  # no .yaml: not read as a config path
    (member / "config.yaml").write_text("base: shared\ntrainer: {max_epochs: 1}\n")
    with pytest.raises(SpectraConfigError, match=r"model\.class_path names 'payload\.Model'"):
        check_saved_config(member / "config.yaml")
