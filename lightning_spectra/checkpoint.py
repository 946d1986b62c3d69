"""What a checkpoint written by ``train.py`` says about its model, read once and checked before anything uses it.

A checkpoint fixes the spectrum length, the class names (in the order of the model's outputs) and the x axis
the model was trained on, and the datamodule settings (preprocessing) its spectra went through. ``predict``
takes all of them from here, so it needs no training file and names classes as the model learned them; every
subcommand given ``--ckpt_path`` refuses data of another length or class list with one line naming both sides.

While the CLI builds the datamodule it publishes the checkpoint's :class:`TrainedModel` through
:func:`serving` (a context variable): the parser links the datamodule's sizes into the model while it builds
them, before the CLI could hand anything to the datamodule by hand.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lightning_spectra.data.errors import SpectraConfigError, SpectraDataError

#: ``--ckpt_path`` values Lightning resolves itself (no file to read beforehand).
SPECIAL_CKPT_PATHS = ("last", "best", "hpc", "registry")


@dataclass(frozen=True)
class TrainedModel:
    """The facts of a trained model that data must agree with."""

    path: Path
    spectrum_length: int
    class_names: list[str]
    x_axis: np.ndarray | None = None
    model_class: str | None = None
    datamodule_hparams: dict[str, Any] = field(default_factory=dict)
    model_hparams: dict[str, Any] = field(default_factory=dict)  # task, target names and statistics
    weight_shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)
    predicting: bool = False  # predict: class names come from here, the training file is not needed

    def check_length(self, length: int, source: object) -> None:
        if length != self.spectrum_length:
            raise SpectraConfigError(
                f"{self.path}: the model was trained on spectra of {self.spectrum_length} points, but {source} "
                f"has spectra of {length}"
            )

    def check_classes(self, class_names: list[str], source: object) -> None:
        if list(class_names) != list(self.class_names):
            raise SpectraConfigError(
                f"{self.path}: the model was trained on classes {self.class_names}, but {source} has classes "
                f"{list(class_names)}"
            )


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """The checkpoint's contents; a missing, empty, truncated or foreign file is one line naming it."""
    path = Path(path)
    if not path.exists():
        raise SpectraDataError(f"{path}: no such checkpoint file")
    if not path.is_file():
        raise SpectraDataError(f"{path}: is a folder, not a checkpoint file")
    if path.stat().st_size == 0:
        raise SpectraDataError(f"{path}: checkpoint file is empty")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - torch raises many types for a broken file; all mean the same here
        reason = f" ({err.strerror})" if isinstance(err, OSError) and err.strerror else ""
        raise SpectraDataError(
            f"{path}: not a readable checkpoint (truncated, damaged or not written by train.py){reason}"
        ) from None
    if not isinstance(ckpt, dict) or not isinstance(ckpt.get("state_dict"), dict):
        raise SpectraDataError(f"{path}: not a Lightning checkpoint (no state_dict); use one written by train.py")
    return ckpt


def read_trained_model(path: str | Path, predicting: bool = False) -> TrainedModel:
    """The :class:`TrainedModel` of a checkpoint written by ``train.py``."""
    ckpt = load_checkpoint(path)
    hparams = ckpt.get("hyper_parameters") or {}
    if "spectrum_length" not in hparams:
        raise SpectraDataError(
            f"{path}: no spectrum length in the checkpoint's hyperparameters; use one written by train.py"
        )
    num_classes = int(hparams.get("num_classes", 2))
    names = hparams.get("class_names") or [str(i) for i in range(num_classes)]
    state = ckpt["state_dict"]
    x_axis = state.get("x_axis")
    return TrainedModel(
        path=Path(path),
        spectrum_length=int(hparams["spectrum_length"]),
        class_names=[str(n) for n in names],
        x_axis=None if x_axis is None else x_axis.double().numpy(),
        model_class=hparams.get("_class_path"),
        datamodule_hparams=dict(ckpt.get("datamodule_hyper_parameters") or {}),
        model_hparams=dict(hparams),
        weight_shapes={k: tuple(v.shape) for k, v in state.items() if hasattr(v, "shape")},
        predicting=predicting,
    )


def check_weights_fit(trained: TrainedModel, model: torch.nn.Module) -> None:
    """Refuse a checkpoint whose weights do not fit ``model`` (another model class or size), naming the first
    differing weight, before Lightning would fail on it with a long traceback."""
    own = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    configured = type(model).__name__
    if trained.model_class and trained.model_class.rpartition(".")[2] != configured:
        saved = trained.model_class.rpartition(".")[2]
        raise SpectraConfigError(f"{trained.path}: holds a {saved} model, but the config builds a {configured}")
    for key in sorted(own.keys() | trained.weight_shapes.keys()):
        mine, theirs = own.get(key), trained.weight_shapes.get(key)
        if mine != theirs:
            what = "missing in the checkpoint" if theirs is None else f"{theirs} in the checkpoint"
            raise SpectraConfigError(
                f"{trained.path}: weight {key!r} is {what} but {mine if mine is not None else 'absent'} in the "
                "configured model (other model settings than the checkpoint's)"
            )


_SERVING: ContextVar[TrainedModel | None] = ContextVar("trained_model", default=None)


@contextlib.contextmanager
def serving(trained: TrainedModel | None) -> Iterator[None]:
    """Datamodules built inside this block serve ``trained`` (see :func:`trained_model`)."""
    token = _SERVING.set(trained)
    try:
        yield
    finally:
        _SERVING.reset(token)


def trained_model() -> TrainedModel | None:
    """The trained model the datamodule being built serves, or ``None`` (a fit from scratch)."""
    return _SERVING.get()
