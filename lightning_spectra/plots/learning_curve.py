"""A run's learning curve: training and validation loss per epoch, the monitored metric below, and the epoch whose
weights were tested marked on both.

Over- or under-fitting, a learning rate too high, a best epoch chosen early in a noisy validation curve: all show
here at a glance, and the mark says which point of the curve the run's test, predictions and maps describe.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from lightning_spectra.plots.figure import as_array

TESTED_COLOUR = "tab:green"
#: Runs of up to this many epochs get a marker on every point.
MARKED_EPOCHS = 50


def _plot(ax, epochs: np.ndarray, values: np.ndarray, label: str, colour: str) -> None:
    """``values`` against ``epochs`` where known (NaN: not measured that epoch); markers on a short run, so that
    one epoch shows, none on a long one, where they would hide the line."""
    known = np.isfinite(values)
    if known.any():
        marker = "o" if known.sum() <= MARKED_EPOCHS else None
        ax.plot(epochs[known], values[known], marker=marker, ms=3, lw=1.2, color=colour, label=label)


def plot_learning_curve(
    epochs: np.ndarray,
    train_loss: np.ndarray,
    val_loss: np.ndarray | None = None,
    metric: tuple[str, np.ndarray] | None = None,
    tested_epoch: int | None = None,
    title: str | None = None,
) -> Figure:
    """Loss per epoch (training and, when measured, validation) on top; ``metric`` (``(name, values)``, the
    checkpoint's monitored metric) in a panel below unless it is one of the losses drawn; ``tested_epoch``
    marked on every panel by a vertical line labelled ``tested weights: epoch N``. Epochs are Lightning's,
    0-based, as in the checkpoint and the CSV log; NaN marks an epoch where a value was not measured."""
    epochs = as_array(epochs)
    metric_panel = metric is not None and np.isfinite(as_array(metric[1])).any()
    fig = Figure(figsize=(6.4, 6.4 if metric_panel else 4.0), layout="constrained")
    axes = list(np.atleast_1d(fig.subplots(2 if metric_panel else 1, 1, sharex=True)))
    loss_ax = axes[0]
    _plot(loss_ax, epochs, as_array(train_loss), "training loss", "tab:blue")
    if val_loss is not None:
        _plot(loss_ax, epochs, as_array(val_loss), "validation loss", "tab:orange")
    losses = np.concatenate([as_array(train_loss), as_array(val_loss) if val_loss is not None else []])
    losses = losses[np.isfinite(losses)]
    if losses.size and losses.min() > 0 and losses.max() / losses.min() > 20:  # spans decades: a log axis
        loss_ax.set_yscale("log")
    loss_ax.set_ylabel("loss")
    if metric_panel:
        name, values = metric
        _plot(axes[1], epochs, as_array(values), name, "tab:purple")
        axes[1].set_ylabel(name)
    for ax in axes:
        if tested_epoch is not None:
            label = f"tested weights: epoch {tested_epoch}"
            ax.axvline(tested_epoch, color=TESTED_COLOUR, ls="--", lw=1.2, label=label)
        ax.legend(loc="best", fontsize="small", frameon=False)
        ax.grid(alpha=0.3)
    axes[-1].set_xlabel("epoch")
    axes[-1].xaxis.set_major_locator(MaxNLocator(integer=True))  # a 3-epoch run is not ticked 0, 0.25, 0.5, ...
    if title:
        fig.suptitle(title)
    return fig
