"""What every figure shares: PNGs written whole, the zero-centred colour scale, the signed line with its fill."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure

from lightning_spectra.plots.figure import as_array, save_figure, signed_fill, symmetric_norm

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_save_figure_writes_a_png_of_the_figure_size_and_nothing_else(tmp_path: Path) -> None:
    from matplotlib.image import imread

    fig = Figure(figsize=(10, 2))
    fig.subplots().plot([0, 1], [1, 0])
    path = save_figure(fig, tmp_path / "line.png", dpi=60)
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    assert imread(path).shape[:2] == (120, 600)  # 2 x 10 inches at 60 dpi
    assert [p.name for p in tmp_path.iterdir()] == ["line.png"]  # no temporary file left beside it


def test_symmetric_norm_is_centred_at_zero_and_covers_the_largest_magnitude() -> None:
    norm = symmetric_norm(np.array([[0.5, -2.0], [np.nan, 1.0]]))
    assert (norm.vmin, norm.vmax) == (-2.0, 2.0)
    assert (symmetric_norm(np.zeros(3)).vmin, symmetric_norm(np.full(3, np.nan)).vmax) == (-1.0, 1.0)


def test_signed_fill_draws_the_values_as_a_line_filled_red_above_and_blue_below() -> None:
    ax = Figure().subplots()
    x, values = np.linspace(0, 1, 5), np.array([1.0, 2.0, 0.0, -1.0, -2.0])
    signed_fill(ax, x, values)
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), values)
    above, below = ax.collections[:2]
    assert tuple(above.get_facecolor()[0][:3]) == pytest.approx(to_rgba("tab:red")[:3])
    assert tuple(below.get_facecolor()[0][:3]) == pytest.approx(to_rgba("tab:blue")[:3])
    assert above.get_paths()[0].vertices[:, 1].max() == 2.0 and below.get_paths()[0].vertices[:, 1].min() == -2.0


def test_as_array_takes_tensors() -> None:
    import torch

    np.testing.assert_array_equal(as_array(torch.tensor([1, 2], dtype=torch.int64)), [1.0, 2.0])


def test_figures_leave_no_pyplot_state() -> None:
    signed_fill(Figure().subplots(), np.arange(3.0), np.ones(3))
    assert "matplotlib.pyplot" not in sys.modules or not __import__("matplotlib.pyplot").pyplot.get_fignums()
