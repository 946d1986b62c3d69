"""Text files as people save them: UTF-8 with or without a byte-order mark, UTF-16/32 with one, or Windows-1252.

The encoding is decided from the bytes, never by replacing what does not decode: a Latin-1 label ``Typ Ä``
read as UTF-8 with replacement becomes ``Typ \\ufffd``, the same class as ``Typ Ö``. The order is

1. a byte-order mark names the encoding (Excel's "CSV UTF-8" and "Unicode Text", which is UTF-16LE);
2. otherwise strict UTF-8, which bytes in another 8-bit encoding almost never pass by chance;
3. otherwise Windows-1252 (Excel's "CSV" on Western systems, a superset of Latin-1's printable characters),
   and Latin-1 for the five bytes Windows-1252 leaves undefined, so every byte keeps a character of its own.

NUL bytes without a byte-order mark mean UTF-16 without one, or not a text file at all: refused.

Line endings are read as ``open()`` reads them (universal newlines): ``\r\n`` (Windows) and a bare ``\r`` (classic
Mac OS, some instrument software) become ``\n``, so the CSV reader, which refuses a ``\r`` inside a field it was
not told about, sees ordinary lines.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from lightning_spectra.errors import SpectraDataError

# Longest first: the UTF-32LE mark begins with the UTF-16LE one.
BYTE_ORDER_MARKS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def decode_text(data: bytes, path: Path | str) -> str:
    """``data`` as text in the encoding its bytes show (see the module docstring); ``path`` names it in errors."""
    for mark, encoding in BYTE_ORDER_MARKS:
        if data.startswith(mark):
            try:
                return data.decode(encoding)  # these codecs drop the mark themselves
            except UnicodeDecodeError as err:
                raise SpectraDataError(
                    f"{path}: starts with a {encoding.upper()} byte-order mark but byte {err.start} does not decode"
                ) from None
    if b"\x00" in data:
        raise SpectraDataError(
            f"{path}: holds NUL bytes: not a text file, or UTF-16 without a byte-order mark (save it as UTF-8)"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def read_text(path: str | Path) -> str:
    """The text of the file at ``path`` (see :func:`decode_text`); an unreadable file is one line naming it."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise SpectraDataError(f"{path}: cannot read file ({err.strerror})") from err
    return decode_text(data, path).replace("\r\n", "\n").replace("\r", "\n")
