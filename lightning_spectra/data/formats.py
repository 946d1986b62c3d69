"""Readers for spectra people already have: tables, NumPy files, folders of ``.xy`` files, UCR/UEA archives.

Every reader returns a :class:`SpectraSource`: the spectra as one ``(N, L)`` array plus, per spectrum, its
label (when the file has labels), a name for prediction output and where in the file it came from. Keeping
the place of every spectrum lets later checks (an unknown label in a test file, a wrong length) name the
file and row at fault instead of an index into an array.

Supported (see ``docs/data-formats.md``):

* CSV/TSV tables (``.csv``, ``.tsv``, ``.tab``): one spectrum per row or per column, optional header whose
  numeric cells (or numbers with a unit, ``400 nm``) are the x axis, optional label and name columns, or 0/1
  indicator columns named by their headers (``label_columns``: a multi-label spectrum's label set);
* NumPy ``.npz`` with ``spectra`` (or ``X``), optional ``labels`` (``y``), ``x_axis`` (``x``), ``names``;
* a folder of two-column files (``.xy``, ``.dat``, ``.txt``) or a single such file, labels from a small
  CSV (file name, label);
* the UCR/UEA archive: ``.ts`` files and the ``<Name>_TRAIN``/``<Name>_TEST`` text files (label first).
"""

from __future__ import annotations

import contextlib
import csv
import itertools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path

import numpy as np

from lightning_spectra.data.text import read_text
from lightning_spectra.data.vendor import VENDOR_SUFFIXES, is_vendor_file, read_vendor
from lightning_spectra.data.xy import (
    SPECTRUM_SUFFIXES,
    axis_title,
    natural_key,
    order_break,
    order_problem,
    read_xy,
    read_xy_folder,
    xy_axis_name,
)
from lightning_spectra.errors import SpectraDataError

TABLE_SUFFIXES = (".csv", ".tsv", ".tab")
UCR_SPLIT_NAMES = ("_TRAIN", "_TEST")
UCR_SUFFIXES = ("", ".tsv", ".txt")
#: Label cells that mean "no label": empty, ``?`` and NaN (what NumPy and pandas write for a missing number).
#: ``NA``/``Na`` are not among them: sodium, or a class really named so, is a label.
MISSING_LABELS = {"", "nan", "?"}
LABEL_HEADERS = {"label", "labels", "class", "target", "y"}
NAME_HEADERS = {"file", "filename", "file_name", "name", "spectrum", "sample", "id"}


@dataclass
class SpectraSource:
    """Spectra read from one file or folder, before preprocessing.

    ``where[i]`` is a human-readable place of spectrum ``i`` ("data.csv, row 7"), used in error messages.
    """

    path: Path
    spectra: np.ndarray  # (N, L) float64
    labels: list[str] | None
    names: list[str]
    where: list[str]
    x: np.ndarray | None = None
    targets: np.ndarray | None = None  # (N, T) numeric targets when a format holds several per spectrum
    target_names: list[str] | None = None  # names of those targets (or of a named numeric label column)
    label_origin: str | None = None  # where the labels are in the file ("label column 'fat'"), for messages
    x_label: str | None = None  # the file's own name for its x axis ("wavenumber (cm⁻¹)"), for figures

    def __len__(self) -> int:
        return len(self.spectra)

    @property
    def length(self) -> int:
        return int(self.spectra.shape[1])

    def subset(self, indices: Sequence[int] | np.ndarray) -> SpectraSource:
        """The spectra at ``indices`` (in that order), with their labels, names and places."""
        idx = np.asarray(indices, dtype=np.int64)
        pick = lambda items: [items[i] for i in idx]  # noqa: E731
        return replace(
            self,
            spectra=self.spectra[idx],
            labels=None if self.labels is None else pick(self.labels),
            targets=None if self.targets is None else self.targets[idx],
            names=pick(self.names),
            where=pick(self.where),
        )


# ---------------------------------------------------------------------------------------------- small helpers
def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def as_text(value: object) -> str:
    """``value`` as text: bytes (a NumPy ``S`` array's items) are decoded, never shown as ``b'...'``."""
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return value.decode("latin-1")
    return str(value)


# Written as an integer with a leading zero (``01``, ``007``): a sample or batch code, not a number.
CODE = re.compile(r"[+-]?0\d+")


def normalise_label(value: object) -> str | None:
    """A label as a string; a number written with decimals that is integral loses them (``1.0e+00`` -> ``1``);
    missing -> ``None``.

    UCR files write class labels as floats, NumPy files as integers: normalising makes ``1``, ``1.0`` and
    ``1.0000000e+00`` one class. Numbers are read as decimals, never through a float, so an integer keeps all
    its digits (two 20-digit labels stay two classes). An integer written with leading zeros (``01``) stays as
    it is: such labels are codes (sample, batch, plate ``01``..``12``), and ``01`` is not the class ``1``
    (a file that spells one number both ways is refused when the classes are made, see
    :func:`lightning_spectra.data.targets.check_spellings`).
    """
    text = as_text(value).strip()
    if text.lower() in MISSING_LABELS:
        return None
    if CODE.fullmatch(text):
        return text
    try:
        number = Decimal(text)
    except InvalidOperation:
        return text
    if number.is_finite() and number.adjusted() < 100 and number == number.to_integral_value():
        return str(int(number))
    return text


def _guess_delimiter(path: Path, text: str) -> str | None:
    """Tab for ``.tsv``; otherwise the first of tab, ``;`` and ``,`` found on the first data line, or ``None``
    (runs of whitespace) when none occurs. ``;`` beats ``,``: files separated by ``;`` are European exports
    whose commas are decimal commas, so counting them would pick the wrong one."""
    if path.suffix.lower() in (".tsv", ".tab"):
        return "\t"
    first = next((ln for ln in _text_lines(text) if ln.strip() and not ln.lstrip().startswith("#")), "")
    return next((d for d in ("\t", ";", ",") if d in first), None)


DECIMAL_COMMA = re.compile(r"[+-]?\d*,\d+(?:[eE][+-]?\d+)?")


def _decimal_points(rows: list[list[str]]) -> list[list[str]]:
    """Cells written with a decimal comma (``0,125``, ``-1,5e-3``) as numbers Python reads (``0.125``)."""
    return [[c.replace(",", ".") if DECIMAL_COMMA.fullmatch(c) else c for c in row] for row in rows]


def _lines(text: str) -> Iterator[str]:
    """The lines of ``text`` one at a time, ends kept, split at ``\\n`` only (as ``io.StringIO`` splits them): a
    list of them, or a ``StringIO``, which holds four bytes per character, would copy the whole file again."""
    start = 0
    while start < len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end + 1
        yield text[start:end]
        start = end


def _text_lines(text: str) -> Iterator[str]:
    """The lines of ``text`` as ``text.splitlines()`` gives them, one at a time, without a list of them all."""
    for line in _lines(text):
        yield from line.splitlines()


def _records(text: str, delimiter: str | None) -> Iterator[tuple[int, list[str]]]:
    """``(line number, cells)`` of every non-blank, non-comment line, one at a time."""
    if delimiter is None:
        records = ((n, line.split()) for n, line in enumerate(_text_lines(text), start=1))
    else:
        reader = csv.reader(_lines(text), delimiter=delimiter)
        records = ((reader.line_num, row) for row in reader)
    for number, row in records:
        cells = [c.strip() for c in row]
        if any(cells) and not cells[0].startswith("#"):
            yield number, cells


def _split_rows(text: str, delimiter: str | None) -> tuple[list[list[str]], list[int]]:
    """Cells of every non-blank, non-comment line, and the line numbers they came from."""
    records = list(_records(text, delimiter))
    return [cells for _, cells in records], [number for number, _ in records]


def _blocks(records: Iterator[tuple[int, list[str]]], size: int | None) -> Iterator[tuple[list[list[str]], list[int]]]:
    """``(rows, line numbers)`` of ``size`` records at a time (all of them in one block when ``size`` is None)."""
    records = iter(records)
    while block := list(itertools.islice(records, size)):
        yield [cells for _, cells in block], [number for number, _ in block]


def _parse_numbers(cells: np.ndarray, place) -> np.ndarray:
    """``cells`` (strings) as float64; the first bad or non-finite cell is an error at ``place(i, j)``."""
    try:
        values = np.asarray(cells, dtype=np.float64)
    except ValueError:
        for (i, j), cell in np.ndenumerate(cells):
            if not cell:
                raise SpectraDataError(f"{place(i, j)}: empty cell (missing value or ragged data)") from None
            if not _is_number(cell):
                raise SpectraDataError(f"{place(i, j)}: {cell[:40]!r} is not a number") from None
        raise
    bad = np.argwhere(~np.isfinite(values))
    if len(bad):
        i, j = bad[0]
        raise SpectraDataError(f"{place(i, j)}: value is not finite (NaN or inf): {str(cells[i, j])!r}")
    return values


# ---------------------------------------------------------------------------------------------- tables
def _find_field(header: list[str] | None, key: int | str | None, what: str, path: Path, count: int) -> int | None:
    """Index of the label/name column given as a 0-based index or a header name; ``None`` if absent."""
    if key is None:
        return None
    if isinstance(key, int):
        if not 0 <= key < count:
            raise SpectraDataError(f"{path}: {what} {key} is outside the table's {count} columns (0-based)")
        return key
    if header is None:
        return None
    lowered = [h.lower() for h in header]
    return lowered.index(key.lower()) if key.lower() in lowered else None


def _detect_header(rows: np.ndarray, keys: Sequence[int | str | None]) -> bool:
    """Whether the first record is a header: it holds a named label/name column, or text above a number."""
    first = rows[0]
    names = {k.lower() for k in keys if isinstance(k, str)}
    if any(c.lower() in names for c in first):
        return True
    if len(rows) < 2:
        return False  # one line: a spectrum (its text cell is a label or name), unless named as a header above
    titles = [j for j, c in enumerate(first) if c.lower() in LABEL_HEADERS | NAME_HEADERS]
    if titles and all(_is_number(c) for j, c in enumerate(first) if j not in titles):
        return all(rows[1][j] != first[j] for j in titles)  # "name,400,402" above "scan_1,0.1,0.2": x axis header
    return any(not _is_number(a) and _is_number(b) for a, b in zip(first, rows[1], strict=True))


def _titled_axis(record: np.ndarray) -> bool:
    """Whether ``record`` is a title and then two or more numbers rising or falling strictly (``wavenumber,400,
    400.5,...``): the x column of a ``layout: columns`` table, whose first column is the x axis. Without a label
    row under the spectra's names no cell has text above a number, and the axis was read as a spectrum."""
    if len(record) < 3 or _is_number(record[0]) or not all(map(_is_number, record[1:])):
        return False
    axis = record[1:].astype(np.float64)
    return bool(np.isfinite(axis).all()) and order_break(axis) is None


#: Records read at a time. Only one block's cells exist as strings at once: the whole 50,000 x 200 table as strings
#: took 2.3 GB, 27 times the file (issue 35); a block of 200 such rows takes a few MB.
TABLE_BLOCK = 200


def _as_slice(indices: np.ndarray | list[int]) -> slice | np.ndarray:
    """``indices`` as a slice when they are one run (``1, 2, 3``): taking them is then a view, not a copy."""
    indices = np.asarray(indices)
    if len(indices) and np.array_equal(indices, np.arange(indices[0], indices[0] + len(indices))):
        return slice(int(indices[0]), int(indices[0]) + len(indices))
    return indices


class _Rows:
    """Rows of numbers added a block at a time into one array made for ``capacity`` rows (grown when a table holds
    more): joining the blocks at the end would hold the spectra twice."""

    def __init__(self, capacity: int) -> None:
        self.capacity, self.size = capacity, 0
        self.array: np.ndarray | None = None

    def add(self, block: np.ndarray) -> None:
        end = self.size + len(block)
        if self.array is None and end >= self.capacity:  # the first block is all there is: kept, not copied
            self.array, self.size = block, end
            return
        if self.array is None:
            self.array = np.empty((self.capacity, block.shape[1]), dtype=block.dtype)
        elif end > len(self.array):
            grown = np.empty((max(2 * len(self.array), end), block.shape[1]), dtype=block.dtype)
            grown[: self.size] = self.array[: self.size]
            self.array = grown
        self.array[self.size : end] = block
        self.size = end

    def rows(self) -> np.ndarray:
        """The rows added, as one array (a view of the first ``size`` rows: no copy)."""
        return self.array[: self.size]


def _row_capacity(text: str, points: int) -> int:
    """How many spectra of ``points`` values ``text`` can hold at most: one a line, each of at least ``points``
    characters and ``points - 1`` delimiters (a bound from lines alone would let comments count)."""
    return min(text.count("\n") + 1, len(text) // (2 * points - 1) + 1)


class _IrregularBlockError(Exception):
    """A later block breaks a rule the first block set (text in the name-less first column, a column empty so
    far): the table is read again as one block, whose answer, or error, is the one it always was."""


@dataclass
class _TableOptions:
    """How :func:`read_table` was asked to read a table (see its arguments)."""

    layout: str
    label_column: int | str | None
    name_column: int | str | None
    header: bool | None
    labels_required: bool
    label_columns: tuple[str, ...] = ()


def _cells(
    path: Path, block: tuple[list[list[str]], list[int]], first: int, width: int, delimiter: str | None
) -> np.ndarray:
    """A block's rows as a grid of strings; a row of other than ``width`` cells is a ragged table (``first``: the
    table's first line, whose width it is)."""
    rows, lines = block
    if delimiter != ",":  # a comma that does not separate cells is a decimal comma
        rows = _decimal_points(rows)
    for cells, line in zip(rows, lines, strict=True):
        if len(cells) != width:
            raise SpectraDataError(
                f"{path}, row {line}: has {len(cells)} cells but row {first} has {width} (ragged table)"
            )
    return np.asarray(rows, dtype=object).astype(str)


@dataclass
class _Table:
    """What a table's first block decided (header, label, name and spectrum fields) and what its blocks gave:
    the spectra and, per spectrum, its file row (``columns`` layout: column), label cell and name cell."""

    path: Path
    layout: str
    lines: list[int]  # the first block's file lines: a ``columns`` table's fields, a ``rows`` table's first line
    columns: np.ndarray  # the file columns kept, 1-based as a spreadsheet numbers them
    head: list[str] | None
    label_field: int | None
    name_field: int | None
    spectrum_fields: list[int]
    auto_name: bool  # the first column names the spectra because it held no number: a later number breaks that
    indicator_fields: list[int] = field(default_factory=list)  # label_columns' fields, in the option's order
    numbers: list[int] = field(default_factory=list)
    first_cells: list[np.ndarray] = field(default_factory=list)  # every record's first cell, for _check_layout
    spectra: _Rows = field(default_factory=lambda: _Rows(0))
    label_cells: list[str] = field(default_factory=list)
    name_cells: list[str] = field(default_factory=list)
    indicators: list[np.ndarray] = field(default_factory=list)  # per block, (records, labels) of 0, 1 or -1 (empty)

    def spot(self, number: int) -> str:
        """Where a record (one spectrum, or the header) sits in the file, in spreadsheet terms."""
        return f"row {number}" if self.layout == "rows" else f"column {number}"

    def spot_field(self, index: int) -> str:
        """Where field ``index`` (the labels, say) sits in the file: a column, or a row in the columns layout."""
        return f"column {self.columns[index]}" if self.layout == "rows" else f"row {self.lines[index]}"

    def place(self, number: int, index: int) -> str:
        """The cell of record ``number`` (its file row or column) in field ``index``."""
        if self.layout == "rows":
            return f"{self.path}, row {number}, column {self.columns[index]}"
        return f"{self.path}, row {self.lines[index]}, column {number}"

    def take(self, grid: np.ndarray, numbers: np.ndarray) -> None:
        """Add a block: ``grid`` its records (fields kept), ``numbers`` their file rows (or columns)."""
        self.first_cells.append(grid[:, 0].copy())  # a view would keep the whole block
        records = np.arange(len(grid))
        if self.head is not None:  # concatenated exports repeat the header: not spectra (nor a class "label")
            records = records[~(grid == np.asarray(self.head)).all(axis=1)]
        body, numbers = grid[_as_slice(records)], numbers[records]
        if self.auto_name and any(_is_number(c) for c in body[:, 0]):
            raise _IrregularBlockError
        fields = self.spectrum_fields
        values = body[:, _as_slice(fields)]
        self.spectra.add(_parse_numbers(values, lambda i, j: self.place(numbers[i], fields[j])))
        self.numbers.extend(numbers.tolist())
        if self.label_field is not None:
            self.label_cells.extend(body[:, self.label_field].tolist())
        if self.name_field is not None:
            self.name_cells.extend(body[:, self.name_field].tolist())
        if self.indicator_fields:
            indicators = self.indicator_fields
            cells = body[:, _as_slice(indicators)]
            self.indicators.append(_indicator_values(cells, lambda i, j: self.place(numbers[i], indicators[j])))

    def x_axis(self, text: str) -> tuple[np.ndarray | None, str | None]:
        """The x axis in the header's spectrum cells (numbers, or numbers with a unit) and its name, if any."""
        head, fields = self.head, self.spectrum_fields
        x, x_label = None, None
        if head is not None and all(_is_number(head[j]) for j in fields):
            x = np.asarray([float(head[j]) for j in fields])
            if self.layout == "columns" and self.name_field is not None:  # the x column's header cell names it
                x_label = _axis_name(head[self.name_field])
        elif head is not None and (with_unit := _axis_with_unit([head[j] for j in fields])) is not None:
            x, x_label = with_unit
        if x is not None:  # a titles line above the table names the axis before anything else
            x_label = _titles_above(text, self.lines[0]) or x_label
        return x, x_label

    def labels(self, labels_required: bool) -> tuple[list[str] | None, str | None]:
        """The spectra's labels (``None`` for none, or a missing one when not required) and where they are."""
        if self.label_field is None:
            return None, None
        labels = [normalise_label(cell) for cell in self.label_cells]
        if None in labels:
            if labels_required:
                missing = self.numbers[labels.index(None)]
                raise SpectraDataError(f"{self.place(missing, self.label_field)}: missing label")
            labels = None
        head = self.head
        origin = (
            f"label column {str(head[self.label_field])!r}" if head is not None else self.spot_field(self.label_field)
        )
        return labels, origin

    def indicator_targets(self, labels_required: bool) -> tuple[np.ndarray | None, list[str] | None, str | None]:
        """The 0/1 rows ``(N, L)`` of the ``label_columns``, their headers (the label names) and where they are;
        ``None`` for none. An empty cell is a missing label (an error in training data: never read as absent);
        in new spectra (``labels_required`` false) it drops the indicators, as an empty label cell drops the
        labels."""
        if not self.indicator_fields:
            return None, None, None
        values = np.concatenate(self.indicators)
        empty = np.argwhere(values < 0)
        if len(empty):
            if labels_required:
                i, j = empty[0]
                raise SpectraDataError(
                    f"{self.place(self.numbers[i], self.indicator_fields[j])}: missing label (empty indicator "
                    "cell; write 0 where the label is absent)"
                )
            return None, None, None
        names = [str(self.head[j]) for j in self.indicator_fields]
        return values.astype(np.float64), names, f"label columns {', '.join(map(repr, names))}"

    def source(self, text: str, labels_required: bool) -> SpectraSource:
        """The spectra read, checked as one table (its x axis, its layout) with their labels and names."""
        path = self.path
        spectra = self.spectra.rows()
        x, x_label = self.x_axis(text)
        _check_layout(path, np.concatenate(self.first_cells), self.layout, x, self.lines[0], self.columns[0])
        if x is not None:
            _check_axis_order(str(path), x, [self.spot_field(j) for j in self.spectrum_fields])
        where = [f"{path}, {self.spot(n)}" for n in self.numbers]
        if self.name_field is not None:
            names = self.name_cells
        else:
            names = [f"{path.name} {self.spot(n)}" for n in self.numbers]
        labels, origin = self.labels(labels_required)
        targets, target_names, indicator_origin = self.indicator_targets(labels_required)
        return SpectraSource(
            path=path,
            spectra=spectra,
            labels=labels,
            names=names,
            where=where,
            x=x,
            targets=targets,
            target_names=target_names,
            label_origin=indicator_origin or origin,
            x_label=x_label,
        )


def _plan(path: Path, grid: np.ndarray, lines: list[int], columns: np.ndarray, options: _TableOptions) -> _Table:
    """The header and the label, name and spectrum fields of a table as its first block ``grid`` (records by
    fields, empty columns dropped) shows them."""
    label_column, name_column = options.label_column, options.name_column
    if options.header is None:
        has_header = _detect_header(grid, (label_column, name_column, *options.label_columns)) or (
            options.layout == "columns" and _titled_axis(grid[0])
        )
    else:
        has_header = options.header
    head = list(grid[0]) if has_header else None
    records = np.arange(1, len(grid)) if has_header else np.arange(len(grid))
    if has_header:
        records = records[~(grid[1:] == grid[0]).all(axis=1)]
    body = grid[records]
    if len(body) == 0:
        raise SpectraDataError(f"{path}: has a header but no spectra")

    label_field = _find_field(head, label_column, "label_column", path, grid.shape[1])
    name_field = _find_field(head, name_column, "name_column", path, grid.shape[1])
    indicator_fields = _indicator_fields(path, head, options)
    if indicator_fields and label_field is not None:
        raise SpectraDataError(
            f"{path}: has label column {str(head[label_field])!r} and label_columns {list(options.label_columns)}; "
            "give one (label_column: null to read the indicator columns alone)"
        )
    auto_name = name_field is None and name_column is None and label_field != 0 and 0 not in indicator_fields
    auto_name = auto_name and not any(_is_number(c) for c in body[:, 0])
    if auto_name:
        name_field = 0  # a first column of text names the spectra
    if name_field is not None and name_field == label_field:
        raise SpectraDataError(f"{path}: the label and name columns are the same column")
    if name_field is not None and name_field in indicator_fields:
        raise SpectraDataError(f"{path}: name column {str(head[name_field])!r} is one of the label_columns")
    # indicator columns are labels, never points of the spectra
    labels = {label_field, name_field, *indicator_fields}
    spectrum_fields = [j for j in range(grid.shape[1]) if j not in labels]
    if not spectrum_fields:
        raise SpectraDataError(f"{path}: no spectrum values, only label/name columns")
    return _Table(
        path,
        options.layout,
        lines,
        columns,
        head,
        label_field,
        name_field,
        spectrum_fields,
        auto_name,
        indicator_fields,
    )


def _indicator_fields(path: Path, head: list[str] | None, options: _TableOptions) -> list[int]:
    """The fields of ``label_columns`` (header names, matched as ``label_column`` is: case aside), in the option's
    order, so every file's indicator columns come in one order whatever its own. New spectra
    (``labels_required`` false) may lack them all; a table that has some but not all, or training data without
    them, is an error listing the headers there are."""
    wanted = options.label_columns
    if not wanted:
        return []
    if len({w.lower() for w in wanted}) != len(wanted):
        raise SpectraDataError(f"label_columns {list(wanted)} names a column twice")
    lowered = [] if head is None else [str(h).lower() for h in head]
    found = [lowered.index(w.lower()) if w.lower() in lowered else None for w in wanted]
    if not options.labels_required and all(f is None for f in found):
        return []  # new spectra without their label sets
    if head is None:
        raise SpectraDataError(
            f"{path}: label_columns {list(wanted)} are header names, but the table has no header row "
            "(header: true if its first row is one)"
        )
    missing = [w for w, f in zip(wanted, found, strict=True) if f is None]
    if missing:
        titles = [str(h) for h in head if not _is_number(h)]
        numbers = len(head) - len(titles)
        axis = f" and {numbers} numbers (the x axis)" if numbers else ""
        what = "is not a column" if len(missing) == 1 else "are not columns"
        raise SpectraDataError(
            f"{path}: label_columns {', '.join(map(repr, missing))} {what}; its headers are "
            f"{', '.join(map(repr, titles)) or 'none of text'}{axis}"
        )
    return [int(f) for f in found]


#: Indicator cells that mean "label present" and "absent", after :func:`normalise_label` (``1.0`` is ``1``).
INDICATOR_VALUES = {"0": 0, "1": 1}


def _indicator_values(cells: np.ndarray, place) -> np.ndarray:
    """``cells`` (strings) of 0/1 indicator columns as ``int8`` 0 or 1, -1 for an empty (missing) cell; the first
    other cell (``2``, ``yes``, ``0.5``) is an error at ``place(i, j)``."""
    values = np.full(cells.shape, -1, dtype=np.int8)
    bad = np.zeros(cells.shape, dtype=bool)
    for cell in np.unique(cells):  # few distinct cells in a table of 0s and 1s: normalised once each
        label = normalise_label(cell)
        if label is None:
            continue
        if label in INDICATOR_VALUES:
            values[cells == cell] = INDICATOR_VALUES[label]
        else:
            bad |= cells == cell
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise SpectraDataError(f"{place(i, j)}: {str(cells[i, j])[:40]!r} is not 0 or 1 (label_columns hold 0/1)")
    return values


def _read_blocks(
    path: Path, text: str, delimiter: str | None, options: _TableOptions, size: int | None
) -> SpectraSource:
    """Read the table in blocks of ``size`` records (one block when ``None``): the first decides the header and
    fields, every later one must keep to that (else :class:`_IrregularBlockError`)."""
    blocks = _blocks(_records(text, delimiter), size)
    rows, lines = next(blocks, ([], []))
    if not rows:
        raise SpectraDataError(f"{path}: no data rows found")
    first, width = lines[0], len(rows[0])
    grid = _cells(path, (rows, lines), first, width, delimiter)
    keep = np.flatnonzero((grid != "").any(axis=0))  # trailing delimiters leave a wholly empty column
    dropped = np.setdiff1d(np.arange(width), keep)
    kept = _as_slice(keep)
    grid = grid[:, kept]
    if options.layout == "columns":
        grid, numbers = grid.T, keep + 1
    else:
        numbers = np.asarray(lines)
    table = _plan(path, grid, lines, keep + 1, options)
    if size is not None:
        table.spectra = _Rows(_row_capacity(text, len(table.spectrum_fields)))
    table.take(grid, numbers)
    for block in blocks:
        grid = _cells(path, block, first, width, delimiter)
        if (grid[:, dropped] != "").any():
            raise _IrregularBlockError  # a column empty in the first block holds something here
        table.take(grid[:, kept], np.asarray(block[1]))
    return table.source(text, options.labels_required)


def read_table(
    path: str | Path,
    layout: str = "rows",
    label_column: int | str | None = "label",
    name_column: int | str | None = None,
    header: bool | None = None,
    delimiter: str | None = "auto",
    labels_required: bool = True,
    label_columns: Sequence[str] | None = None,
) -> SpectraSource:
    """Read a CSV/TSV table of spectra.

    Args:
        layout: ``rows`` (one spectrum per row) or ``columns`` (one per column; the file is read transposed,
            so "column" below means "row" of the file).
        label_column: header name or 0-based index of the label column; a missing *named* column means the
            file has no labels (new spectra, or labels in a separate file).
        name_column: header name or 0-based index of a column naming the spectra; by default the first
            column names them when it holds text, else they are called ``<file> row <n>``.
        header: whether the first row is a header; by default it is when it holds the label/name column's
            name, or text above a number. Header cells of the spectrum columns that are all numbers are the
            x axis (``label,400,402,404``), as are numbers with one known unit (``400 nm``), which names the
            axis; a comment line of two titles just above the table (``# Raman shift (cm-1), intensity``)
            names it first (``docs/data-formats.md``, "The x axis label").
        delimiter: a delimiter, ``None`` for runs of whitespace, or ``auto``.
        labels_required: an empty label cell is an error; otherwise (new spectra) the labels are dropped.
        label_columns: header names of 0/1 indicator columns, one per label (``[quartz, calcite]``): their
            cells are the spectrum's :attr:`SpectraSource.targets` row, named by the headers, and not spectrum
            points. A cell other than 0 or 1, an empty one in labelled data, or a name the header lacks is an
            error naming the file (and row and column).
    """
    path = Path(path)
    if layout not in ("rows", "columns"):
        raise SpectraDataError(f"layout must be 'rows' or 'columns', got {layout!r}")
    text = read_text(path)
    delimiter = _guess_delimiter(path, text) if delimiter == "auto" else delimiter
    options = _TableOptions(layout, label_column, name_column, header, labels_required, tuple(label_columns or ()))
    if layout == "rows":  # one spectrum per row: read TABLE_BLOCK rows at a time
        with contextlib.suppress(SpectraDataError, _IrregularBlockError):
            return _read_blocks(path, text, delimiter, options, TABLE_BLOCK)
    # A bad or irregular table is read again whole, so its error is the one reading it whole finds first; a
    # ``columns`` table is read whole, as each of its spectra spans every line.
    return _read_blocks(path, text, delimiter, options, None)


def _check_axis_order(where: str, x: np.ndarray, spots: list[str]) -> None:
    """Refuse an x axis that holds a non-finite value or does not rise or fall strictly, naming ``where`` and the
    two places (``spots[i]``: ``column 4``, ``point 3``) at fault: the rule of an ``.xy`` file
    (:func:`~lightning_spectra.data.xy.order_break`), so a table or ``.npz`` is not trusted where ``.xy`` is not."""
    bad = np.flatnonzero(~np.isfinite(x))
    if len(bad):
        raise SpectraDataError(f"{where}, {spots[bad[0]]}: x axis value is not finite (NaN or inf): {x[bad[0]]:g}")
    i = order_break(x)
    if i is not None:
        raise SpectraDataError(
            f"{where}, {spots[i]}: x {order_problem(x, i)} ({spots[i - 1]}: {x[i - 1]:g}); the x axis must rise or "
            "fall strictly (a repeated or swapped value?)"
        )


def _check_layout(
    path: Path, first_cells: np.ndarray, layout: str, x: np.ndarray | None, first_line: int, first_column: int
) -> None:
    """Refuse a table read the other way round: no x axis in the header record as read, but a title in the corner
    and three or more numbers rising or falling strictly after it, across the records, which is the x axis of
    the other layout. Read as it stands, such a table gives spectra of one point from each spectrum (or labels
    that are wavelengths), and a later error about classes or lengths would blame something else."""
    if x is not None and order_break(x) is None:
        return
    corner, cells = first_cells[0], first_cells[1:]  # the first cell of every record, the header's first
    if _is_number(corner) or corner.lower() in NAME_HEADERS or len(cells) < 3 or not all(map(_is_number, cells)):
        return
    axis = cells.astype(np.float64)
    if not np.isfinite(axis).all() or order_break(axis) is not None:
        return
    other = "rows" if layout == "columns" else "columns"
    along = f"row {first_line}" if layout == "columns" else f"column {first_column}"
    raise SpectraDataError(
        f"{path}: this looks like one spectrum per {other[:-1]} ({along} holds an x axis, {str(corner)!r} "
        f"{axis[0]:g}..{axis[-1]:g}); use layout: {other}"
    )


#: Units of an x axis as header cells carry them (``400 nm``, ``NIR.900 nm``, ``4000 cm-1``), lower case, and the
#: axis each names in figures.
AXIS_UNITS = {
    "nm": "wavelength (nm)",
    "µm": "wavelength (µm)",
    "μm": "wavelength (µm)",
    "um": "wavelength (µm)",
    "cm-1": "wavenumber (cm⁻¹)",
    "cm^-1": "wavenumber (cm⁻¹)",
    "cm⁻¹": "wavenumber (cm⁻¹)",
    "1/cm": "wavenumber (cm⁻¹)",
    "/cm": "wavenumber (cm⁻¹)",
    "ev": "energy (eV)",
    "kev": "energy (keV)",
}
# A header cell of a number with a unit: an optional prefix (R writes a matrix column ``NIR`` as ``NIR.900 nm``),
# the number, then the unit.
CELL_WITH_UNIT = re.compile(r"(?P<prefix>.*?)(?P<number>[+-]?\d+(?:\.\d*)?(?:[eE][+-]?\d+)?)\s*(?P<unit>\S+)")


def _axis_with_unit(cells: Sequence[str]) -> tuple[np.ndarray, str] | None:
    """The x axis and its name from header cells that are numbers with one known unit after them (``400 nm``,
    ``400.5 nm``, ...; ``4000 cm-1``) and one prefix before them (``NIR.900 nm``), else ``None``: an export that
    writes the unit into every cell names its axis by it."""
    matches = [CELL_WITH_UNIT.fullmatch(cell.strip()) for cell in cells]
    if not all(matches):
        return None
    prefixes = {m["prefix"] for m in matches}
    units = {m["unit"].lower() for m in matches}
    if len(prefixes) != 1 or len(units) != 1 or (unit := units.pop()) not in AXIS_UNITS:
        return None
    return np.asarray([float(m["number"]) for m in matches]), AXIS_UNITS[unit]


def _titles_above(text: str, first: int) -> str | None:
    """The x axis's title in a comment line of two column titles just above a table's first line ``first``
    (``# Raman shift (cm-1), intensity``): the rule of an ``.xy`` file's titles (:func:`axis_title`)."""
    above = [line.strip() for line in itertools.islice(_text_lines(text), first - 1) if line.strip()]
    return axis_title(above[-1]) if above and above[-1].startswith("#") else None


def _axis_name(cell: str) -> str | None:
    """A header cell as the name of an x axis, unless it is empty, a number or a generic column title."""
    cell = cell.strip()
    if not cell or _is_number(cell) or cell.lower() in LABEL_HEADERS | NAME_HEADERS | {"x"}:
        return None
    return cell


# ---------------------------------------------------------------------------------------------- UCR / UEA
def is_ucr_text(path: Path) -> bool:
    """Whether ``path`` looks like a UCR archive text file: named ``<Problem>_TRAIN``/``_TEST`` (``.tsv``,
    ``.txt`` or no suffix) and starting with a line of numbers only (a table with a header is not one)."""
    if not (path.is_file() and path.stem.upper().endswith(UCR_SPLIT_NAMES) and path.suffix.lower() in UCR_SUFFIXES):
        return False
    lines = read_text(path).splitlines()
    first = next((line for line in lines if line.strip() and not line.lstrip().startswith("#")), "")
    return all(_is_number(cell) for cell in first.replace(",", " ").split())


def read_ucr_text(path: str | Path) -> SpectraSource:
    """A UCR ``_TRAIN``/``_TEST`` file: one series per line, the class label first, tab/comma/space separated."""
    return read_table(path, layout="rows", label_column=0, header=False)


def read_ucr_ts(path: str | Path) -> SpectraSource:
    """A univariate sktime/UEA ``.ts`` file: ``@`` header lines, then ``v1,v2,...,vn:label`` after ``@data``.

    Classification files declare ``@classLabel true <classes>``; regression files (the TSER archive) declare
    ``@targetLabel true`` and end every series with a number, the target, which becomes the spectrum's label.
    """
    path = Path(path)
    labelled, declared, data_line = False, None, None
    numeric, class_line, target_line = False, None, None
    records: list[tuple[int, str]] = []
    for number, raw in enumerate(read_text(path).splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if data_line is None:
            if not line.startswith("@"):
                raise SpectraDataError(f"{path}, line {number}: expected an @ header line before @data")
            tag, *value = line.split()
            tag = tag.lower()
            flag = value[0].lower() if value else ""
            if tag == "@data":
                data_line = number
            elif tag == "@classlabel":
                class_line = number if flag == "true" else class_line
                labelled = labelled or flag == "true"
                declared = {normalise_label(v) for v in value[1:]} if flag == "true" else None
            elif tag == "@univariate" and flag == "false":
                raise SpectraDataError(f"{path}, line {number}: multivariate series are not supported (one channel)")
            elif tag == "@timestamps" and flag == "true":
                raise SpectraDataError(f"{path}, line {number}: series with time stamps are not supported")
            elif tag == "@targetlabel":
                if flag not in ("true", "false"):
                    raise SpectraDataError(f"{path}, line {number}: @targetLabel must be true or false, got {line!r}")
                target_line = number if flag == "true" else target_line
                numeric = flag == "true"
                labelled = labelled or numeric
            if class_line is not None and target_line is not None:
                raise SpectraDataError(
                    f"{path}, line {max(class_line, target_line)}: both @classLabel true (line {class_line}) and "
                    f"@targetLabel true (line {target_line}); a .ts file has classes or a numeric target"
                )
            continue
        records.append((number, line))
    if data_line is None:
        raise SpectraDataError(f"{path}: no @data line; not a .ts file")
    if not records:
        raise SpectraDataError(f"{path}: no series after @data (line {data_line})")

    rows, labels = [], []
    for number, line in records:
        parts = line.split(":")
        if labelled:
            if len(parts) < 2:
                what = "target" if numeric else "label"
                raise SpectraDataError(f"{path}, line {number}: missing {what} (expected 'v1,v2,...,vn:{what}')")
            *parts, label_text = parts
            label = normalise_label(label_text)
            if label is None:
                raise SpectraDataError(f"{path}, line {number}: missing {'target' if numeric else 'label'}")
            if numeric and not (_is_number(label) and np.isfinite(float(label))):
                raise SpectraDataError(f"{path}, line {number}: target {label_text.strip()[:40]!r} is not a number")
            if declared and label not in declared:
                raise SpectraDataError(
                    f"{path}, line {number}: label {label!r} is not declared in @classLabel "
                    f"({', '.join(sorted(declared))})"
                )
            labels.append(label)
        if len(parts) != 1:
            raise SpectraDataError(
                f"{path}, line {number}: {len(parts)} dimensions; only univariate series are supported"
            )
        values = ["nan" if v.strip() == "?" else v.strip() for v in parts[0].split(",")]  # "?": missing
        if rows and len(values) != len(rows[0][1]):
            raise SpectraDataError(
                f"{path}, line {number}: has {len(values)} values but line {rows[0][0]} has "
                f"{len(rows[0][1])} (series of unequal length)"
            )
        rows.append((number, values))
    cells = np.asarray([v for _, v in rows], dtype=object).astype(str)
    spectra = _parse_numbers(cells, lambda i, j: f"{path}, line {rows[i][0]}, value {j + 1}")
    return SpectraSource(
        path=path,
        spectra=spectra,
        labels=labels if labelled else None,
        names=[f"{path.name} line {n}" for n, _ in rows],
        where=[f"{path}, line {n}" for n, _ in rows],
        label_origin="the labels after ':'" if labelled else None,
    )


# ---------------------------------------------------------------------------------------------- NumPy
NPZ_KEYS = {
    "spectra": ("spectra", "X"),
    "labels": ("labels", "y"),
    "x": ("x_axis", "x"),
    "names": ("names",),
    "target_names": ("target_names",),
    "x_label": ("x_label",),
    "x_unit": ("x_unit",),
}


#: The arrays naming a ``.npz``'s x axis and its unit (0-d strings): ``x_label="wavenumber", x_unit="cm⁻¹"``.
NPZ_AXIS = ("x_label", "x_unit")


def read_npz(path: str | Path) -> SpectraSource:
    """A ``.npz`` with ``spectra`` (or ``X``) ``(N, L)`` and optional ``labels``/``y``, ``x_axis``/``x``, ``names``."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays, found = {}, {}
            for role, keys in NPZ_KEYS.items():
                key = next((k for k in keys if k in data.files), None)
                if key is not None:
                    arrays[role], found[role] = data[key], key
            files = data.files
    except ValueError as err:  # object arrays (ragged lists, Python objects) need pickle, which we never allow
        raise SpectraDataError(f"{path}: cannot load without pickle ({err}); save numeric or string arrays") from None
    except (OSError, EOFError) as err:
        raise SpectraDataError(f"{path}: not a readable .npz file ({err})") from None
    if "spectra" not in arrays:
        raise SpectraDataError(f"{path}: no 'spectra' (or 'X') array; arrays found: {', '.join(files) or 'none'}")
    spectra = arrays["spectra"]
    if spectra.ndim != 2:
        raise SpectraDataError(f"{path}: 'spectra' must be 2-D (spectra, points), got shape {spectra.shape}")
    n = len(spectra)
    where = [f"{path}, spectrum {i}" for i in range(n)]
    if not np.issubdtype(spectra.dtype, np.number):
        raise SpectraDataError(f"{path}: 'spectra' holds {spectra.dtype}, not numbers")
    bad = np.argwhere(~np.isfinite(spectra))
    if len(bad):
        raise SpectraDataError(f"{where[bad[0][0]]}, point {bad[0][1]}: value is not finite (NaN or inf)")
    for role in ("x", "names"):
        if role in arrays and arrays[role].ndim != 1:
            raise SpectraDataError(f"{path}: '{role}' must be 1-D, got shape {arrays[role].shape}")
    targets, target_names = None, None
    if "labels" in arrays and arrays["labels"].ndim == 2:  # several numeric targets per spectrum (regression)
        targets, target_names = _npz_targets(path, arrays, where, n)
        del arrays["labels"]
    elif "labels" in arrays and arrays["labels"].ndim != 1:
        raise SpectraDataError(f"{path}: 'labels' must be 1-D (or 2-D numeric targets), got {arrays['labels'].shape}")
    labels = None
    if "labels" in arrays:
        if len(arrays["labels"]) != n:
            raise SpectraDataError(f"{path}: {len(arrays['labels'])} labels for {n} spectra")
        labels = [normalise_label(v) for v in arrays["labels"].tolist()]
        if None in labels:
            raise SpectraDataError(f"{where[labels.index(None)]}: missing label")
    x = arrays.get("x")
    if x is not None and len(x) != spectra.shape[1]:
        raise SpectraDataError(f"{path}: x axis has {len(x)} values but spectra have {spectra.shape[1]} points")
    if x is not None:
        if not np.issubdtype(x.dtype, np.number):
            raise SpectraDataError(f"{path}: '{found['x']}' holds {x.dtype}, not numbers")
        _check_axis_order(f"{path}, '{found['x']}'", x.astype(np.float64), [f"point {i}" for i in range(len(x))])
    if "target_names" in arrays:
        target_names = [as_text(v) for v in arrays["target_names"].tolist()]
    name, unit = (as_text(arrays[k].item()).strip() if k in arrays and arrays[k].size == 1 else "" for k in NPZ_AXIS)
    x_label = f"{name} ({unit})" if name and unit else (name or unit or None)
    names = (
        [as_text(v) for v in arrays["names"].tolist()] if "names" in arrays else [f"{path.name}[{i}]" for i in range(n)]
    )
    if len(names) != n:
        raise SpectraDataError(f"{path}: {len(names)} names for {n} spectra")
    return SpectraSource(
        path=path,
        spectra=spectra.astype(np.float64),
        labels=labels,
        names=names,
        where=where,
        x=None if x is None else x.astype(np.float64),
        targets=targets,
        target_names=target_names,
        label_origin=f"array {found['labels']!r}" if labels is not None else None,
        x_label=x_label,
    )


def _npz_targets(path: Path, arrays: dict, where: list[str], n: int) -> tuple[np.ndarray, list[str] | None]:
    """A 2-D ``y`` ``(N, T)`` of numeric targets, checked; names from ``target_names`` if the file has them."""
    values = arrays["labels"]
    if len(values) != n or not np.issubdtype(values.dtype, np.number):
        raise SpectraDataError(
            f"{path}: 2-D 'y' must hold numbers, one row per spectrum; got {values.dtype} {values.shape}"
        )
    bad = np.argwhere(~np.isfinite(values))
    if len(bad):
        raise SpectraDataError(f"{where[bad[0][0]]}, target {bad[0][1]}: value is not finite (NaN or inf)")
    names = arrays.get("target_names")
    if names is not None and len(names) != values.shape[1]:
        raise SpectraDataError(f"{path}: {len(names)} target_names for {values.shape[1]} targets")
    return values.astype(np.float64), None


# ---------------------------------------------------------------------------------------------- .xy files
def read_xy_source(path: str | Path, progress: bool = True) -> SpectraSource:
    """A folder of two-column files sharing one x axis (natural order), or a single two-column file."""
    path = Path(path)
    if path.is_dir():
        x, intensities, files = read_xy_folder(path, progress=progress)
    else:
        x, y = read_xy(path)
        intensities, files = y[None, :], [path]
    return SpectraSource(
        path=path,
        spectra=intensities,
        labels=None,
        names=[f.name for f in files],
        where=[str(f) for f in files],
        x=x,
        x_label=xy_axis_name(files[0]),
    )


# ---------------------------------------------------------------------------------------------- vendor files
def vendor_files(folder: Path) -> list[Path]:
    """The vendor files of a folder (SPC, OPUS, JCAMP-DX, WDF) in natural (time) order."""
    return sorted((p for p in folder.iterdir() if is_vendor_file(p) and p.is_file()), key=natural_key)


def read_vendor_source(path: Path, progress: bool = True) -> SpectraSource:
    """A vendor file (every spectrum it holds: an SPC's subfiles, a WDF map) or a folder of them sharing one x axis.

    A file of one spectrum is named by its file name, as a ``.xy`` file is; the spectra of a file of several by
    ``<file>[i]``."""
    from lightning_spectra.runtime.progress import track

    files = vendor_files(path) if path.is_dir() else [path]
    xs, blocks, names, where, title = [], [], [], [], None
    for file in track(files, "Reading spectra", enabled=progress and len(files) > 1):
        x, spectra, axis = read_vendor(file)
        if xs and (len(x) != len(xs[0]) or not np.allclose(x, xs[0], rtol=AXIS_RTOL, atol=AXIS_ATOL)):
            raise SpectraDataError(f"{file}: x axis differs from {files[0].name}'s; spectra must share one axis")
        xs.append(x)
        blocks.append(spectra)
        title = title or axis
        several = len(spectra) > 1
        names += [f"{file.name}[{i}]" if several else file.name for i in range(len(spectra))]
        where += [f"{file}, spectrum {i}" if several else str(file) for i in range(len(spectra))]
    _check_axis_order(str(files[0]), xs[0], [f"point {i}" for i in range(len(xs[0]))])
    return SpectraSource(
        path=path, spectra=np.concatenate(blocks), labels=None, names=names, where=where, x=xs[0], x_label=title
    )


# ---------------------------------------------------------------------------------------------- label files
def read_labels_file(path: str | Path) -> list[tuple[str | None, str, int]]:
    """``(name or None, label, line)`` per entry of a labels file.

    Two columns are ``name,label`` pairs (a file name with or without its suffix, or a spectrum name); one
    column lists labels in spectrum order. A first row of column titles (``file,label``) is skipped.
    """
    path = Path(path)
    text = read_text(path)
    rows, lines = _split_rows(text, _guess_delimiter(path, text))
    if rows and (rows[0][-1].lower() in LABEL_HEADERS or rows[0][0].lower() in NAME_HEADERS):
        rows, lines = rows[1:], lines[1:]
    if not rows:
        raise SpectraDataError(f"{path}: no labels found")
    entries = []
    for cells, line in zip(rows, lines, strict=True):
        if len(cells) not in (1, 2) or len(cells) != len(rows[0]):
            raise SpectraDataError(
                f"{path}, row {line}: expected 'name,label' (or one label per row), got {len(cells)} cells"
            )
        label = normalise_label(cells[-1])
        if label is None:
            raise SpectraDataError(f"{path}, row {line}: missing label")
        entries.append((cells[0] if len(cells) == 2 else None, label, line))
    return entries


def attach_labels(source: SpectraSource, labels_path: str | Path) -> SpectraSource:
    """``source`` with labels from ``labels_path``: matched by name, or in order for a one-column file."""
    labels_path = Path(labels_path)
    entries = read_labels_file(labels_path)
    if entries[0][0] is None:
        if len(entries) != len(source):
            raise SpectraDataError(
                f"{labels_path}: {len(entries)} labels for the {len(source)} spectra of {source.path}"
            )
        return replace(source, labels=[label for _, label, _ in entries], label_origin=f"labels file {labels_path}")
    by_name: dict[str, tuple[str, int]] = {}
    for name, label, line in entries:
        for key in {name, Path(name).stem}:
            if key in by_name and by_name[key][0] != label:
                raise SpectraDataError(
                    f"{labels_path}, row {line}: {name!r} is labelled {label!r} here but "
                    f"{by_name[key][0]!r} on row {by_name[key][1]}"
                )
            by_name[key] = (label, line)
    labels = []
    for name, where in zip(source.names, source.where, strict=True):
        found = by_name.get(name) or by_name.get(Path(name).stem)
        if found is None:
            raise SpectraDataError(f"{labels_path}: no label for {name!r} ({where})")
        labels.append(found[0])
    return replace(source, labels=labels, label_origin=f"labels file {labels_path}")


# ---------------------------------------------------------------------------------------------- x axes
AXIS_RTOL, AXIS_ATOL = 1e-4, 1e-8  # as watch compares a file's axis with a model's


def model_axis(x: np.ndarray | None) -> np.ndarray | None:
    """A model's stored x axis, or ``None`` when it is the point index ``0, 1, 2, ...`` (trained without one)."""
    if x is None or np.array_equal(x, np.arange(len(x))):
        return None
    return np.asarray(x, dtype=np.float64)


def check_same_axis(source: SpectraSource, x: np.ndarray | None, reference: str) -> None:
    """Refuse spectra whose x axis is not ``x`` (the training data's or a model's, named by ``reference``): a model
    compares spectra point by point, so another axis gives answers about other positions. The error names both
    sides and the first point that differs."""
    check_axis(source.x, x, str(source.path), reference)


def check_axis(axis: np.ndarray | None, x: np.ndarray | None, where: str, reference: str) -> None:
    """:func:`check_same_axis` for an axis of spectra named ``where`` (a file, a datamodule's data)."""
    if axis is None or x is None or len(axis) != len(x):
        return  # no axis to compare (a length mismatch is refused on its own)
    close = np.isclose(axis, x, rtol=AXIS_RTOL, atol=AXIS_ATOL)
    if close.all():
        return
    i = int(np.argmin(close))
    raise SpectraDataError(
        f"{where}: x axis differs from {reference}: point {i} is at {axis[i]:g} here but {x[i]:g} there "
        f"(here {axis[0]:g}..{axis[-1]:g}, there {x[0]:g}..{x[-1]:g})"
    )


def axis_row_as_x(source: SpectraSource, x: np.ndarray | None) -> SpectraSource:
    """``source`` without its first spectrum when that is ``x`` (a model's axis): a table of numbers whose first
    row is the x axis reads, without ``header: true``, as if that row were a spectrum."""
    if x is None or source.x is not None or source.length != len(x):
        return source
    if not np.allclose(source.spectra[0], x, rtol=AXIS_RTOL, atol=AXIS_ATOL):
        return source
    if len(source) == 1:
        raise SpectraDataError(f"{source.where[0]}: is the model's x axis, and no spectra follow it")
    return replace(source.subset(np.arange(1, len(source))), x=source.spectra[0].copy())


# ---------------------------------------------------------------------------------------------- dispatch
def read_spectra(
    path: str | Path,
    layout: str = "rows",
    label_column: int | str | None = "label",
    name_column: int | str | None = None,
    header: bool | None = None,
    labels_path: str | Path | None = None,
    progress: bool = True,
    labels_required: bool = True,
    label_columns: Sequence[str] | None = None,
) -> SpectraSource:
    """Read spectra from any supported file or folder, chosen by its suffix and name.

    Labels come from the file itself (table label column, UCR class, npz ``labels``) or, when it has none,
    from ``labels_path`` (for a folder of ``.xy`` files, ``labels.csv`` inside it by default). New spectra
    (``labels_required=False``) may have empty label cells in a table. ``label_columns`` names a table's 0/1
    indicator columns (:func:`read_table`); other formats have no columns to name, so it is refused for them.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if not path.exists():
        raise SpectraDataError(f"{path}: no such file or folder")
    table = False  # read as a table of named columns (a UCR text file is a table without names)
    if path.is_dir():
        xy_folder = any(p.suffix.lower() in SPECTRUM_SUFFIXES for p in path.iterdir()) or not vendor_files(path)
        source = read_xy_source(path, progress=progress) if xy_folder else read_vendor_source(path, progress)
        if labels_path is None and labels_required and (path / "labels.csv").is_file():
            labels_path = path / "labels.csv"
    elif suffix == ".npz":
        source = read_npz(path)
    elif suffix == ".ts":
        source = read_ucr_ts(path)
    elif is_ucr_text(path):
        source = read_ucr_text(path)
    elif suffix in TABLE_SUFFIXES:
        table = True
        source = read_table(
            path,
            layout=layout,
            label_column=label_column,
            name_column=name_column,
            header=header,
            labels_required=labels_required,
            label_columns=label_columns,
        )
    elif suffix in SPECTRUM_SUFFIXES:
        source = read_xy_source(path, progress=progress)
    elif is_vendor_file(path):
        source = read_vendor_source(path, progress)
    else:
        raise SpectraDataError(
            f"{path}: unknown spectrum format {suffix or '(no suffix)'!r}; use a folder of .xy files, a table "
            f"({', '.join(TABLE_SUFFIXES)}), .npz, a UCR .ts file, a UCR <Name>_TRAIN/_TEST file or a vendor file "
            f"({', '.join(VENDOR_SUFFIXES)}, OPUS .0, .1, ...)"
        )
    if label_columns and labels_required and not table:
        # labels elsewhere (an .npz y, a labels file) would be read as if the named columns had given them
        raise SpectraDataError(
            f"{path}: label_columns name the indicator columns of a table (.csv, .tsv, .tab); this is not one"
        )
    if label_columns and source.targets is not None and labels_path is not None:
        raise SpectraDataError(  # which of the two would hold the truth cannot be guessed
            f"{labels_path}: labels for {path}, whose label_columns give its label sets already; give one of them"
        )
    if source.labels is None and labels_path is not None:
        source = attach_labels(source, labels_path)
    return source
