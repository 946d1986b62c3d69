"""The training bar prints seconds per step when a step takes seconds, instead of Lightning's 0.00it/s."""

from __future__ import annotations

from lightning.pytorch.callbacks import TQDMProgressBar
from tqdm import tqdm

from lightning_spectra.runtime.progress import SpectraProgressBar


def bar_line(bar_format: str, elapsed: float) -> str:
    return tqdm.format_meter(n=1, total=5, elapsed=elapsed, bar_format=bar_format, ncols=100)


def test_slow_steps_read_in_seconds_per_step() -> None:
    assert "12.00s/it" in bar_line(SpectraProgressBar.BAR_FORMAT, elapsed=12.0)
    assert "0.08it/s" in bar_line(TQDMProgressBar.BAR_FORMAT, elapsed=12.0)  # what Lightning's bar shows


def test_fast_steps_still_read_in_steps_per_second() -> None:
    assert "4.00it/s" in bar_line(SpectraProgressBar.BAR_FORMAT, elapsed=0.25)
