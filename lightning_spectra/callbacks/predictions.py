"""Writes ``predict`` results as a CSV a person can open: one row per spectrum, in series order.

For an ordered series (a ramp, a time series of measurements) it also reports where the predicted state
changes: the paper's classification boundary and confidence, printed and added to ``summary.json``.
"""

from __future__ import annotations

import csv
from pathlib import Path

import lightning.pytorch as L
import torch
from lightning.pytorch.callbacks import BasePredictionWriter

from lightning_spectra.metrics.confidence import series_boundary
from lightning_spectra.runs.folder import run_dir, update_summary
from lightning_spectra.runtime.atomic_files import atomic_write


class PredictionWriter(BasePredictionWriter):
    """Write ``predictions.csv`` into the run's log folder (or ``output``) after ``predict``.

    Args:
        output: CSV path; default ``<run dir>/predictions.csv``.
        ordered: the spectra form a time-ordered series, so report the state change; ``None``: the
            datamodule's ``ordered`` decides.
    """

    def __init__(self, output: str | None = None, ordered: bool | None = None) -> None:
        super().__init__(write_interval="epoch")
        self.output, self.ordered = output, ordered

    def write_on_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, predictions, batch_indices) -> None:
        batches = predictions[0] if predictions and isinstance(predictions[0], list) else predictions
        output = "values" if batches and "values" in batches[0] else "probabilities"  # regressor or classifier
        rows = {"index": torch.cat([b["index"].cpu() for b in batches])}
        rows["probabilities"] = torch.cat([b[output].cpu() for b in batches])
        if trainer.world_size > 1:  # each rank predicted its shard: collect them on rank zero
            gathered = [None] * trainer.world_size
            torch.distributed.all_gather_object(gathered, rows)
            rows = {k: torch.cat([g[k] for g in gathered]) for k in rows}
        if not trainer.is_global_zero:
            return
        order = torch.argsort(rows["index"])
        index, probabilities = rows["index"][order], rows["probabilities"][order]
        keep = torch.ones_like(index, dtype=torch.bool)
        keep[1:] = index[1:] != index[:-1]  # DistributedSampler repeats a few spectra to even out shards
        index, probabilities = index[keep], probabilities[keep]
        if output == "values":
            self._write_values(trainer, index, probabilities)
            return
        self._write(trainer, index, probabilities)

    def _write_values(self, trainer: L.Trainer, index: torch.Tensor, values: torch.Tensor) -> None:
        """A regressor's predictions: one column per target, named after it, in the target's units."""
        datamodule = trainer.datamodule
        targets = trainer.lightning_module.target_names  # saved with the model
        names = datamodule.spectrum_names("predict") if datamodule is not None else []
        path = Path(self.output) if self.output else run_dir(trainer) / "predictions.csv"

        def write(tmp: Path) -> None:
            with open(tmp, "w", newline="") as f:
                out = csv.writer(f)
                out.writerow(["position", "spectrum", *[f"predicted_{t}" for t in targets]])
                for i, row in zip(index.tolist(), values.tolist(), strict=True):
                    out.writerow([i, names[i] if i < len(names) else str(i), *(f"{v:.6g}" for v in row)])

        atomic_write(path, write)
        update_summary(trainer, {"predictions_csv": str(path), "predicted_spectra": len(index)})
        print(f"Wrote {len(index)} predicted {', '.join(targets)} values to {path}")

    def _write(self, trainer: L.Trainer, index: torch.Tensor, probabilities: torch.Tensor) -> None:
        datamodule = trainer.datamodule
        classes = trainer.lightning_module.class_names  # saved with the model, so new data is named alike
        names = datamodule.spectrum_names("predict") if datamodule is not None else []
        predicted = probabilities.argmax(dim=1)
        path = Path(self.output) if self.output else run_dir(trainer) / "predictions.csv"

        def write(tmp: Path) -> None:
            with open(tmp, "w", newline="") as f:
                out = csv.writer(f)
                out.writerow(["position", "spectrum", "predicted_class", "probability", *[f"p({c})" for c in classes]])
                for i, k, p in zip(index.tolist(), predicted.tolist(), probabilities.tolist(), strict=True):
                    name = names[i] if i < len(names) else str(i)
                    out.writerow([i, name, classes[k], f"{p[k]:.6f}", *(f"{v:.6f}" for v in p)])

        atomic_write(path, write)
        summary = {"predictions_csv": str(path), "predicted_spectra": len(index)}
        message = f"Wrote {len(index)} predictions to {path}"
        ordered = self.ordered if self.ordered is not None else datamodule is not None and datamodule.ordered
        if ordered and len(index) > 1:
            change = series_boundary(predicted)
            summary.update(predict_confidence=change.confidence, predict_boundary=change.boundary)
            message += (
                f"\nPredicted state change after position {change.boundary} "
                f"(classification confidence {change.confidence:.2%})"
            )
        update_summary(trainer, summary)
        print(message)
