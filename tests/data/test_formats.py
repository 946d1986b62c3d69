"""Every file format round trip on generated files, and bad input named by file, row and column."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pytest
from conftest import write_xy

from lightning_spectra.data.formats import normalise_label, read_spectra
from lightning_spectra.errors import SpectraDataError

X = np.linspace(400.0, 410.0, 6)
SPECTRA = np.arange(24, dtype=np.float64).reshape(4, 6) / 7.0
LABELS = ["b", "a", "10", "2"]


def write_rows(path: Path, rows: list[list], delimiter: str = ",") -> Path:
    with open(path, "w", newline="") as f:
        csv.writer(f, delimiter=delimiter).writerows(rows)
    return path


def labelled_rows() -> list[list]:
    """``[label, v1, ..., vL]`` per spectrum."""
    return [[label, *spectrum] for label, spectrum in zip(LABELS, SPECTRA, strict=True)]


def assert_source(source, spectra=SPECTRA, labels=LABELS, names=None, x=X) -> None:
    np.testing.assert_allclose(source.spectra, spectra, rtol=1e-12)
    assert source.labels == labels
    if names is not None:
        assert source.names == names
    if x is None:
        assert source.x is None
    else:
        np.testing.assert_allclose(source.x, x)
    assert len(source.where) == len(source.spectra)


# ---------------------------------------------------------------------------------------------- tables
def test_csv_rows_with_x_header_label_and_name_columns(tmp_path: Path) -> None:
    rows = [["sample", "label", *X]] + [[f"s{i}", *row] for i, row in enumerate(labelled_rows())]
    source = read_spectra(write_rows(tmp_path / "data.csv", rows), name_column="sample")
    assert_source(source, names=["s0", "s1", "s2", "s3"])
    assert source.where[0] == f"{tmp_path / 'data.csv'}, row 2"


def test_first_text_column_names_spectra_and_rows_are_named_otherwise(tmp_path: Path) -> None:
    rows = [["id", "label", *X]] + [[f"s{i}", *row] for i, row in enumerate(labelled_rows())]
    assert read_spectra(write_rows(tmp_path / "named.csv", rows)).names == ["s0", "s1", "s2", "s3"]
    rows = [["label", *X], *labelled_rows()]
    source = read_spectra(write_rows(tmp_path / "plain.csv", rows))
    assert_source(source, names=[f"plain.csv row {n}" for n in (2, 3, 4, 5)])


def test_tsv_columns_layout_with_names_row_label_row_and_x_column(tmp_path: Path) -> None:
    rows = [["wavenumber", "s0", "s1", "s2", "s3"], ["label", *LABELS]]
    rows += [[x, *column] for x, column in zip(X, SPECTRA.T, strict=True)]
    source = read_spectra(write_rows(tmp_path / "data.tsv", rows, "\t"), layout="columns")
    assert_source(source, names=["s0", "s1", "s2", "s3"])
    assert source.where[1] == f"{tmp_path / 'data.tsv'}, column 3"


def test_the_x_columns_header_cell_names_the_axis_of_a_columns_layout_table(tmp_path: Path) -> None:
    """Rows layout has no x column (the axis is the header row), so its corner cell names nothing."""
    rows = [["wavenumber (cm⁻¹)", "s0", "s1", "s2", "s3"], ["label", *LABELS]]
    rows += [[x, *column] for x, column in zip(X, SPECTRA.T, strict=True)]
    assert read_spectra(write_rows(tmp_path / "ir.csv", rows), layout="columns").x_label == "wavenumber (cm⁻¹)"
    rows[0][0] = "name"  # a generic column title is no axis name
    assert read_spectra(write_rows(tmp_path / "named.csv", rows), layout="columns").x_label is None
    rows = [["sample", "label", *X]] + [[f"s{i}", *row] for i, row in enumerate(labelled_rows())]
    assert read_spectra(write_rows(tmp_path / "rows.csv", rows)).x_label is None


@pytest.mark.parametrize(
    ("above", "name"),
    [
        ("# Raman shift (cm-1), intensity\n", "Raman shift (cm-1)"),  # the titles line of an .xy file
        ("# exported 2024-05-01 by the instrument\n# wavenumber (cm⁻¹)\tabsorbance\n", "wavenumber (cm⁻¹)"),
        ("# wavenumber (cm⁻¹)\tabsorbance\n# exported by the instrument\n", None),  # not just above the header
        ("# 2024-05-01 12:00\n", None),  # a date and a time are no titles
        ("", None),
    ],
)
def test_a_titles_comment_line_above_a_rows_table_names_its_axis(tmp_path: Path, above: str, name: str | None) -> None:
    path = write_rows(tmp_path / "raman.csv", [["label", *X], *labelled_rows()])
    path.write_text(above + path.read_text())
    source = read_spectra(path)
    assert source.x_label == name
    assert_source(source)  # the spectra, labels and axis are read as without the line


def test_header_cells_with_a_unit_give_the_axis_and_its_name(tmp_path: Path) -> None:
    """Exports that write the unit into every cell (``400 nm``; R's ``write.csv`` of a matrix column ``NIR``:
    ``NIR.400 nm``) name the axis by the unit; a titles line above still wins."""
    for cells, name in (
        ([f"{v:g} nm" for v in X], "wavelength (nm)"),
        ([f"NIR.{v:g}nm" for v in X], "wavelength (nm)"),
        ([f"{v:g} cm-1" for v in X], "wavenumber (cm⁻¹)"),
    ):
        source = read_spectra(write_rows(tmp_path / "units.csv", [["label", *cells], *labelled_rows()]))
        assert source.x_label == name
        assert_source(source)
    path = tmp_path / "titled.csv"
    path.write_text("# Raman shift (cm-1), counts\n" + (tmp_path / "units.csv").read_text())
    assert read_spectra(path).x_label == "Raman shift (cm-1)"
    for cells in ([f"{v:g} nm" for v in X[:-1]] + ["410 cm-1"], [f"X{v:g}" for v in X], [f"{v:g} s" for v in X]):
        source = read_spectra(write_rows(tmp_path / "other.csv", [["label", *cells], *labelled_rows()]))
        assert (source.x, source.x_label) == (None, None)  # mixed, no or an unknown unit: no axis, as before


@pytest.mark.parametrize(
    ("arrays", "label"),
    [
        ({"x_label": "wavenumber", "x_unit": "cm⁻¹"}, "wavenumber (cm⁻¹)"),
        ({"x_label": "Raman shift"}, "Raman shift"),
        ({"x_unit": "nm"}, "nm"),
        ({}, None),
    ],
)
def test_npz_x_label_and_x_unit_name_the_axis(tmp_path: Path, arrays: dict, label: str | None) -> None:
    np.savez(tmp_path / "data.npz", spectra=SPECTRA, x_axis=X, **{k: np.array(v) for k, v in arrays.items()})
    assert read_spectra(tmp_path / "data.npz").x_label == label


def test_headerless_semicolon_table_with_label_index_and_no_x(tmp_path: Path) -> None:
    rows = [[*row[1:], row[0]] for row in labelled_rows()]
    source = read_spectra(write_rows(tmp_path / "data.csv", rows, ";"), label_column=6)
    assert_source(source, x=None)


def test_table_without_labels_gets_them_from_a_one_column_file_in_order(tmp_path: Path) -> None:
    table = write_rows(tmp_path / "new.csv", [list(X), *SPECTRA.tolist()])  # all numbers: say the x row is a header
    assert read_spectra(table, header=True).labels is None
    assert len(read_spectra(table)) == 5  # without header=True the x row is a spectrum
    labels = tmp_path / "labels.csv"
    labels.write_text("label\n" + "\n".join(LABELS) + "\n")
    assert_source(read_spectra(table, header=True, labels_path=labels))


def test_new_spectra_may_have_empty_labels_and_one_row(tmp_path: Path) -> None:
    rows = [["label", *X], ["", *SPECTRA[0]], ["a", *SPECTRA[1]]]
    assert read_spectra(write_rows(tmp_path / "new.csv", rows), labels_required=False).labels is None
    single = read_spectra(write_rows(tmp_path / "one.csv", [["s9", *SPECTRA[2]]]), labels_required=False)
    assert single.names == ["s9"] and single.spectra.shape == (1, 6)


# ---------------------------------------------------------------------------------------------- npz
@pytest.mark.parametrize("keys", [("spectra", "labels", "x_axis"), ("X", "y", "x")])
def test_npz_round_trip(tmp_path: Path, keys: tuple[str, str, str]) -> None:
    path = tmp_path / "data.npz"
    np.savez(
        path, **{keys[0]: SPECTRA, keys[1]: np.asarray(LABELS), keys[2]: X}, names=np.asarray(["a", "b", "c", "d"])
    )
    assert_source(read_spectra(path), names=["a", "b", "c", "d"])


def test_npz_integer_labels_and_default_names(tmp_path: Path) -> None:
    path = tmp_path / "ints.npz"
    np.savez(path, spectra=SPECTRA.astype(np.float32), labels=np.asarray([1, 0, 10, 2]))
    source = read_spectra(path)
    assert_source(
        source,
        spectra=SPECTRA.astype(np.float32),
        labels=["1", "0", "10", "2"],
        names=[f"ints.npz[{i}]" for i in range(4)],
        x=None,
    )


# ---------------------------------------------------------------------------------------------- .xy
def test_xy_folder_with_labels_csv_inside_and_single_file(tmp_path: Path) -> None:
    folder = tmp_path / "scans"
    folder.mkdir()
    for i, s in enumerate(SPECTRA):
        write_xy(folder / f"scan_{i + 8}.xy", X, s)  # natural order: scan_8 ... scan_11
    (folder / "labels.csv").write_text(
        "file,label\n" + "".join(f"scan_{i + 8},{lab}\n" for i, lab in enumerate(LABELS))
    )
    source = read_spectra(folder, progress=False)
    assert_source(source, spectra=np.round(SPECTRA, 6), names=[f"scan_{i}.xy" for i in (8, 9, 10, 11)])
    single = read_spectra(folder / "scan_9.xy")
    assert single.names == ["scan_9.xy"] and single.labels is None and single.spectra.shape == (1, 6)


def test_xy_folder_labels_file_missing_a_file_is_named(tmp_path: Path) -> None:
    folder = tmp_path / "scans"
    folder.mkdir()
    for i, s in enumerate(SPECTRA[:2]):
        write_xy(folder / f"scan_{i}.xy", X, s)
    labels = tmp_path / "my_labels.csv"
    labels.write_text("scan_0.xy,a\n")
    with pytest.raises(SpectraDataError, match=r"my_labels\.csv: no label for 'scan_1\.xy'"):
        read_spectra(folder, labels_path=labels, progress=False)


# ---------------------------------------------------------------------------------------------- UCR / UEA
def test_ucr_ts_round_trip(tmp_path: Path) -> None:
    body = "".join(",".join(repr(float(v)) for v in row[1:]) + f":{row[0]}\n" for row in labelled_rows())
    path = tmp_path / "Coffee_TRAIN.ts"
    path.write_text(
        "# made up\n@problemName Coffee\n@timeStamps false\n@univariate true\n@equalLength true\n"
        "@seriesLength 6\n@classLabel true a b 2 10\n@data\n" + body
    )
    source = read_spectra(path)
    assert_source(source, x=None, names=[f"Coffee_TRAIN.ts line {n}" for n in (9, 10, 11, 12)])


@pytest.mark.parametrize(
    ("name", "delimiter"), [("Wine_TRAIN.tsv", "\t"), ("Meat_TEST.txt", " "), ("OliveOil_TRAIN", ",")]
)
def test_ucr_text_round_trip_with_float_labels(tmp_path: Path, name: str, delimiter: str) -> None:
    labels = [2, 1, 10, 1]
    lines = [delimiter.join([f"{label:.7e}", *map(repr, s.tolist())]) for label, s in zip(labels, SPECTRA, strict=True)]
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    assert_source(read_spectra(path), labels=["2", "1", "10", "1"], x=None)


def test_a_table_named_like_a_ucr_file_is_still_a_table(tmp_path: Path) -> None:
    rows = [["label", *X], *labelled_rows()]
    assert_source(read_spectra(write_rows(tmp_path / "mine_TEST.tsv", rows, "\t")))


def test_normalised_labels() -> None:
    assert [normalise_label(v) for v in ("1.0000000e+00", " a ", 3, "2.5", "", "NaN")] == [
        "1",
        "a",
        "3",
        "2.5",
        None,
        None,
    ]


# ---------------------------------------------------------------------------------------------- bad input
def _table(tmp_path: Path, edit) -> Path:
    rows = [["label", *X], *labelled_rows()]
    edit(rows)
    return write_rows(tmp_path / "bad.csv", rows)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda r: r[2].pop(), r"bad\.csv, row 3: has 6 cells but row 1 has 7 \(ragged"),
        (lambda r: r[3].__setitem__(0, ""), r"bad\.csv, row 4, column 1: missing label"),
        (lambda r: r[4].__setitem__(3, "nan"), r"bad\.csv, row 5, column 4: value is not finite"),
        (lambda r: r[2].__setitem__(6, "12,5"), r"bad\.csv, row 3, column 7: '12,5' is not a number"),
        (lambda r: r[1].__setitem__(2, ""), r"bad\.csv, row 2, column 3: empty cell"),
    ],
)
def test_bad_tables_name_file_row_and_column(tmp_path: Path, edit, message: str) -> None:
    with pytest.raises(SpectraDataError, match=message):
        read_spectra(_table(tmp_path, edit))


def test_bad_columns_layout_names_the_file_row_and_column(tmp_path: Path) -> None:
    rows = [["x", "s0", "s1"], ["label", "a", "b"], ["1", "2", "3"], ["2", "4", "inf"]]
    with pytest.raises(SpectraDataError, match=r"bad\.csv, row 4, column 3: value is not finite"):
        read_spectra(write_rows(tmp_path / "bad.csv", rows), layout="columns")


@pytest.mark.parametrize(
    ("header", "data", "message"),
    [
        ("@univariate false\n@classLabel true a\n@data\n", "1,2:3,4:a\n", r"line 1: multivariate"),
        ("@classLabel true a b\n@data\n", "1,2,3:a\n1,2,3:c\n", r"line 4: label 'c' is not declared"),
        ("@classLabel true a b\n@data\n", "1,2,3:a\n1,2:b\n", r"line 4: has 2 values but line 3 has 3"),
        ("@classLabel true a b\n@data\n", "1,?,3:a\n", r"line 3, value 2: value is not finite"),
        ("@classLabel true a b\n", "", r"no @data line"),
    ],
)
def test_bad_ts_files_name_the_line(tmp_path: Path, header: str, data: str, message: str) -> None:
    path = tmp_path / "bad.ts"
    path.write_text(header + data)
    with pytest.raises(SpectraDataError, match=rf"bad\.ts.*{message}"):
        read_spectra(path)


# ---------------------------------------------------------------------------------------------- .ts regression
TSER_HEADER = "@problemName Fat\n@timeStamps false\n@univariate true\n@equalLength true\n@targetLabel true\n@data\n"


def test_ts_regression_targets_become_numeric_labels(tmp_path: Path) -> None:
    targets = ["12.5", "3", "-0.25", "1e2"]
    body = "".join(",".join(map(repr, s.tolist())) + f":{t}\n" for s, t in zip(SPECTRA, targets, strict=True))
    path = tmp_path / "Fat_TRAIN.ts"
    path.write_text(TSER_HEADER + body)
    source = read_spectra(path)
    np.testing.assert_allclose(source.spectra, SPECTRA)
    assert [float(v) for v in source.labels] == [12.5, 3.0, -0.25, 100.0]
    assert source.where[0].endswith("Fat_TRAIN.ts, line 7")


@pytest.mark.parametrize(
    ("header", "data", "message"),
    [
        (TSER_HEADER, "1,2,3:12.5\n1,2,3:high\n", r"line 8: target 'high' is not a number"),
        (TSER_HEADER, "1,2,3:12.5\n1,2,3:\n", r"line 8: missing target"),
        (TSER_HEADER, "1,2,3:12.5\n1,2,3:inf\n", r"line 8: target 'inf' is not a number"),
        (TSER_HEADER, "1,2,3\n", r"line 7: missing target \(expected 'v1,v2,...,vn:target'\)"),
        (TSER_HEADER, "1,2,3:4:5.5\n", r"line 7: 2 dimensions; only univariate"),
        ("@classLabel true a b\n@targetLabel true\n@data\n", "1,2:3\n", r"line 2: both @classLabel true"),
        ("@targetLabel maybe\n@data\n", "1,2:3\n", r"line 1: @targetLabel must be true or false"),
    ],
)
def test_bad_ts_regression_files_name_the_line(tmp_path: Path, header: str, data: str, message: str) -> None:
    path = tmp_path / "bad.ts"
    path.write_text(header + data)
    with pytest.raises(SpectraDataError, match=rf"bad\.ts.*({message})"):
        read_spectra(path)


def test_npz_with_several_targets(tmp_path: Path) -> None:
    y = np.arange(8.0).reshape(4, 2)
    np.savez(tmp_path / "two.npz", spectra=SPECTRA, y=y, target_names=np.array(["fat", "water"]))
    source = read_spectra(tmp_path / "two.npz")
    np.testing.assert_allclose(source.targets, y)
    assert source.target_names == ["fat", "water"] and source.labels is None
    np.testing.assert_allclose(source.subset([3, 1]).targets, y[[3, 1]])


def test_bad_npz_files(tmp_path: Path) -> None:
    np.savez(tmp_path / "nan.npz", spectra=np.where(SPECTRA > 2, np.nan, SPECTRA))
    with pytest.raises(SpectraDataError, match=r"nan\.npz, spectrum 2, point 3: value is not finite"):
        read_spectra(tmp_path / "nan.npz")
    np.savez(tmp_path / "keys.npz", data=SPECTRA)
    with pytest.raises(SpectraDataError, match=r"keys\.npz: no 'spectra' .*arrays found: data"):
        read_spectra(tmp_path / "keys.npz")
    np.savez(tmp_path / "ragged.npz", spectra=np.asarray([[1.0, 2.0], [3.0]], dtype=object))
    with pytest.raises(SpectraDataError, match=r"ragged\.npz: cannot load without pickle"):
        read_spectra(tmp_path / "ragged.npz")
    np.savez(tmp_path / "count.npz", spectra=SPECTRA, labels=np.asarray(LABELS[:3]))
    with pytest.raises(SpectraDataError, match=r"count\.npz: 3 labels for 4 spectra"):
        read_spectra(tmp_path / "count.npz")


def test_unknown_format_and_missing_path(tmp_path: Path) -> None:
    (tmp_path / "data.xlsx").write_bytes(b"PK")
    with pytest.raises(SpectraDataError, match=r"data\.xlsx: unknown spectrum format '\.xlsx'"):
        read_spectra(tmp_path / "data.xlsx")
    with pytest.raises(SpectraDataError, match=r"nothing\.csv: no such file or folder"):
        read_spectra(tmp_path / "nothing.csv")


# ------------------------------------------------------------------- repeated headers, byte-order marks, decimal commas
def header_and_rows() -> list[list]:
    return [["label", *X], *labelled_rows()]


def test_a_repeated_header_row_is_not_a_spectrum(tmp_path: Path) -> None:
    """Concatenated exports repeat the header: the repeated row is skipped, not read as a class ``label``."""
    rows = header_and_rows()
    path = write_rows(tmp_path / "joined.csv", [*rows[:3], rows[0], *rows[3:]])
    source = read_spectra(path)
    assert_source(source)
    assert source.where[2] == f"{path}, row 5"  # rows keep their file numbers around the skipped header


def test_a_utf8_byte_order_mark_is_ignored(tmp_path: Path) -> None:
    """Excel's "CSV UTF-8" starts with a BOM: fit saw no labels, predict read the header as a spectrum."""
    path = write_rows(tmp_path / "excel.csv", header_and_rows())
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert_source(read_spectra(path))
    unlabelled = write_rows(tmp_path / "new.csv", [["name", *X], *[[f"s{i}", *s] for i, s in enumerate(SPECTRA)]])
    unlabelled.write_bytes(b"\xef\xbb\xbf" + unlabelled.read_bytes())
    assert_source(read_spectra(unlabelled, labels_required=False), labels=None, names=["s0", "s1", "s2", "s3"])


def test_semicolons_with_decimal_commas_are_read(tmp_path: Path) -> None:
    """European lab exports: ``;`` between cells, ``,`` as the decimal mark."""
    path = tmp_path / "eu.csv"
    lines = [
        ";".join(f"{v:.14f}".replace(".", ",") if not isinstance(v, str) else v for v in row)
        for row in header_and_rows()
    ]
    path.write_text("\n".join(lines) + "\n")
    assert ";0,14285714285714;" in path.read_text()
    source = read_spectra(path)
    assert_source(source)


# ---------------------------------------------------------------------------------------------- labels as written
def table_lines(labels: list[str], delimiter: str) -> list[str]:
    """The lines of a ``label,<x>...`` table of :data:`SPECTRA` with ``labels``."""
    rows = [["label", *X], *([label, *s] for label, s in zip(labels, SPECTRA, strict=True))]
    return [delimiter.join(map(str, row)) for row in rows]


def test_labels_with_leading_zeros_stay_codes_and_float_spellings_stay_one_class() -> None:
    """``01`` is a sample code, not the class ``1``; UCR's ``1.0000000e+00`` still is ``1``."""
    assert [normalise_label(v) for v in ("01", "007", "1", "1.0", "1.0000000e+00", "-02")] == [
        "01",
        "007",
        "1",
        "1",
        "1",
        "-02",
    ]


def test_twenty_digit_integer_labels_keep_their_digits(tmp_path: Path) -> None:
    """Through a float both would become 12345678901234567168, one class named by neither."""
    big = ["12345678901234567890", "12345678901234567891"]
    rows = [["label", *X]] + [[big[i % 2], *s] for i, s in enumerate(SPECTRA)]
    assert read_spectra(write_rows(tmp_path / "ids.csv", rows)).labels == [big[0], big[1], big[0], big[1]]
    assert normalise_label("12345678901234567890.0") == big[0]


def test_a_latin1_csv_keeps_its_accented_labels(tmp_path: Path) -> None:
    """Excel's plain "CSV" on Western Windows is cp1252: read as UTF-8 with replacement, Ä and Ö became one class."""
    labels = ["Typ Ä", "Typ Ö", "Typ Ä", "Typ Ö"]
    path = tmp_path / "latin1.csv"
    path.write_bytes("\n".join(table_lines(labels, ",")).encode("cp1252"))
    assert_source(read_spectra(path), labels=labels)


def test_an_excel_unicode_text_tsv_is_read(tmp_path: Path) -> None:
    """Excel's "Unicode Text" is UTF-16LE with a byte-order mark, tab-separated, CRLF: it read as a ragged table."""
    labels = ["Typ Ä", "Typ Ö", "Typ Ä", "Typ Ö"]
    path = tmp_path / "unicode.tsv"
    path.write_bytes(b"\xff\xfe" + "\r\n".join(table_lines(labels, "\t")).encode("utf-16-le"))
    assert_source(read_spectra(path), labels=labels)


def test_utf16_without_a_byte_order_mark_is_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "nobom.csv"
    path.write_bytes("\n".join(",".join(map(str, r)) for r in [["label", *X], *labelled_rows()]).encode("utf-16-le"))
    with pytest.raises(SpectraDataError, match=r"nobom\.csv: holds NUL bytes: .*UTF-16 without a byte-order mark"):
        read_spectra(path)


def test_npz_bytes_labels_and_names_are_text(tmp_path: Path) -> None:
    """An ``S`` array (bytes) gave classes named ``b'a'``."""
    path = tmp_path / "bytes.npz"
    np.savez(
        path, spectra=SPECTRA, labels=np.array([b"a", b"b", b"a", b"b"]), names=np.array([b"s0", b"s1", b"s2", b"s3"])
    )
    source = read_spectra(path)
    assert source.labels == ["a", "b", "a", "b"] and source.names == ["s0", "s1", "s2", "s3"]


# ---------------------------------------------------------------------------------------------- issue 35: data input
@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("label,400,402,402,406", r", column 4: x repeats 402 \(column 3: 402\); the x axis must rise or fall"),
        ("label,400,404,402,406", r", column 4: x turns back at 402 \(column 3: 404\)"),
        ("label,400,nan,402,406", r", column 3: x axis value is not finite \(NaN or inf\): nan"),
    ],
)
def test_a_table_x_axis_that_repeats_or_turns_back_is_refused_as_in_an_xy_file(
    header: str, message: str, tmp_path: Path
) -> None:
    """Accepted as it stood before (an ``.xy`` file was refused): spectra compared point by point on a wrong axis."""
    path = tmp_path / "rep.csv"
    path.write_text(f"{header}\na,1,2,3,4\nb,1,2,3,5\n")
    with pytest.raises(SpectraDataError, match=f"^{re.escape(str(path))}{message}"):
        read_spectra(path)


def test_a_columns_table_x_axis_that_repeats_names_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "cols.csv"
    path.write_text("x,s1,s2\n400,1,2\n402,1,2\n402,1,3\n406,1,4\n")
    with pytest.raises(SpectraDataError, match=r"^.*cols\.csv, row 4: x repeats 402 \(row 3: 402\)"):
        read_spectra(path, layout="columns", header=True)


@pytest.mark.parametrize(
    ("x", "message"),
    [
        ([400.0, 402.0, 402.0], r", 'x_axis', point 2: x repeats 402 \(point 1: 402\)"),
        ([400.0, 404.0, 402.0], r", 'x_axis', point 2: x turns back at 402 \(point 1: 404\)"),
        ([400.0, np.nan, 404.0], r", 'x_axis', point 1: x axis value is not finite \(NaN or inf\): nan"),
    ],
)
def test_an_npz_x_axis_that_repeats_turns_back_or_holds_nan_is_refused_at_read_time(
    x: list[float], message: str, tmp_path: Path
) -> None:
    """A NaN in the axis was read, and surfaced only as a NaN loss blamed on the learning rate."""
    path = tmp_path / "rep.npz"
    np.savez(path, spectra=np.ones((2, 3)), labels=np.array(["a", "b"]), x_axis=np.asarray(x))
    with pytest.raises(SpectraDataError, match=f"^{re.escape(str(path))}{message}"):
        read_spectra(path)


def test_na_is_a_label_and_only_empty_question_mark_and_nan_are_missing(tmp_path: Path) -> None:
    """``Na`` (sodium) and ``NA`` were read as missing labels: ``row 2, column 1: missing label``."""
    path = tmp_path / "salts.csv"
    path.write_text("label,400,402\nNa,1,2\nK,1,3\nNA,2,3\n")
    assert read_spectra(path).labels == ["Na", "K", "NA"]
    for missing in ("", "?", "NaN", "nan"):
        assert normalise_label(missing) is None
    path.write_text("label,400,402\nNa,1,2\n?,1,3\n")
    with pytest.raises(SpectraDataError, match=r"salts\.csv, row 3, column 1: missing label"):
        read_spectra(path)


def test_a_table_read_in_the_other_layout_says_which_layout_it_is(tmp_path: Path) -> None:
    """``layout: columns`` on one spectrum per row took the wavelengths for labels and each wavelength's intensities
    for a spectrum; the error came later and blamed the classes."""
    rows = tmp_path / "rows.csv"
    rows.write_text("label,400,402,404,406\na,1,2,3,4\nb,1,2,3,5\na,1,2,3,6\n")
    with pytest.raises(
        SpectraDataError,
        match=r"^.*rows\.csv: this looks like one spectrum per row \(row 1 holds an x axis, 'label' 400\.\.406\); "
        r"use layout: rows$",
    ):
        read_spectra(rows, layout="columns")
    assert read_spectra(rows).labels == ["a", "b", "a"]
    columns = tmp_path / "columns.csv"
    columns.write_text("wavenumber,s1,s2,s3\n400,1,2,3\n402,1,2,3\n404,1,2,4\n")
    with pytest.raises(SpectraDataError, match=r"this looks like one spectrum per column .*; use layout: columns$"):
        read_spectra(columns, labels_required=False)


def test_bare_cr_line_endings_are_read(tmp_path: Path) -> None:
    """Classic Mac OS line endings: the CSV reader stopped with a ``_csv.Error`` traceback."""
    table = tmp_path / "mac.csv"
    table.write_bytes(b"label,400,402,404\ra,1,2,3\rb,1,2,4\r")
    source = read_spectra(table)
    assert source.labels == ["a", "b"] and source.where == [f"{table}, row 2", f"{table}, row 3"]
    np.testing.assert_array_equal(source.x, [400, 402, 404])
    xy = tmp_path / "mac.xy"
    xy.write_bytes(b"# 2theta counts\r10 1\r11 2\r12 3\r")
    np.testing.assert_array_equal(read_spectra(xy).spectra, [[1, 2, 3]])


def test_a_columns_table_without_a_label_row_takes_its_first_column_as_the_x_axis(tmp_path: Path) -> None:
    """No cell had text above a number, so no header was found: the axis column was read as a spectrum named
    ``wavenumber`` and predicted on, without a word."""
    path = tmp_path / "new.csv"
    path.write_text("wavenumber,s1,s2,s3\n400.0,0.12,0.40,0.13\n400.5,0.15,0.38,0.14\n401.0,0.2,0.3,0.1\n")
    source = read_spectra(path, layout="columns", labels_required=False)
    assert source.names == ["s1", "s2", "s3"] and source.x_label == "wavenumber"
    np.testing.assert_array_equal(source.x, [400.0, 400.5, 401.0])
    np.testing.assert_array_equal(source.spectra[0], [0.12, 0.15, 0.2])
