"""The attribution output folders of a run and the atomic writers of arrays and CSV tables."""

from __future__ import annotations

import csv
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from lightning_spectra.runs.attribution_files import output_dirs, write_array, write_rows, write_table


def test_arrays_and_tables_round_trip(tmp_path: Path) -> None:
    values = np.arange(6.0).reshape(2, 3)
    assert write_array(tmp_path / "a.npy", values) == tmp_path / "a.npy"
    np.testing.assert_array_equal(np.load(tmp_path / "a.npy"), values)
    write_table(tmp_path / "t.csv", {"x": np.array([1.0, 2.0]), "y": np.array([1 / 3, 2e-12])})
    rows = list(csv.reader((tmp_path / "t.csv").read_text().splitlines()))
    assert rows == [["x", "y"], ["1", "0.333333333"], ["2", "2e-12"]]
    write_rows(tmp_path / "r.csv", [{"name": "a", "value": 0.1234567891234}, {"name": "b"}])
    assert list(csv.reader((tmp_path / "r.csv").read_text().splitlines())) == [
        ["name", "value"],
        ["a", "0.123456789"],
        ["b", ""],
    ]
    assert not list(tmp_path.glob("*.tmp*"))  # no temporary file left behind


def test_arrays_and_figures_go_to_their_own_folders_of_the_run(tmp_path: Path) -> None:
    trainer = SimpleNamespace(logger=SimpleNamespace(log_dir=str(tmp_path)), loggers=[], default_root_dir=".")
    arrays, figures = output_dirs(trainer)
    assert (arrays, figures) == (tmp_path / "attribution", tmp_path / "figures")
