"""When the attribution callbacks run, and the spectra and x axis they read."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch
from conftest import memory_datamodule

from lightning_spectra.callbacks.attribution_callback import (
    AttributionCallback,
    drawn_spectra,
    is_ordered,
    split_data,
    x_label,
    x_values,
)
from lightning_spectra.data.files import SpectraFilesDataModule
from lightning_spectra.data.hed import HEDDataModule


class Recorder(AttributionCallback):
    def __init__(self, on_test: bool) -> None:
        self.split, self.on_test, self.runs = "val", on_test, []

    def run(self, trainer, pl_module, split: str) -> None:
        self.runs.append(split)
        self.shown_while_running = self.progress_shown


def a_trainer(folder: Path, **settings) -> SimpleNamespace:
    """What the callbacks read of a trainer after fit: no checkpoint, epoch 2 done, the run folder ``folder``."""
    defaults = {"checkpoint_callback": None, "current_epoch": 2, "ckpt_path": None, "logger": None}
    return SimpleNamespace(**(defaults | {"default_root_dir": str(folder)} | settings))


def test_runs_its_split_at_fit_end_and_the_test_series_only_if_asked(tmp_path: Path) -> None:
    for on_test, expected in ((False, ["val"]), (True, ["val", "test"])):
        callback = Recorder(on_test)
        callback.on_fit_end(a_trainer(tmp_path), None)
        summary = json.loads((tmp_path / "summary.json").read_text())  # the final weights explained, no file
        assert summary["attribution_epoch"] == 1 and summary["attribution_checkpoint"] is None
        callback.on_test_end(a_trainer(tmp_path), None)
        assert callback.runs == expected


def test_predict_falls_back_to_the_test_series_and_missing_splits_are_none() -> None:
    test = SimpleNamespace(spectra=torch.ones(2, 3), labels=torch.tensor([0, 1]))
    datamodule = memory_datamodule(test=test)
    trainer = SimpleNamespace(datamodule=datamodule)
    spectra, labels, names = split_data(trainer, "predict")
    assert spectra is test.spectra and labels is test.labels and names == []
    assert split_data(trainer, "val") is None
    assert split_data(SimpleNamespace(datamodule=None), "test") is None


def test_x_values_are_the_model_axis_when_it_fits_else_point_indices() -> None:
    model = SimpleNamespace(x_axis=torch.tensor([10.0, 10.5, 11.0]))
    np.testing.assert_array_equal(x_values(model, 3), [10.0, 10.5, 11.0])
    np.testing.assert_array_equal(x_values(model, 4), [0.0, 1.0, 2.0, 3.0])
    np.testing.assert_array_equal(x_values(SimpleNamespace(), 2), [0.0, 1.0])


def test_figures_take_the_datamodules_axis_label_unless_the_callback_names_one() -> None:
    hed, files = HEDDataModule(), SpectraFilesDataModule(train_path="spectra.csv")  # nothing is read yet
    assert x_label(SimpleNamespace(datamodule=hed), None) == "2θ (°)"
    assert x_label(SimpleNamespace(datamodule=files), None) == "x"
    assert x_label(SimpleNamespace(datamodule=hed), "wavelength (nm)") == "wavelength (nm)"
    assert x_label(SimpleNamespace(datamodule=None), None) == "x"  # a model fitted on bare dataloaders


def test_figures_draw_the_datamodules_raw_spectra_when_it_keeps_them_else_the_model_input() -> None:
    model_input = torch.zeros(2, 3)
    raw = np.array([[100.0, 200.0, 300.0], [1.0, 2.0, 3.0]])
    datamodule = memory_datamodule(test=SimpleNamespace(spectra=model_input, labels=torch.tensor([0, 1])))
    datamodule.raw_spectra = lambda split: raw if split == "test" else None  # what a file source keeps
    keeps = SimpleNamespace(datamodule=datamodule)
    np.testing.assert_array_equal(drawn_spectra(keeps, "test", model_input), raw)
    np.testing.assert_array_equal(drawn_spectra(keeps, "val", model_input), model_input.numpy())  # not kept
    np.testing.assert_array_equal(drawn_spectra(keeps, "test", torch.zeros(3, 3)), np.zeros((3, 3)))  # not these
    bare = SimpleNamespace(datamodule=None)  # a model fitted on bare dataloaders
    np.testing.assert_array_equal(drawn_spectra(bare, "test", model_input), np.zeros((2, 3)))


def test_only_ordered_data_are_a_series() -> None:
    hed, files = HEDDataModule(), SpectraFilesDataModule(train_path="spectra.csv")  # nothing is read yet
    assert is_ordered(SimpleNamespace(datamodule=hed))  # the ramp
    assert not is_ordered(SimpleNamespace(datamodule=files))  # independent samples, by default
    assert is_ordered(SimpleNamespace(datamodule=SpectraFilesDataModule(train_path="spectra.csv", ordered=True)))
    assert not is_ordered(SimpleNamespace(datamodule=None))


def test_a_long_step_prints_a_line_at_each_end_unless_the_progress_bar_is_off(capsys, tmp_path: Path) -> None:
    callback = Recorder(on_test=False)
    for bar, printed in ((object(), True), (None, False)):
        callback.on_fit_end(a_trainer(tmp_path, is_global_zero=True, progress_bar_callback=bar), None)
        lines = capsys.readouterr().out.splitlines()
        assert (lines[0] == "Recorder of the val set ..." and "done in" in lines[1]) if printed else lines == []
        assert callback.shown_while_running == printed and not callback.progress_shown  # its steps may print too
    callback.on_fit_end(SimpleNamespace(is_global_zero=False, progress_bar_callback=object()), None)
    assert capsys.readouterr().out == ""  # one process reports
