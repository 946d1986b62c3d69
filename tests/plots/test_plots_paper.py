"""The paper report's figures: the panels each claims, with their labels and data."""

from __future__ import annotations

import numpy as np

from lightning_spectra.plots.paper import comparison_figure, gradcam_panel, importance_panels, series_panels

X = np.linspace(10, 25, 50)


def test_comparison_has_a_labelled_panel_per_quantity_with_the_boundaries() -> None:
    columns = [
        {
            "confidence": 1.0,
            "boundary": 184,
            "true_boundary": 184,
            "paper_boundary": 173,
            "trainable_parameters": 23307,
            "train_time_s": 4.0,
        },
        {"confidence": 0.9, "boundary": 180, "true_boundary": 184, "paper_boundary": None, "peak_memory_gib": 2.0},
    ]
    fig = comparison_figure(["CNN", "Binned FCNN"], columns)
    assert len(fig.axes) == 5
    assert all(ax.get_ylabel() for ax in fig.axes)
    (boundary,) = [ax for ax in fig.axes if ax.get_ylabel().startswith("boundary")]
    lines = {line.get_label(): line for line in boundary.lines}
    assert list(lines["this run"].get_ydata()) == [184, 180]
    paper = lines["paper"]  # the model without a paper boundary has no marker
    assert list(paper.get_xdata()) == [0] and list(paper.get_ydata()) == [173]
    assert list(lines["true"].get_ydata()) == [184, 184]
    assert [t.get_text() for t in boundary.get_xticklabels()] == ["CNN", "Binned FCNN"]
    scales = {ax.get_ylabel(): ax.get_yscale() for ax in fig.axes}
    assert scales["training time (s)"] == "log" and scales["peak memory (GiB)"] == "linear"


def test_comparison_of_runs_without_times_or_sizes_draws_linear_axes() -> None:
    fig = comparison_figure(["CNN"], [{"confidence": 1.0}])
    assert {ax.get_yscale() for ax in fig.axes} == {"linear"}  # a log axis of zeros only warns


def test_importance_panels_stack_the_references_and_one_labelled_panel_per_model() -> None:
    reference = {"x": X, "mean_spectrum[a]": np.ones(50), "gradcam[a]": X, "mean_spectrum[b]": 2 * np.ones(50)}
    models = [("CNN", {"x": X, "signed_sum": np.sin(X)}), ("ResNet", {"x": X, "signed_sum": np.cos(X)})]
    fig = importance_panels(models, reference, xlabel="2θ (°)", scale="symlog")
    assert len(fig.axes) == 3
    assert [ax.get_ylabel() for ax in fig.axes] == ["intensity", "Σ ∂L/∂x", "Σ ∂L/∂x"]
    assert [line.get_label() for line in fig.axes[0].lines] == ["a", "b"]
    np.testing.assert_array_equal(fig.axes[2].lines[0].get_ydata(), np.cos(X))
    assert fig.axes[2].get_yscale() == "symlog" and fig.axes[-1].get_xlabel() == "2θ (°)"


def test_gradcam_panel_draws_every_class_map_of_every_model() -> None:
    table = {"x": X, "mean_spectrum[a]": np.ones(50), "gradcam[a]": X, "gradcam[b]": -X}
    fig = gradcam_panel([("CNN", table)], xlabel="wavenumber")
    (ax,) = fig.axes
    lines = {line.get_label(): line for line in ax.lines if not line.get_label().startswith("_")}  # not the zero line
    assert list(lines) == ["explains a", "explains b"]
    np.testing.assert_array_equal(lines["explains b"].get_ydata(), -X)
    assert ax.get_ylabel() == "mean map" and ax.get_xlabel() == "wavenumber"


def test_series_panels_show_each_model_maps_with_a_colour_bar() -> None:
    maps = np.random.default_rng(0).normal(size=(6, 50))
    fig = series_panels(
        [("CNN", "1D Grad-CAM", X, maps, 3, None), ("LSTM", "gradient x input", X, maps, None, None)], xlabel="2θ (°)"
    )
    panels = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert len(panels) == 2 and len(fig.axes) == 4
    np.testing.assert_array_equal(panels[0].images[0].get_array(), maps)
    assert [ax.get_title(loc="left") for ax in panels] == [
        "CNN: 1D Grad-CAM, test series",
        "LSTM: gradient x input, test series",
    ]
    assert all(ax.get_ylabel() == "spectrum (series order)" for ax in panels) and panels[-1].get_xlabel() == "2θ (°)"
