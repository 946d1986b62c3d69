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


#: Colour and marker of each model, in the order given: the first (the network) filled, the others (baselines) as
#: open shapes, so that two models predicting nearly the same value stay visible one over the other.
STYLES = (("tab:red", "o"), ("tab:blue", "s"), ("tab:green", "^"), ("tab:orange", "D"), ("tab:purple", "v"))


def interval_summary(reference: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> tuple[float, float, int]:
    """Mean width of the intervals, the share of ``reference`` values inside them, and how many are wider than the
    references' range (such an interval says little about a spectrum: any reference value would fall inside)."""
    reference, lower, upper = (as_array(v).ravel() for v in (reference, lower, upper))
    widths = upper - lower
    covered = float(np.mean((lower <= reference) & (reference <= upper))) if len(reference) else float("nan")
    spread = float(reference.max() - reference.min()) if len(reference) else 0.0
    return float(widths.mean()), covered, int(np.sum(widths > spread))


def plot_parity(
    reference: np.ndarray,
    predicted: Mapping[str, np.ndarray],
    target: str = "target",
    title: str | None = None,
    intervals: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None,
) -> Figure:
    """Predicted vs reference (one colour and marker per model, e.g. the network, PLS, kernel ridge), with the 1:1
    line and each model's fitted line; the legend gives what a chemometrician judges a calibration by (RMSEP,
    bias, RPD, and the fitted line's slope, intercept and R^2); residuals vs reference below.

    The first model is drawn with filled markers, the others with open ones of other shapes on top of it, so a
    baseline that predicts nearly what another model does stays visible. ``intervals`` maps a model's name to
    ``(lower, upper)`` per spectrum, drawn as a bar through each of its points (a prediction interval); the axes
    reach every interval's ends, so no bar is cut off, and the legend (above the panel, where it hides nothing)
    gives the intervals' mean width, the share of reference values inside them and how many are wider than the
    references' range."""
    intervals = dict(intervals or {})
    reference = as_array(reference).ravel()
    fig = Figure(figsize=(6.4, 8.8), layout="constrained")
    parity, residuals = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [2.2, 1]})
    ends = [reference, *(as_array(v).ravel() for v in predicted.values())]
    ends += [as_array(bound).ravel() for name in predicted if name in intervals for bound in intervals[name]]
    low, high = min(float(v.min()) for v in ends), max(float(v.max()) for v in ends)
    pad = 0.05 * (high - low or 1.0)
    line = np.array([low - pad, high + pad])
    parity.plot(line, line, color="black", lw=0.8, ls=":", label="1:1")
    residuals.axhline(0, color="black", lw=0.8, ls=":")
    for rank, ((name, values), (colour, marker)) in enumerate(zip(predicted.items(), STYLES, strict=False)):
        values = as_array(values).ravel()
        slope, intercept, r2 = linear_fit(reference, values)
        rmse = float(np.sqrt(np.mean((values - reference) ** 2)))
        bias = float(np.mean(values - reference))
        rpd = float(np.std(reference, ddof=1) / rmse) if rmse > 0 else float("inf")
        label = f"{name} (RMSEP {rmse:.4g}, bias {bias:+.3g}, RPD {rpd:.2f})"
        # the first model filled, the others open and on top of it (a later zorder)
        look = {"color": colour} if rank == 0 else {"facecolors": "none", "edgecolors": colour, "linewidths": 1.0}
        look |= {"marker": marker, "zorder": 2 + rank, "alpha": 0.75 if rank == 0 else 0.9}
        parity.scatter(reference, values, s=16 if rank == 0 else 24, label=label, **look)
        if name in intervals:
            lower, upper = (as_array(bound).ravel() for bound in intervals[name])
            width, covered, wide = interval_summary(reference, lower, upper)
            text = f"{name} interval: mean width {width:.3g}, holds {covered:.0%} of the {len(reference)} references"
            if wide:
                text += f"; {wide} wider than their range"
            parity.vlines(reference, lower, upper, color=colour, lw=0.8, alpha=0.5, label=text, zorder=1)
        parity.plot(
            line,
            slope * line + intercept,
            color=colour,
            lw=1,
            ls="-" if rank == 0 else (0, (5 + 2 * rank, 3)),  # dashed: a baseline's line over another's stays seen
            label=f"{name} fit: slope {slope:.3f}, intercept {intercept:.3g}, R² {r2:.3f}",
        )
        residuals.scatter(reference, values - reference, s=14 if rank == 0 else 20, label=name, **look)
    parity.set_xlim(line)
    parity.set_ylim(line)
    parity.set_aspect("equal", adjustable="box")
    parity.set_ylabel(f"predicted {target}")
    # above the panel, not over it: the legend would hide the points and interval bars in the upper left
    parity.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), fontsize="x-small", frameon=False, borderaxespad=0.2)
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
