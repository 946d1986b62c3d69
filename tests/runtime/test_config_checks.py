"""Trainer options Lightning refuses in a traceback: one line, exit 2 (issue 35)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import cli_failure, tiny_args
from spectra_tables import peak_spectra, write_table

from lightning_spectra.errors import SpectraConfigError
from lightning_spectra.runtime.config_checks import check_batch_amount


@pytest.mark.parametrize(("option", "value"), [("overfit_batches", "-1"), ("val_check_interval", "1.5")])
def test_a_share_of_batches_lightning_refuses_is_one_line(
    option: str, value: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """Lightning's MisconfigurationException traceback as the trainer was built, before the fix."""
    train = write_table(tmp_path / "train.csv", *peak_spectra(30))
    data = ("--data.init_args.train_path", str(train))
    args = tiny_args("fit", tmp_path, "files_tiny.yaml", *data, f"--trainer.{option}", value)
    low = "above 0.0" if option == "val_check_interval" else "from 0.0"
    assert cli_failure(args, capsys) == (
        2,
        f"error: trainer.{option} is {value}: give a share of the batches {low} up to 1.0 (e.g. 0.25) or a whole "
        "number of batches",
    )


def test_a_val_check_interval_beyond_the_epochs_batches_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture):
    """30 spectra, 18 of them for training in batches of 8: 3 batches. Lightning raised a ValueError traceback
    once the fit loop had its data."""
    train = write_table(tmp_path / "train.csv", *peak_spectra(30))
    data = ("--data.init_args.train_path", str(train), "--data.init_args.batch_size", "8")
    args = tiny_args("fit", tmp_path, "files_tiny.yaml", *data, "--trainer.val_check_interval", "50")
    code, line = cli_failure(args, capsys)
    assert code == 2 and line.startswith("error: trainer.val_check_interval is 50 batches but an epoch has ")
    assert line.endswith(
        "give at most 3, a share of the epoch (e.g. 0.5), or trainer.check_val_every_n_epoch null to count batches "
        "across epochs"
    )


def test_shares_and_counts_lightning_takes_are_left_to_it() -> None:
    for value in (0, 0.1, 3, 1.0):
        check_batch_amount("trainer.overfit_batches", value)
    for value in (0.5, 1.0, 10, 2.0, "00:05:00", None):
        check_batch_amount("trainer.val_check_interval", value)
    for key, value in [("trainer.val_check_interval", 0), ("trainer.limit_train_batches", -0.5)]:
        with pytest.raises(SpectraConfigError, match="give a share of the batches"):
            check_batch_amount(key, value)
