"""Attribution figures: the spectrum stays a dark line over its map's colours; panels, labels and data as claimed."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure

from lightning_spectra.plots.figure import symmetric_norm
from lightning_spectra.plots.gradcam import (
    SPECTRUM_COLOUR,
    plot_attribution_series,
    plot_deletion_curves,
    plot_gradcam_class_means,
    plot_gradcam_spectra,
    spectrum_over_map,
)


def plot_axes(fig: Figure) -> list:
    """The figure's panels, without its colour bars."""
    return [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]


def labelled_lines(ax) -> dict:
    """The lines of ``ax`` that have a legend entry, by label (zero lines and the like have none)."""
    return {line.get_label(): line for line in ax.lines if not line.get_label().startswith("_")}


@pytest.fixture
def curves() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = np.linspace(9.5, 25.5, 300)
    spectra = np.exp(-((x[None, :] - np.array([[12.0], [14.0], [20.0]])) ** 2) / 0.05) + 0.1
    maps = rng.normal(size=(3, 300)) * np.array([[1e-3], [1.0], [0.0]])  # tiny, ordinary and all-zero maps
    return x, spectra, maps


def test_the_spectrum_is_a_neutral_line_over_a_fill_red_for_the_class_blue_against() -> None:
    ax = Figure().subplots()
    x, spectrum = np.linspace(0, 1, 5), np.array([0.0, 1.0, 5.0, 1.0, 0.0])
    values = np.array([1.0, 1.0, 0.0, -1.0, -1.0])  # a peak where the map is zero
    fill = spectrum_over_map(ax, x, spectrum, values, symmetric_norm(np.ones(1)))
    (line,) = ax.lines
    np.testing.assert_array_equal(line.get_ydata(), spectrum)
    assert to_rgba(line.get_color()) == to_rgba(SPECTRUM_COLOUR)  # the peak stays drawn where the map is ~0
    colours = fill.to_rgba(fill.get_array())
    assert colours[0][0] > colours[0][2]  # red for the class
    assert colours[-1][2] > colours[-1][0]  # blue against it
    assert len(fill.get_paths()) == len(x) - 1 and ax.get_ylim()[1] > spectrum.max()


def test_chosen_spectra_get_a_spectrum_and_a_map_panel_each(curves) -> None:
    x, spectra, maps = curves
    fig = plot_gradcam_spectra(
        x, spectra, maps, ["a", "b", "c"], classic=maps / 2, xlabel="wavenumber", flagged=[False, True, False]
    )
    panels = plot_axes(fig)
    assert len(panels) == 6 and len(fig.axes) == 9  # one colour bar per spectrum
    assert panels[-1].get_xlabel() == "wavenumber"
    assert [ax.get_ylabel() for ax in panels] == ["intensity", "map"] * 3
    assert [ax.get_title(loc="left") for ax in panels[::2]] == ["a", "b", "c"]
    colours = [to_rgba(ax._left_title.get_color()) for ax in panels[::2]]  # matplotlib keeps loc="left" titles there
    assert colours[1] == to_rgba("tab:red") and colours[0] == colours[2] == to_rgba("black")  # "b" misclassified
    lines = labelled_lines(panels[3])
    np.testing.assert_array_equal(lines["1D Grad-CAM"].get_ydata(), maps[1])
    np.testing.assert_array_equal(lines["classic Grad-CAM (GAP)"].get_ydata(), maps[1] / 2)


def test_class_means_leave_out_classes_without_spectra_and_overlay_the_rest(curves) -> None:
    x, spectra, maps = curves
    means = np.vstack([maps[:2], np.full(300, np.nan)])
    fig = plot_gradcam_class_means(x, spectra, means, ["p", "q", "r"], [4, 2, 0], classic=means, xlabel="2θ (°)")
    panels = plot_axes(fig)
    assert len(panels) == 5  # two classes of two panels, then the overlay
    overlay = panels[-1]
    lines = labelled_lines(overlay)
    assert list(lines) == ["p", "q"]
    np.testing.assert_array_equal(lines["q"].get_ydata(), maps[1])
    assert overlay.get_xlabel() == "2θ (°)" and overlay.get_ylabel() == "mean map"


def test_series_image_marks_the_change_and_labels_the_axes() -> None:
    x, maps = np.linspace(10, 20, 40), np.random.default_rng(1).normal(size=(6, 40))
    fig = plot_attribution_series(x, maps, change=3, misclassified=np.eye(6, dtype=bool)[2], xlabel="2θ (°)")
    ax = plot_axes(fig)[0]
    np.testing.assert_array_equal(ax.images[0].get_array(), maps)
    change, ticks = ax.lines
    assert change.get_ydata()[0] == 2.5 and list(ticks.get_ydata()) == [2]
    assert ax.get_xlabel() == "2θ (°)" and ax.get_ylabel() == "spectrum (series order)"


def test_deletion_curves_draw_both_orders_per_method() -> None:
    fractions = np.linspace(0, 1, 5)
    curves = {"1D Grad-CAM": (fractions, 1 - fractions, 1 - fractions / 2)}
    fig = plot_deletion_curves(curves, ylabel="mean fat", ylim=None)
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.lines] == ["1D Grad-CAM: attribution order", "1D Grad-CAM: random order"]
    np.testing.assert_array_equal(ax.lines[1].get_ydata(), 1 - fractions / 2)
    assert ax.get_ylabel() == "mean fat"
