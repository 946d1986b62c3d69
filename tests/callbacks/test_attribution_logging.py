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


class CNN:
    """Stands in for the trained module: captions name its class."""


def test_images_reach_loggers_that_take_them_one_per_key_and_a_broken_one_warns() -> None:
    images = Images()
    trainer = SimpleNamespace(loggers=[object(), Broken(), images], lightning_module=CNN())
    paths = [Path("gradcam_test_class_mean.png"), Path("gradcam_test_other.png")]
    with pytest.warns(UserWarning, match="could not log gradcam/test images to Broken: offline"):
        log_images(trainer, "gradcam/test", paths, [p.stem for p in paths])
    assert images.logged == [
        (
            "gradcam/test/class_mean",
            ["gradcam_test_class_mean.png"],
            ["CNN, test split: attribution averaged per class, over each class's mean spectrum"],
        ),
        ("gradcam/test/other", ["gradcam_test_other.png"], ["gradcam_test_other"]),  # no caption known: its name
    ]
