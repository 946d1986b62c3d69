"""Framework overhead: our Lightning ``fit`` against a bare PyTorch loop, same model, data and epochs.

Both sides start from identical weights (same seed), train full batch with Adam on the same device-resident
tensors, and synchronise the device at the end of every epoch (the paper's ``loss.item()`` did the same).
They run alternately in one process, ``--repeats`` times, and the medians are compared:

* ``train`` ratio: the Timing callback's paper-comparable training time / the bare loop's time.
* ``fit`` ratio: the whole ``trainer.fit`` wall clock (set-up, validation, hooks) / the bare loop's time.

    python benchmarks/overhead.py --models CNN FCNN1D --repeats 3
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import lightning.pytorch as L
import torch

from lightning_spectra import models
from lightning_spectra.callbacks import Timing
from lightning_spectra.data import HEDDataModule


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def build(name: str, dm: HEDDataModule, device: torch.device) -> models.SpectraClassifier:
    L.seed_everything(12345, verbose=False)
    cls = getattr(models, name)
    return cls(spectrum_length=dm.spectrum_length, targets=dm.targets, x_axis=dm.x_axis).to(device)


def bare_loop(model: models.SpectraClassifier, x: torch.Tensor, y: torch.Tensor, epochs: int) -> float:
    """The paper's TrainingProc: one full-batch Adam step per epoch, nothing else."""
    optimizer = model.configure_optimizers()
    model.train()
    sync(x.device)
    start = time.perf_counter()
    for _ in range(epochs):
        optimizer.zero_grad()
        loss = model.loss(model(x), y)
        loss.backward()
        optimizer.step()
        loss.item()
    sync(x.device)
    return time.perf_counter() - start


def lightning_fit(
    model: models.SpectraClassifier, dm: HEDDataModule, epochs: int, accelerator: str
) -> tuple[float, float]:
    timing = Timing()
    trainer = L.Trainer(
        max_epochs=epochs,
        accelerator=accelerator,
        devices=1,
        logger=False,
        default_root_dir=tempfile.mkdtemp(prefix="overhead-"),  # its summary.json goes there
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        limit_val_batches=0,
        callbacks=[timing],
    )
    start = time.perf_counter()
    trainer.fit(model, datamodule=dm)
    return timing.train_time, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["CNN"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--accelerator", default="gpu" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--epochs", type=int, default=None, help="override the paper's epochs for every model")
    args = parser.parse_args()
    device = torch.device("cuda" if args.accelerator == "gpu" else "cpu")
    dm = HEDDataModule(progress=False)
    x = dm.splits.train.spectra.to(device)
    y = dm.splits.train.labels.to(device)
    print(
        f"device: {torch.cuda.get_device_name(device) if device.type == 'cuda' else 'cpu'}, "
        f"torch {torch.__version__}, lightning {L.__version__}, {torch.get_num_threads()} threads"
    )
    print(f"{'model':<24}{'epochs':>7}{'bare s':>10}{'train s':>10}{'fit s':>10}{'train/bare':>12}{'fit/bare':>10}")
    for name in args.models:
        epochs = args.epochs or getattr(models, name).paper_epochs  # the class's: what the paper trained
        if epochs is None:
            parser.error(f"{name} has no epochs from the paper: give --epochs")
        bare, train, fit = [], [], []
        for _ in range(args.repeats):
            bare.append(bare_loop(build(name, dm, device), x, y, epochs))
            t, f = lightning_fit(build(name, dm, device), dm, epochs, args.accelerator)
            train.append(t)
            fit.append(f)
        b, t, f = (statistics.median(v) for v in (bare, train, fit))
        print(f"{name:<24}{epochs:>7}{b:>10.3f}{t:>10.3f}{f:>10.3f}{t / b:>12.2f}{f / b:>10.2f}")


if __name__ == "__main__":
    main()
