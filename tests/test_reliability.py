"""Issue 11 end to end through ``train.py``'s entry point: bad input and faults end in one clear line and a
non-zero exit (never a traceback, never exit 0 with a wrong result), and predict needs only the checkpoint.

Each test names its case in docs/reliability.md. Runs are in-process (``main([...])``) on tiny data.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch
from conftest import run_folder, tiny_args
from test_files import peak_spectra, write_table

from lightning_spectra.cli import main


def fails(args: list[str], capsys: pytest.CaptureFixture) -> tuple[int, str]:
    """Run the CLI expecting it to stop; its exit status and the last line on stderr."""
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return exit_info.value.code, err.strip().splitlines()[-1]


def files_args(subcommand: str, save_dir: Path, *extra: str) -> list[str]:
    return tiny_args(subcommand, save_dir, "files_tiny.yaml", "--trainer.max_epochs", "2", *extra)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A tiny CNN fitted on three classes (alpha, beta, gamma) of 240 points: (training file, checkpoint)."""
    data = tmp_path_factory.mktemp("data")
    train = write_table(data / "train.csv", *peak_spectra(45, seed=3))
    save_dir = tmp_path_factory.mktemp("fit")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("LIGHTNING_SPECTRA_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
        main(files_args("fit", save_dir, "--data.init_args.train_path", str(train), "--test_after_fit", "false"))
    return train, run_folder(save_dir, "files_tiny") / "checkpoints" / "last.ckpt"


# ---------------------------------------------------------------------------------------------- case 1
def test_predict_needs_only_the_checkpoint_and_names_classes_as_trained(trained, tmp_path: Path) -> None:
    """The training file relabelled since (alpha <-> gamma) and then deleted: names come from the checkpoint."""
    train, ckpt = trained
    x, spectra, _ = peak_spectra(6, seed=9, jitter=0.2)
    new = write_table(tmp_path / "new.csv", x, spectra, None)
    relabelled = tmp_path / "relabelled.csv"
    relabelled.write_text(train.read_text().replace("alpha", "zeta"))

    def predict(*extra: str) -> list[dict]:
        main(files_args("predict", tmp_path / "logs", "--ckpt_path", str(ckpt), *extra))
        with open(run_folder(tmp_path / "logs", "files_tiny") / "predictions.csv") as f:
            return list(csv.DictReader(f))

    rows = predict("--data.init_args.predict_path", str(new))  # no train_path at all
    assert [r["spectrum"] for r in rows] == [f"new_{i}" for i in range(6)]  # the header is not a spectrum
    assert list(rows[0])[-3:] == ["p(alpha)", "p(beta)", "p(gamma)"]  # the model's own names, in its order
    assert {r["predicted_class"] for r in rows} <= {"alpha", "beta", "gamma"}
    again = predict("--data.init_args.train_path", str(relabelled), "--data.init_args.predict_path", str(new))
    assert again == rows  # a relabelled training file changes nothing


# ---------------------------------------------------------------------------------------------- case 3
def test_a_non_finite_loss_stops_the_fit(trained, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    train, _ = trained
    code, line = fails(
        files_args("fit", tmp_path, "--data.init_args.train_path", str(train), "--model.init_args.lr", "1e12"), capsys
    )
    assert code == 1 and line.startswith("error: training loss or weights became NaN or infinite in epoch")
    assert "lower the learning rate (model.init_args.lr is 1000000000000.0)" in line
    for ckpt in tmp_path.rglob("*.ckpt"):  # no checkpoint of the poisoned weights to resume from
        state = torch.load(ckpt, map_location="cpu", weights_only=True)["state_dict"]
        assert all(torch.isfinite(w).all() for w in state.values() if w.is_floating_point()), ckpt


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("--trainer.max_epochs=0", "error: trainer.max_epochs is 0 and trainer.max_steps -1; fit would train nothing"),
        ("--trainer.limit_train_batches=0", "error: fit ran no training step (is trainer.limit_train_batches 0?)"),
    ],
)
def test_a_fit_that_trains_nothing_fails(
    option: str, message: str, trained, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    train, _ = trained
    code, line = fails(
        files_args("fit", tmp_path, "--data.init_args.train_path", str(train), option, "--test_after_fit", "false"),
        capsys,
    )
    assert code == 1 and line.startswith(message)


# ---------------------------------------------------------------------------------------------- case 7
@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--data.init_args.source", "directory"], "error: source 'directory' needs --data.data_dir"),
        (["--data.init_args.val_fraction", "1.5"], "error: val_fraction must be between 0 and 1, got 1.5"),
    ],
)
def test_datamodule_errors_wrapped_by_the_parser_are_one_line(
    options: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    args = tiny_args("fit", tmp_path, "cnn_tiny.yaml", *options)
    if "val_fraction" in options[0]:
        args = files_args("fit", tmp_path, "--data.init_args.train_path", str(tmp_path / "t.csv"), *options)
    code, line = fails(args, capsys)
    assert code == 2 and line.startswith(message)


# ---------------------------------------------------------------------------------------------- case 8
@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            ["--data.init_args.simulated_points", "12"],
            "error: spectra of 12 points are too short for the CNN; it needs at least 71",
        ),
        (["--model.init_args.lr", "-0.001"], "error: model.init_args.lr must be above 0, got -0.001"),
    ],
)
def test_settings_that_cannot_work_are_refused(
    options: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    assert fails(tiny_args("fit", tmp_path, "cnn_tiny.yaml", *options), capsys) == (2, message)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such checkpoint file"),
        (b"", "checkpoint file is empty"),
        (b"this is not a checkpoint\n", "not a readable checkpoint (truncated, damaged or not written by train.py)"),
        ("truncated", "not a readable checkpoint (truncated, damaged or not written by train.py)"),
    ],
)
def test_a_bad_checkpoint_file_is_one_line(
    content, message: str, trained, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    train, ckpt = trained
    bad = tmp_path / "bad.ckpt"
    if content == "truncated":
        bad.write_bytes(ckpt.read_bytes()[:20000])
    elif content is not None:
        bad.write_bytes(content)
    for subcommand in ("predict", "fit"):
        args = files_args(subcommand, tmp_path, "--data.init_args.train_path", str(train), "--ckpt_path", str(bad))
        code, line = fails(args, capsys)
        assert code == 2 and line.startswith(f"error: {bad}: {message}")


def test_a_checkpoint_of_another_length_or_class_count_is_refused(
    trained, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    _, ckpt = trained
    x, spectra, labels = peak_spectra(30, length=200, seed=4)
    shorter = write_table(tmp_path / "short.csv", x, spectra, labels)
    x, spectra, labels = peak_spectra(30, seed=4)
    keep = [i for i, label in enumerate(labels) if label != "gamma"]
    two = write_table(tmp_path / "two.csv", x, spectra[keep], [labels[i] for i in keep])

    code, line = fails(
        files_args("test", tmp_path, "--data.init_args.train_path", str(shorter), "--ckpt_path", str(ckpt)), capsys
    )
    assert code == 2
    assert line == (
        f"error: {ckpt}: the model was trained on spectra of 240 points, but the SpectraFilesDataModule data has "
        "spectra of 200"
    )
    code, line = fails(
        files_args("fit", tmp_path, "--data.init_args.train_path", str(two), "--ckpt_path", str(ckpt)), capsys
    )
    assert code == 2
    assert line == (
        f"error: {ckpt}: the model was trained on classes ['alpha', 'beta', 'gamma'], but the "
        "SpectraFilesDataModule data has classes ['alpha', 'beta']"
    )
    new = write_table(tmp_path / "new.csv", *peak_spectra(3, length=200)[:2], None)
    code, line = fails(
        files_args("predict", tmp_path, "--data.init_args.predict_path", str(new), "--ckpt_path", str(ckpt)), capsys
    )
    assert (
        code == 2
        and line == f"error: {ckpt}: the model was trained on spectra of 240 points, but {new} has spectra of 200"
    )
