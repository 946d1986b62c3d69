"""Figures of a regressor: predicted against reference with each model's fitted line, and the predicted value
along an ordered series."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib.figure import Figure

from lightning_spectra.plots.figure import as_array


def linear_fit(reference: np.ndarray, predicted: np.ndarray) -> tuple[float, float, float]:
    """Slope, intercept and R^2 of the least-squares line ``predicted = slope * reference + intercept``.

    The linearity figures of chemometrics: slope 1 and intercept 0 mean no proportional or constant error.
    R^2 here is that of the line (squared correlation), not the prediction R^2 of the metrics.
    """
    reference, predicted = as_array(reference).ravel(), as_array(predicted).ravel()
    slope, intercept = np.polyfit(reference, predicted, 1)
    r = np.corrcoef(reference, predicted)[0, 1] if np.std(reference) > 0 and np.std(predicted) > 0 else 0.0
    return float(slope), float(intercept), float(r**2)


def plot_parity(
    reference: np.ndarray,
    predicted: Mapping[str, np.ndarray],
    target: str = "target",
    title: str | None = None,
    intervals: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None,
) -> Figure:
    """Predicted vs reference (one colour per model, e.g. the network, PLS, kernel ridge), with the 1:1 line and each
    model's fitted line; the legend gives what a chemometrician judges a calibration by (RMSEP, bias, RPD, and
    the fitted line's slope, intercept and R^2); residuals vs reference below. ``intervals`` maps a model's name
    to ``(lower, upper)`` per spectrum, drawn as a bar through each of its points (a prediction interval; the
    axes keep the points' range, so a wide interval runs off the panel rather than shrinking the points)."""
    intervals = dict(intervals or {})
    reference = as_array(reference).ravel()
    fig = Figure(figsize=(6.4, 8), layout="constrained")
    parity, residuals = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [2.2, 1]})
    low, high = float(reference.min()), float(reference.max())
    for values in predicted.values():
        values = as_array(values).ravel()
        low, high = min(low, float(values.min())), max(high, float(values.max()))
    pad = 0.05 * (high - low or 1.0)
    line = np.array([low - pad, high + pad])
    parity.plot(line, line, color="black", lw=0.8, ls=":", label="1:1")
    residuals.axhline(0, color="black", lw=0.8, ls=":")
    for (name, values), colour in zip(
        predicted.items(), ("tab:red", "tab:blue", "tab:green", "tab:orange"), strict=False
    ):
        values = as_array(values).ravel()
        slope, intercept, r2 = linear_fit(reference, values)
        rmse = float(np.sqrt(np.mean((values - reference) ** 2)))
        bias = float(np.mean(values - reference))
        rpd = float(np.std(reference, ddof=1) / rmse) if rmse > 0 else float("inf")
        label = f"{name} (RMSEP {rmse:.4g}, bias {bias:+.3g}, RPD {rpd:.2f})"
        parity.scatter(reference, values, s=14, alpha=0.7, color=colour, label=label)
        if name in intervals:
            lower, upper = (as_array(bound).ravel() for bound in intervals[name])
            parity.vlines(reference, lower, upper, color=colour, lw=0.8, alpha=0.5, label=f"{name} interval")
        parity.plot(
            line,
            slope * line + intercept,
            color=colour,
            lw=1,
            label=f"{name} fit: slope {slope:.3f}, intercept {intercept:.3g}, R² {r2:.3f}",
        )
        residuals.scatter(reference, values - reference, s=12, alpha=0.7, color=colour, label=name)
    parity.set_xlim(line)
    parity.set_ylim(line)
    parity.set_aspect("equal", adjustable="box")
    parity.set_ylabel(f"predicted {target}")
    parity.legend(loc="upper left", fontsize="x-small", frameon=False)
    residuals.set_xlabel(f"reference {target}")
    residuals.set_ylabel("predicted - reference")
    if title:
        fig.suptitle(title)
    return fig


def plot_series_prediction(
    predicted: np.ndarray,
    reference: np.ndarray | None = None,
    target: str = "target",
    xlabel: str = "position in the series",
    title: str | None = None,
) -> Figure:
    """The predicted value along an ordered series (a concentration over a process run), with the reference."""
    predicted = as_array(predicted).ravel()
    positions = np.arange(len(predicted))
    fig = Figure(figsize=(10, 3.6), layout="constrained")
    ax = fig.subplots()
    if reference is not None:
        ax.plot(positions, as_array(reference).ravel(), color="black", lw=1, label="reference")
    ax.plot(positions, predicted, color="tab:red", lw=1, marker=".", ms=3, label="predicted")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(target)
    ax.legend(loc="best", fontsize="small", frameon=False)
    if title:
        fig.suptitle(title)
    return fig
