"""``predict``'s network pass through ONNX Runtime (``--predict_engine onnx``).

At predict start the model (with the weights Lightning just loaded) is exported to ONNX, network only: the
datamodule has already cut, preprocessed and scaled the spectra as in training, so the graph takes what the
model takes, ``(N, L)`` float32, with a dynamic batch size. The file is run once on a small batch and compared
with the PyTorch model; a mismatch stops the run (never a silently different answer). ``predict_step`` then asks
the session for the logits; everything else (the tasks' probabilities or values, the prediction writer,
attribution callbacks, which need the PyTorch model's gradients) is unchanged.

ONNX Runtime runs the network itself faster than eager PyTorch (BENCHMARKS.md, "Inference"), but a whole
``predict`` process was not faster with it: the export and ONNX Runtime's start-up cost what the faster network
saves (BENCHMARKS.md, "predict: eager PyTorch against ONNX Runtime"). So ``--predict_engine auto`` takes eager
PyTorch (:func:`choose_engine`), and this path is there to ask for.
"""

from __future__ import annotations

import contextlib
import io
import tempfile
import time
import warnings
from pathlib import Path

import lightning.pytorch as L
import numpy as np
import torch
from lightning.pytorch.utilities import rank_zero_info

from lightning_spectra.errors import SpectraConfigError, SpectraRunError
from lightning_spectra.export.model_files import EXPORTABLE_SEQUENCES, INPUT_NAME, write_onnx

PREDICT_ENGINES = ("auto", "onnx", "torch")  # the --predict_engine choices


def onnx_obstacle(model: L.LightningModule, device: torch.device) -> str | None:
    """Why ``model`` cannot predict through ONNX Runtime here, or None if it can."""
    if device.type != "cpu":
        return f"the model runs on {device.type} and ONNX Runtime here on the CPU"
    mode = getattr(model, "eval_sequence", "independent")
    if mode not in EXPORTABLE_SEQUENCES:
        return f"eval_sequence {mode!r} cuts a batch into sequences by its size, which one graph cannot follow"
    try:
        import onnxruntime  # noqa: F401 - installed with the package; checked for a trimmed environment
    except ImportError:
        return "onnxruntime is not installed"
    return None


def choose_engine(engine: str, obstacle: str | None) -> str:
    """The engine ``predict`` uses: ``engine``, where ``auto`` is the fastest measured end to end, eager PyTorch
    (benchmarks/predict_engines.py). ``obstacle`` (:func:`onnx_obstacle`) refuses ``onnx`` where it cannot run."""
    if engine not in PREDICT_ENGINES:
        raise SpectraConfigError(f"--predict_engine must be one of {', '.join(PREDICT_ENGINES)}; got {engine!r}")
    if engine == "onnx" and obstacle is not None:
        raise SpectraConfigError(f"--predict_engine onnx: {obstacle}; use --predict_engine torch")
    return "torch" if engine == "auto" else engine


class _Network(torch.nn.Module):
    """The LightningModule's forward as a plain module (the exporter must not touch the trainer it sits in)."""

    def __init__(self, model: L.LightningModule) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def traced_onnx(network: torch.nn.Module, example: torch.Tensor, path: Path) -> None:
    """``network`` by torch's TorchScript-based exporter: a fraction of a second for the CNN at 4023 points,
    against about 7 s for the dynamo exporter (here the export is paid at every ``predict``). Tracing may freeze
    the batch size into a reshape (attention layers), which the check of :class:`OnnxLogits` finds."""
    # Traced with gradients on: under no_grad attention layers take fused kernels this exporter cannot write.
    # Its deprecation notice, and the graph it prints when it fails, are not the user's business.
    with (
        warnings.catch_warnings(),
        contextlib.redirect_stdout(io.StringIO()),
        contextlib.redirect_stderr(io.StringIO()),
    ):
        warnings.simplefilter("ignore")
        torch.onnx.export(
            network,
            (example,),
            str(path),
            input_names=[INPUT_NAME],
            output_names=["logits"],
            dynamic_axes={INPUT_NAME: {0: "batch"}, "logits": {0: "batch"}},
            dynamo=False,
        )


def dynamo_onnx(network: torch.nn.Module, example: torch.Tensor, path: Path) -> None:
    """``network`` by the dynamo exporter, as ``lightning-spectra-export`` writes models (slower, more general)."""
    write_onnx(network, example, path, {}, output_name="logits")


EXPORTERS = (traced_onnx, dynamo_onnx)  # tried in this order; the first whose file gives the model's logits wins


class OnnxLogits:
    """The network exported to ONNX, on ONNX Runtime's CPU provider: ``(N, L)`` tensor in, logits tensor out.

    Each exporter's file is checked on another batch size than it was exported with (the batch axis must be
    dynamic) against the PyTorch model; none that passes is an error, never a different answer."""

    def __init__(self, model: L.LightningModule, folder: Path) -> None:
        self.input_name = INPUT_NAME
        length = int(model.spectrum_length)
        network = _Network(model).eval()
        check = torch.randn(5, length)  # standardised spectra: what the datamodule hands the model
        with torch.no_grad():
            expected = network(check).numpy()
        failures = []
        for export in EXPORTERS:
            path = folder / f"network_{export.__name__}.onnx"
            try:
                export(network, torch.randn(3, length), path)
                self.session = self._session(path)
                got = self(check).numpy()
            except Exception as err:  # noqa: BLE001 - an exporter that cannot write or run this model: the next
                failures.append(f"{export.__name__}: {str(err).splitlines()[0][:200] if str(err) else type(err)}")
                continue
            if got.shape == expected.shape and np.allclose(got, expected, rtol=1e-4, atol=1e-5):
                self.exporter = export.__name__  # which one wrote the file in use
                return
            failures.append(f"{export.__name__}: largest difference {np.abs(got - expected).max():.2e}")
        raise SpectraRunError(
            f"the ONNX export of {type(model).__name__} gives other logits than the model ({'; '.join(failures)}); "
            "use --predict_engine torch"
        )

    @staticmethod
    def _session(path: Path):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()  # the same cores torch would use
        options.log_severity_level = 4  # a file that fails its check is an error line of ours, not a red log
        return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        spectra = x.detach().to(torch.float32).cpu().numpy()
        return torch.from_numpy(self.session.run(None, {self.input_name: spectra})[0])


class OnnxPredictions(L.Callback):
    """Route ``predict_step``'s network pass through ONNX Runtime for one ``predict`` (see the module's text)."""

    def __init__(self) -> None:
        self._folder: tempfile.TemporaryDirectory | None = None

    def on_predict_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        started = time.perf_counter()
        self._folder = tempfile.TemporaryDirectory(prefix="lightning-spectra-predict-")
        pl_module.predict_logits = OnnxLogits(pl_module, Path(self._folder.name))
        rank_zero_info(f"predict: the network runs on ONNX Runtime (exported in {time.perf_counter() - started:.1f} s)")

    def on_predict_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        pl_module.predict_logits = None
        if self._folder is not None:
            self._folder.cleanup()
            self._folder = None
