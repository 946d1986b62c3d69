"""Spectrum sources. Import cost matters here: Lightning loads only with the datamodules."""

from lightning_spectra.data.base import SpectraDataModule
from lightning_spectra.data.errors import SpectraDataError
from lightning_spectra.data.files import SpectraFilesDataModule
from lightning_spectra.data.hed import HEDDataModule

__all__ = ["HEDDataModule", "SpectraDataError", "SpectraDataModule", "SpectraFilesDataModule"]
