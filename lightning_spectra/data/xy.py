"""Reading two-column spectrum files (``.xy``: x such as 2 theta, then intensity).

Header lines before the first numeric row are skipped (the HED files carry 25 lines of detector metadata),
as are blank lines and lines starting with a comment character anywhere in the file. Anything else that is
not two finite numbers is an error naming the file and line.

Values are separated by whitespace, commas or semicolons. Files from European locales write decimal commas
(``10,0500<TAB>0,1934``): a comma inside every number of a whitespace- or semicolon-separated line is a
decimal mark. A file keeps one use of the comma; a line that uses it the other way, or whose commas could be
either, is an error. The x axis must then rise or fall strictly: a spectrum is sampled on a monotonic axis
(2 theta, a wavenumber, a wavelength), and a repeated or backtracking x is a misread file (decimal commas
read as separators give x = 10, 10, 10, ...) or scans joined together.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from lightning_spectra.data.text import read_text
from lightning_spectra.errors import SpectraDataError

COMMENT_PREFIXES = ("#", "!", "%", ";", "//")
SPECTRUM_SUFFIXES = (".xy", ".dat", ".txt")


COMMA_USES = {"decimal": "decimal mark", "separator": "separator"}
DECIMAL_COMMA = re.compile(r"[+-]?\d*,\d+(?:[eE][+-]?\d+)?")


def _fields(line: str) -> tuple[list[str], str | None]:
    """The values of a line and its use of the comma: ``decimal``, ``separator``, ``None`` (no comma) or
    ``ambiguous``."""
    if "," not in line:
        return line.replace(";", " ").split(), None
    tokens = line.replace(";", " ").split()
    if len(tokens) == 1:  # "10.05,0.1934": nothing else separates the values
        return line.rstrip(",").split(","), "separator"
    if all(DECIMAL_COMMA.fullmatch(t) or "," not in t for t in tokens):  # "10,0500<TAB>0,1934"
        return [t.replace(",", ".") for t in tokens], "decimal"
    if all("," not in t.strip(",") for t in tokens):  # "10.05, 0.1934": commas beside the spaces
        return line.replace(",", " ").replace(";", " ").split(), "separator"
    return line.replace(",", " ").replace(";", " ").split(), "ambiguous"  # numbers, to tell data from a header


def _numbers(fields: list[str]) -> list[float] | None:
    try:
        return [float(v) for v in fields]
    except ValueError:
        return None


def order_break(x: np.ndarray) -> int | None:
    """The first index at which ``x`` stops rising or falling strictly, or ``None`` when it does not.

    One rule for every format that carries an x axis (``.xy`` files, table headers, a ``.npz``'s ``x_axis``): a
    spectrum is sampled on a monotonic axis, so a repeated or swapped value is a misread file, never data."""
    if len(x) < 2:
        return None
    steps = np.sign(np.diff(x))
    bad = np.flatnonzero(steps != steps[0]) if steps[0] != 0 else np.array([0])
    return int(bad[0]) + 1 if len(bad) else None


def order_problem(x: np.ndarray, i: int) -> str:
    """What is wrong at ``x[i]`` (an :func:`order_break`): ``repeats 402`` or ``turns back at 401``."""
    return f"{'repeats' if x[i] == x[i - 1] else 'turns back at'} {x[i]:g}"


def _check_monotonic(path: Path, x: np.ndarray, lines: list[int]) -> None:
    """Refuse an x axis that does not rise or fall strictly (see the module docstring)."""
    i = order_break(x)
    if i is not None:
        raise SpectraDataError(
            f"{path}, line {lines[i]}: x {order_problem(x, i)} (line {lines[i - 1]}: {x[i - 1]:g}); the x axis "
            "must rise or fall strictly (decimal commas read as separators, or scans joined together?)"
        )


def read_xy(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(x, intensity)`` from a two-column text file; raises :class:`SpectraDataError` on bad input."""
    path = Path(path)
    lines = read_text(path).splitlines()
    rows: list[tuple[float, float]] = []
    numbers: list[int] = []
    comma: tuple[str, int] | None = None  # the file's use of the comma, and its first line
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith(COMMENT_PREFIXES):
            continue
        fields, use = _fields(line)
        values = _numbers(fields)
        if values is None:
            if not rows:
                continue  # still in the header
            raise SpectraDataError(f"{path}, line {number}: expected two numbers, got {line[:60]!r}")
        if use == "ambiguous":
            raise SpectraDataError(
                f"{path}, line {number}: cannot tell decimal commas from separators in {line[:60]!r}"
            )
        if use is not None and comma is not None and use != comma[0]:
            raise SpectraDataError(
                f"{path}, line {number}: ',' is a {COMMA_USES[use]} here but a {COMMA_USES[comma[0]]} on line "
                f"{comma[1]} ({line[:60]!r})"
            )
        comma = comma or ((use, number) if use else None)
        if len(values) < 2:
            raise SpectraDataError(f"{path}, line {number}: expected two columns (x, intensity), got {len(values)}")
        if not np.all(np.isfinite(values[:2])):
            raise SpectraDataError(f"{path}, line {number}: value is not finite (NaN or inf): {line[:60]!r}")
        rows.append((values[0], values[1]))
        numbers.append(number)
    if len(rows) < 2:
        raise SpectraDataError(f"{path}: no data rows found (need at least two lines of 'x intensity')")
    data = np.asarray(rows, dtype=np.float64)
    _check_monotonic(path, data[:, 0], numbers)
    return data[:, 0], data[:, 1]


HEADER_SEPARATORS = re.compile(r"\t|;|,|\s{2,}")


def xy_axis_name(path: str | Path) -> str | None:
    """The name a two-column file gives its x axis: the first of two column titles on the line just above its
    first row of numbers (``wavenumber (cm-1)<TAB>intensity``, ``# 2theta  counts``; see :func:`axis_title`),
    else ``None``. Metadata lines further up (a detector's settings) are not read as titles."""
    above = None
    for raw in read_text(Path(path)).splitlines():
        line = raw.strip()
        if not line:
            continue
        fields, _ = _fields(line)
        if _numbers(fields) is not None and len(fields) >= 2:
            break
        above = line
    else:
        return None
    return None if above is None else axis_title(above)


def axis_title(line: str) -> str | None:
    """The x axis's title in a line of two column titles (``wavenumber (cm-1)<TAB>intensity``, ``# 2theta
    counts``), or ``None`` when the line is not two titles (a detector's settings, a sentence, numbers).

    Titles are separated by a tab, ``;``, ``,`` or two spaces, or by one space when the line has just two words;
    a comment character in front is dropped. The first title must hold a letter, so a date and a time are no
    titles. One rule for ``.xy`` files and the comment line above a table's header."""
    title = line.strip().lstrip("#!%;/").strip()
    cells = [c.strip() for c in HEADER_SEPARATORS.split(title) if c.strip()]
    if len(cells) != 2 and len(title.split()) == 2:
        cells = title.split()
    if len(cells) != 2 or _numbers(cells[:1]) is not None or not any(c.isalpha() for c in cells[0]):
        return None
    return cells[0]


def natural_key(path: Path) -> tuple:
    """Sort key that orders ``scan_2`` before ``scan_10`` (files are numbered in time order)."""
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", path.name))


def spectrum_files(folder: str | Path, suffixes: tuple[str, ...] = SPECTRUM_SUFFIXES) -> list[Path]:
    """The spectrum files of a folder in natural (time) order."""
    folder = Path(folder)
    if not folder.is_dir():
        raise SpectraDataError(f"{folder}: spectrum folder does not exist")
    files = sorted((p for p in folder.iterdir() if p.suffix.lower() in suffixes and p.is_file()), key=natural_key)
    if not files:
        raise SpectraDataError(f"{folder}: no spectrum files ({', '.join(suffixes)}) found")
    return files


def read_xy_folder(folder: str | Path, progress: bool = True) -> tuple[np.ndarray, np.ndarray, list[Path]]:
    """Read every spectrum file of ``folder``: ``(x, intensities (n_files, n_points), files)``.

    All files must share one x axis (same length and values), as spectra from one detector setting do.
    """
    from lightning_spectra.runtime.progress import track

    files = spectrum_files(folder)
    x0, first = read_xy(files[0])
    intensities = np.empty((len(files), len(x0)), dtype=np.float64)
    intensities[0] = first
    for i, path in enumerate(track(files[1:], "Reading spectra", enabled=progress), start=1):
        x, y = read_xy(path)
        if len(x) != len(x0):
            raise SpectraDataError(f"{path}: has {len(x)} points but {files[0].name} has {len(x0)}")
        if not np.allclose(x, x0, rtol=0, atol=1e-6 * max(1.0, float(np.abs(x0).max()))):
            raise SpectraDataError(f"{path}: x axis differs from {files[0].name}; spectra must share one axis")
        intensities[i] = y
    return x0, intensities, files
