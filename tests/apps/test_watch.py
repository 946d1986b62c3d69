"""``python -m lightning_spectra.apps.watch``: new files classified as ``predict`` would, one line each."""

from __future__ import annotations

import errno
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import fit_files_tiny, write_xy
from spectra_tables import peak_spectra, write_table

import lightning_spectra.apps.watch as watch_module
from lightning_spectra.apps.watch import (
    OnnxClassifier,
    Prediction,
    TorchClassifier,
    classify_files,
    escaped,
    load_classifier,
    main,
    open_classifier,
    preprocessing_for,
    watch,
)
from lightning_spectra.data import SpectraFilesDataModule
from lightning_spectra.data.options import PreprocessingOptions
from lightning_spectra.data.preprocess import Preprocessing
from lightning_spectra.errors import SpectraRunError


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("watch_data")
    train = write_table(data / "train.csv", *peak_spectra(60, seed=3))
    run = fit_files_tiny(tmp_path_factory, train, "--data.init_args.preprocessing.smoothing_window", "7", epochs=5)
    return run / "checkpoints" / "last.ckpt"


def write_scans(folder: Path, count: int, start: int = 1, seed: int = 11) -> list[str]:
    folder.mkdir(exist_ok=True)
    x, spectra, labels = peak_spectra(count, seed=seed, jitter=0.3)
    for i, spectrum in enumerate(spectra):
        write_xy(folder / f"scan_{start + i}.xy", x, spectrum)
    return labels


def test_once_prints_one_line_per_file_like_predict(
    checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    write_scans(tmp_path, 4)
    main(["--ckpt_path", str(checkpoint), "--folder", str(tmp_path), "--once"])
    lines = [line.split("\t") for line in capsys.readouterr().out.splitlines() if not line.startswith("#")]
    assert [line[0] for line in lines] == [f"scan_{i}.xy" for i in range(1, 5)]

    # The same spectra through the training datamodule (same preprocessing, from the checkpoint) and model.
    hparams = torch.load(checkpoint, map_location="cpu", weights_only=True)["datamodule_hyper_parameters"]
    kept = {k: v for k, v in hparams.items() if not k.startswith("_")}
    dm = SpectraFilesDataModule(**{**kept, "predict_path": str(tmp_path)})
    model, _ = load_classifier(checkpoint)
    with torch.no_grad():
        p = model.probabilities(model(dm.splits.predict.spectra))
    assert [line[1] for line in lines] == [model.class_names[k] for k in p.argmax(dim=1).tolist()]
    np.testing.assert_allclose([float(line[2]) for line in lines], p.max(dim=1).values.numpy(), atol=1e-4)


def test_files_appearing_later_are_classified_once(checkpoint: Path, tmp_path: Path) -> None:
    classifier = open_classifier(checkpoint, engine="torch")
    write_scans(tmp_path, 2)
    writer = threading.Timer(0.3, write_scans, (tmp_path, 3, 3, 12))
    writer.start()
    lines: list[str] = []
    made = watch(tmp_path, classifier, interval=0.05, timeout=1.5, new_only=True, emit=lines.append, settle=0.1)
    writer.join()
    assert [p.name for p in made] == ["scan_3.xy", "scan_4.xy", "scan_5.xy"]
    assert all(p.class_name in classifier.class_names for p in made)
    assert sum(not line.startswith("#") for line in lines) == 3


def test_a_bad_file_gets_an_error_line_and_watching_goes_on(checkpoint: Path, tmp_path: Path) -> None:
    classifier = open_classifier(checkpoint, engine="torch")
    write_scans(tmp_path, 1)
    write_xy(tmp_path / "short.xy", np.arange(50.0), np.ones(50))
    (tmp_path / "broken.xy").write_text("1 2\n3 oops\n")
    made = classify_files(classifier, sorted(tmp_path.glob("*.xy")))
    errors = {p.name: p.error for p in made if p.error}
    assert errors["short.xy"] == "has 50 points but the model expects 240"
    assert "broken.xy, line 2: expected two numbers" in errors["broken.xy"]
    assert [p.name for p in made if p.error is None] == ["scan_1.xy"]


def test_missing_folder_exits_with_code_2(checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--ckpt_path", str(checkpoint), "--folder", str(tmp_path / "nowhere"), "--once"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.strip() == f"error: {tmp_path / 'nowhere'}: folder does not exist"


def test_preprocessing_from_saved_hyperparameters() -> None:
    files = {
        "_class_path": "lightning_spectra.data.SpectraFilesDataModule",
        "preprocessing": {"normalization": "area", "smoothing_window": 5},
        "train_path": "t.csv",
    }
    expected = PreprocessingOptions(normalization="area", smoothing_window=5).steps
    assert preprocessing_for(files) == expected
    flat = {"_class_path": files["_class_path"], "normalization": "area", "smoothing_window": 5}  # an earlier release
    assert preprocessing_for(flat) == expected
    hed = {
        "_class_path": "lightning_spectra.data.HEDDataModule",
        "baseline_lam": 1e4,
        "baseline_p": 0.01,
        "baseline_iterations": 10,
    }
    assert preprocessing_for(hed) == Preprocessing(baseline="asls", baseline_lam=1e4, baseline_p=0.01)


def test_timeout_returns_without_new_files(checkpoint: Path, tmp_path: Path) -> None:
    classifier = open_classifier(checkpoint, engine="torch")
    start = time.monotonic()
    assert watch(tmp_path, classifier, interval=0.05, timeout=0.2, emit=lambda line: None) == []
    assert time.monotonic() - start < 2


def _write_in_two_parts(path: Path, pause: float) -> threading.Thread:
    """A detector writing ``path`` in two parts with a pause between them (started in a thread)."""
    x, spectra, _ = peak_spectra(1, seed=5)
    lines = "".join(f"{a:.6f} {b:.6f}\n" for a, b in zip(x, spectra[0], strict=True)).splitlines(keepends=True)
    half = len(lines) // 2

    def write() -> None:
        with open(path, "w") as f:
            f.writelines(lines[:half])
            f.flush()
            time.sleep(pause)
            f.writelines(lines[half:])

    thread = threading.Thread(target=write)
    thread.start()
    return thread


def test_a_file_written_with_pauses_is_classified_once_complete(checkpoint: Path, tmp_path: Path) -> None:
    """A file written in two parts is read once it has settled, and classified."""
    classifier = open_classifier(checkpoint, engine="torch")
    writer = _write_in_two_parts(tmp_path / "scan_1.xy", pause=0.4)
    made = watch(tmp_path, classifier, interval=0.05, timeout=2.0, emit=lambda line: None, settle=0.8)
    writer.join()
    assert [(p.name, p.error) for p in made] == [("scan_1.xy", None)]  # waited for it to settle: read once

    (tmp_path / "later").mkdir()
    writer = _write_in_two_parts(tmp_path / "later" / "scan_2.xy", pause=0.6)  # longer than the settle time
    made = watch(tmp_path / "later", classifier, interval=0.05, timeout=2.0, emit=lambda line: None, settle=0.2)
    writer.join()
    assert [p.name for p in made] == ["scan_2.xy", "scan_2.xy"]
    assert made[0].error is not None and made[1].error is None  # the half file failed; the whole one is read


def test_a_file_on_another_x_axis_is_refused(checkpoint: Path, tmp_path: Path) -> None:
    """A spectrum on another x axis than the model's gets an error line, not a class."""
    classifier = open_classifier(checkpoint, engine="torch")
    x, spectra, _ = peak_spectra(1, seed=5)
    write_xy(tmp_path / "shifted.xy", x + 50.0, spectra[0])
    [made] = classify_files(classifier, [tmp_path / "shifted.xy"])
    assert made.class_name is None and made.error.startswith("x axis differs from the model's: point 0 is at 450")


def test_a_file_vanishing_before_it_is_read_is_skipped(
    checkpoint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file deleted between listing and reading is skipped; the watcher goes on."""
    classifier = open_classifier(checkpoint, engine="torch")
    write_scans(tmp_path, 1)
    listed = [tmp_path / "gone.xy", tmp_path / "scan_1.xy"]
    monkeypatch.setattr("lightning_spectra.apps.watch._folder_files", lambda folder, first: listed)
    made = watch(tmp_path, classifier, once=True, emit=lambda line: None)
    assert [p.name for p in made] == ["scan_1.xy"]


def test_a_damaged_checkpoint_exits_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "bad.ckpt").write_bytes(b"PK\x03\x04 not really a checkpoint")
    with pytest.raises(SystemExit) as exit_info:
        main(["--ckpt_path", str(tmp_path / "bad.ckpt"), "--folder", str(tmp_path), "--once"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.strip().startswith(f"error: {tmp_path / 'bad.ckpt'}: not a readable checkpoint")


def _unreadable_until_released(path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """Make ``path`` unreadable (mode 000; as root, which reads any mode, its opening fails as it would);
    returns what makes it readable again. Neither changes its size or modification time."""
    mtime_ns = path.stat().st_mtime_ns
    if os.geteuid() != 0:
        path.chmod(0)
        return lambda: path.chmod(0o644)
    locked = [True]
    real_open = Path.open

    def guarded_open(self: Path, *args, **kwargs):
        if locked[0] and self == path:
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", guarded_open)
    assert path.stat().st_mtime_ns == mtime_ns
    return lambda: locked.__setitem__(0, False)


def test_a_file_unreadable_when_first_seen_is_classified_once_readable(
    checkpoint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Permissions fixed after the first look leave size and time alone: the file is tried again each poll, its
    error line told once, and its prediction made once it can be read."""
    classifier = open_classifier(checkpoint, engine="torch")
    write_scans(tmp_path, 1)
    release = _unreadable_until_released(tmp_path / "scan_1.xy", monkeypatch)
    fixer = threading.Timer(0.5, release)  # ten polls or so after the first failed read
    fixer.start()
    lines: list[str] = []
    made = watch(tmp_path, classifier, interval=0.05, timeout=1.5, emit=lines.append, settle=0)
    fixer.join()
    assert [(p.name, p.error is None) for p in made] == [("scan_1.xy", False), ("scan_1.xy", True)]
    assert "cannot read file (Permission denied)" in made[0].error
    assert [line.split("\t")[0] for line in lines] == ["scan_1.xy", "scan_1.xy"]  # one error line, one prediction


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--interval", "-1"], "error: --interval must be a finite number of seconds above 0, got -1"),
        (["--interval", "0"], "error: --interval must be a finite number of seconds above 0, got 0"),
        (["--interval", "inf"], "error: --interval must be a finite number of seconds above 0, got inf"),
        (["--interval", "nan"], "error: --interval must be a finite number of seconds above 0, got nan"),
        (["--settle", "-0.5"], "error: --settle must be a finite number of seconds, 0 or more, got -0.5"),
        (["--settle", "inf"], "error: --settle must be a finite number of seconds, 0 or more, got inf"),
        (["--timeout", "nan"], "error: --timeout must be 0 or more seconds, got nan"),
        (["--device", "cuda"], "error: --device cuda: this machine has no such device; use --device cpu"),
        (["--device", "gpu0"], "error: --device 'gpu0' is not a torch device (cpu, cuda, cuda:1, mps)"),
    ],
)
def test_nonsense_options_are_one_line_before_the_checkpoint_is_read(
    options: list[str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # as on a machine without CUDA
    with pytest.raises(SystemExit) as exit_info:
        main(["--ckpt_path", str(tmp_path / "never-read.ckpt"), "--folder", str(tmp_path), "--once", *options])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.strip() == message and "Traceback" not in err


def test_auto_runs_the_exported_model_and_it_classifies_like_pytorch(checkpoint: Path, tmp_path: Path) -> None:
    write_scans(tmp_path / "scans", 6, seed=5)
    files = sorted((tmp_path / "scans").glob("*.xy"))
    exported = open_classifier(checkpoint, folder=tmp_path / "onnx")
    assert isinstance(exported, OnnxClassifier) and (tmp_path / "onnx" / "model.onnx").is_file()
    eager = open_classifier(checkpoint, engine="torch")
    assert isinstance(eager, TorchClassifier)
    got, expected = classify_files(exported, files), classify_files(eager, files)
    assert [p.class_name for p in got] == [p.class_name for p in expected]
    np.testing.assert_allclose([p.probability for p in got], [p.probability for p in expected], atol=1e-4)


def test_a_checkpoint_that_cannot_be_exported_runs_in_pytorch_or_is_refused_for_onnx(
    checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    state["datamodule_hyper_parameters"].update(baseline="asls", baseline_lam=1e4)  # ALS: not in a graph
    asls = tmp_path / "asls.ckpt"
    torch.save(state, asls)
    assert isinstance(open_classifier(asls, engine="auto"), TorchClassifier)
    with pytest.raises(SystemExit) as exit_info:
        main(["--ckpt_path", str(asls), "--folder", str(tmp_path), "--once", "--engine", "onnx"])
    err = capsys.readouterr().err.strip()
    assert exit_info.value.code == 2 and len(err.splitlines()) == 1
    assert "--engine onnx: baseline removal (ALS) cannot be inside an exported graph; use --engine torch" in err


def test_watch_cuts_files_of_the_full_raw_axis_to_the_models_ranges(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """Every engine takes .xy files on the training data's raw axis and classifies them as the training datamodule
    would the same spectra (ranges, then preprocessing, both from the checkpoint)."""
    train = write_table(tmp_path_factory.mktemp("watch_ranges") / "train.csv", *peak_spectra(60, seed=3))
    options = ("--data.init_args.ranges.keep", "[[450, 650]]", "--data.init_args.ranges.drop", "[[500, 520]]")
    ckpt = fit_files_tiny(tmp_path_factory, train, *options) / "checkpoints" / "last.ckpt"
    write_scans(tmp_path, 4)
    hparams = torch.load(ckpt, map_location="cpu", weights_only=True)["datamodule_hyper_parameters"]
    kept = {k: v for k, v in hparams.items() if not k.startswith("_")}
    dm = SpectraFilesDataModule(**{**kept, "predict_path": str(tmp_path)})
    model, _ = load_classifier(ckpt)
    with torch.no_grad():
        expected = model.probabilities(model(dm.splits.predict.spectra)).max(dim=1).values.numpy()
    assert dm.splits.predict.spectra.shape[1] == model.spectrum_length < 240
    capsys.readouterr()  # the fit's summary
    for engine in ("torch", "onnx"):
        main(["--ckpt_path", str(ckpt), "--folder", str(tmp_path), "--once", "--engine", engine])
        lines = [line.split("\t") for line in capsys.readouterr().out.splitlines() if not line.startswith("#")]
        assert [line[0] for line in lines] == [f"scan_{i}.xy" for i in range(1, 5)]
        np.testing.assert_allclose([float(line[2]) for line in lines], expected, atol=1e-4)


def test_names_with_tabs_newlines_or_escape_sequences_cannot_forge_lines_or_reach_the_terminal(
    checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """Each file gives exactly one line of three fields (or two, for an error), whatever its name holds; the
    names come back escaped, and no control character reaches the output."""
    x, spectra, _ = peak_spectra(2, seed=5)
    forged = "scan_1.xy\tforged\t1.0000\n# state change: a -> b at scan_2.xy"
    names = [forged, "\x1b[2J\x1b]0;owned\x07scan.xy", "back\\slash.xy"]
    for name, spectrum in zip(names, [spectra[0], spectra[1], spectra[0]], strict=True):
        write_xy(tmp_path / name, x, spectrum)
    (tmp_path / "bad\tfile\n.xy").write_text("1 2\n3 oops\n")  # an error line, its message naming the file
    (tmp_path / "notes\n# state change: x -> y.md").write_text("a,b\n")  # a skipped line
    main(["--ckpt_path", str(checkpoint), "--folder", str(tmp_path), "--once", "--engine", "torch"])
    out = capsys.readouterr().out
    assert all(c.isprintable() for c in out.replace("\t", "").replace("\n", ""))
    lines = out.splitlines()
    predictions = [line.split("\t") for line in lines if not line.startswith("#")]
    assert sorted(p[0] for p in predictions) == sorted([*map(escaped, names), "bad\\tfile\\n.xy"])
    assert all(len(p) == (2 if p[1].startswith("error: ") else 3) for p in predictions)
    errors = {p[0]: p[1] for p in predictions if len(p) == 2}
    assert (
        len(predictions) == 4
        and list(errors) == ["bad\\tfile\\n.xy"]
        and "bad\\tfile\\n.xy" in errors["bad\\tfile\\n.xy"]
    )
    assert [line for line in lines if line.startswith("# skipped")] == [
        "# skipped notes\\n# state change: x -> y.md: not a spectrum file watch reads (.xy, .dat, .txt, .csv, "
        ".tsv, .tab, .npz, .ts; vendor files .spc, .jdx, .dx, .jcamp, .wdf, OPUS .0, .1, ...)"
    ]
    assert len(lines) == 5 + sum(line.startswith("# state change: ") for line in lines)  # one line each
    assert escaped("a\\b\u202e\udcff") == "a\\\\b\\u202e\\udcff"  # format characters, undecodable bytes


def test_another_file_in_the_folder_is_one_skipped_line_each(checkpoint: Path, tmp_path: Path) -> None:
    """A file watch does not read is named once with the reason, however many polls see it; a hidden file (an
    editor's, the file system's) is passed over in silence; with --new_only, files there at the start too. A
    malformed table is read (and refused) like any spectrum file: one error line, however many polls."""
    write_scans(tmp_path, 1)
    (tmp_path / "train.csv").write_text("a,b\n")
    (tmp_path / "notes.md").write_text("hello\n")
    (tmp_path / ".DS_Store").write_bytes(b"\0")
    classifier = open_classifier(checkpoint, engine="torch")
    lines: list[str] = []
    watch(tmp_path, classifier, interval=0.05, timeout=0.3, emit=lines.append, settle=0)
    assert [line for line in lines if line.startswith("# skipped")] == [
        "# skipped notes.md: not a spectrum file watch reads (.xy, .dat, .txt, .csv, .tsv, .tab, .npz, .ts; vendor "
        "files .spc, .jdx, .dx, .jcamp, .wdf, OPUS .0, .1, ...)",
    ]
    assert [line for line in lines if line.startswith("train.csv")] == [
        f"train.csv\terror: {tmp_path / 'train.csv'}, row 1, column 2: 'b' is not a number"
    ]
    lines.clear()
    watch(tmp_path, classifier, once=True, new_only=True, emit=lines.append)
    assert lines == []


class _SleepRemovingTheFolder:
    """Stands in for the ``time`` module in watch: the first sleep removes the watched folder."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.monotonic = folder, time.monotonic

    def sleep(self, seconds: float) -> None:
        if self.folder.exists():
            for path in self.folder.iterdir():
                path.unlink()
            self.folder.rmdir()
        time.sleep(seconds)


def test_the_watched_folder_removed_while_watching_is_one_line_and_exit_1(
    checkpoint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    folder = tmp_path / "incoming"
    write_scans(folder, 2)
    monkeypatch.setattr(watch_module, "time", _SleepRemovingTheFolder(folder))
    with pytest.raises(SystemExit) as exit_info:
        main(["--ckpt_path", str(checkpoint), "--folder", str(folder), "--engine", "torch", "--settle", "0"])
    captured = capsys.readouterr()
    assert exit_info.value.code == 1 and "Traceback" not in captured.err
    assert (
        captured.err.strip()
        == f"error: {folder}: the watched folder was removed or moved while watching; watching stopped"
    )
    assert [line.split("\t")[0] for line in captured.out.splitlines() if not line.startswith("#")] == [
        "scan_1.xy",
        "scan_2.xy",
    ]  # what it classified before stands
    with pytest.raises(SpectraRunError, match="was removed or moved while watching"):
        write_scans(folder, 1)
        watch(folder, open_classifier(checkpoint, engine="torch"), interval=0.01, timeout=5, emit=lambda line: None)


def test_a_regressors_watch_prints_each_targets_value_in_its_units(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """Issue 35: a regressor's checkpoint failed (KeyError after the ONNX export, TypeError in PyTorch). Both
    engines print each target's value as ``predict`` computes it (classical calibration blended in)."""
    x, spectra, _ = peak_spectra(60, seed=3)
    heights = [f"{10 + 5 * h:.4f}" for h in spectra.max(axis=1)]  # far from 0 and 1: not standardised
    train = write_table(tmp_path_factory.mktemp("watch_regression") / "train.csv", x, spectra, heights)
    ckpt = fit_files_tiny(tmp_path_factory, train, "--data.init_args.task", "regression") / "checkpoints" / "last.ckpt"
    write_scans(tmp_path, 3)
    hparams = torch.load(ckpt, map_location="cpu", weights_only=True)["datamodule_hyper_parameters"]
    kept = {k: v for k, v in hparams.items() if not k.startswith("_")}
    dm = SpectraFilesDataModule(**{**kept, "predict_path": str(tmp_path)})
    model, _ = load_classifier(ckpt)
    with torch.no_grad():
        expected = model.predict_values(model.prediction_outputs(dm.splits.predict.spectra))[:, 0].numpy()
    assert expected.mean() > 5
    capsys.readouterr()  # the fit's summary
    for engine in ("torch", "onnx"):
        main(["--ckpt_path", str(ckpt), "--folder", str(tmp_path), "--once", "--engine", engine])
        lines = [line.split("\t") for line in capsys.readouterr().out.splitlines()]
        assert [line[0] for line in lines] == ["scan_1.xy", "scan_2.xy", "scan_3.xy"]
        assert all(len(line) == 2 and line[1].startswith("target=") for line in lines)
        got = [float(line[1].removeprefix("target=")) for line in lines]
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


def test_a_vendor_file_is_classified_as_its_xy_twin(checkpoint: Path, tmp_path: Path) -> None:
    """watch takes the vendor formats fit takes: a JCAMP-DX file gets the prediction of the same spectrum as .xy."""
    jcamp = pytest.importorskip("jcamp")
    classifier = open_classifier(checkpoint, engine="torch")
    x, spectra, _ = peak_spectra(1, seed=5)
    write_xy(tmp_path / "scan.xy", x, spectra[0])
    jcamp.writefile(str(tmp_path / "scan.jdx"), {"title": "scan", "x": x, "y": spectra[0], "xunits": "1/CM"})
    xy, jdx = classify_files(classifier, [tmp_path / "scan.xy", tmp_path / "scan.jdx"])
    assert jdx.error is None and jdx.class_name == xy.class_name
    assert jdx.probability == pytest.approx(xy.probability, abs=1e-3)  # the text file keeps fewer digits


def _one_by_one(classifier: TorchClassifier, folder: Path, x: np.ndarray, spectra: np.ndarray) -> list[Prediction]:
    """The predictions of ``spectra`` written as single ``.xy`` files: the path a file of one spectrum takes."""
    folder.mkdir()
    paths = [write_xy(folder / f"s{i}.xy", x, spectrum) for i, spectrum in enumerate(spectra)]
    return classify_files(classifier, paths)


def test_a_table_or_npz_of_spectra_gives_a_line_per_spectrum_as_its_spectra_one_by_one(
    checkpoint: Path, tmp_path: Path
) -> None:
    """Issue 35: watch takes the files of many spectra fit takes. A table's spectra are named by its name column,
    or ``<file>[i]`` (its label column ignored), an ``.npz``'s ``<file>[i]``; each predicted as alone."""
    classifier = open_classifier(checkpoint, engine="torch")
    x, spectra, labels = peak_spectra(3, seed=7, jitter=0.3)
    expected = _one_by_one(classifier, tmp_path / "alone", x, spectra)
    folder = tmp_path / "incoming"
    folder.mkdir()
    write_table(folder / "named.csv", x, spectra, None)  # a name column: new_0, new_1, new_2
    write_table(folder / "labelled.csv", x, spectra, labels[::-1])  # labels that would be wrong: not used
    np.savez(folder / "scans.npz", spectra=spectra, x=x)
    lines: list[str] = []
    made = watch(folder, classifier, once=True, emit=lines.append)
    assert [p.name for p in made] == [
        *(f"labelled.csv[{i}]" for i in range(3)),
        *(f"new_{i}" for i in range(3)),
        *(f"scans.npz[{i}]" for i in range(3)),
    ]
    assert [p.class_name for p in made] == [p.class_name for p in expected] * 3
    np.testing.assert_allclose([p.probability for p in made], [p.probability for p in expected] * 3, atol=1e-4)
    assert sum(not line.startswith("#") for line in lines) == 9


def test_a_file_of_spectra_on_another_axis_is_one_error_line(checkpoint: Path, tmp_path: Path) -> None:
    """The x axis of a file of many spectra must be the model's, as a single spectrum's: one error line for it."""
    x, spectra, _ = peak_spectra(2, seed=7)
    np.savez(tmp_path / "shifted.npz", spectra=spectra, x=x + 50)
    (made,) = classify_files(open_classifier(checkpoint, engine="torch"), [tmp_path / "shifted.npz"])
    assert made.name == "shifted.npz" and made.error.startswith("x axis differs from the model's: point 0 is at 450")


def test_onnx_runtime_takes_many_spectra_in_chunks_with_the_outputs_of_one_call(
    checkpoint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A HED train's pulses run ONNX_CHUNK a call (faster: the caches); each spectrum's outputs are as if alone."""
    classifier = open_classifier(checkpoint, engine="onnx", folder=tmp_path)
    x, spectra, _ = peak_spectra(70, seed=9, jitter=0.3)
    calls: list[int] = []
    run = classifier.session.run
    monkeypatch.setattr(
        classifier.session, "run", lambda out, feed: calls.append(len(feed["spectra"])) or run(out, feed)
    )
    got = classifier.outputs(x, spectra)
    assert calls == [32, 32, 6]
    alone = np.concatenate([run(None, {"spectra": s[None].astype(np.float32)})[0] for s in spectra])
    np.testing.assert_allclose(got, alone, rtol=1e-5, atol=1e-6)
