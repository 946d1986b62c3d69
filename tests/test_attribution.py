"""What the attribution callbacks share: the label of the figures' x axis comes from the datamodule."""

from __future__ import annotations

from types import SimpleNamespace

from lightning_spectra.callbacks.attribution import x_label
from lightning_spectra.data.files import SpectraFilesDataModule
from lightning_spectra.data.hed import HEDDataModule


def test_figures_take_the_datamodules_axis_label_unless_the_callback_names_one() -> None:
    assert x_label(SimpleNamespace(datamodule=HEDDataModule), None) == "2θ (°)"
    assert x_label(SimpleNamespace(datamodule=SpectraFilesDataModule), None) == "x"
    assert x_label(SimpleNamespace(datamodule=HEDDataModule), "wavelength (nm)") == "wavelength (nm)"
    assert x_label(SimpleNamespace(datamodule=None), None) == "x"  # a model fitted on bare dataloaders
