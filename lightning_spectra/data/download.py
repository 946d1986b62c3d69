"""Fetching the real HED data set from Zenodo with pooch: known checksum, progress bar, 7-Zip processor.

The data set is Zenodo record 4424866 (DOI 10.5281/zenodo.4424866). Zenodo's API gives the archive's
download link and the MD5 it publishes (a config can pin its own with ``zenodo_md5``); pooch downloads to a
temporary file, checks the MD5 and only then moves it into place, so a failed, partial or corrupted download
never looks complete. A copy already on disk is reused only if its MD5 matches, otherwise fetched again.
:class:`SevenZip` is the pooch processor that unpacks the archive (CRC-checked by py7zr), atomically.
"""

from __future__ import annotations

import json
import os
import shutil
import urllib.request
from pathlib import Path

from lightning_spectra.errors import SpectraDataError

ZENODO_API = "https://zenodo.org/api/records/{record}"
HED_DOI = "10.5281/zenodo.4424866"
HED_RECORD = int(HED_DOI.rsplit(".", 1)[1])
HED_ARCHIVE = "Mg20Fe80O_ramp_xyfiles_1_349_azimuthal_integrated.7z"
BY_HAND = "download {name} from https://doi.org/{doi} by hand, extract it, and use "
BY_HAND += "'--data.source directory --data.data_dir <folder>'"


def zenodo_file(record: int, name: str, api: str = ZENODO_API, timeout: float = 30) -> tuple[str, str]:
    """``(download_url, md5)`` of file ``name`` in a Zenodo record, from Zenodo's public API."""
    url = api.format(record=record)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            meta = json.load(response)
    except OSError as err:
        raise SpectraDataError(f"cannot reach {url} ({err}); {BY_HAND.format(name=name, doi=HED_DOI)}") from err
    for entry in meta.get("files", []):
        if entry.get("key") == name:
            algorithm, _, digest = entry["checksum"].partition(":")
            if algorithm != "md5":
                raise SpectraDataError(f"Zenodo record {record} gives a {algorithm} checksum; only md5 is supported")
            return entry["links"]["self"], digest
    raise SpectraDataError(f"Zenodo record {record} has no file named {name}")


class SevenZip:
    """pooch processor: extract a 7-Zip archive into ``folder`` (default: ``<archive>.d``) once, atomically.

    A ``.complete`` marker is written last, so an interrupted extraction is redone; a fresh download
    (``action`` ``"download"`` or ``"update"``) is always extracted again.
    """

    def __init__(self, folder: str | Path | None = None) -> None:
        self.folder = Path(folder) if folder else None

    def __call__(self, fname: str, action: str, pooch: object = None) -> str:
        folder = self.folder or Path(fname + ".d")
        if action in ("download", "update"):
            (folder / ".complete").unlink(missing_ok=True)
        return str(extract_7z(Path(fname), folder))


def extract_7z(archive: Path, folder: Path) -> Path:
    """Extract a 7-Zip archive (CRC-checked by py7zr) into ``folder``, atomically via a temporary folder."""
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


def download(
    url: str, destination: str | Path, md5: str, progress: bool = True, processor: SevenZip | None = None
) -> Path:
    """Download ``url`` to ``destination`` with pooch unless a file with checksum ``md5`` is already there.

    Returns ``destination`` (or what ``processor`` returns). Raises :class:`SpectraDataError` if the transfer
    fails or breaks off, or the checksum differs; nothing partial or unchecked is left at ``destination``.
    """
    import pooch

    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    quiet = pooch.get_logger().level
    pooch.get_logger().setLevel("WARNING")  # pooch logs every download at INFO; the progress bar says enough
    try:
        result = pooch.retrieve(
            url,
            known_hash=f"md5:{md5}",
            fname=destination.name,
            path=destination.parent,
            processor=processor,
            progressbar=progress,
        )
    except ValueError as err:  # pooch: the hash of the downloaded file does not match
        raise SpectraDataError(f"{url}: checksum mismatch (expected md5 {md5}; {err}); file discarded") from err
    except OSError as err:  # requests' errors (connection, truncated body, HTTP status) are OSErrors
        raise SpectraDataError(f"{url}: download failed ({err})") from err
    finally:
        pooch.get_logger().setLevel(quiet)
    return Path(result)


def fetch_hed_ramp(root: Path, md5: str | None = None, api: str = ZENODO_API, progress: bool = True) -> Path:
    """Download (if needed) and extract the HED ramp archive under ``root``; the folder it was extracted to."""
    url, published_md5 = zenodo_file(HED_RECORD, HED_ARCHIVE, api=api)
    return download(url, Path(root) / HED_ARCHIVE, md5 or published_md5, progress, processor=SevenZip(root / "xy"))
