"""Spectrum sources. Import cost matters here: Lightning loads only with the datamodules."""

from lightning_spectra.data.base import SpectraDataModule
from lightning_spectra.data.files import SpectraFilesDataModule
from lightning_spectra.data.hed import HEDDataModule
from lightning_spectra.data.xfel_run import SpectraRunDataModule
from lightning_spectra.errors import SpectraDataError

__all__ = ["HEDDataModule", "SpectraDataError", "SpectraDataModule", "SpectraFilesDataModule", "SpectraRunDataModule"]
