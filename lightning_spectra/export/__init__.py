"""Exported models: a checkpoint as one ONNX or TorchScript file that takes raw spectra, and reading such files
back (:mod:`.model_files`). The command ``lightning-spectra-export`` is :mod:`lightning_spectra.apps.export`."""

from lightning_spectra.export.model_files import (
    RawSpectraModel,
    export_checkpoint,
    prestep,
    read_checkpoint,
    read_metadata,
    run_onnx,
    run_torchscript,
)

__all__ = [
    "RawSpectraModel",
    "export_checkpoint",
    "prestep",
    "read_checkpoint",
    "read_metadata",
    "run_onnx",
    "run_torchscript",
]
