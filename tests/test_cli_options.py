"""Options LightningCLI or Lightning would end in a traceback on: one line naming the option, exit 2 (issue 35).
Each case is a row in docs/reliability.md."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import cli_failure, tiny_args
from spectra_tables import peak_spectra, write_table

from lightning_spectra.runtime.config_checks import check_devices


@pytest.mark.parametrize("seed", ["4294967296", "-1"])
def test_a_seed_out_of_range_is_one_line_before_lightning_seeds(
    seed: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """LightningCLI seeds right after parsing, before any later check: a bare ValueError there before the fix."""
    args = tiny_args("fit", tmp_path, "files_tiny.yaml", "--seed_everything", seed)
    assert cli_failure(args, capsys) == (2, f"error: seed_everything must be between 0 and 4294967295, got {seed}")
    assert not tmp_path.joinpath("files_tiny").exists()


@pytest.mark.parametrize("devices", ["0", "-2"])
def test_devices_selecting_no_device_is_one_line(devices: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """Lightning's MisconfigurationException traceback before the fix."""
    train = write_table(tmp_path / "train.csv", *peak_spectra(30))
    data = ("--data.init_args.train_path", str(train))
    args = tiny_args("fit", tmp_path, "files_tiny.yaml", *data, "--trainer.devices", devices)
    code, line = cli_failure(args, capsys)
    assert code == 2 and line.startswith(f"error: trainer.devices is {devices}, which selects no device")


def test_devices_lightning_takes_are_left_to_it() -> None:
    for devices in ("auto", 1, 2, -1, "-1", "1", "0,1", [0], [0, 1]):
        check_devices(devices)
    for devices in (0, "0", [], -3):
        with pytest.raises(Exception, match="selects no device"):
            check_devices(devices)
