from pathlib import Path

import numpy as np
import pytest
from conftest import write_xy

from lightning_spectra.data.xy import read_xy, read_xy_folder, spectrum_files, xy_axis_name
from lightning_spectra.errors import SpectraDataError


def test_reads_two_columns_and_skips_header_and_comments(tmp_path: Path) -> None:
    path = tmp_path / "a.xy"
    path.write_text("Detector LAMBDA 2M\nwavelength 0.5 A\n# 2theta I\n10.0 1.5\n\n10.1 2.5\n; note\n10.2 3.5 0.1\n")
    x, y = read_xy(path)
    np.testing.assert_allclose(x, [10.0, 10.1, 10.2])
    np.testing.assert_allclose(y, [1.5, 2.5, 3.5])


@pytest.mark.parametrize(
    ("body", "line", "words"),
    [
        ("1 2\n3 abc\n", 2, "expected two numbers"),
        ("1 2\n3 nan\n", 2, "not finite"),
        ("1 2\n3 inf\n", 2, "not finite"),
        ("1 2\n3\n", 2, "two columns"),
    ],
)
def test_malformed_lines_name_file_and_line(tmp_path: Path, body: str, line: int, words: str) -> None:
    path = tmp_path / "bad.xy"
    path.write_text(body)
    with pytest.raises(SpectraDataError, match=rf"bad\.xy, line {line}: .*{words}"):
        read_xy(path)


def test_file_without_data_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.xy"
    path.write_text("# only a header\n")
    with pytest.raises(SpectraDataError, match="empty.xy: no data rows"):
        read_xy(path)


def test_folder_is_read_in_numeric_order(tmp_path: Path) -> None:
    x = np.linspace(10, 20, 5)
    for i in (10, 2, 1):
        write_xy(tmp_path / f"scan_{i}.xy", x, np.full(5, float(i)))
    axis, spectra, files = read_xy_folder(tmp_path, progress=False)
    assert [f.name for f in files] == ["scan_1.xy", "scan_2.xy", "scan_10.xy"]
    np.testing.assert_allclose(spectra[:, 0], [1, 2, 10])
    np.testing.assert_allclose(axis, x)


def test_files_of_different_lengths_are_rejected(tmp_path: Path) -> None:
    write_xy(tmp_path / "s1.xy", np.arange(5.0), np.ones(5))
    write_xy(tmp_path / "s2.xy", np.arange(4.0), np.ones(4))
    with pytest.raises(SpectraDataError, match="s2.xy: has 4 points but s1.xy has 5"):
        read_xy_folder(tmp_path, progress=False)


def test_files_on_different_axes_are_rejected(tmp_path: Path) -> None:
    write_xy(tmp_path / "s1.xy", np.arange(5.0), np.ones(5))
    write_xy(tmp_path / "s2.xy", np.arange(5.0) + 0.5, np.ones(5))
    with pytest.raises(SpectraDataError, match="s2.xy: x axis differs"):
        read_xy_folder(tmp_path, progress=False)


def test_missing_and_empty_folders(tmp_path: Path) -> None:
    with pytest.raises(SpectraDataError, match="does not exist"):
        spectrum_files(tmp_path / "nowhere")
    with pytest.raises(SpectraDataError, match="no spectrum files"):
        spectrum_files(tmp_path)


def test_decimal_commas_are_read_as_decimal_points(tmp_path: Path) -> None:
    """A European export read as four columns gave x = 10, 10, 10 and the digits after the comma as intensities."""
    path = tmp_path / "eu.xy"
    path.write_text("2Theta\tIntensität\n10,0500\t0,1934\n10,0600\t0,2011\n10,0700\t1,5e-1\n")
    x, y = read_xy(path)
    np.testing.assert_allclose(x, [10.05, 10.06, 10.07])
    np.testing.assert_allclose(y, [0.1934, 0.2011, 0.15])
    semicolons = tmp_path / "eu_semicolon.xy"
    semicolons.write_text("10,05;0,19\n10,06;0,2\n")
    np.testing.assert_allclose(read_xy(semicolons)[1], [0.19, 0.2])


@pytest.mark.parametrize(
    ("body", "line", "words"),
    [
        ("10,05\t0,19\n10,06\n", 2, "',' is a separator here but a decimal mark on line 1"),
        ("10.05,0.19\n10,06 0,2\n", 2, "',' is a decimal mark here but a separator on line 1"),
        ("10,05, 0,19\n", 1, "cannot tell decimal commas from separators"),
    ],
)
def test_ambiguous_commas_name_file_and_line(tmp_path: Path, body: str, line: int, words: str) -> None:
    path = tmp_path / "bad.xy"
    path.write_text(body)
    with pytest.raises(SpectraDataError, match=rf"bad\.xy, line {line}: {words}"):
        read_xy(path)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("# h\n10 1\n10 2\n10 3\n", r"line 3: x repeats 10 \(line 2: 10\)"),
        ("1 1\n2 2\n1.5 3\n", r"line 3: x turns back at 1.5 \(line 2: 2\)"),
    ],
)
def test_an_x_axis_that_does_not_rise_or_fall_strictly_is_refused(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "bad.xy"
    path.write_text(body)
    with pytest.raises(SpectraDataError, match=rf"bad\.xy, {message}; the x axis must rise or fall strictly"):
        read_xy(path)


def test_a_falling_x_axis_is_read(tmp_path: Path) -> None:
    path = write_xy(tmp_path / "ir.xy", np.array([4000.0, 3998.0, 3996.0]), np.ones(3))
    np.testing.assert_allclose(read_xy(path)[0], [4000, 3998, 3996])


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ("wavenumber (cm-1)\tabsorbance\n", "wavenumber (cm-1)"),
        ("# 2theta  counts\n", "2theta"),
        ("wavelength_nm,reflectance\n", "wavelength_nm"),
        ("Raman shift (cm⁻¹);intensity\n", "Raman shift (cm⁻¹)"),
        ("energy counts\n", "energy"),
        ("# detector settings\ngain 2 offset 3 mode fast\n", None),  # metadata, not two titles
        ("wavenumber absorbance\n# exported by the instrument\n", None),  # not the line just above the numbers
        ("", None),
    ],
)
def test_the_titles_just_above_the_numbers_name_the_x_axis(tmp_path: Path, header: str, name: str | None) -> None:
    path = tmp_path / "scan.xy"
    path.write_text(header + "1000.0 0.5\n1002.0 0.6\n")
    assert xy_axis_name(path) == name
    np.testing.assert_allclose(read_xy(path)[0], [1000.0, 1002.0])  # the reader is not disturbed by titles
