"""Choose Conv SCT's temporal window and gate on the VALIDATION series only (never the test ramp).

Trains ``ConvSCTAttention`` with its config's protocol (full batch, Adam 2e-3 / 2e-5, 5 epochs, seed 12345) for
every candidate on the default and the hard simulated ramp, and prints the final validation loss and
confidence (the 31 training originals with a fresh noise draw, in time order). No test pass is run.

    python benchmarks/sct_temporal_window.py                      # the grid of docs/models.md
    python benchmarks/sct_temporal_window.py --windows 1 2 --gates 0.1
    python benchmarks/sct_temporal_window.py --points 1000     # the grid at a quarter of the resolution
"""

from __future__ import annotations

import argparse
import json

import lightning.pytorch as L

from lightning_spectra.data import HEDDataModule
from lightning_spectra.models import ConvSCTAttention


def validation_score(
    preset: str, window: int | None, gate: float, epochs: int = 5, points: int = 4023
) -> dict[str, float]:
    L.seed_everything(12345, verbose=False)
    data = HEDDataModule(simulation_preset=preset, simulated_points=points, progress=False)
    data.setup("fit")
    model = ConvSCTAttention(
        spectrum_length=data.spectrum_length, temporal_window=window, temporal_gate=gate, x_axis=data.x_axis
    )
    trainer = L.Trainer(
        max_epochs=epochs,
        deterministic=True,
        num_sanity_val_steps=0,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(model, datamodule=data)
    metrics = trainer.callback_metrics
    return {key: float(metrics[f"val/{key}"]) for key in ("loss", "confidence", "boundary") if f"val/{key}" in metrics}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--windows", nargs="+", default=["none", "1", "2", "4", "8"])
    parser.add_argument("--gates", nargs="+", type=float, default=[0.1])
    parser.add_argument("--presets", nargs="+", default=["default", "hard"])
    parser.add_argument("--points", type=int, default=4023, help="points per simulated spectrum (fewer: faster)")
    args = parser.parse_args()
    for gate in args.gates:
        for text in args.windows:
            window = None if text == "none" else int(text)
            scores = {preset: validation_score(preset, window, gate, points=args.points) for preset in args.presets}
            mean_loss = sum(s["loss"] for s in scores.values()) / len(scores)
            print(json.dumps({"window": window, "gate": gate, "mean_val_loss": mean_loss, **scores}), flush=True)


if __name__ == "__main__":
    main()
