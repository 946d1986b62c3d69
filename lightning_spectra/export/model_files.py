"""The exported model: one ONNX or TorchScript file that takes raw spectra, and its reader.

The library behind ``lightning-spectra-export`` (:mod:`lightning_spectra.apps.export`, the command), ``predict
--predict_engine onnx`` (:mod:`lightning_spectra.callbacks.onnx_predictions`) and ``lightning-spectra-watch``.

The exported model takes raw spectra ``(N, L)`` (float32, any ``N``) on the x axis the model was trained on and
returns class probabilities ``(N, C)`` (classifiers) or values ``(N, T)`` in the targets' units (regressors).
The preprocessing the checkpoint holds is inside the graph: Savitzky-Golay smoothing or derivative (exactly
``scipy.signal.savgol_filter``'s default ``mode="interp"``), per-spectrum normalisation, the per-point scaling
fitted on the training split, then the network and its output transform. A model trained on spectral ranges
(``data.init_args.ranges``) takes raw spectra on the full raw axis it was trained on: the graph gathers the
chosen points first. Class or target names, the x axis, the preprocessing and the package version travel in
the file (ONNX ``metadata_props``; TorchScript ``_extra_files["metadata.json"]``).

Baseline removal (``baseline: asls``) is an iterative least-squares fit that no graph expresses: such a
checkpoint is refused unless ``--baseline_outside`` is given, and the user then applies :func:`prestep` (the
exact call is in the metadata) to the raw spectra before the exported model.

onnx and onnxruntime are imported where a file is read or run, not here: ``predict`` on PyTorch and the
commands' ``--help`` never pay for them.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from torch import nn

from lightning_spectra import __version__
from lightning_spectra.data.preprocess import PointScaler, Preprocessing
from lightning_spectra.data.ranges import Selection
from lightning_spectra.data.savitzky_golay import SavitzkyGolay
from lightning_spectra.errors import FULL, UNWRITABLE, SpectraConfigError, SpectraRunError
from lightning_spectra.runs.checkpoint import read_trained_model
from lightning_spectra.runtime.atomic_files import atomic_write

FORMATS = ("onnx", "torchscript")
SUFFIXES = {"onnx": ".onnx", "torchscript": ".pt"}
#: Sequence layouts whose result does not depend on the batch size, so one graph serves every batch.
EXPORTABLE_SEQUENCES = ("independent", "whole")
INPUT_NAME = "spectra"
#: How users are told to call :func:`prestep` (error messages, the file's metadata): by the command's module, which
#: re-exports it, as every release has said.
PRESTEP = "lightning_spectra.apps.export.prestep"


# ---------------------------------------------------------------------------------------------- the graph
def trapezoid_weights(x: np.ndarray) -> np.ndarray:
    """``w`` with ``y @ w == np.trapezoid(y, x)`` for every ``y`` on axis ``x``."""
    dx = np.diff(np.asarray(x, dtype=np.float64))
    weights = np.zeros(len(dx) + 1)
    weights[:-1] += dx / 2
    weights[1:] += dx / 2
    return weights


class RawSpectraModel(nn.Module):
    """Raw spectra ``(N, L)`` -> the spectral ranges' points -> the checkpoint's preprocessing -> network ->
    probabilities or values.

    Args:
        model: a trained model in eval mode.
        preprocessing: its datamodule's per-spectrum steps (no baseline removal: that is :func:`prestep`'s).
        scaler: the per-point scaling fitted on the training split, or ``None``.
        selection: the points of the raw axis the model's spectral ranges choose, or ``None`` (all of them).
    """

    def __init__(
        self,
        model: nn.Module,
        preprocessing: Preprocessing,
        scaler: PointScaler | None = None,
        selection: Selection | None = None,
    ) -> None:
        super().__init__()
        length = int(model.spectrum_length)
        if selection is not None and len(selection.indices) != length:
            raise SpectraConfigError(
                f"the spectral ranges choose {len(selection.indices)} points but the model takes {length}"
            )
        # A gather of the chosen points (ONNX Gather), so the graph takes spectra on the full raw axis.
        chosen = None if selection is None else torch.as_tensor(selection.indices, dtype=torch.long)
        self.register_buffer("chosen", chosen)
        self.raw_x = model.x_axis.detach().cpu().double().numpy() if selection is None else np.asarray(selection.raw_x)
        self.savgol = (
            SavitzkyGolay(
                preprocessing.smoothing_window, preprocessing.smoothing_order, preprocessing.derivative, length
            )
            if preprocessing.smoothing_window
            else None
        )
        self.normalization = "standard" if preprocessing.normalization == "snv" else preprocessing.normalization
        x_axis = model.x_axis.detach().cpu().double().numpy()
        area = torch.tensor(trapezoid_weights(x_axis), dtype=torch.float32)
        self.register_buffer("area_weights", area if self.normalization == "area" else None)
        fitted = scaler is not None and scaler.mean is not None
        self.register_buffer("point_mean", torch.tensor(scaler.mean, dtype=torch.float32) if fitted else None)
        self.register_buffer("point_scale", torch.tensor(scaler.scale, dtype=torch.float32) if fitted else None)
        self.model = model

    def preprocess(self, spectra: torch.Tensor) -> torch.Tensor:
        """What the datamodule does to a raw spectrum before the network sees it."""
        x = spectra if self.savgol is None else self.savgol(spectra)
        x = self.normalize(x)
        if self.point_mean is not None:
            x = (x - self.point_mean) / self.point_scale
        return x

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """:func:`lightning_spectra.data.preprocess.normalize`; an all-zero spectrum is left as it is."""
        if self.normalization == "none":
            return x
        if self.normalization == "standard":
            centred = x - x.mean(dim=1, keepdim=True)
            return centred / _safe(centred.square().mean(dim=1, keepdim=True).sqrt())  # population std, as NumPy
        if self.normalization == "max":
            return x / _safe(x.abs().amax(dim=1, keepdim=True))
        return x / _safe((x.abs() * self.area_weights).sum(dim=1, keepdim=True).abs())  # area

    def forward(self, spectra: torch.Tensor) -> torch.Tensor:
        if self.chosen is not None:
            spectra = spectra.index_select(1, self.chosen)
        outputs = self.model(self.preprocess(spectra))
        return self.model.task.exported(outputs)  # probabilities, or values in the targets' units


def _safe(scale: torch.Tensor) -> torch.Tensor:
    return torch.where(scale > 0, scale, torch.ones_like(scale))


# ---------------------------------------------------------------------------------------------- the pre-step
def prestep(
    x: np.ndarray | None,
    spectra: np.ndarray,
    baseline_lam: float = 1e5,
    baseline_p: float = 0.002,
    baseline_iterations: int = 10,
) -> np.ndarray:
    """Baseline-removed copy (float32) of raw ``spectra`` ``(N, L)`` on axis ``x``: what a model exported with
    ``--baseline_outside`` expects. The parameters are the checkpoint's (the file's ``prestep`` metadata)."""
    steps = Preprocessing(
        baseline="asls", baseline_lam=baseline_lam, baseline_p=baseline_p, baseline_iterations=baseline_iterations
    )
    return steps(x, spectra).astype(np.float32)


def prestep_call(preprocessing: Preprocessing) -> str:
    """The exact :func:`prestep` call for ``preprocessing``'s baseline removal, as the user should write it."""
    p = preprocessing
    return (
        f"{PRESTEP}(x, spectra, baseline_lam={p.baseline_lam:g}, baseline_p={p.baseline_p:g}, "
        f"baseline_iterations={p.baseline_iterations})"
    )


# ---------------------------------------------------------------------------------------------- the checkpoint
def read_checkpoint(
    ckpt_path: str | Path,
) -> tuple[nn.Module, Preprocessing, PointScaler | None, Selection | None]:
    """``(model in eval mode, per-spectrum preprocessing, fitted point scaler or None, spectral ranges' selection
    or None)`` of a checkpoint.

    The same path from a checkpoint to predictions as ``predict`` and ``watch`` take
    (:class:`~lightning_spectra.runs.checkpoint.TrainedModel`): the classes are looked up among the package's own,
    never imported by the names the file holds.
    """
    trained = read_trained_model(ckpt_path)
    steps = trained.fitted_preprocessing()
    scaler = steps.scaler if steps.scaler.scaling != "none" else None
    return trained.load_model("cpu"), steps.preprocessing, scaler, steps.selection


def check_exportable(model: nn.Module, preprocessing: Preprocessing, path: Path, baseline_outside: bool) -> None:
    """Refuse what one graph cannot reproduce, with one line saying what to do instead."""
    if preprocessing.baseline != "none" and not baseline_outside:
        raise SpectraConfigError(
            f"{path}: the model was trained on spectra with their baseline removed (baseline: "
            f"{preprocessing.baseline}), which an exported graph cannot compute; export with --baseline_outside "
            f"and apply {prestep_call(preprocessing)} to the raw spectra first"
        )
    mode = getattr(model, "eval_sequence", "independent")
    if mode not in EXPORTABLE_SEQUENCES:
        raise SpectraConfigError(
            f"{path}: eval_sequence {mode!r} cuts a batch into sequences by its size, which one graph cannot "
            f"follow; export a model evaluated with eval_sequence {' or '.join(EXPORTABLE_SEQUENCES)}"
        )


# ---------------------------------------------------------------------------------------------- metadata
def metadata(
    model: nn.Module,
    preprocessing: Preprocessing,
    scaler: PointScaler | None,
    path: Path,
    selection: Selection | None = None,
) -> dict[str, str]:
    """What a user of the exported file needs to know, as strings (ONNX metadata_props are strings).

    ``x_axis`` is the axis of the input: the full raw axis where spectral ranges cut it (``model_x_axis`` is then
    the chosen points', and ``ranges_points`` their positions on ``x_axis``)."""
    fitted = scaler is not None and scaler.mean is not None
    steps = {**preprocessing.as_dict(), "scaling": "standard" if fitted else "none"}
    mode = getattr(model, "eval_sequence", "independent")
    sequence = (
        "each call's batch is ONE sequence, in the order given (pass one series per call)"
        if mode == "whole"
        else "each spectrum on its own"
    )
    described = model.task.export_description()
    raw_x = model.x_axis.detach().cpu().double().numpy() if selection is None else np.asarray(selection.raw_x)
    inside = [
        f"ranges: gather {len(selection.indices)} of {len(selection.raw_x)} points" if selection is not None else None,
        f"savgol(window={preprocessing.smoothing_window}, order={preprocessing.smoothing_order}, "
        f"deriv={preprocessing.derivative})"
        if preprocessing.smoothing_window
        else None,
        f"normalization={preprocessing.normalization}" if preprocessing.normalization != "none" else None,
        "point scaling (training mean/scale)" if fitted else None,
        type(model).__name__,
        described["post_processing"],
    ]
    return {
        "lightning_spectra_version": __version__,
        "checkpoint": str(path),
        "model_class": type(model).__name__,
        "task": model.task.name,
        # The task as the file's reader rebuilds it (lightning_spectra.tasks.task_from_export): its targets and
        # what it learned (a regressor's statistics, a multi-label model's thresholds).
        "targets": json.dumps(model.task.targets.as_dict()),
        "task_state": json.dumps({k: v.detach().cpu().tolist() for k, v in model.task.state_dict().items()}),
        **{key: json.dumps(value) for key, value in described["names"].items()},
        "input": f"{INPUT_NAME}: raw spectra (N, {len(raw_x)}) float32 on x_axis",
        "output": described["output"],
        "x_axis": json.dumps(raw_x.tolist()),
        "model_x_axis": json.dumps(model.x_axis.detach().cpu().double().tolist()),
        "ranges_points": json.dumps(None if selection is None else selection.indices.tolist()),
        "preprocessing": json.dumps(steps),
        "in_graph": " -> ".join(step for step in inside if step),
        "prestep": prestep_call(preprocessing) if preprocessing.baseline != "none" else "none",
        "sequence": f"eval_sequence={mode}: {sequence}",
    }


# ---------------------------------------------------------------------------------------------- writing
@contextlib.contextmanager
def _tracing(model: nn.Module) -> Iterator[None]:
    """Let tracing read a LightningModule's attributes without a Trainer (what Lightning's own
    ``to_torchscript`` does: ``trainer`` raises otherwise)."""
    model._jit_is_scripting = True
    try:
        yield
    finally:
        del model._jit_is_scripting


@contextlib.contextmanager
def _quiet(logger: str) -> Iterator[None]:
    """Keep a library's info and warning lines (torchvision not installed, ...) off the user's terminal."""
    log = logging.getLogger(logger)
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(level)


def example_spectra(length: int, count: int = 3) -> torch.Tensor:
    """Peaked, offset, noisy spectra: every preprocessing step does something real with them."""
    rng = np.random.default_rng(0)
    grid = np.linspace(0, 1, length)
    peaks = np.exp(-0.5 * ((grid - rng.uniform(0.2, 0.8, (count, 1))) / 0.05) ** 2)
    return torch.tensor(
        peaks + rng.uniform(0, 0.3, (count, 1)) + rng.normal(0, 0.02, (count, length)), dtype=torch.float32
    )


def write_onnx(
    module: nn.Module, example: torch.Tensor, out: Path, meta: dict[str, str], output_name: str | None = None
) -> None:
    """``module`` (a :class:`RawSpectraModel` unless ``output_name`` is given) as one ONNX file with a dynamic
    batch size and ``meta`` as its metadata."""
    output = output_name or module.model.task.export_description()["output_name"]
    with torch.no_grad(), warnings.catch_warnings(), _quiet("torch.onnx"):
        warnings.simplefilter("ignore")  # the exporter's own deprecation chatter, not the user's business
        program = torch.onnx.export(
            module,
            (example,),
            input_names=[INPUT_NAME],
            output_names=[output],
            dynamic_shapes=({0: torch.export.Dim("batch", min=1)},),
            dynamo=True,
            verbose=False,
        )
    program.model.metadata_props.update(meta)
    program.save(str(out), external_data=False)


def run_onnx(path: str | Path, spectra: np.ndarray) -> np.ndarray:
    """Outputs of an exported ONNX file for raw ``spectra`` ``(N, L)``, on ONNX Runtime's CPU provider."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {INPUT_NAME: np.asarray(spectra, dtype=np.float32)})[0]


def write_torchscript(module: RawSpectraModel, example: torch.Tensor, out: Path, meta: dict[str, str]) -> None:
    with torch.no_grad(), _tracing(module.model), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about Python values frozen into the graph
        traced = torch.jit.trace(module, example)
    torch.jit.save(traced, str(out), _extra_files={"metadata.json": json.dumps(meta)})


def run_torchscript(path: str | Path, spectra: np.ndarray) -> np.ndarray:
    """Outputs of an exported TorchScript file for raw ``spectra`` ``(N, L)``."""
    module = torch.jit.load(str(path), map_location="cpu")
    with torch.no_grad():
        return module(torch.as_tensor(np.asarray(spectra, dtype=np.float32))).numpy()


def read_metadata(path: str | Path) -> dict[str, str]:
    """The metadata of an exported file (either format)."""
    path = Path(path)
    if path.suffix == ".onnx":
        import onnx

        return {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}
    files = {"metadata.json": ""}
    torch.jit.load(str(path), map_location="cpu", _extra_files=files)
    return json.loads(files["metadata.json"])


WRITERS = {"onnx": (write_onnx, run_onnx), "torchscript": (write_torchscript, run_torchscript)}


def export_checkpoint(
    ckpt_path: str | Path,
    out_path: str | Path | None = None,
    format: str = "onnx",  # noqa: A002 - the CLI's word; shadows nothing used here
    baseline_outside: bool = False,
) -> Path:
    """Write the checkpoint's model with its preprocessing as ``format`` (``onnx`` or ``torchscript``).

    ``out_path`` defaults to the checkpoint's path with ``.onnx`` or ``.pt``. The written file is run once on
    a small batch and compared with the PyTorch module it came from; a mismatch is an error, not a file. The
    file is written beside ``out`` under a temporary name and renamed once checked, so a full disk, a killed
    process or a mismatch never leaves a cut file, and an output that is the checkpoint itself is refused.
    """
    if format not in FORMATS:
        raise SpectraConfigError(f"--format must be one of {', '.join(FORMATS)}; got {format!r}")
    path = Path(ckpt_path)
    out = Path(out_path) if out_path is not None else path.with_suffix(SUFFIXES[format])
    check_output(out, path)
    model, preprocessing, scaler, selection = read_checkpoint(path)
    check_exportable(model, preprocessing, path, baseline_outside)
    module = RawSpectraModel(model, preprocessing, scaler, selection).eval()
    example = example_spectra(len(module.raw_x))  # raw spectra: the full axis the ranges are cut from
    write, run = WRITERS[format]
    meta = metadata(model, preprocessing, scaler, path, selection)

    def write_checked(tmp: Path) -> None:
        write(module, example, tmp, meta)
        check_written(module, run, tmp, example_spectra(len(module.raw_x), count=5), out)

    try:
        atomic_write(out, write_checked)
    except OSError as err:
        if err.errno in FULL:
            raise SpectraRunError(f"{out}: {err.strerror}; nothing written") from None
        if err.errno in UNWRITABLE:
            raise SpectraConfigError(f"--output {out}: cannot write there ({err.strerror})") from None
        raise
    return out


def check_output(out: Path, ckpt: Path) -> None:
    """Refuse an output that would replace the checkpoint being exported (``--output`` equal to ``--ckpt_path``,
    or a checkpoint named ``model.pt`` exported as TorchScript to the default name), a ``.ckpt`` name, or a
    folder: the user's weights are never overwritten, and a folder cannot hold the file's name."""
    same = out.resolve() == ckpt.resolve() or (out.exists() and ckpt.exists() and os.path.samefile(out, ckpt))
    if same:
        raise SpectraConfigError(
            f"{out}: is the checkpoint being exported (--ckpt_path); writing there would replace it. Give another "
            "--output"
        )
    if out.suffix == ".ckpt":
        raise SpectraConfigError(
            f"--output {out}: a .ckpt name is a checkpoint's; give a {' or '.join(SUFFIXES.values())} file"
        )
    if out.is_dir():
        raise SpectraConfigError(f"--output {out}: is a folder; give a file name, e.g. {out / 'model.onnx'}")


def check_written(module: RawSpectraModel, run, written: Path, spectra: torch.Tensor, out: Path | None = None) -> None:
    """Refuse an exported file ``written`` (for ``out``) whose outputs differ from the module's (on another batch
    size than traced)."""
    out = written if out is None else out
    with torch.no_grad():
        expected = module(spectra).numpy()
    got = run(written, spectra.numpy())
    if got.shape != expected.shape or not np.allclose(got, expected, rtol=1e-4, atol=1e-5):
        written.unlink(missing_ok=True)
        raise SpectraRunError(f"{out}: the exported model's outputs differ from the checkpoint's; nothing written")
