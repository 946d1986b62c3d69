"""A train's spectra taken out of a Karabo bridge message, refused with one line naming the train where they
are not what the model takes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from lightning_spectra.apps.watch import check_axis, escaped
from lightning_spectra.errors import SpectraDataError

#: Where the bridge protocol puts the train id in each source's metadata.
TRAIN_ID = "timestamp.tid"


class Model(Protocol):
    """What the checks need of the watcher's classifier (``watch.OnnxClassifier``/``TorchClassifier``)."""

    x_axis: np.ndarray
    spectrum_length: int


class MalformedTrainError(SpectraDataError):
    """A train whose spectra cannot be analysed; the message names it (``train_id``: None where it has none)."""

    def __init__(self, train_id: int | None, reason: str) -> None:
        super().__init__(reason)
        self.train_id = train_id


@dataclass(frozen=True)
class Train:
    train_id: int
    spectra: np.ndarray  # (pulses, points), float32: what the exported graph takes


def _names(names: Iterable[str], most: int = 8) -> str:
    """A few of ``names``, escaped, for an error line (a detector source has hundreds of keys)."""
    names = sorted(names)
    shown = ", ".join(escaped(str(n)) for n in names[:most])
    return shown + (f", ... ({len(names)} in all)" if len(names) > most else "") if names else "none"


def train_id_of(metadata: dict[str, Any], source: str) -> int | None:
    """The train id from ``source``'s metadata, else from any source's (all name the same train)."""
    for meta in (metadata.get(source, {}), *metadata.values()):
        tid = meta.get(TRAIN_ID) if isinstance(meta, dict) else None
        if isinstance(tid, int | np.integer) and not isinstance(tid, bool):
            return int(tid)
    return None


def read_train(
    data: dict[str, Any], metadata: dict[str, Any], source: str, key: str, model: Model, axis_key: str | None = None
) -> Train:
    """The spectra of ``data[source][key]``: an array ``(pulses, points)`` or one spectrum ``(points,)`` on the
    model's x axis, finite. Anything else raises :class:`MalformedTrainError`, one line naming the train."""
    tid = train_id_of(metadata, source)
    if tid is None:
        raise MalformedTrainError(None, f"no train id ({TRAIN_ID}) in the metadata of sources {_names(metadata)}")

    def refuse(reason: str) -> MalformedTrainError:
        return MalformedTrainError(tid, reason)

    name = escaped(key)
    if source not in data:
        raise refuse(f"no source {escaped(source)} in it (sources: {_names(data)})")
    values = data[source]
    if key not in values:
        raise refuse(f"source {escaped(source)} has no key {name} (keys: {_names(values)})")
    spectra = values[key]
    if not isinstance(spectra, np.ndarray) or spectra.dtype.kind not in "iuf":
        kind = f"a {spectra.dtype} array" if isinstance(spectra, np.ndarray) else type(spectra).__name__
        raise refuse(f"{name} is {kind}, not an array of numbers")
    if spectra.ndim == 1:
        spectra = spectra[None, :]
    if spectra.ndim != 2 or spectra.shape[0] == 0:
        raise refuse(f"{name} has shape {values[key].shape}; expected (pulses, points) or (points,)")
    if spectra.shape[1] != model.spectrum_length:
        raise refuse(f"{name} has {spectra.shape[1]} points per pulse but the model expects {model.spectrum_length}")
    bad = ~np.isfinite(spectra)
    if bad.any():
        pulses = np.flatnonzero(bad.any(axis=1))
        count = int(bad.sum())
        raise refuse(f"{name} has {count} NaN or infinite values in {len(pulses)} pulse(s), first pulse {pulses[0]}")
    if axis_key is not None:
        reason = axis_problem(values, axis_key, model)
        if reason is not None:
            raise refuse(reason)
    return Train(tid, np.asarray(spectra, dtype=np.float32))


def axis_problem(values: dict[str, Any], axis_key: str, model: Model) -> str | None:
    """Why the train's x axis (``values[axis_key]``) is not the model's, or None: checked as a file's axis is
    (``watch.check_axis``), since the model compares spectra point by point."""
    if axis_key not in values:
        return f"no axis key {escaped(axis_key)} (keys: {_names(values)})"
    x = np.asarray(values[axis_key])
    if x.dtype.kind not in "iuf" or x.shape != (model.spectrum_length,):
        return f"axis {escaped(axis_key)} has shape {x.shape}; the model's axis has {model.spectrum_length} points"
    try:
        check_axis(model, x.astype(float))
    except SpectraDataError as err:
        return str(err)
    return None
