"""Attribution figures go to the loggers that take images; a failing logger costs a warning, not the run."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from lightning_spectra.callbacks.attribution_logging import log_images


class Images:
    def __init__(self) -> None:
        self.logged: list[tuple[str, list[str], list[str]]] = []

    def log_image(self, key: str, images: list[str], caption: list[str]) -> None:
        self.logged.append((key, images, caption))


class Broken:
    def log_image(self, **_kwargs) -> None:
        raise ConnectionError("offline")


def test_images_reach_loggers_that_take_them_and_a_broken_one_warns() -> None:
    images = Images()
    trainer = SimpleNamespace(loggers=[object(), Broken(), images])
    with pytest.warns(UserWarning, match="could not log gradcam/test images to Broken: offline"):
        log_images(trainer, "gradcam/test", [Path("a.png")], ["a"])
    assert images.logged == [("gradcam/test", ["a.png"], ["a"])]
