"""Downloads against a local HTTP server: good files are kept, broken ones are never used."""

from __future__ import annotations

import hashlib
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import py7zr
import pytest
from conftest import write_xy

from lightning_spectra.data.download import HED_ARCHIVE, download, extract_7z, zenodo_file
from lightning_spectra.data.hed import HEDDataModule
from lightning_spectra.errors import SpectraDataError


class Handler(http.server.SimpleHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if self.path.startswith("/truncated"):
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b"x" * 10)  # then the connection drops
            return
        super().do_GET()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "www"
    root.mkdir()
    handler = lambda *a, **k: Handler(*a, directory=str(root), **k)  # noqa: E731
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_port}", root
    httpd.shutdown()


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def test_download_checks_the_checksum(server: tuple[str, Path], tmp_path: Path) -> None:
    url, root = server
    (root / "file.bin").write_bytes(b"spectra" * 100)
    dest = tmp_path / "out" / "file.bin"
    assert download(f"{url}/file.bin", dest, md5(b"spectra" * 100), progress=False).read_bytes() == b"spectra" * 100
    # A second call with the file in place does not download again, even if the server changed it.
    (root / "file.bin").write_bytes(b"changed")
    assert download(f"{url}/file.bin", dest, md5(b"spectra" * 100), progress=False).read_bytes() == b"spectra" * 100


def test_checksum_mismatch_rejects_the_file(server: tuple[str, Path], tmp_path: Path) -> None:
    url, root = server
    (root / "file.bin").write_bytes(b"corrupted")
    dest = tmp_path / "file.bin"
    with pytest.raises(SpectraDataError, match="checksum mismatch"):
        download(f"{url}/file.bin", dest, md5(b"the real thing"), progress=False)
    assert list(tmp_path.iterdir()) == [root.parent / "www"]  # no partial or bad file left


def test_truncated_download_is_detected(server: tuple[str, Path], tmp_path: Path) -> None:
    url, _ = server
    dest = tmp_path / "dl" / "file.bin"
    with pytest.raises(SpectraDataError, match="download"):
        download(f"{url}/truncated", dest, md5(b"x" * 1000), progress=False)
    assert not dest.exists() and list(dest.parent.iterdir()) == []


def test_stale_local_copy_is_replaced(server: tuple[str, Path], tmp_path: Path) -> None:
    url, root = server
    (root / "file.bin").write_bytes(b"good")
    dest = tmp_path / "file.bin"
    dest.write_bytes(b"half a fil")
    assert download(f"{url}/file.bin", dest, md5(b"good"), progress=False).read_bytes() == b"good"


def test_unreachable_host_gives_a_clear_error() -> None:
    with pytest.raises(SpectraDataError, match="cannot reach .* use '--data.source directory"):
        zenodo_file(1, "x.7z", api="http://127.0.0.1:9/api/{record}", timeout=2)


def test_corrupted_archive_is_not_extracted(tmp_path: Path) -> None:
    archive = tmp_path / "bad.7z"
    archive.write_bytes(b"7z\xbc\xaf\x27\x1c" + b"\0" * 50)
    with pytest.raises(SpectraDataError, match="cannot extract"):
        extract_7z(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_zenodo_source_end_to_end(server: tuple[str, Path], tmp_path: Path) -> None:
    """Record metadata, checksummed download, 7z extraction, parsing and baseline removal, as for record 4424866."""
    url, root = server
    files = tmp_path / "xyfiles"
    files.mkdir()
    x = np.linspace(9.5, 25.5, 64)
    for i in range(1, 21):
        peak = 10 * np.exp(-(((x - (12 if i <= 10 else 18)) / 0.3) ** 2))
        write_xy(files / f"l2_fe80mg20_ramp_00001_m1_{i:04d}.xy", x, 5 + peak, header_lines=25)
    with py7zr.SevenZipFile(root / HED_ARCHIVE, "w") as z:
        z.writeall(files, arcname="Mg20Fe80O_ramp")
    data = (root / HED_ARCHIVE).read_bytes()
    api = root / "api" / "records"
    api.mkdir(parents=True)
    entry = {"key": HED_ARCHIVE, "checksum": f"md5:{md5(data)}", "links": {"self": f"{url}/{HED_ARCHIVE}"}}
    (api / "4424866").write_text(json.dumps({"files": [entry]}))

    dm = HEDDataModule(
        source="zenodo",
        data_dir=str(tmp_path / "dl"),
        cache_dir=str(tmp_path / "cache"),
        zenodo_api=url + "/api/records/{record}",
        transition_index=10,
        pool_stride=2,
        pool_ranges=[(0, 3), (6, 9)],
        noise_copies=1,
        progress=False,
    )
    assert dm.spectrum_length == 64 and dm.num_classes == 2
    splits = dm.splits
    assert splits.test.spectra.shape == (20, 64)
    assert splits.test.labels.tolist() == [0] * 10 + [1] * 10
    assert dm.spectrum_names("test")[0] == "l2_fe80mg20_ramp_00001_m1_0001.xy"
    assert float(splits.test.spectra[:, :5].abs().max()) < 1  # the flat background of 5 is removed

    # A corrupted archive already on disk is detected by checksum, discarded and fetched again.
    archive = tmp_path / "dl" / HED_ARCHIVE
    archive.write_bytes(b"garbage")
    dm._raw_folder()
    assert md5(archive.read_bytes()) == md5(data)
