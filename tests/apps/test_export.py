"""``lightning-spectra-export``: one file that takes raw spectra and answers as the Python path does."""

from __future__ import annotations

import csv
import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import ROOT, fit_files_tiny
from scipy.signal import savgol_filter
from spectra_tables import peak_spectra, write_table

from lightning_spectra import __version__
from lightning_spectra.apps.export import main
from lightning_spectra.apps.watch import load_classifier
from lightning_spectra.cli import main as train_main
from lightning_spectra.data.formats import read_spectra
from lightning_spectra.data.preprocess import Preprocessing
from lightning_spectra.data.savitzky_golay import SavitzkyGolay
from lightning_spectra.errors import SpectraConfigError, SpectraRunError
from lightning_spectra.export import model_files as export
from lightning_spectra.export.model_files import (
    RawSpectraModel,
    check_exportable,
    export_checkpoint,
    read_metadata,
    run_onnx,
    run_torchscript,
    write_onnx,
)
from lightning_spectra.models import FCNN1D, BinnedFCNN, LSTMClassifier


def fit(tmp_path_factory: pytest.TempPathFactory, train: Path, *options: str, **preprocessing: str) -> Path:
    """The run folder of a tiny fit on ``train`` with ``options`` and ``preprocessing`` settings (a few seconds)."""
    steps = [arg for key, value in preprocessing.items() for arg in (f"--data.init_args.preprocessing.{key}", value)]
    return fit_files_tiny(tmp_path_factory, train, "--data.init_args.linear_baseline", "false", *options, *steps)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("export_data")


@pytest.fixture(scope="module")
def raw_file(data: Path) -> Path:
    """New, unlabelled raw spectra on the training axis, in a table."""
    x, spectra, _ = peak_spectra(9, seed=21, jitter=0.5)
    return write_table(data / "new.csv", x, spectra, None)


@pytest.fixture(scope="module")
def classifier(tmp_path_factory: pytest.TempPathFactory, data: Path) -> Path:
    """Every in-graph step at once: Savitzky-Golay derivative, SNV, per-point scaling."""
    train = write_table(data / "train.csv", *peak_spectra(60, seed=3))
    run = fit(tmp_path_factory, train, smoothing_window="7", derivative="1", normalization="snv", scaling="standard")
    return run / "checkpoints" / "last.ckpt"


def raw(path: Path) -> tuple[np.ndarray, np.ndarray]:
    source = read_spectra(path, labels_required=False, progress=False)
    return source.x, source.spectra


def python_path(ckpt: Path, path: Path) -> np.ndarray:
    """Probabilities or values as ``watch`` computes them: the model after the checkpoint's preprocessing."""
    model, preprocessing = load_classifier(ckpt)
    x, spectra = raw(path)
    with torch.no_grad():
        outputs = model(torch.as_tensor(preprocessing(x, spectra), dtype=torch.float32))
        return model.task.exported(outputs).numpy()


# ---------------------------------------------------------------------------------------------- the graph's steps
@pytest.mark.parametrize(
    ("window", "order", "deriv", "length"), [(7, 2, 1, 50), (8, 3, 0, 50), (5, 2, 2, 5), (6, 2, 1, 6)]
)
def test_savitzky_golay_equals_scipy_interp_mode(window: int, order: int, deriv: int, length: int) -> None:
    x = np.random.default_rng(0).normal(size=(4, length)).cumsum(axis=1)
    got = SavitzkyGolay(window, order, deriv, length)(torch.tensor(x, dtype=torch.float32))
    np.testing.assert_allclose(got.numpy(), savgol_filter(x, window, order, deriv=deriv, axis=1), atol=1e-4)


@pytest.mark.parametrize("normalization", ["none", "max", "area", "snv"])
def test_normalisation_equals_the_datamodule_on_a_descending_uneven_axis(normalization: str) -> None:
    axis = 4000 - np.cumsum(np.linspace(1, 3, 50))  # IR wavenumbers run downwards, unevenly here
    spectra = np.random.default_rng(1).uniform(0, 2, (3, 50))
    spectra[2] = 0.0  # an all-zero spectrum stays zero rather than NaN
    steps = Preprocessing(normalization=normalization)
    module = RawSpectraModel(FCNN1D(spectrum_length=50, x_axis=axis.tolist()).eval(), steps)
    got = module.preprocess(torch.tensor(spectra, dtype=torch.float32))
    np.testing.assert_allclose(got.numpy(), steps(axis, spectra), rtol=1e-5, atol=1e-6)


def test_a_binned_fcnn_exports_with_a_dynamic_batch(tmp_path: Path) -> None:
    model = BinnedFCNN(spectrum_length=30, bins=3, hidden=4).eval()
    module = RawSpectraModel(model, Preprocessing()).eval()
    write_onnx(module, torch.rand(3, 30), tmp_path / "binned.onnx", {})
    spectra = torch.rand(5, 30)
    with torch.no_grad():
        np.testing.assert_allclose(run_onnx(tmp_path / "binned.onnx", spectra.numpy()), module(spectra), atol=1e-5)


def test_a_sequence_model_cut_by_batch_size_is_refused() -> None:
    model = LSTMClassifier(spectrum_length=20, eval_sequence="strided")
    with pytest.raises(SpectraConfigError, match=r"m\.ckpt: eval_sequence 'strided' cuts a batch into sequences"):
        check_exportable(model, Preprocessing(), Path("m.ckpt"), baseline_outside=False)


# ---------------------------------------------------------------------------------------------- whole exports
def test_onnx_takes_raw_spectra_and_answers_as_the_python_path(
    classifier: Path, raw_file: Path, tmp_path: Path
) -> None:
    out = export_checkpoint(classifier, tmp_path / "model.onnx")
    x, spectra = raw(raw_file)
    expected = python_path(classifier, raw_file)
    np.testing.assert_allclose(run_onnx(out, spectra), expected, atol=1e-4)
    np.testing.assert_allclose(run_onnx(out, spectra[:1]), expected[:1], atol=1e-4)  # the batch size is free
    meta = read_metadata(out)
    assert json.loads(meta["class_names"]) == ["alpha", "beta", "gamma"]
    assert meta["lightning_spectra_version"] == __version__ and meta["prestep"] == "none"
    np.testing.assert_allclose(json.loads(meta["x_axis"]), x, atol=1e-4)
    steps = json.loads(meta["preprocessing"])
    assert (steps["smoothing_window"], steps["derivative"], steps["normalization"], steps["scaling"]) == (
        7,
        1,
        "snv",
        "standard",
    )


def test_torchscript_takes_raw_spectra_and_answers_as_the_python_path(
    classifier: Path, raw_file: Path, tmp_path: Path
) -> None:
    out = export_checkpoint(classifier, tmp_path / "model.pt", format="torchscript")
    _, spectra = raw(raw_file)
    np.testing.assert_allclose(run_torchscript(out, spectra), python_path(classifier, raw_file), atol=1e-4)
    assert json.loads(read_metadata(out)["class_names"]) == ["alpha", "beta", "gamma"]


def predicted_by_predict(ckpt: Path, raw_file: Path, logs: Path) -> np.ndarray:
    """The probabilities ``train.py predict`` writes for ``raw_file`` with the checkpoint's own run config."""
    train_main(
        [
            "predict",
            "--config",
            str(ckpt.parent.parent / "config.yaml"),
            "--ckpt_path",
            str(ckpt),
            "--data.init_args.predict_path",
            str(raw_file),
            "--trainer.logger.init_args.save_dir",
            str(logs),
            "--trainer.precision",  # the exported graph is float32; bf16 autocast rounds to 1e-3
            "32-true",
        ]
    )
    with open(ckpt.parent.parent / "predict" / "predictions.csv") as f:  # into the run of the checkpoint
        rows = list(csv.DictReader(f))
    return np.array([[float(r[f"p({c})"]) for c in ("alpha", "beta", "gamma")] for r in rows])


def test_onnx_equals_predict_on_the_same_raw_file(
    tmp_path_factory: pytest.TempPathFactory, data: Path, raw_file: Path, tmp_path: Path
) -> None:
    train = write_table(data / "train_area.csv", *peak_spectra(60, seed=4))
    run = fit(tmp_path_factory, train, smoothing_window="8", derivative="0", normalization="area", scaling="none")
    ckpt = run / "checkpoints" / "last.ckpt"
    out = export_checkpoint(ckpt)
    assert out == ckpt.with_suffix(".onnx")
    predicted = predicted_by_predict(ckpt, raw_file, tmp_path / "logs")
    np.testing.assert_allclose(run_onnx(out, raw(raw_file)[1]), predicted, atol=1e-4)


def test_onnx_with_every_step_equals_predict_on_the_same_raw_file(
    classifier: Path, raw_file: Path, tmp_path: Path
) -> None:
    """Savitzky-Golay derivative, SNV and the per-point scaling saved in the checkpoint: one answer on one file."""
    out = export_checkpoint(classifier, tmp_path / "every_step.onnx")
    predicted = predicted_by_predict(classifier, raw_file, tmp_path / "logs")
    np.testing.assert_allclose(run_onnx(out, raw(raw_file)[1]), predicted, atol=1e-4)


def test_a_regressor_exports_values_in_the_targets_units(
    tmp_path_factory: pytest.TempPathFactory, data: Path, tmp_path: Path
) -> None:
    x, spectra, _ = peak_spectra(60, seed=5)
    heights = 10 + 5 * spectra.max(axis=1)  # a target in its own units, far from 0 and 1
    train = write_table(data / "train_regression.csv", x, spectra, [f"{h:.4f}" for h in heights])
    run = fit(
        tmp_path_factory,
        train,
        "--data.init_args.task",
        "regression",
        smoothing_window="5",
        derivative="2",
        normalization="max",
    )
    ckpt = run / "checkpoints" / "last.ckpt"
    new = write_table(tmp_path / "new.csv", *peak_spectra(6, seed=6)[:2], None)
    out = export_checkpoint(ckpt, tmp_path / "regressor.onnx")
    expected = python_path(ckpt, new)
    assert expected.shape == (6, 1) and float(expected.mean()) > 5  # in the targets' units, not standardised
    np.testing.assert_allclose(run_onnx(out, raw(new)[1]), expected, atol=1e-4)
    meta = read_metadata(out)
    assert meta["task"] == "regression" and json.loads(meta["target_names"]) == ["target"]


# ---------------------------------------------------------------------------------------------- bad input
def with_baseline(ckpt: Path, out: Path) -> Path:
    """A copy of ``ckpt`` whose datamodule removed ALS baselines (as if trained with ``baseline: asls``)."""
    state = torch.load(ckpt, map_location="cpu", weights_only=True)
    state["datamodule_hyper_parameters"]["preprocessing"].update(baseline="asls", baseline_lam=1e4)
    torch.save(state, out)
    return out


def test_a_baseline_removing_checkpoint_is_refused_naming_the_prestep(
    classifier: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    ckpt = with_baseline(classifier, tmp_path / "asls.ckpt")
    with pytest.raises(SystemExit) as exit_info:
        main(["--ckpt_path", str(ckpt)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert (
        len(err.splitlines()) == 1 and "asls.ckpt: the model was trained on spectra with their baseline removed" in err
    )
    assert "--baseline_outside" in err and "lightning_spectra.apps.export.prestep(x, spectra, baseline_lam=10000" in err
    assert not (tmp_path / "asls.onnx").exists()


def test_the_prestep_then_the_exported_model_answers_as_the_python_path(
    classifier: Path, raw_file: Path, tmp_path: Path
) -> None:
    from lightning_spectra.apps.export import prestep  # the path the error and the metadata name

    ckpt = with_baseline(classifier, tmp_path / "asls.ckpt")
    out = export_checkpoint(ckpt, tmp_path / "asls.pt", format="torchscript", baseline_outside=True)
    prestep_line = read_metadata(out)["prestep"]
    assert prestep_line.startswith("lightning_spectra.apps.export.prestep(x, spectra, baseline_lam=10000,")
    x, spectra = raw(raw_file)
    got = run_torchscript(out, prestep(x, spectra, baseline_lam=1e4))
    np.testing.assert_allclose(got, python_path(ckpt, raw_file), atol=1e-4)


def test_a_missing_checkpoint_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--ckpt_path", str(tmp_path / "none.ckpt")])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.strip() == f"error: {tmp_path / 'none.ckpt'}: no such checkpoint file"


# ---------------------------------------------------------------------------------------------- the benchmark
@pytest.mark.slow  # 40 s of subprocesses: the benchmark script, not the package (make test-slow)
def test_inference_benchmark_times_each_arm_in_its_own_process(tmp_path: Path) -> None:
    # torch.compile is left out here only for time (minutes of compilation on a small shared CPU).
    command = [sys.executable, str(ROOT / "benchmarks/inference.py"), "--models", "cnn", "--batches", "4"]
    command += ["--iterations", "3", "--length", "512", "--engines", "eager,onnx", "--threads", "1", "--rounds", "2"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run([*command, "--output", str(tmp_path / "inference")], check=True, env=env, capture_output=True)
    result = json.loads((tmp_path / "inference.json").read_text())
    arms = {(a["engine"], a["batch"]): a for a in result["arms"]}
    assert sorted(arms) == [("eager", 4), ("onnx", 4)]
    for arm in arms.values():
        assert arm["timed_calls"] >= 6 and len(arm["setup_s"]) == 2  # two rounds, each in a fresh process
        assert 0 < arm["p50_ms"] <= arm["p99_ms"] and arm["spectra_per_s"] > 0
    assert result["machine"]["onnxruntime"] and result["machine"]["cpu"]
    table = (tmp_path / "inference.md").read_text()
    assert "| cnn | onnx | 4 |" in table and "torch " in table


def test_an_export_that_answers_otherwise_is_an_error_and_no_file(
    classifier: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write, run = export.WRITERS["torchscript"]
    monkeypatch.setitem(export.WRITERS, "torchscript", (write, lambda path, spectra: run(path, spectra) + 0.01))
    with pytest.raises(SpectraRunError, match=r"model\.pt: the exported model's outputs differ from the checkpoint's"):
        export_checkpoint(classifier, tmp_path / "model.pt", format="torchscript")
    assert not (tmp_path / "model.pt").exists()


# ---------------------------------------------------------------------------------------------- spectral ranges
@pytest.fixture(scope="module")
def ranged(tmp_path_factory: pytest.TempPathFactory, data: Path) -> Path:
    """Trained on two kept windows less a dropped band, with a derivative, SNV and per-point scaling."""
    train = write_table(data / "train_ranges.csv", *peak_spectra(60, seed=5))
    ranges = (
        "--data.init_args.ranges.keep",
        "[[450, 650], [700, 760]]",
        "--data.init_args.ranges.drop",
        "[[500, 520]]",
    )
    run = fit(tmp_path_factory, train, *ranges, smoothing_window="7", derivative="1", normalization="snv")
    return run / "checkpoints" / "last.ckpt"


def test_a_model_trained_on_ranges_exports_a_graph_taking_raw_full_axis_spectra_as_predict_does(
    ranged: Path, raw_file: Path, tmp_path: Path
) -> None:
    out = export_checkpoint(ranged, tmp_path / "ranges.onnx")
    x, spectra = raw(raw_file)
    assert spectra.shape[1] == 240
    predicted = predicted_by_predict(ranged, raw_file, tmp_path / "logs")
    np.testing.assert_allclose(run_onnx(out, spectra), predicted, atol=1e-4)
    meta = read_metadata(out)
    np.testing.assert_allclose(json.loads(meta["x_axis"]), x, atol=1e-4)  # the input's axis: the raw one
    chosen = json.loads(meta["ranges_points"])
    kept = ((x >= 450) & (x <= 650)) | ((x >= 700) & (x <= 760))
    assert chosen == np.flatnonzero(kept & ~((x >= 500) & (x <= 520))).tolist()
    np.testing.assert_allclose(json.loads(meta["model_x_axis"]), x[chosen], atol=1e-4)
    assert meta["in_graph"].startswith(f"ranges: gather {len(chosen)} of 240 points -> savgol")


def test_a_torchscript_export_of_a_ranged_model_answers_as_the_python_path(
    ranged: Path, raw_file: Path, tmp_path: Path
) -> None:
    out = export_checkpoint(ranged, tmp_path / "ranges.pt", format="torchscript")
    np.testing.assert_allclose(run_torchscript(out, raw(raw_file)[1]), python_path(ranged, raw_file), atol=1e-4)


# ---------------------------------------------------------------------------------------------- never onto an input
def test_an_output_that_is_the_checkpoint_is_refused_and_the_checkpoint_kept(
    classifier: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """``--output`` equal to ``--ckpt_path``, or a checkpoint named ``model.pt`` exported as TorchScript to the
    default name: one line, exit 2, the checkpoint byte for byte as it was (issue 35)."""
    named = tmp_path / "model.pt"
    named.write_bytes(classifier.read_bytes())
    for args in (
        ["--ckpt_path", str(named), "--format", "torchscript"],
        ["--ckpt_path", str(named), "--output", str(named)],
        ["--ckpt_path", str(named), "--output", str(tmp_path / "." / "model.pt")],
    ):
        with pytest.raises(SystemExit) as exit_info:
            main(args)
        assert exit_info.value.code == 2
        assert capsys.readouterr().err.strip() == (
            f"error: {Path(args[-1]) if '--output' in args else named}: is the checkpoint being exported "
            "(--ckpt_path); writing there would replace it. Give another --output"
        )
        assert named.read_bytes() == classifier.read_bytes()


def test_an_output_folder_is_one_line(classifier: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--ckpt_path", str(classifier), "--output", str(tmp_path)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: --output {tmp_path}: is a folder; give a file name") and "\n" not in err


def test_a_read_only_folder_or_a_full_disk_leaves_no_cut_file(
    classifier: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """Written under a temporary name and renamed once checked: nothing is left but one line (issue 35)."""
    from faults import read_only

    with pytest.MonkeyPatch.context() as patched:
        folder = read_only(tmp_path / "ro", patched)
        with pytest.raises(SystemExit) as exit_info:
            main(["--ckpt_path", str(classifier), "--output", str(folder / "model.pt"), "--format", "torchscript"])
        assert exit_info.value.code == 2
        assert capsys.readouterr().err.strip() == (
            f"error: --output {folder / 'model.pt'}: cannot write there (Permission denied)"
        )
        assert list(folder.iterdir()) == []
    write, run = export.WRITERS["torchscript"]

    def fills_the_disk(module, example, out: Path, meta) -> None:  # torch.jit.save writes from C++: cut it here
        write(module, example, out, meta)
        with open(out, "r+b") as f:
            f.truncate(out.stat().st_size // 2)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(out))

    monkeypatch.setitem(export.WRITERS, "torchscript", (fills_the_disk, run))
    full = tmp_path / "full"
    full.mkdir()
    with pytest.raises(SystemExit) as exit_info:
        main(["--ckpt_path", str(classifier), "--output", str(full / "model.pt"), "--format", "torchscript"])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err.strip()
    assert err == f"error: {full / 'model.pt'}: No space left on device; nothing written"
    assert list(full.iterdir()) == []
