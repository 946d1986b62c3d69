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
        output = pl_module.task.output_name  # what the task's predict step returns: probabilities, values...
        rows = {"index": torch.cat([b["index"].cpu() for b in batches])}
        rows["outputs"] = torch.cat([b[output].cpu() for b in batches])
        if trainer.world_size > 1:  # each rank predicted its shard: collect them on rank zero
            gathered = [None] * trainer.world_size
            torch.distributed.all_gather_object(gathered, rows)
            rows = {k: torch.cat([g[k] for g in gathered]) for k in rows}
        if not trainer.is_global_zero:
            return
        order = torch.argsort(rows["index"])
        index, outputs = rows["index"][order], rows["outputs"][order]
        keep = torch.ones_like(index, dtype=torch.bool)
        keep[1:] = index[1:] != index[:-1]  # DistributedSampler repeats a few spectra to even out shards
        self._write(trainer, pl_module, index[keep], outputs[keep])

    def _write(
        self, trainer: L.Trainer, pl_module: L.LightningModule, index: torch.Tensor, outputs: torch.Tensor
    ) -> None:
        """One row per spectrum: its position, what names it (the datamodule's columns: ``spectrum``, or a run's
        ``train_id`` and ``pulse``) and the task's prediction columns."""
        task, datamodule = pl_module.task, trainer.datamodule
        predicted = task.prediction_columns(outputs.double().numpy())
        where = spectrum_columns(datamodule, index.tolist())
        path = Path(self.output) if self.output else run_dir(trainer) / "predictions.csv"

        def write(tmp: Path) -> None:
            with open(tmp, "w", newline="") as f:
                out = csv.writer(f)
                out.writerow(["position", *where, *predicted])
                for row, i in enumerate(index.tolist()):
                    out.writerow([i, *(cells[row] for cells in where.values()), *(c[row] for c in predicted.values())])

        atomic_write(path, write)
        summary = {"predictions_csv": str(path), "predicted_spectra": len(index)}
        message = f"Wrote {len(index)} predictions ({', '.join(predicted)}) to {path}"
        ordered = self.ordered if self.ordered is not None else datamodule is not None and datamodule.ordered
        if ordered and task.series_score_key is not None and len(index) > 1:
            change = series_boundary(outputs.argmax(dim=1))  # a series of classes: where the state changes
            summary.update(predict_confidence=change.confidence, predict_boundary=change.boundary)
            message += (
                f"\nPredicted state change after position {change.boundary} "
                f"(classification confidence {change.confidence:.2%})"
            )
        update_summary(trainer, summary)
        print(message)


def spectrum_columns(datamodule: L.LightningDataModule | None, positions: list[int]) -> dict[str, list]:
    """The columns that name each predicted spectrum, the datamodule's ``prediction_index_columns`` (spectrum
    names; a run directory's train id and pulse); a spectrum without a name is named by its position."""
    columns = datamodule.prediction_index_columns("predict") if datamodule is not None else {"spectrum": []}
    return {name: [cells[i] if i < len(cells) else str(i) for i in positions] for name, cells in columns.items()}
