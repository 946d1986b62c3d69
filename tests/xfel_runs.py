"""Mock EuXFEL run directories (written by EXtra-data's own mock writer) and a tiny config that fits on one: shared
by the run-directory tests and the replay of a run over the Karabo bridge."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import yaml

SOURCE, KEY = "HED_TEST/SPEC/1:output", "data.spectrum"
CAMERA = "HED_TEST/CAM/1:output"  # the same spectra, one (pulses, points) array a train
FIRST_TRAIN, TRAINS, PULSES, POINTS = 10000, 40, 4, 64
CHANGE = 10020  # the first train of the second phase: its peak sits elsewhere


def write_run(folder: Path, trains: int = TRAINS, first: int = FIRST_TRAIN, seed: int = 0) -> Path:
    """A run of ``trains`` trains of ``PULSES`` spectra each, laid out by EXtra-data's mock writer and filled
    with a peak at point 20 before train ``CHANGE`` and at point 40 from it on; also a per-pulse ``data.phase``."""
    import h5py
    from extra_data.tests.mockdata import write_file
    from extra_data.tests.mockdata.base import DeviceBase

    class Spectrometer(DeviceBase):  # one spectrum an entry, PULSES entries a train
        output_channels = ("output/data",)
        instrument_keys = [("spectrum", "f4", (POINTS,)), ("phase", "i4", ()), ("energy", "f8", (POINTS,))]

    class Camera(DeviceBase):  # the same spectra as one (pulses, points) image a train, and a phase a train
        output_channels = ("output/data",)
        instrument_keys = [("image", "f4", (PULSES, POINTS)), ("phase", "i4", ())]

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "RAW-R0042-DA01-S00000.h5"
    devices = [Spectrometer("HED_TEST/SPEC/1", nsamples=trains * PULSES), Camera("HED_TEST/CAM/1", nsamples=trains)]
    write_file(str(path), devices, trains, firsttrain=first, chunksize=16, format_version="1.2")
    train_ids = np.repeat(np.arange(first, first + trains), PULSES)
    after = train_ids >= CHANGE
    rng = np.random.default_rng(seed)
    points = np.arange(POINTS)
    centres = np.where(after, 40.0, 20.0) + rng.normal(0, 1, len(train_ids))
    spectra = np.exp(-0.5 * ((points[None, :] - centres[:, None]) / 3.0) ** 2) + rng.normal(0, 0.02, (len(after), 64))
    with h5py.File(path, "r+") as f:
        group = f[f"INSTRUMENT/{SOURCE}/data"]
        group["spectrum"][: len(spectra)] = spectra
        group["phase"][: len(spectra)] = after
        group["energy"][: len(spectra)] = np.linspace(7000.0, 7100.0, POINTS)
        group = f[f"INSTRUMENT/{CAMERA}/data"]
        group["image"][:trains] = spectra.reshape(trains, PULSES, POINTS)
        group["phase"][:trains] = after[::PULSES]
    return folder


def write_labels(path: Path, *rows: tuple[int, int, str]) -> Path:
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows([("first_train", "last_train", "label"), *rows])
    return path


def tiny_run_config(folder: Path, run: Path, labels: Path) -> Path:
    """A tiny CNN run on the mock run (the shipped example's datamodule, a small model, few epochs)."""
    config = {
        "seed_everything": 12345,
        "model": {"class_path": "lightning_spectra.models.CNN", "init_args": {"channels": [16, 16, 4]}},
        "data": {
            "class_path": "lightning_spectra.data.SpectraRunDataModule",
            "init_args": {
                "run": str(run),
                "source": SOURCE,
                "key": KEY,
                "labels": str(labels),
                "preprocessing": {"normalization": "max", "derivative": 0},
                "progress": False,
                "linear_baseline": False,
            },
        },
        "trainer": {
            "max_epochs": 15,
            "deterministic": True,
            "num_sanity_val_steps": 0,
            "log_every_n_steps": 1,
            "enable_progress_bar": False,
            "enable_model_summary": False,
            "logger": {
                "class_path": "lightning.pytorch.loggers.CSVLogger",
                "init_args": {"save_dir": str(folder / "logs"), "name": "xfel_run"},
            },
            "callbacks": [
                {"class_path": "lightning.pytorch.callbacks.ModelCheckpoint", "init_args": {"save_last": "link"}},
                {"class_path": "lightning_spectra.callbacks.PredictionWriter"},
            ],
        },
    }
    path = folder / "xfel_run_tiny.yaml"
    path.write_text(yaml.safe_dump(config))
    return path
