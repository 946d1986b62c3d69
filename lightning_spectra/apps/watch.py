"""Classify new spectrum files in a folder, or the trains of a Karabo bridge stream, while an experiment runs.

    python -m lightning_spectra.apps.watch --ckpt_path logs/cnn/version_0/checkpoints/last.ckpt --folder incoming/
    python -m lightning_spectra.apps.watch --ckpt_path last.ckpt --bridge tcp://exflong01:45000 \\
        --source HED_EXP_DET/CORR/SPECTRA:output --key data.spectra --output live.csv

``--bridge`` reads the European XFEL's Karabo bridge instead of a folder (:mod:`lightning_spectra.live`, docs/live.md):
a row per pulse of each train in ``--output``, a line per train. What follows is the folder's watch.

Loads a checkpoint written by ``train.py`` (weights and class names from it; its model class must be one of
this package's models), applies the preprocessing saved with its datamodule's hyperparameters and the per-point
scaling fitted on its training split, as ``predict`` does, and prints one tab-separated line per new file
(``name, predicted class, probability``) plus a line whenever the predicted state changes; a regressor's line
is ``name`` and ``target=value`` for each target, in the targets' units. A file of several spectra (a table,
``.npz``, ``.ts``, a vendor file such as a WDF map), read as ``fit`` and ``predict`` read it, gives a line per
spectrum, named by the file's own names (a table's name column) or ``<file>[i]``. A file counts as
complete once its size and modification time have stayed the same for ``--settle`` seconds, so a detector
still writing it (even with pauses) is not read half-way; a file that changes after it was classified is
classified again, and one that could not be read or was malformed is tried again at every poll (its error
line printed once), so a writer pausing longer than that, or a file made readable later, still gets read. A
file on another x axis than the model's is refused with an error line, not classified. ``--once`` classifies
what is there and exits; ``--timeout`` stops after a while (both make it scriptable and testable). A model
trained on spectral ranges takes files on the full raw axis it was trained on and cuts them as training did. On the CPU
the checkpoint is exported to ONNX with its preprocessing and run by ONNX Runtime where it can be (``--engine``).

Every name printed is escaped (:func:`escaped`), so a file name holding a tab, a newline or a terminal escape
sequence can neither forge a field or a line of the output nor reach the terminal. A file of another format
(``notes.md``) gets one ``# skipped`` line saying why, not silence. A watched folder removed while watching
ends the watch with one line and exit status 1 (the lines before it stand).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from lightning_spectra.data.formats import (
    TABLE_SUFFIXES,
    SpectraSource,
    axis_row_as_x,
    model_axis,
    read_spectra,
)
from lightning_spectra.data.preprocess import FittedPreprocessing, Preprocessing
from lightning_spectra.data.vendor import VENDOR_SUFFIXES, is_vendor_file, read_vendor
from lightning_spectra.data.xy import SPECTRUM_SUFFIXES, natural_key, read_xy
from lightning_spectra.errors import SpectraConfigError, SpectraDataError, SpectraRunError
from lightning_spectra.live.receiver import SOCKETS, xfel_modules  # zmq and karabo_bridge only once called
from lightning_spectra.live.results import PUBLISH_SOCKETS
from lightning_spectra.runs.checkpoint import TrainedModel, package_datamodule, read_trained_model
from lightning_spectra.runtime.commands import command

if TYPE_CHECKING:
    from lightning_spectra.live.bridge import BridgeOptions


def escaped(text: str) -> str:
    r"""``text`` with each backslash doubled and each unprintable character (tab, newline, carriage return, ESC,
    other control and format characters, an undecodable byte's surrogate) written as its backslash escape
    (``\t``, ``\n``, ``\x1b``, ``\u202e``).

    Names come from whoever writes into the watched folder: raw, a tab and a newline in one forge a prediction
    line and a state-change line in the tab-separated output, and an escape sequence reaches the terminal. A
    plain name is unchanged; an escaped one reads back unambiguously (``codecs.decode(s, "unicode_escape")``
    for an ASCII name).

    Examples:
        >>> escaped("scan_1.xy")
        'scan_1.xy'
        >>> print(escaped("a\tb\nc\x1b[2J.xy"))
        a\tb\nc\x1b[2J.xy
    """
    if text.isprintable() and "\\" not in text:
        return text
    return "".join(
        "\\\\" if c == "\\" else c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text
    )


@dataclass(frozen=True)
class Prediction:
    name: str
    class_name: str | None = None
    probability: float | None = None
    error: str | None = None
    #: a regressor's prediction: (target name, value in the target's units) for each target
    values: tuple[tuple[str, float], ...] | None = None
    #: another task's further prediction columns (a multi-label model's ``p(<label>)``), as (column, cell)
    fields: tuple[tuple[str, str], ...] = ()

    def line(self) -> str:
        """The output line, every field escaped (:func:`escaped`): a name cannot add fields or lines."""
        if self.error is not None:
            return f"{escaped(self.name)}\terror: {escaped(self.error)}"
        if self.values is not None:  # a field per target, named: a line reads alone, as a class line does
            return "\t".join([escaped(self.name), *(f"{escaped(t)}={v:.6g}" for t, v in self.values)])
        if self.probability is None:  # another task: its first column's cell, then the other columns by name
            extra = (f"{escaped(k)}={escaped(v)}" for k, v in self.fields)
            return "\t".join([escaped(self.name), escaped(str(self.class_name)), *extra])
        return f"{escaped(self.name)}\t{escaped(str(self.class_name))}\t{self.probability:.4f}"


def preprocessing_for(datamodule_hparams: dict) -> Preprocessing:
    """The preprocessing a training datamodule (one of this package's) applied, from its saved hyperparameters."""
    cls = package_datamodule(datamodule_hparams.get("_class_path"), "the saved hyperparameters")
    return cls.preprocessing_from_hparams(datamodule_hparams)


ENGINES = ("auto", "onnx", "torch")


class TorchClassifier:
    """The checkpoint's model in PyTorch, after the checkpoint's preprocessing done in NumPy."""

    def __init__(self, model: torch.nn.Module, preprocessing: FittedPreprocessing | Preprocessing) -> None:
        self.model, self.preprocessing = model, preprocessing
        self.task = model.task  # turns outputs into prediction columns
        self.class_names = list(model.class_names)  # none for a regressor
        self.target_names = list(model.target_names)  # none for a classifier
        # New files are raw spectra: on the full raw axis where the model's spectral ranges cut it.
        raw_x = preprocessing.raw_x if isinstance(preprocessing, FittedPreprocessing) else None
        self.x_axis = model.x_axis.detach().cpu().double().numpy() if raw_x is None else np.asarray(raw_x)
        self.spectrum_length = len(self.x_axis)

    @torch.no_grad()
    def outputs(self, x: np.ndarray, spectra: np.ndarray) -> np.ndarray:
        """Class probabilities ``(N, C)``, or values ``(N, T)`` in the targets' units: what the exported model
        returns (a regressor's classical calibration included: the model blends it in eval mode)."""
        batch = torch.as_tensor(self.preprocessing(x, spectra), dtype=torch.float32, device=self.model.device)
        return self.model.task.exported(self.model(batch)).cpu().numpy()


#: Spectra per ONNX Runtime call. A HED train of 352 pulses x 4023 points through the CNN took 110 ms in one call
#: and 68-73 ms in chunks of 16 or 32 (2 CPUs; 44 chunks of 8: 74 ms): a chunk's activations stay in the caches.
ONNX_CHUNK = 32


class OnnxClassifier:
    """The checkpoint exported to ONNX with its preprocessing inside the graph, run by ONNX Runtime: on CPU the
    fastest of eager PyTorch, torch.compile and ONNX Runtime at every batch size measured (BENCHMARKS.md,
    "Inference"). The export is checked against the PyTorch model before it is used."""

    def __init__(self, ckpt_path: str | Path, folder: Path) -> None:
        import onnxruntime

        from lightning_spectra.export.model_files import INPUT_NAME, export_checkpoint, read_metadata
        from lightning_spectra.tasks import task_from_export

        path = export_checkpoint(ckpt_path, folder / "model.onnx")
        meta = read_metadata(path)
        self.task = task_from_export(meta)  # turns outputs into prediction columns
        # A classifier's file names its classes, a regressor's its targets (export metadata).
        self.class_names = json.loads(meta.get("class_names", "[]"))
        self.target_names = json.loads(meta.get("target_names", "[]"))
        self.x_axis = np.asarray(json.loads(meta["x_axis"]), dtype=float)
        self.spectrum_length = len(self.x_axis)
        self.session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        self.input_name = INPUT_NAME

    def outputs(self, x: np.ndarray, spectra: np.ndarray) -> np.ndarray:
        """As :meth:`TorchClassifier.outputs`; x is the model's own axis (checked before): the graph holds it.
        Run :data:`ONNX_CHUNK` spectra a call: the exported graph takes each spectrum alone (a model reading a
        batch as one sequence is not exported), so the outputs are those of one call."""
        spectra = np.asarray(spectra, dtype=np.float32)
        calls = [spectra[i : i + ONNX_CHUNK] for i in range(0, len(spectra), ONNX_CHUNK)] or [spectra]
        return np.concatenate([self.session.run(None, {self.input_name: chunk})[0] for chunk in calls])


Classifier = TorchClassifier | OnnxClassifier


def onnx_reason(trained: TrainedModel, preprocessing: FittedPreprocessing, device: str) -> str | None:
    """Why this checkpoint cannot run through ONNX Runtime here, or None if it can."""
    from lightning_spectra.export.model_files import EXPORTABLE_SEQUENCES

    if torch.device(device).type != "cpu":
        return f"--device {device}: ONNX Runtime runs here on the CPU"
    if preprocessing.preprocessing.baseline != "none":
        return "baseline removal (ALS) cannot be inside an exported graph"
    if trained.model_hparams.get("eval_sequence", "independent") not in EXPORTABLE_SEQUENCES:
        return "the model reads a batch as one sequence"
    return None


def load_classifier(ckpt_path: str | Path, device: str = "cpu") -> tuple[torch.nn.Module, FittedPreprocessing]:
    """``(model in eval mode, fitted preprocessing)`` from a checkpoint written by ``train.py``.

    The same path as ``predict``: :func:`~lightning_spectra.runs.checkpoint.read_trained_model` checks the file (a
    missing, damaged or foreign one is one line naming it; a model class that is not one of this package's is
    refused, never imported), and the preprocessing includes the per-point scaling fitted on the training split.
    """
    trained = read_trained_model(ckpt_path)
    preprocessing = trained.fitted_preprocessing()  # checked before the weights are loaded
    return trained.load_model(device), preprocessing


def open_classifier(
    ckpt_path: str | Path, device: str = "cpu", engine: str = "auto", folder: Path | None = None
) -> Classifier:
    """The checkpoint's classifier, through ``engine``: ``torch`` (:func:`load_classifier`), ``onnx`` (exported
    into ``folder``, a temporary one if None; an error if it cannot be) or ``auto`` (ONNX Runtime where the
    checkpoint can be exported and the device is the CPU, else PyTorch)."""
    if engine in ("auto", "onnx"):
        trained = read_trained_model(ckpt_path)
        reason = onnx_reason(trained, trained.fitted_preprocessing(), device)
        if reason is None:
            return OnnxClassifier(ckpt_path, folder if folder is not None else Path(tempfile.mkdtemp()))
        if engine == "onnx":
            raise SpectraConfigError(f"--engine onnx: {reason}; use --engine torch")
    return TorchClassifier(*load_classifier(ckpt_path, device))


def check_axis(classifier: Classifier, x: np.ndarray) -> None:
    """Refuse a spectrum sampled on another x axis than the model's: it compares spectra point by point.

    A model trained on spectra without an x axis stores the point index (0, 1, 2, ...); nothing to compare.
    """
    axis = classifier.x_axis
    if np.array_equal(axis, np.arange(len(axis))) or np.allclose(x, axis, rtol=1e-4, atol=1e-8):
        return
    i = int(np.argmax(~np.isclose(x, axis, rtol=1e-4, atol=1e-8)))
    raise SpectraDataError(
        f"x axis differs from the model's: point {i} is at {x[i]:g}, the model's at {axis[i]:g} "
        f"(file {x[0]:g}..{x[-1]:g}, model {axis[0]:g}..{axis[-1]:g})"
    )


MANY_SUFFIXES = (*TABLE_SUFFIXES, ".npz", ".ts")  # files of several spectra, read as fit and predict read them


def watched(path: Path) -> bool:
    """Whether ``watch`` reads ``path``: a two-column file, a vendor file (SPC, OPUS, JCAMP-DX, WDF), a table,
    ``.npz`` or ``.ts`` file."""
    suffix = path.suffix.lower()
    return suffix in SPECTRUM_SUFFIXES or suffix in MANY_SUFFIXES or is_vendor_file(path)


@dataclass(frozen=True)
class Spectra:
    """A file's spectra: their x axis (None where the file has none), intensities ``(N, L)`` and line names."""

    x: np.ndarray | None
    spectra: np.ndarray
    names: list[str]


def numbered(path: Path, count: int) -> list[str]:
    """Names of a file's spectra: its name for one (a line reads as a single-spectrum file's), ``<file>[i]`` for
    several, as ``fit`` and ``predict`` name the spectra of a vendor file or a ``.npz`` without names."""
    return [path.name] if count == 1 else [f"{path.name}[{i}]" for i in range(count)]


def own_names(source: SpectraSource) -> bool:
    """Whether a file names its spectra itself (a table's name column, an ``.npz``'s ``names``) rather than its
    reader calling them by their place (``<file> row 3``, from ``where`` ``<path>, row 3``) or ``<file>[i]``."""
    prefix = f"{source.path}, "
    places = [f"{source.path.name} {w.removeprefix(prefix)}" for w in source.where]
    return source.names not in (places, [f"{source.path.name}[{i}]" for i in range(len(source))])


def read_file(path: Path, axis: np.ndarray | None) -> Spectra:
    """The spectra of a file watch reads, by the readers ``fit`` and ``predict`` use. A table, ``.npz`` or ``.ts``
    file is read as new spectra (labels or targets in it are ignored); a first row of a table that is the model's
    x axis (``axis``, None for a model without one) is taken as the axis, as ``predict`` takes it."""
    suffix = path.suffix.lower()
    if suffix in SPECTRUM_SUFFIXES:  # before the table readers: a .txt is a two-column file here, as it was
        x, y = read_xy(path)
        return Spectra(x, y[None, :], [path.name])
    if suffix in MANY_SUFFIXES:
        source = axis_row_as_x(read_spectra(path, progress=False, labels_required=False), axis)
        names = source.names if own_names(source) else numbered(path, len(source))
        return Spectra(source.x, source.spectra, names)
    x, spectra, _ = read_vendor(path)  # every spectrum of it: an SPC's subfiles, a WDF map
    return Spectra(x, spectra, numbered(path, len(spectra)))


def checked(classifier: Classifier, path: Path) -> Spectra:
    """The file's spectra, refused (one error for the file) unless their length and x axis are the model's."""
    read = read_file(path, model_axis(classifier.x_axis))
    if read.spectra.shape[1] != classifier.spectrum_length:
        raise SpectraDataError(f"has {read.spectra.shape[1]} points but the model expects {classifier.spectrum_length}")
    if read.x is not None:  # a table or .npz without an axis has nothing to compare, as in predict
        check_axis(classifier, read.x)
    return read


def classify_each(classifier: Classifier, files: Sequence[Path]) -> list[list[Prediction]]:
    """Each file's predictions in order, one per spectrum, all good spectra in one batch; a file that cannot be
    used gets one error instead (it is tried again whole)."""
    results: list[list[Prediction]] = []
    good: list[Spectra] = []
    for path in files:
        try:
            good.append(checked(classifier, path))
            results.append([])
        except SpectraDataError as err:
            results.append([Prediction(path.name, error=str(err))])
    if good:
        outputs = iter(classifier.outputs(classifier.x_axis, np.concatenate([g.spectra for g in good])))
        spectra = iter(good)
        for made in results:
            if not made:  # a good file: its rows in order
                made.extend(prediction(classifier, name, next(outputs)) for name in next(spectra).names)
    return results


def classify_files(classifier: Classifier, files: Sequence[Path]) -> list[Prediction]:
    """Predictions for ``files`` in order: one per spectrum of a good file, one error for a file that cannot be
    used."""
    return [p for made in classify_each(classifier, files) for p in made]


def prediction(classifier: Classifier, name: str, row: np.ndarray) -> Prediction:
    """A spectrum's prediction from its row of outputs, in the task's columns (``Task.prediction_columns``): a
    classifier's likeliest class and its probability, a regressor's value of each target, another task's first
    column (a multi-label model's label set, at its thresholds) and the others by name."""
    if classifier.target_names:
        return Prediction(name, values=tuple(zip(classifier.target_names, map(float, row), strict=True)))
    columns = {column: cells[0] for column, cells in classifier.task.prediction_columns(row[None, :]).items()}
    if "predicted_class" in columns:
        return Prediction(name, columns["predicted_class"], float(columns["probability"]))
    (first, state), *others = columns.items()
    return Prediction(name, state, fields=tuple(others))


def _folder_files(folder: Path, first: bool) -> list[Path]:
    """The plain files in ``folder`` in number order; a folder that cannot be listed is one line, a setting to
    change (exit 2) at the first look and a watch that cannot go on (exit 1) once it was watched."""
    try:
        return sorted((p for p in folder.iterdir() if p.is_file()), key=natural_key)
    except OSError as err:
        if first:
            raise SpectraDataError(f"{escaped(str(folder))}: cannot list the folder ({err.strerror})") from None
        gone = not folder.is_dir()
        reason = "was removed or moved while watching" if gone else f"can no longer be listed ({err.strerror})"
        raise SpectraRunError(f"{escaped(str(folder))}: the watched folder {reason}; watching stopped") from None


def skip_reason(path: Path) -> str | None:
    """Why ``watch`` does not read ``path``, or None for a spectrum file it reads (or a hidden one, an editor's or
    a file system's, passed over in silence)."""
    if watched(path) or path.name.startswith("."):
        return None
    formats = ", ".join((*SPECTRUM_SUFFIXES, *MANY_SUFFIXES))
    return f"not a spectrum file watch reads ({formats}; vendor files {', '.join(VENDOR_SUFFIXES)}, OPUS .0, .1, ...)"


def _tell(prediction: Prediction, state: str | None, emit: Callable[[str], None]) -> str | None:
    """Emit a prediction's line, and a state-change line before it moves to another class; the new state."""
    emit(prediction.line())
    if prediction.class_name is None:
        return state
    if state is not None and prediction.class_name != state:
        emit(f"# state change: {escaped(state)} -> {escaped(prediction.class_name)} at {escaped(prediction.name)}")
    return prediction.class_name


def _signature(path: Path) -> tuple[int, int] | None:
    """Size and modification time, or ``None`` for a file that vanished since the folder was listed."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_size, stat.st_mtime_ns


def watch(
    folder: str | Path,
    classifier: Classifier,
    interval: float = 1.0,
    timeout: float | None = None,
    once: bool = False,
    new_only: bool = False,
    emit: Callable[[str], None] = print,
    settle: float = 5.0,
) -> list[Prediction]:
    """Poll ``folder`` and classify each complete file once (again if it changes); returns every prediction.

    A file is complete once its size and modification time have not changed for ``settle`` seconds. A file
    that gave an error line is read again at every poll, since what kept it from being read (its permissions,
    a lock) can change without changing its size or time; its error line is told once, until the file or the
    error changes, and its prediction once it can be read.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise SpectraDataError(f"{escaped(str(folder))}: folder does not exist")
    listed = _folder_files(folder, first=True)
    done: dict[Path, tuple[int, int] | None] = {p: _signature(p) for p in listed} if new_only else {}
    told_skipped: set[Path] = set(listed) if new_only else set()  # files it does not read, each told once
    seen: dict[Path, tuple[tuple[int, int], float]] = {}  # signature and when it was first seen
    failed: dict[Path, tuple[tuple[int, int], str]] = {}  # signature and error line told: tried again, not told
    made: list[Prediction] = []
    state: str | None = None
    start = time.monotonic()
    while True:
        ready, signatures = [], {}
        for path in listed:
            if path not in told_skipped and (reason := skip_reason(path)) is not None:
                emit(f"# skipped {escaped(path.name)}: {reason}")
                told_skipped.add(path)
        for path in [p for p in listed if watched(p)]:
            now = _signature(path)
            if now is None or done.get(path) == now:  # vanished, or classified as it is now
                continue
            if seen.get(path, (None,))[0] != now:
                seen[path] = (now, time.monotonic())
            if once or time.monotonic() - seen[path][1] >= settle:  # unchanged long enough: writer finished
                ready.append(path)
                signatures[path] = now
        for path, predictions in zip(ready, classify_each(classifier, ready), strict=True):
            error = next((p.error for p in predictions if p.error is not None), None)
            if error is None:
                done[path] = signatures[path]
                failed.pop(path, None)
            elif failed.get(path) == (signatures[path], error):
                continue  # the same file with the same error: told at an earlier poll
            else:
                failed[path] = (signatures[path], error)
            for prediction in predictions:  # one per spectrum of the file
                state = _tell(prediction, state, emit)
                made.append(prediction)
        if once or (timeout is not None and time.monotonic() - start >= timeout):
            return made
        time.sleep(interval)
        listed = _folder_files(folder, first=False)


#: Options of one source only: (option, its default) for ``--folder`` and for ``--bridge``.
FOLDER_ONLY = (("interval", 1.0), ("settle", 5.0), ("once", False), ("new_only", False))
BRIDGE_ONLY = (
    ("bridge_socket", "REQ"),
    ("source", None),
    ("key", None),
    ("trains", None),
    ("output", None),
    ("axis_key", None),
    ("hold", 1),
    ("publish", None),
    ("publish_socket", "REP"),
)


def check_source(args: argparse.Namespace) -> None:
    """Exactly one of ``--folder`` and ``--bridge``, and only the options of the one given: an option of the
    other would be ignored, and the user would believe it applied."""
    if (args.folder is None) == (args.bridge is None):
        raise SpectraConfigError("give exactly one of --folder (new files) and --bridge (a Karabo bridge stream)")
    given, other = ("--bridge", FOLDER_ONLY) if args.bridge is not None else ("--folder", BRIDGE_ONLY)
    wrong = [f"--{name}" for name, default in other if getattr(args, name) != default]
    if wrong:
        raise SpectraConfigError(f"{', '.join(wrong)}: not an option of {given}")
    if args.bridge is None:
        return
    if not re.fullmatch(r"tcp://[^:/\s]+:\d+", args.bridge):
        raise SpectraConfigError(f"--bridge {escaped(args.bridge)}: expected tcp://host:port")
    if args.publish is not None and not re.fullmatch(r"tcp://[^:/\s]+:(\d+|\*)", args.publish):
        raise SpectraConfigError(f"--publish {escaped(args.publish)}: expected tcp://host:port (host * for all)")
    missing = [f"--{name}" for name in ("source", "key") if getattr(args, name) is None]
    if missing:
        raise SpectraConfigError(f"--bridge needs {' and '.join(missing)} (the spectra's source and key)")
    if args.trains is not None and args.trains < 1:
        raise SpectraConfigError(f"--trains must be 1 or more, got {args.trains}")
    if args.hold < 1:
        raise SpectraConfigError(f"--hold must be 1 or more trains, got {args.hold}")


def check_arguments(args: argparse.Namespace) -> None:
    """Refuse a time that cannot work and a device this machine does not have, before the checkpoint is read.

    ``--interval`` must be finite and above 0 (0 polls the folder without pause, using a whole core; ``inf``
    sleeps for ever, and Python refuses it with a traceback), ``--settle`` finite (``inf`` never reads a file);
    ``--timeout inf`` is allowed: it is no timeout. NaN is refused everywhere (``not >=`` is true for it).
    """
    check_source(args)
    if not (args.interval > 0 and math.isfinite(args.interval)):
        raise SpectraConfigError(f"--interval must be a finite number of seconds above 0, got {args.interval:g}")
    if not (args.settle >= 0 and math.isfinite(args.settle)):
        raise SpectraConfigError(f"--settle must be a finite number of seconds, 0 or more, got {args.settle:g}")
    if args.timeout is not None and not args.timeout >= 0:
        raise SpectraConfigError(f"--timeout must be 0 or more seconds, got {args.timeout:g}")
    try:
        device = torch.device(args.device)
    except (RuntimeError, ValueError):
        raise SpectraConfigError(f"--device {args.device!r} is not a torch device (cpu, cuda, cuda:1, mps)") from None
    available = {"cpu": True, "cuda": torch.cuda.is_available(), "mps": torch.backends.mps.is_available()}
    if not available.get(device.type, False):
        raise SpectraConfigError(f"--device {args.device}: this machine has no such device; use --device cpu")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise SpectraConfigError(f"--device {args.device}: this machine has {torch.cuda.device_count()} CUDA device(s)")


def bridge_options(args: argparse.Namespace) -> BridgeOptions:
    """The ``--bridge`` options of the command line."""
    from lightning_spectra.live.bridge import BridgeOptions

    names = ("source", "key", "trains", "output", "axis_key", "timeout", "hold", "publish", "publish_socket")
    return BridgeOptions(args.bridge, socket_type=args.bridge_socket, **{n: getattr(args, n) for n in names})


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog=command("watch"), description=__doc__.split("\n")[0])
    parser.add_argument("--ckpt_path", required=True, help="checkpoint written by train.py fit")
    parser.add_argument("--folder", help="folder the new spectrum files appear in")
    parser.add_argument(
        "--bridge", metavar="ENDPOINT", help="instead: a Karabo bridge stream, tcp://host:port (docs/live.md)"
    )
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between looks at the folder")
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="--folder: stop after this many seconds; --bridge: end once no train came for this long",
    )
    parser.add_argument(
        "--settle", type=float, default=5.0, help="seconds a file must stay unchanged before it is read (default 5)"
    )
    parser.add_argument("--once", action="store_true", help="classify the files there now, then exit")
    parser.add_argument("--new_only", action="store_true", help="skip files already in the folder at start")
    parser.add_argument("--device", default="cpu", help="torch device for the model (cpu, cuda)")
    parser.add_argument(
        "--engine",
        choices=ENGINES,
        default="auto",
        help="auto (default): ONNX Runtime on the CPU where the checkpoint exports, else PyTorch",
    )
    bridge = parser.add_argument_group("--bridge", "a Karabo bridge stream, one row per pulse (docs/live.md)")
    bridge.add_argument(
        "--bridge_socket", choices=SOCKETS, default="REQ", help="REQ (default) for a REP server, PULL: PUSH, SUB: PUB"
    )
    bridge.add_argument("--source", help="the source of the spectra (HED_EXP_DET/CORR/SPECTRA:output)")
    bridge.add_argument("--key", help="the key of the spectra: (pulses, points) or (points,) per train")
    bridge.add_argument("--trains", type=int, default=None, help="stop after this many trains (default: never)")
    bridge.add_argument("--output", help="CSV file of one row per pulse, appended and flushed per train")
    bridge.add_argument("--axis_key", help="the key of the x axis, checked against the model's")
    bridge.add_argument("--hold", type=int, default=1, help="tell a state change once it held this many trains")
    bridge.add_argument("--publish", metavar="ENDPOINT", help="serve each train's results here (tcp://host:port)")
    bridge.add_argument(
        "--publish_socket", choices=PUBLISH_SOCKETS, default="REP", help="the results server's socket (default REP)"
    )
    args = parser.parse_args(argv)
    try:
        check_arguments(args)
        if args.bridge is not None:
            xfel_modules()  # the extra is there, before the checkpoint is read
        with tempfile.TemporaryDirectory(prefix="lightning-spectra-watch-") as exported:
            classifier = open_classifier(args.ckpt_path, args.device, args.engine, Path(exported))
            if args.bridge is not None:
                from lightning_spectra.live.bridge import watch_bridge

                watch_bridge(classifier, bridge_options(args), emit=lambda line: print(line, flush=True))
                return
            watch(
                args.folder,
                classifier,
                interval=args.interval,
                timeout=args.timeout,
                once=args.once,
                new_only=args.new_only,
                settle=args.settle,
                emit=lambda line: print(line, flush=True),
            )
    except SpectraDataError as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(1 if isinstance(err, SpectraRunError) else 2) from None
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
