"""From a checkpoint to predictions: one path for ``predict`` and ``watch``, and a checkpoint trusted for data only.

A checkpoint's per-point scaling is applied wherever new spectra are classified; the model class it names is
never imported; pickled objects load only with the documented opt-in; ``--ckpt_path last``/``best`` go
through the same checks as a path, and name the folder they looked in when they find nothing.
"""

from __future__ import annotations

import csv
import fractions
import json
import re
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import CONF, fit_files_tiny, run_folder, tiny_args, write_xy
from spectra_tables import peak_spectra, write_table

from lightning_spectra.apps.watch import TorchClassifier, classify_files, load_classifier
from lightning_spectra.apps.watch import main as watch_main
from lightning_spectra.cli import main
from lightning_spectra.data import SpectraFilesDataModule
from lightning_spectra.data.formats import read_spectra
from lightning_spectra.errors import SpectraDataError
from lightning_spectra.models import CNN
from lightning_spectra.runs.checkpoint import TRUST_ENV, TrainedModel, current_hparams, read_trained_model
from lightning_spectra.tasks import Targets

PAYLOAD = "from pathlib import Path\nPath(__file__).with_name('payload_ran').touch()\nModel = object\n"


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A tiny CNN fitted on three noisy classes with the default per-point scaling: (training file, run folder)."""
    train = write_table(tmp_path_factory.mktemp("data") / "train.csv", *peak_spectra(60, seed=5, jitter=2.0))
    return train, fit_files_tiny(tmp_path_factory, train)


def last_ckpt(run: Path) -> Path:
    return run / "checkpoints" / "last.ckpt"


def fails(run, capsys: pytest.CaptureFixture) -> tuple[int, str]:
    """Call ``run`` expecting it to stop; its exit status and stderr, which must be one line."""
    with pytest.raises(SystemExit) as exit_info:
        run()
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    return exit_info.value.code, err


def copies_of_the_test_split(fitted: tuple[Path, Path], folder: Path) -> tuple[list[Path], torch.Tensor]:
    """The test split's raw spectra written as ``.xy`` files, and the probabilities the trained model gives that
    split as the fit built it (its own datamodule, Lightning's own loader: independent of the path under test)."""
    train, run = fitted
    ckpt = torch.load(last_ckpt(run), map_location="cpu", weights_only=True)
    settings = {k: v for k, v in ckpt["datamodule_hyper_parameters"].items() if not k.startswith("_")}
    dm = SpectraFilesDataModule(**settings)
    source = read_spectra(str(train), progress=False)
    folder.mkdir()
    files = []
    for i, name in enumerate(dm.spectrum_names("test")):
        row = int(name.rsplit(" ", 1)[1]) - 2  # "train.csv row N": the header is row 1
        files.append(write_xy(folder / f"scan_{i + 1}.xy", source.x, source.spectra[row]))
    model = CNN.load_from_checkpoint(last_ckpt(run), map_location="cpu", weights_only=True).eval()
    with torch.no_grad():
        return files, model.probabilities(model(dm.splits.test.spectra)).double()


def test_predict_and_watch_give_the_test_splits_probabilities_on_copies_of_it(
    fitted: tuple[Path, Path], tmp_path: Path
) -> None:
    _, run = fitted
    files, tested = copies_of_the_test_split(fitted, tmp_path / "copies")

    trained = read_trained_model(last_ckpt(run))
    unscaled = trained.fitted_preprocessing().preprocessing
    model = CNN.load_from_checkpoint(last_ckpt(run), map_location="cpu", weights_only=True).eval()
    spectra = np.stack([unscaled(*np.loadtxt(f, unpack=True))[0] for f in files])
    with torch.no_grad():
        skipped = model.probabilities(model(torch.as_tensor(spectra, dtype=torch.float32))).double()
    assert float((skipped - tested).abs().max()) > 1e-3  # the data make the per-point scaling matter

    main(
        [
            "predict",
            "--config",
            str(run / "config.yaml"),
            "--ckpt_path",
            str(last_ckpt(run)),
            "--data.init_args.predict_path",
            str(tmp_path / "copies"),
            "--trainer.logger.init_args.save_dir",
            str(tmp_path / "logs"),
            "--trainer.precision",
            "32-true",  # the reference is computed in float32; bf16 autocast would differ by ~1e-3
        ]
    )
    with open(run / "predict" / "predictions.csv") as f:  # the run predicted with, not a new version folder
        rows = list(csv.DictReader(f))
    predicted = torch.tensor([[float(r[f"p({c})"]) for c in trained.class_names] for r in rows], dtype=torch.float64)
    torch.testing.assert_close(predicted, tested, atol=1e-5, rtol=0)

    watched = classify_files(TorchClassifier(*load_classifier(last_ckpt(run))), files)
    assert [p.class_name for p in watched] == [trained.class_names[k] for k in tested.argmax(1)]
    np.testing.assert_allclose([p.probability for p in watched], tested.max(1).values.numpy(), atol=1e-5, rtol=0)


# ---------------------------------------------------------------------------------------------- trusted for data only
def altered_copy(ckpt: Path, to: Path, **hparams) -> Path:
    """``ckpt`` with some model hyperparameters replaced (a file anyone could write: it passes weights-only)."""
    saved = torch.load(ckpt, map_location="cpu", weights_only=True)
    saved["hyper_parameters"].update(hparams)
    to.parent.mkdir(parents=True, exist_ok=True)
    torch.save(saved, to)
    return to


@pytest.fixture
def payload_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working folder holding ``payload.py``, importable as ``python -m`` would find it; importing it leaves
    a ``payload_ran`` file."""
    (tmp_path / "payload.py").write_text(PAYLOAD)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def test_watch_never_imports_the_model_class_a_checkpoint_names(
    fitted: tuple[Path, Path], payload_folder: Path, capsys: pytest.CaptureFixture
) -> None:
    foreign = altered_copy(last_ckpt(fitted[1]), payload_folder / "foreign.ckpt", _class_path="payload.Model")
    code, err = fails(
        lambda: watch_main(["--ckpt_path", str(foreign), "--folder", str(payload_folder), "--once"]), capsys
    )
    assert not (payload_folder / "payload_ran").exists()
    assert code == 2 and err.startswith(f"error: {foreign}: names model class 'payload.Model', which is not one of")


def test_the_cli_never_imports_the_model_class_a_checkpoint_names(
    fitted: tuple[Path, Path], payload_folder: Path, capsys: pytest.CaptureFixture
) -> None:
    train, run = fitted
    foreign = altered_copy(last_ckpt(run), payload_folder / "foreign.ckpt", _class_path="payload.Model")
    args = tiny_args("test", payload_folder / "logs", "files_tiny.yaml", "--data.init_args.train_path", str(train))
    code, err = fails(lambda: main([*args, "--ckpt_path", str(foreign)]), capsys)
    assert not (payload_folder / "payload_ran").exists()
    assert code == 2 and err == (
        f"error: {foreign}: names model class 'payload.Model', neither the configured "
        "lightning_spectra.models.CNN nor one of lightning_spectra's models; it is not imported"
    )


def test_last_is_checked_like_a_path(
    fitted: tuple[Path, Path], payload_folder: Path, capsys: pytest.CaptureFixture
) -> None:
    train, run = fitted
    save_dir = payload_folder / "logs"
    last = altered_copy(
        last_ckpt(run), save_dir / "files_tiny" / "version_0" / "checkpoints" / "last.ckpt", _class_path="payload.Model"
    )
    args = tiny_args("test", save_dir, "files_tiny.yaml", "--data.init_args.train_path", str(train))
    code, err = fails(lambda: main([*args, "--trainer.logger.init_args.version", "0", "--ckpt_path", "last"]), capsys)
    assert not (payload_folder / "payload_ran").exists()
    assert code == 2 and err.startswith(f"error: {last}: names model class 'payload.Model'")
    assert not list(save_dir.rglob("summary.json"))


def test_a_checkpoint_of_another_package_model_than_the_configured_is_refused(
    fitted: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    train, run = fitted
    args = tiny_args("test", tmp_path, "fcnn_tiny.yaml", "--ckpt_path", str(last_ckpt(run)))
    code, err = fails(lambda: main(args), capsys)
    assert code == 2 and err == f"error: {last_ckpt(run)}: holds a CNN model, but the config builds FCNN1D"


# ---------------------------------------------------------------------------------------------- pickles: opt-in only
def pickled_copy(ckpt: Path, to: Path) -> Path:
    """``ckpt`` with an extra object that only a full unpickler loads (as a pickled payload would need)."""
    saved = torch.load(ckpt, map_location="cpu", weights_only=True)
    saved["note"] = fractions.Fraction(1, 3)
    torch.save(saved, to)
    return to


def test_weights_only_false_needs_the_opt_in(
    fitted: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    train, run = fitted
    args = tiny_args("test", tmp_path, "files_tiny.yaml", "--data.init_args.train_path", str(train))
    code, err = fails(lambda: main([*args, "--ckpt_path", str(last_ckpt(run)), "--weights_only", "false"]), capsys)
    assert code == 2 and err.startswith(
        f"error: --weights_only false lets a checkpoint run code (pickled objects); set {TRUST_ENV}=1"
    )


def test_a_pickled_checkpoint_is_refused_without_the_opt_in(
    fitted: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    pickled = pickled_copy(last_ckpt(fitted[1]), tmp_path / "pickled.ckpt")
    code, err = fails(lambda: watch_main(["--ckpt_path", str(pickled), "--folder", str(tmp_path), "--once"]), capsys)
    assert code == 2 and err == (
        f"error: {pickled}: holds pickled objects besides weights, which could run code; set {TRUST_ENV}=1 to load "
        "it if you trust the file"
    )


def test_the_opt_in_loads_pickled_checkpoints_in_watch_and_the_cli(
    fitted: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    train, run = fitted
    pickled = pickled_copy(last_ckpt(run), tmp_path / "pickled.ckpt")
    monkeypatch.setenv(TRUST_ENV, "1")
    files, tested = copies_of_the_test_split(fitted, tmp_path / "copies")
    watched = classify_files(TorchClassifier(*load_classifier(pickled)), files)
    np.testing.assert_allclose([p.probability for p in watched], tested.max(1).values.numpy(), atol=1e-5, rtol=0)
    main(
        tiny_args(
            "test",
            tmp_path / "logs",
            "files_tiny.yaml",
            "--data.init_args.train_path",
            str(train),
            "--ckpt_path",
            str(pickled),
        )
    )
    assert (run_folder(tmp_path / "logs", "files_tiny") / "summary.json").exists()


# ---------------------------------------------------------------------------------------------- last and best
def test_last_is_read_checked_and_tested_like_a_path(
    fitted: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """``last`` resolves to the newest ``last*.ckpt`` of the run's checkpoint folder: data of another length is
    refused with the path's one line; fitting data is tested as by the path."""
    train, run = fitted
    folder = tmp_path / "last" / "files_tiny" / "version_0" / "checkpoints"
    folder.mkdir(parents=True)
    shutil.copy(last_ckpt(run), folder / "last.ckpt")
    shorter = write_table(tmp_path / "shorter.csv", *peak_spectra(30, length=200))
    by_last = [*tiny_args("test", tmp_path / "last", "files_tiny.yaml"), "--trainer.logger.init_args.version", "0"]
    code, err = fails(
        lambda: main([*by_last, "--data.init_args.train_path", str(shorter), "--ckpt_path", "last"]), capsys
    )
    assert code == 2 and err == (
        f"error: {folder / 'last.ckpt'}: the model was trained on spectra of 240 points, but the "
        "SpectraFilesDataModule data has spectra of 200"
    )

    main([*by_last, "--data.init_args.train_path", str(train), "--ckpt_path", "last"])
    by_path = tiny_args("test", tmp_path / "path", "files_tiny.yaml", "--data.init_args.train_path", str(train))
    main([*by_path, "--ckpt_path", str(last_ckpt(run))])
    path, last = (
        json.loads((tmp_path / d / "files_tiny/version_0/summary.json").read_text()) for d in ("path", "last")
    )
    assert last["loss"] == pytest.approx(path["loss"], rel=1e-6) and last["accuracy"] == path["accuracy"]


@pytest.mark.parametrize("which", ["last", "best"])
def test_last_or_best_in_a_new_run_is_one_line_naming_the_folder(
    which: str, fitted: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    args = tiny_args("test", tmp_path, "files_tiny.yaml", "--data.init_args.train_path", str(fitted[0]))
    code, err = fails(lambda: main([*args, "--ckpt_path", which]), capsys)
    folder = tmp_path / "files_tiny" / "version_0" / "checkpoints"
    assert code == 2 and err.startswith(
        f"error: --ckpt_path {which}: there is no {which} checkpoint for this run in {folder}"
    )
    assert not list(tmp_path.rglob("summary.json"))


# --------------------------------------------------------------- checkpoints written by an earlier release
# tests/data/checkpoints/ holds a classifier and a regressor fitted by the release before the package was laid
# out in rooms (commit 9547e9d), with their test summaries and their predictions on new files.
EARLIER = Path(__file__).parents[1] / "data" / "checkpoints"
EARLIER_RUNS = {
    "classifier": ("classes.csv", []),
    "regressor": ("amounts.csv", ["--data.init_args.task", "regression"]),
}


def earlier_args(subcommand: str, name: str, save_dir: Path, *extra: str) -> list[str]:
    train, task = EARLIER_RUNS[name]
    return [
        subcommand,
        *("--config", str(CONF / "files_tiny.yaml")),
        *("--ckpt_path", str(EARLIER / f"{name}.ckpt")),
        *("--data.init_args.train_path", str(EARLIER / train), *task),
        *("--trainer.logger.init_args.save_dir", str(save_dir), "--trainer.logger.init_args.name", name),
        *extra,
    ]


@pytest.mark.parametrize("engine", ["torch", "onnx"])
@pytest.mark.parametrize("name", EARLIER_RUNS)
def test_an_earlier_releases_checkpoint_predicts_what_it_predicted(name: str, engine: str, tmp_path: Path) -> None:
    """On either engine of ``predict`` (the network in PyTorch, or exported to ONNX Runtime)."""
    extra = ["--data.init_args.label_column", "amount"] if name == "regressor" else []
    extra += ["--predict_engine", engine]
    main(
        earlier_args(
            "predict", name, tmp_path, "--data.init_args.predict_path", str(EARLIER / f"{name}_new.csv"), *extra
        )
    )
    with open(run_folder(tmp_path, name) / "predictions.csv") as f:
        got = list(csv.DictReader(f))
    with open(EARLIER / f"{name}_new_predictions.csv") as f:
        expected = list(csv.DictReader(f))
    assert [row["spectrum"] for row in got] == [row["spectrum"] for row in expected]
    for row, old in zip(got, expected, strict=True):
        assert row.keys() == old.keys()
        for column, value in old.items():
            if column in ("spectrum", "predicted_class"):
                assert row[column] == value
            else:
                assert float(row[column]) == pytest.approx(float(value), rel=1e-4, abs=1e-5)


@pytest.mark.parametrize("name", EARLIER_RUNS)
def test_an_earlier_releases_checkpoint_tests_to_its_summary(name: str, tmp_path: Path) -> None:
    extra = (
        ["--data.init_args.label_column", "amount", "--data.init_args.preprocessing.normalization", "none"]
        if name == "regressor"
        else []
    )
    main(earlier_args("test", name, tmp_path, *extra))
    summary = json.loads((run_folder(tmp_path, name) / "summary.json").read_text())
    expected = json.loads((EARLIER / f"{name}_summary.json").read_text())
    for key in ("accuracy", "rmse", "r2", "spectra"):
        if key in expected:
            assert summary[key] == pytest.approx(expected[key], rel=1e-4, abs=1e-5), key


def test_an_earlier_releases_hyperparameters_become_one_targets() -> None:
    earlier = {"spectrum_length": 96, "task": "regression", "num_classes": 0, "class_names": [], "lr": 0.002}
    earlier |= {"target_names": ["amount"], "target_mean": [4.5], "target_scale": [3.0]}
    current = current_hparams(earlier)
    assert current == {
        "spectrum_length": 96,
        "lr": 0.002,
        "targets": {"kind": "regression", "names": ["amount"], "mean": [4.5], "scale": [3.0]},
    }
    assert current_hparams(current) == current
    classifier = current_hparams({"spectrum_length": 8, "num_classes": 3})["targets"]
    assert classifier == {"kind": "classification", "names": ["0", "1", "2"], "mean": None, "scale": None}


@pytest.mark.parametrize("name", EARLIER_RUNS)
def test_an_earlier_releases_checkpoint_loads_for_watch_and_export(name: str) -> None:
    trained = read_trained_model(EARLIER / f"{name}.ckpt")
    model = trained.load_model()
    expected = {"classifier": (["alpha", "beta", "gamma"], []), "regressor": ([], ["amount"])}[name]
    assert (model.class_names, model.target_names) == expected and trained.class_names == expected[0]


# ---------------------------------------------------------------------------------------------- spectral ranges
def ranged_model(state: dict) -> TrainedModel:
    """A model trained on the points 1100..1400 of a raw axis 1000, 1050, ..., 2000 (what the checkpoint says)."""
    hparams = {
        "_class_path": "lightning_spectra.data.SpectraFilesDataModule",
        "ranges": {"keep": [[1100.0, 1400.0]], "drop": None},
        "preprocessing": {"smoothing_window": 0, "derivative": 0, "normalization": "max", "scaling": "none"},
    }
    return TrainedModel(
        path=Path("ranged.ckpt"),
        spectrum_length=7,
        targets=Targets.classes(2),
        x_axis=np.arange(1100.0, 1401.0, 50.0),
        datamodule_hparams=hparams,
        datamodule_state=state,
    )


def test_a_model_trained_on_ranges_cuts_raw_spectra_on_the_saved_raw_axis() -> None:
    raw_x = np.arange(1000.0, 2001.0, 50.0)
    trained = ranged_model({"raw_x_axis": raw_x.tolist()})
    np.testing.assert_array_equal(trained.raw_x_axis, raw_x)
    fitted = trained.fitted_preprocessing()
    np.testing.assert_array_equal(fitted.raw_x, raw_x)
    spectra = np.tile(np.arange(len(raw_x), dtype=float), (2, 1))
    np.testing.assert_allclose(fitted(raw_x, spectra), np.tile(np.arange(2, 9) / 8, (2, 1)))  # points 2..8, max 1


def test_a_checkpoint_with_ranges_but_no_raw_axis_is_one_line() -> None:
    with pytest.raises(
        SpectraDataError, match=r"ranged\.ckpt: the model was trained on spectral ranges .* no raw x axis"
    ):
        ranged_model({}).fitted_preprocessing()


def test_a_checkpoint_whose_ranges_choose_another_length_than_the_model_is_one_line() -> None:
    with pytest.raises(
        SpectraDataError, match=r"its spectral ranges choose 3 points of the saved raw axis, but the model takes 7"
    ):
        ranged_model({"raw_x_axis": [1000.0, 1100.0, 1200.0, 1300.0]}).fitted_preprocessing()


def test_a_model_without_ranges_has_its_own_axis_as_the_raw_one() -> None:
    trained = TrainedModel(path=Path("plain.ckpt"), spectrum_length=3, targets=Targets.classes(2), x_axis=np.ones(3))
    np.testing.assert_array_equal(trained.raw_x_axis, np.ones(3))


# ---------------------------------------------------------------------------------------------- claimed length
@pytest.mark.parametrize(
    ("length", "message"),
    [
        (3_000_000_000, r"claims spectra of 3000000000 points but its saved x axis has shape \(96,\)"),
        (95, r"claims spectra of 95 points but its saved x axis has shape \(96,\)"),
        (0, r"spectrum_length 0 in the checkpoint is not a positive whole number"),
    ],
)
def test_a_checkpoint_claiming_another_length_than_its_saved_axis_is_refused_before_anything_is_built(
    length: int, message: str, tmp_path: Path
) -> None:
    """A hand-edited ``spectrum_length: 3e9`` was read, and building the model allocated its 24 GB axis before the
    weights were compared (issue 35)."""
    ckpt = altered_copy(EARLIER / "classifier.ckpt", tmp_path / "claims.ckpt", spectrum_length=length)
    with pytest.raises(SpectraDataError, match=f"^{re.escape(str(ckpt))}: {message}"):
        read_trained_model(ckpt)


def test_a_checkpoint_without_an_axis_may_not_claim_an_enormous_length(tmp_path: Path) -> None:
    saved = torch.load(EARLIER / "classifier.ckpt", map_location="cpu", weights_only=True)
    del saved["state_dict"]["x_axis"]
    saved["hyper_parameters"]["spectrum_length"] = 3_000_000_000
    torch.save(saved, tmp_path / "bare.ckpt")
    with pytest.raises(SpectraDataError, match="claims spectra of 3000000000 points and saves no x axis"):
        read_trained_model(tmp_path / "bare.ckpt")


def test_load_model_checks_the_length_it_builds_from_against_the_saved_axis(tmp_path: Path) -> None:
    trained = read_trained_model(EARLIER / "classifier.ckpt")
    edited = replace(trained, model_hparams={**trained.model_hparams, "spectrum_length": 95})  # 3e9 would allocate
    with pytest.raises(SpectraDataError, match=r"claims spectra of 95 points but its saved x axis has shape \(96,\)"):
        edited.load_model()
