"""Progress display: a training bar that stays readable when one step takes seconds, quiet Rich bars, and a
line at each end of a long step that has no bar of its own.

Lightning's bar prints its rate as items per second, so a full-batch epoch of several seconds reads
``0.00it/s``; :class:`SpectraProgressBar` prints seconds per step instead whenever a step takes over a second.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from lightning.pytorch.callbacks import TQDMProgressBar

T = TypeVar("T")


class SpectraProgressBar(TQDMProgressBar):
    """Lightning's tqdm bar with ``{rate_fmt}``: ``2.31it/s`` for fast steps, ``5.80s/it`` for slow ones."""

    BAR_FORMAT = "{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}, {rate_fmt}{postfix}]"


def track(items: Iterable[T], description: str, enabled: bool = True, total: int | None = None) -> Iterator[T]:
    """Iterate over ``items`` with a Rich progress bar (to stderr) when ``enabled``."""
    if not enabled:
        yield from items
        return
    from rich.progress import track as rich_track

    yield from rich_track(items, description=description, total=total, transient=True)


@contextmanager
def phase(description: str, enabled: bool = True) -> Iterator[None]:
    """Print ``<description> ...`` when a step starts and ``<description>: done in 12.3 s`` when it ends, when
    ``enabled``: two lines for a step of seconds (attribution after a fit) that would otherwise look like a hang.

    Examples:
        >>> with phase("GradCAM: 1D Grad-CAM of the test set", enabled=False):
        ...     pass
    """
    if not enabled:
        yield
        return
    print(f"{description} ...", flush=True)
    start = time.perf_counter()
    yield
    print(f"{description}: done in {time.perf_counter() - start:.1f} s", flush=True)
