"""Fetching the real HED data set from Zenodo, safely.

The archive is streamed to a ``.part`` file with a progress bar and its MD5 is checked against the
checksum Zenodo publishes for the record (or one given in the config) before it is renamed into place.
A failed, partial or corrupted download therefore never looks complete, and is never used.
"""

from __future__ import annotations

import hashlib
import json
import os
import urllib.request
from pathlib import Path

from lightning_spectra.data.errors import SpectraDataError

ZENODO_API = "https://zenodo.org/api/records/{record}"
HED_RECORD = 4424866
HED_ARCHIVE = "Mg20Fe80O_ramp_xyfiles_1_349_azimuthal_integrated.7z"
CHUNK = 1 << 16


def zenodo_file(record: int, name: str, api: str = ZENODO_API, timeout: float = 30) -> tuple[str, str]:
    """``(download_url, md5)`` of file ``name`` in a Zenodo record, from Zenodo's public API."""
    url = api.format(record=record)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            meta = json.load(response)
    except OSError as err:
        raise SpectraDataError(
            f"cannot reach {url} ({err}); download {name} by hand, extract it, and use "
            "'--data.source directory --data.data_dir <folder>'"
        ) from err
    for entry in meta.get("files", []):
        if entry.get("key") == name:
            algorithm, _, digest = entry["checksum"].partition(":")
            if algorithm != "md5":
                raise SpectraDataError(f"Zenodo record {record} gives a {algorithm} checksum; only md5 is supported")
            return entry["links"]["self"], digest
    raise SpectraDataError(f"Zenodo record {record} has no file named {name}")


def md5sum(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def download(url: str, destination: str | Path, md5: str, progress: bool = True, timeout: float = 60) -> Path:
    """Download ``url`` to ``destination`` unless a file with checksum ``md5`` is already there.

    Raises :class:`SpectraDataError` if the transfer breaks off, is shorter than announced, or its
    checksum differs; the partial file is removed in every case.
    """
    destination = Path(destination)
    if destination.exists():
        if md5sum(destination) == md5:
            return destination
        destination.unlink()  # stale or corrupted copy: never trust it
    destination.parent.mkdir(parents=True, exist_ok=True)
    part = destination.with_name(destination.name + f".{os.getpid()}.part")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(part, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0) or None
            _stream(response, out, total, destination.name, progress)
        if total is not None and part.stat().st_size != total:
            raise SpectraDataError(f"{url}: download incomplete ({part.stat().st_size} of {total} bytes)")
        actual = md5sum(part)
        if actual != md5:
            raise SpectraDataError(f"{url}: checksum mismatch (md5 {actual}, expected {md5}); file discarded")
        os.replace(part, destination)
    except OSError as err:
        raise SpectraDataError(f"{url}: download failed ({err})") from err
    finally:
        part.unlink(missing_ok=True)
    return destination


def _stream(response, out, total: int | None, label: str, progress: bool) -> None:
    if not progress:
        while chunk := response.read(CHUNK):
            out.write(chunk)
        return
    from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

    with Progress(
        "[progress.description]{task.description}", BarColumn(), DownloadColumn(), TransferSpeedColumn(), transient=True
    ) as bar:
        task = bar.add_task(f"Downloading {label}", total=total)
        while chunk := response.read(CHUNK):
            out.write(chunk)
            bar.advance(task, len(chunk))


def extract_7z(archive: Path, folder: Path) -> Path:
    """Extract a 7-Zip archive (CRC-checked by py7zr) into ``folder``, atomically via a temporary folder."""
    import shutil

    import py7zr

    marker = folder / ".complete"
    if marker.exists():
        return folder
    tmp = folder.with_name(folder.name + f".{os.getpid()}.part")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        with py7zr.SevenZipFile(archive, "r") as z:
            z.extractall(path=tmp)
    except (py7zr.Bad7zFile, py7zr.exceptions.CrcError, OSError, EOFError) as err:
        shutil.rmtree(tmp, ignore_errors=True)
        raise SpectraDataError(f"{archive}: cannot extract ({err}); delete it to download again") from err
    (tmp / ".complete").touch()
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(tmp, folder)
    return folder
