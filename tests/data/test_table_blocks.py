"""A table is read a block of rows at a time (issue 35): the same spectra, labels, names and errors as reading it
whole, in a few times the file's memory."""

from __future__ import annotations

import dataclasses
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from lightning_spectra.data import formats
from lightning_spectra.data.formats import read_table
from lightning_spectra.errors import SpectraDataError

WHOLE = 10**9  # a block size no test table reaches: the table read as one block, as before issue 35

TABLES = {
    # x axis header, a label column, comments, a blank line and the header repeated by a concatenated export
    "header.csv": "# Raman shift (cm-1), intensity\nlabel,400,401,402\na,1,2,3\nb,4,5,6\n\n# more\nc,7,8,9\n"
    "label,400,401,402\nNa,1.5,2.5,3.5\nNA,0,0,1e-3\nd,2,2,2\n",
    # no header: a first column of text names the spectra, trailing delimiters leave an empty column
    "named.csv": "s1,1,2,3,\ns2,4,5,6,\ns3,7,8,9,\ns4,1,1,1,\ns5,2,2,2,\n",
    # European export: ';' between cells, decimal commas
    "comma.csv": "label;400;401\nx;0,5;1,5\ny;2,5;3,5\nx;-1,5e-3;4\ny;5;6\nx;7;8\n",
    # runs of whitespace, no header, no labels
    "spaces.txt": "1 2 3\n4 5 6\n7 8 9\n10 11 12\n13 14 15\n",
}


def read(path: Path, monkeypatch: pytest.MonkeyPatch, block: int, **options) -> formats.SpectraSource:
    monkeypatch.setattr(formats, "TABLE_BLOCK", block)
    return read_table(path, **options)


def assert_same(blocks: formats.SpectraSource, whole: formats.SpectraSource) -> None:
    for item in dataclasses.fields(whole):
        a, b = getattr(blocks, item.name), getattr(whole, item.name)
        if isinstance(b, np.ndarray):
            np.testing.assert_array_equal(a, b)
            assert a.dtype == b.dtype
        else:
            assert a == b, item.name


@pytest.mark.parametrize("name", sorted(TABLES))
def test_a_table_read_in_blocks_is_the_table_read_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    path = tmp_path / name
    path.write_text(TABLES[name])
    options = {"delimiter": None} if name.endswith(".txt") else {}
    whole = read(path, monkeypatch, WHOLE, **options)
    assert len(whole) >= 5
    assert_same(read(path, monkeypatch, 2, **options), whole)


def test_the_header_table_keeps_its_labels_axis_and_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "header.csv"
    path.write_text(TABLES["header.csv"])
    source = read(path, monkeypatch, 2)
    assert source.labels == ["a", "b", "c", "Na", "NA", "d"]
    assert source.where[-1] == f"{path}, row 11"
    assert source.x_label == "Raman shift (cm-1)"
    np.testing.assert_array_equal(source.x, [400, 401, 402])


# Each breaks, after the first block of two rows, a rule the first block set, or is bad there.
BROKEN = {
    "a number in the naming column": ("s1,1,2\ns2,3,4\n5,6,7\n", "row 1, column 1: 's1' is not a number"),
    "a value in an empty column": ("1,2,\n3,4,\n5,6,7\n", "row 1, column 3: empty cell (missing value or ragged data)"),
    "text among numbers": ("a,1,2\nb,3,4\nc,5,x\n", "row 3, column 3: 'x' is not a number"),
    "a ragged row": ("a,1,2\nb,3,4\nc,5\n", "row 3: has 2 cells but row 1 has 3 (ragged table)"),
    "a missing label": ("label,1,2\na,1,2\nb,3,4\n,5,6\n", "row 4, column 1: missing label"),
    "NaN": ("a,1,2\nb,3,4\nc,NaN,6\n", "row 3, column 2: value is not finite (NaN or inf): 'NaN'"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_later_block_that_breaks_the_rules_gets_the_whole_tables_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    text, message = BROKEN[case]
    path = tmp_path / "broken.csv"
    path.write_text(text)
    with pytest.raises(SpectraDataError) as whole:
        read(path, monkeypatch, WHOLE)
    with pytest.raises(SpectraDataError) as blocks:
        read(path, monkeypatch, 2)
    assert str(blocks.value) == str(whole.value)
    assert str(blocks.value) == f"{path}, {message}"


def write_large(path: Path, rows: int, points: int) -> None:
    rng = np.random.default_rng(0)
    values = rng.normal(0.5, 0.2, size=(rows, points))
    header = "label," + ",".join(f"{v:.1f}" for v in np.linspace(400, 2500, points))
    body = (f"c{i % 5}," + ",".join(f"{v:.6g}" for v in row) for i, row in enumerate(values))
    path.write_text(header + "\n" + "\n".join(body) + "\n")


#: Peak memory of reading a table, as a multiple of the file's size. Reading it whole held every cell as a
#: string: 27x the file (2.3 GB for 50,000 x 200, benchmarks/table_reader.py); in blocks it is the text, the
#: spectra (twice, while the blocks are joined) and one block.
PEAK_PER_FILE_SIZE = 4.0


def test_reading_a_table_takes_a_few_times_its_size(tmp_path: Path) -> None:
    path = tmp_path / "large.csv"
    write_large(path, 5000, 200)
    size = path.stat().st_size
    tracemalloc.start()
    try:
        source = read_table(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert source.spectra.shape == (5000, 200)
    assert peak <= PEAK_PER_FILE_SIZE * size, f"peak {peak / size:.1f}x the file's {size / 2**20:.1f} MB"
