"""``test`` and ``predict`` use trained weights, prepared as in training, or refuse (issue 35).

Without ``--ckpt_path`` Lightning tests or predicts with the model as built (random weights) and exits 0; with it,
other preprocessing options than the checkpoint's scored the model on otherwise prepared spectra. Each case is a
row in docs/reliability.md.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from conftest import fit_files_tiny, run_folder, tiny_args
from spectra_tables import peak_spectra, write_table

from lightning_spectra.cli import main


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(training file, run folder) of a tiny CNN fitted with files_tiny.yaml's preprocessing (max normalisation,
    Savitzky-Golay first derivative, per-point scaling)."""
    train = write_table(tmp_path_factory.mktemp("data") / "train.csv", *peak_spectra(45, seed=3))
    return train, fit_files_tiny(tmp_path_factory, train, epochs=2)


@pytest.mark.parametrize("subcommand", ["test", "predict"])
def test_test_or_predict_without_a_checkpoint_is_refused(
    subcommand: str, fitted: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """Before the fix: a randomly initialised model's accuracy in summary.json, or its predictions.csv, exit 0."""
    train, _ = fitted
    args = tiny_args(subcommand, tmp_path / "logs", "files_tiny.yaml", "--data.init_args.train_path", str(train))
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith(f"error: {subcommand} needs --ckpt_path, the trained weights")
    assert not (tmp_path / "logs").exists()  # nothing run, nothing written


OTHER_PREPROCESSING = (
    *("--data.init_args.preprocessing.normalization", "snv"),
    *("--data.init_args.preprocessing.derivative", "0"),
    *("--data.init_args.preprocessing.scaling", "none"),
)


def test_test_with_other_preprocessing_prepares_spectra_as_the_checkpoint(
    fitted: tuple[Path, Path], tmp_path: Path
) -> None:
    """The model is scored on spectra prepared as in training, with one warning naming both settings (before the
    fix: the configured preprocessing, and another accuracy)."""
    train, run = fitted
    ckpt = run / "checkpoints" / "last.ckpt"

    def tested(save_dir: Path, *extra: str) -> dict:
        data = ("--data.init_args.train_path", str(train), "--ckpt_path", str(ckpt))
        main(tiny_args("test", save_dir, "files_tiny.yaml", *data, *extra))
        return json.loads((run_folder(save_dir, "files_tiny") / "summary.json").read_text())

    same = tested(tmp_path / "same")
    expected = (
        rf"using the preprocessing saved in {ckpt}: preprocessing.derivative 1 \(configured: 0\), "
        r"preprocessing.normalization 'max' \(configured: 'snv'\), preprocessing.scaling 'standard' "
        r"\(configured: 'none'\)"
    )
    with pytest.warns(UserWarning, match=expected):
        other = tested(tmp_path / "other", *OTHER_PREPROCESSING)
    assert other["loss"] == pytest.approx(same["loss"], rel=1e-6) and other["accuracy"] == same["accuracy"]


def test_predict_on_the_test_series_with_other_preprocessing_prepares_them_as_the_checkpoint(
    fitted: tuple[Path, Path], tmp_path: Path
) -> None:
    """``predict`` without ``predict_path`` reads the training file's test split: prepared as in training too."""
    train, run = fitted
    data = ("--data.init_args.train_path", str(train), "--ckpt_path", str(run / "checkpoints" / "last.ckpt"))

    def probabilities(save_dir: Path, *extra: str) -> list[float]:
        main(tiny_args("predict", save_dir, "files_tiny.yaml", *data, *extra))
        with open(run / "predict" / "predictions.csv") as f:  # the checkpoint's run holds its predictions
            return [float(row["probability"]) for row in csv.DictReader(f)]

    same = probabilities(tmp_path / "same")
    with pytest.warns(UserWarning, match="using the preprocessing saved in"):
        other = probabilities(tmp_path / "other", *OTHER_PREPROCESSING)
    assert other == pytest.approx(same, abs=1e-6) and len(same) > 0
