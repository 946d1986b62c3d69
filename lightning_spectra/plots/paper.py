"""The paper report's figures: every model side by side (confidence, boundary, time, size, memory) and one
stacked panel per model of its feature importance, class-averaged Grad-CAM and attribution over the test series.

The report (:mod:`lightning_spectra.apps.paper_report`) reads the runs' files; these functions only draw what
they are handed, and return the figure unsaved.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from lightning_spectra.plots.figure import signed_fill, zero_line
from lightning_spectra.plots.gradcam import draw_attribution_series

#: One model's column of the comparison: the keys of ``paper_report.Row.values()`` this figure draws.
Columns = Mapping[str, float | int | str | None]


def _values(columns: Sequence[Columns], key: str, scale: float = 1.0) -> list[float]:
    """``key`` of every model, times ``scale``; a missing value draws as 0 (no bar)."""
    return [(c.get(key) or 0) * scale for c in columns]


def _scale(values: Sequence[float]) -> str:
    """Log where some model has a value (sizes and times span decades), linear where none has: a log axis of
    zeros has no range and only warns."""
    return "log" if any(v > 0 for v in values) else "linear"


def comparison_figure(names: Sequence[str], columns: Sequence[Columns]) -> Figure:
    """Per model: confidence, boundary (ours, the paper's, the true one), training time (ours and the paper's),
    trainable parameters and peak memory, as in the paper's comparison."""
    fig = Figure(figsize=(11, 10), layout="constrained")
    axes = fig.subplot_mosaic([["confidence", "boundary"], ["time", "parameters"], ["memory", "."]])
    pos = np.arange(len(names))
    width = 0.4
    axes["confidence"].bar(pos, _values(columns, "confidence", 100), color="tab:blue")
    axes["confidence"].set(ylabel="classification confidence (%)", ylim=(0, 105))
    for key, label, marker, colour in (
        ("boundary", "this run", "o", "tab:blue"),
        ("paper_boundary", "paper", "s", "tab:gray"),
        ("true_boundary", "true", "_", "black"),
    ):
        found = [(p, c[key]) for p, c in zip(pos, columns, strict=True) if c.get(key) is not None]
        if found:
            axes["boundary"].plot(*zip(*found, strict=True), marker, color=colour, ms=8, ls="none", label=label)
    axes["boundary"].set(ylabel="boundary (last spectrum of the first phase)")
    times, paper_times = _values(columns, "train_time_s"), _values(columns, "paper_train_time_s")
    axes["time"].bar(pos - width / 2, times, width, label="this run")
    axes["time"].bar(pos + width / 2, paper_times, width, label="paper (P100)", color="tab:gray")
    axes["time"].set(ylabel="training time (s)", yscale=_scale(times + paper_times))
    parameters = _values(columns, "trainable_parameters", 1e-3)
    axes["parameters"].bar(pos, parameters, color="tab:green")
    axes["parameters"].set(ylabel="trainable parameters (thousands)", yscale=_scale(parameters))
    for name in ("boundary", "time"):
        if axes[name].get_legend_handles_labels()[0]:  # an empty legend only warns
            axes[name].legend(fontsize="small")
    axes["memory"].bar(pos, _values(columns, "peak_memory_gib"), color="tab:red")
    axes["memory"].set(ylabel="peak memory (GiB)")
    for ax in axes.values():
        ax.set_xticks(pos, names, rotation=30, ha="right")
    fig.suptitle("Classification result of different models")
    return fig


def _stack(rows: int, height: float) -> tuple[Figure, np.ndarray]:
    """A figure of ``rows`` panels sharing the x axis, ``height`` inches each."""
    fig = Figure(figsize=(10, height * rows + 0.6), layout="constrained")
    return fig, fig.subplots(rows, 1, sharex=True, squeeze=False)[:, 0]


def _columns_named(table: Mapping[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
    """The columns ``<prefix>[<name>]`` of a callback's table, by ``name``."""
    return {key[len(prefix) + 1 : -1]: values for key, values in table.items() if key.startswith(f"{prefix}[")}


def importance_panels(
    models: Sequence[tuple[str, Mapping[str, np.ndarray]]],
    reference: Mapping[str, np.ndarray] | None,
    *,
    xlabel: str,
    scale: str = "linear",
) -> Figure:
    """The paper's stacked feature-importance figure: reference spectra, then one panel per model.

    ``models``: (label, the ``feature_importance_train.csv`` columns ``x``, ``signed_sum``) per model;
    ``reference``: a ``gradcam_test_class_mean.csv`` whose ``mean_spectrum[c]`` columns are drawn on top.
    """
    fig, axes = _stack(len(models) + 1, 1.6)
    if reference is not None:
        for name, values in _columns_named(reference, "mean_spectrum").items():
            axes[0].plot(reference["x"], values, lw=0.8, label=name)
        axes[0].legend(fontsize=7, loc="upper right")
    axes[0].set_title("reference spectra (class means of the test series)", fontsize=9, loc="left")
    axes[0].set_ylabel("intensity")
    for ax, (label, table) in zip(axes[1:], models, strict=True):
        signed_fill(ax, table["x"], table["signed_sum"])
        if scale == "symlog":
            ax.set_yscale("symlog", linthresh=max(float(np.abs(table["signed_sum"]).max()) * 1e-3, 1e-12))
        ax.set_title(f"{label}: signed input-gradient importance", fontsize=9, loc="left")
        ax.set_ylabel("Σ ∂L/∂x")
    axes[-1].set_xlabel(xlabel)
    return fig


def gradcam_panel(models: Sequence[tuple[str, Mapping[str, np.ndarray]]], *, xlabel: str) -> Figure:
    """Class-averaged 1D Grad-CAM maps of every model that has them (the convolutional ones), stacked.

    ``models``: (label, the ``gradcam_test_class_mean.csv`` columns ``x``, ``gradcam[c]``) per model.
    """
    fig, axes = _stack(len(models), 1.8)
    for ax, (label, table) in zip(axes, models, strict=True):
        for name, values in _columns_named(table, "gradcam").items():
            ax.plot(table["x"], values, lw=0.8, label=f"explains {name}")
        zero_line(ax)
        ax.set_title(f"{label}: class-averaged 1D Grad-CAM (test series)", fontsize=9, loc="left")
        ax.set_ylabel("mean map")
        ax.legend(fontsize=7, loc="upper right")
    axes[-1].set_xlabel(xlabel)
    return fig


def series_panels(
    models: Sequence[tuple[str, str, np.ndarray, np.ndarray, int | None, np.ndarray | None]], *, xlabel: str
) -> Figure:
    """Every model's attribution over the ordered test series (spectrum index x spectral axis).

    ``models``: (label, method, x, maps ``(N, L)``, predicted change or ``None``, misclassified ``(N,)`` or
    ``None``) per model; the change is marked and misclassified spectra ticked.
    """
    fig, axes = _stack(len(models), 2.6)
    for ax, (label, method, x, maps, change, wrong) in zip(axes, models, strict=True):
        image = draw_attribution_series(ax, x, maps, change, wrong)
        fig.colorbar(image, ax=ax, pad=0.01, fraction=0.03)
        ax.set_title(f"{label}: {method}, test series", fontsize=9, loc="left")
    axes[-1].set_xlabel(xlabel)
    return fig
