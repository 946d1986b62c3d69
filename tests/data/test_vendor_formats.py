"""Vendor spectrum files (SPC, OPUS, JCAMP-DX, WDF) read through the ``vendor`` extra's libraries.

SPC and JCAMP-DX files are written with their libraries' own writers; ``brukeropus`` and ``renishaw-wdf`` have
none, so the smallest files they read are laid out here with the libraries' own block formats.
"""

from __future__ import annotations

import builtins
import struct
from pathlib import Path

import numpy as np
import pytest

from lightning_spectra.data.formats import read_spectra
from lightning_spectra.data.vendor import is_vendor_file, read_vendor
from lightning_spectra.errors import SpectraDataError, one_line_failures

X = np.linspace(400.0, 1800.0, 32)
Y = np.stack([np.sin(X / (100.0 + 10 * i)) + 2 for i in range(3)])


def write_spc(path: Path, spectra: np.ndarray = Y, xtype: int = 1) -> Path:
    """An SPC file from spc-io's writer. Its 0.2.1 writes no x unit and a file it cannot read back without a log
    book (its offsets count one), so the file gets a log line and its unit (``fxtype``, byte 28 of the header;
    1 wavenumber, 13 Raman shift) is set here."""
    spc_io = pytest.importorskip("spc_io")
    from spc_io.high_level.log_book import LogBook

    spc = spc_io.SPC(xarray=X, log_book=LogBook(text={"source": "test"}))
    for i, y in enumerate(spectra):
        spc.add_subfile(yarray=y, w=float(i))
    data = bytearray(spc.to_spc_raw().to_bytes())
    data[28] = xtype
    path.write_bytes(bytes(data))
    return path


def write_jcamp(path: Path, y: np.ndarray = Y[0]) -> Path:
    jcamp = pytest.importorskip("jcamp")
    jcamp.writefile(str(path), {"title": "test", "x": X, "y": y, "xunits": "1/CM", "yunits": "ABSORBANCE"})
    return path


def write_wdf(path: Path, spectra: np.ndarray = Y, collected: int | None = None) -> Path:
    """A WDF file of a header, a DATA block and an XLIST block: what ``wdf.Wdf`` reads spectra and axis from."""
    wdf = pytest.importorskip("wdf")
    from wdf.wdfenums import WdfBlockId

    n, length = spectra.shape
    block = lambda kind, body: struct.pack(wdf.wdf.WdfBlock._PACKFMT, kind, 0, 16 + len(body)) + body  # noqa: E731
    header = struct.pack(
        wdf.wdf.WdfHeader._PACKSTR,
        *(WdfBlockId.FILE, 1, 512, 0, b"\0" * 16),
        *(1, 0, length, n, n if collected is None else collected, 1, 1, length, 0),
        *(b"test", 1, 0, 0, 0, 0, 0, 0, 0, 0, 785.0, b"", b""),
    )
    data = block(WdfBlockId.DATA, spectra.astype("<f4").tobytes())
    xlist = block(WdfBlockId.XLIST, struct.pack("<II", 1, 1) + X.astype("<f4").tobytes())  # Frequency, RamanShift
    path.write_bytes(header + data + xlist)
    return path


def write_opus(path: Path, y: np.ndarray = Y[0]) -> Path:
    """An OPUS file of a directory, an absorbance data status block (its x axis) and its data block."""
    pytest.importorskip("brukeropus")

    def param(key: str, value: int | float | str) -> bytes:
        if isinstance(value, str):
            text = value.encode() + b"\0" * (4 - len(value) % 4)
            return key.encode() + b"\0" + struct.pack("<2h", 2, len(text) // 2) + text
        code, fmt = (0, "<i") if isinstance(value, int) else (1, "<d")
        body = struct.pack(fmt, value)
        return key.encode() + b"\0" + struct.pack("<2h", code, len(body) // 2) + body

    status = b"".join(
        [param("DPF", 1), param("NPT", len(y)), param("FXV", X[0]), param("LXV", X[-1]), param("CSF", 1.0)]
        + [param("DXU", "WN"), b"END\0" + b"\0" * 4]
    )
    data = y.astype("<f4").tobytes()
    absorbance = 1 | 1 << 2 | 15 << 10  # real, sample, AB (brukeropus.file.parse.get_block_type)
    blocks = [(absorbance | 1 << 4, status), (absorbance, data)]
    directory_start, entries = 24, 3
    start = directory_start + 12 * entries
    directory = struct.pack("<3i", 13 << 10, entries * 3, directory_start)
    body = b""
    for kind, content in blocks:
        directory += struct.pack("<3i", kind, len(content) // 4, start + len(body))
        body += content
    header = b"\n\n\xfe\xfe" + struct.pack("<d3i", 920622.0, directory_start, entries, entries)
    path.write_bytes(header + directory + body)
    return path


def test_spc_reads_every_subfile_with_its_axis(tmp_path):
    x, spectra, title = read_vendor(write_spc(tmp_path / "a.spc"))
    np.testing.assert_allclose(x, X)
    np.testing.assert_allclose(spectra, Y, rtol=1e-6)
    assert title == "wavenumber (cm-1)"
    assert read_vendor(write_spc(tmp_path / "r.spc", xtype=13))[2] == "Raman shift (cm-1)"


def test_jcamp_reads_xy_data_and_axis(tmp_path):
    x, spectra, title = read_vendor(write_jcamp(tmp_path / "a.jdx"))
    np.testing.assert_allclose(x, X, rtol=1e-6)
    np.testing.assert_allclose(spectra, Y[:1], rtol=1e-4)
    assert title == "wavenumber (cm-1)"


def test_wdf_reads_collected_spectra_of_a_map(tmp_path):
    x, spectra, title = read_vendor(write_wdf(tmp_path / "map.wdf"))
    np.testing.assert_allclose(x, X, rtol=1e-6)
    np.testing.assert_allclose(spectra, Y, rtol=1e-6)
    assert title == "Raman shift (cm-1)"
    assert len(read_vendor(write_wdf(tmp_path / "stopped.wdf", collected=2))[1]) == 2  # a map stopped early


def test_opus_reads_the_absorbance_spectrum(tmp_path):
    x, spectra, title = read_vendor(write_opus(tmp_path / "sample.0"))
    np.testing.assert_allclose(x, X)
    np.testing.assert_allclose(spectra, Y[:1], rtol=1e-6)
    assert title == "wavenumber (cm-1)"


def test_read_spectra_takes_a_vendor_file_and_a_folder_of_them(tmp_path):
    source = read_spectra(write_wdf(tmp_path / "map.wdf"), labels_required=False)
    assert (len(source), source.x_label, source.names[1]) == (3, "Raman shift (cm-1)", "map.wdf[1]")
    folder = tmp_path / "scans"
    folder.mkdir()
    for i in range(3):
        write_opus(folder / f"scan_{i}.0", Y[i])
    (folder / "labels.csv").write_text("file,label\nscan_0.0,a\nscan_1.0,b\nscan_2,a\n")
    source = read_spectra(folder)
    np.testing.assert_allclose(source.spectra, Y, rtol=1e-6)
    assert (source.names, source.labels, source.x_label) == (
        ["scan_0.0", "scan_1.0", "scan_2.0"],
        ["a", "b", "a"],
        "wavenumber (cm-1)",
    )


def test_a_damaged_file_is_one_line_naming_it(tmp_path):
    pytest.importorskip("spc_io")
    bad = tmp_path / "bad.spc"
    bad.write_bytes(b"\x00" * 20)
    with pytest.raises(SpectraDataError, match=r"bad\.spc: cannot read it as a SPC file"):
        read_vendor(bad)
    other = tmp_path / "notes.1"
    other.write_text("not an OPUS file")
    pytest.importorskip("brukeropus")
    with pytest.raises(SpectraDataError, match=r"notes\.1: not an OPUS file"):
        read_vendor(other)


@pytest.mark.parametrize(("name", "module", "kind"), [("a.spc", "spc_io", ".spc"), ("a.0", "brukeropus", "OPUS")])
def test_missing_extra_is_one_line_naming_it(tmp_path, monkeypatch, capsys, name, module, kind):
    real_import = builtins.__import__

    def no_library(what, *args, **kwargs):
        if what == module:
            raise ImportError(f"No module named {module!r}", name=module)
        return real_import(what, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_library)
    path = tmp_path / name
    path.write_bytes(b"\0")
    with pytest.raises(SystemExit) as exit_, one_line_failures():
        read_spectra(path)
    assert exit_.value.code == 2
    expected = f'error: {path}: reading {kind} files needs the vendor extra: pip install "lightning-spectra[vendor]"'
    assert capsys.readouterr().err.strip() == expected


def test_vendor_suffixes():
    assert all(is_vendor_file(Path(n)) for n in ("a.SPC", "a.jdx", "a.dx", "a.wdf", "a.0", "a.12"))
    assert not any(is_vendor_file(Path(n)) for n in ("a.xy", "a.csv", "a.0a"))


def test_watch_reads_vendor_files_of_one_spectrum_or_several(tmp_path):
    """A file of one spectrum is named by its file name, as a ``.xy`` file; a WDF map's spectra ``map.wdf[i]``."""
    from lightning_spectra.apps.watch import read_file, skip_reason

    scan = read_file(write_opus(tmp_path / "scan_1.0", Y[1]), None)
    np.testing.assert_allclose((scan.x, scan.spectra[0]), (X, Y[1]), rtol=1e-6)
    assert scan.names == ["scan_1.0"] and len(scan.spectra) == 1
    assert skip_reason(tmp_path / "scan_1.0") is None and skip_reason(tmp_path / "map.wdf") is None
    wdf_map = read_file(write_wdf(tmp_path / "map.wdf"), None)
    assert wdf_map.names == ["map.wdf[0]", "map.wdf[1]", "map.wdf[2]"]
    np.testing.assert_allclose(wdf_map.spectra, Y, rtol=1e-6)
