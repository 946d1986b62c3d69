"""When the attribution callbacks run, and the spectra and x axis they read."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import torch
from conftest import memory_datamodule

from lightning_spectra.callbacks.attribution_callback import AttributionCallback, split_data, x_label, x_values
from lightning_spectra.data.files import SpectraFilesDataModule
from lightning_spectra.data.hed import HEDDataModule


class Recorder(AttributionCallback):
    def __init__(self, on_test: bool) -> None:
        self.split, self.on_test, self.runs = "val", on_test, []

    def run(self, trainer, pl_module, split: str) -> None:
        self.runs.append(split)


def test_runs_its_split_at_fit_end_and_the_test_series_only_if_asked() -> None:
    for on_test, expected in ((False, ["val"]), (True, ["val", "test"])):
        callback = Recorder(on_test)
        callback.on_fit_end(None, None)
        callback.on_test_end(None, None)
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
