"""Instrument vendors' spectrum files, read by the well-kept library of each format (the ``vendor`` extra).

* Galactic/Thermo SPC (``.spc``): ``spc-io`` (MIT), every subfile a spectrum;
* Bruker OPUS (``.0``, ``.1``, ...: OPUS numbers its saves): ``brukeropus`` (MIT), the final spectrum
  (absorbance, transmittance, ... before the single channels), one per file;
* JCAMP-DX (``.jdx``, ``.dx``, ``.jcamp``): ``jcamp`` (MIT), every block of a compound file a spectrum;
* Renishaw WiRE (``.wdf``): ``renishaw-wdf`` (Apache-2.0, Renishaw's own), every collected spectrum of a map.

The libraries are imported when a file of theirs is read, never at import time: most users have tables and
``.xy`` files, and a missing library is one line naming the extra (:func:`missing_extra`), not a traceback.
Whatever a library raises on a damaged file is one line naming the file too.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np

from lightning_spectra.errors import SpectraDataError

SPC_SUFFIXES = (".spc",)
JCAMP_SUFFIXES = (".jdx", ".dx", ".jcamp")
WDF_SUFFIXES = (".wdf",)
VENDOR_SUFFIXES = (*SPC_SUFFIXES, *JCAMP_SUFFIXES, *WDF_SUFFIXES)  # OPUS: a number, see is_vendor_file
OPUS_SUFFIX = re.compile(r"\.\d+")
EXTRA = 'pip install "lightning-spectra[vendor]"'

Read = tuple[np.ndarray, np.ndarray, str | None]  # x (L,), spectra (N, L), axis title ("wavenumber (cm-1)")


def is_vendor_file(path: Path) -> bool:
    """Whether ``path``'s suffix is a vendor format's (``.0``, ``.12``: an OPUS file, as OPUS names its saves)."""
    suffix = path.suffix.lower()
    return suffix in VENDOR_SUFFIXES or OPUS_SUFFIX.fullmatch(suffix) is not None


def missing_extra(path: Path) -> SpectraDataError:
    """The one line for a library that is not installed."""
    kind = "OPUS" if OPUS_SUFFIX.fullmatch(path.suffix) else path.suffix.lower()
    return SpectraDataError(f"{path}: reading {kind} files needs the vendor extra: {EXTRA}")


# ---------------------------------------------------------------------------------------------- SPC
SPC_AXES = {  # Fxtype names (the SPC specification's) with the units the specification gives them
    "XWAVEN": "wavenumber (cm-1)",
    "XRAMANS": "Raman shift (cm-1)",
    "XUMETR": "wavelength (µm)",
    "XNMETR": "wavelength (nm)",
    "XEV": "energy (eV)",
    "XDEGRS": "2theta (degrees)",
    "XSECS": "time (s)",
    "XMINUTS": "time (min)",
    "XHERTZ": "frequency (Hz)",
    "XMUNITS": "mass (m/z)",
    "XPPM": "chemical shift (ppm)",
}


def read_spc(path: Path) -> Read:
    import spc_io

    with path.open("rb") as handle:
        spc = spc_io.SPC.from_bytes_io(handle)
    subs = list(spc)
    if not subs:
        raise SpectraDataError(f"{path}: SPC file holds no spectra")
    x = np.asarray(subs[0].xarray, dtype=np.float64)
    for i, sub in enumerate(subs[1:], start=1):
        if len(sub.xarray) != len(x) or not np.allclose(sub.xarray, x):
            raise SpectraDataError(f"{path}, subfile {i}: x axis differs from subfile 0; spectra must share one axis")
    return x, np.stack([np.asarray(s.yarray, dtype=np.float64) for s in subs]), SPC_AXES.get(str(spc.xtype))


# ---------------------------------------------------------------------------------------------- OPUS
#: The spectrum a file is for, before what it was computed from (single channels, interferograms, phases).
OPUS_KEYS = ("a", "t", "r", "km", "tr", "gcig", "gcsc", "ra", "e", "pw", "logr", "atr", "pas", "sm", "rf")
OPUS_AXES = {"WN": "wavenumber (cm-1)", "MI": "wavelength (µm)", "LGW": "log wavenumber", "NM": "wavelength (nm)"}


def read_opus(path: Path) -> Read:
    import brukeropus

    opus = brukeropus.read_opus(str(path))
    if not opus:
        raise SpectraDataError(f"{path}: not an OPUS file (it does not start as one)")
    keys = [k for k in OPUS_KEYS if k in opus.data_keys] or list(opus.data_keys)
    if not keys:
        raise SpectraDataError(f"{path}: OPUS file holds no spectrum")
    data = getattr(opus, keys[0])
    unit = str(getattr(data.params, "dxu", "") or "")
    return np.asarray(data.x, dtype=np.float64), np.asarray(data.y, dtype=np.float64)[None, :], OPUS_AXES.get(unit)


# ---------------------------------------------------------------------------------------------- JCAMP-DX
JCAMP_AXES = {  # ##XUNITS as the JCAMP-DX specification spells them
    "1/CM": "wavenumber (cm-1)",
    "MICROMETERS": "wavelength (µm)",
    "NANOMETERS": "wavelength (nm)",
    "SECONDS": "time (s)",
    "HZ": "frequency (Hz)",
    "PPM": "chemical shift (ppm)",
    "DEGREES": "2theta (degrees)",
}


def read_jcamp(path: Path) -> Read:
    import jcamp

    blocks = [jcamp.readfile(str(path))]
    if blocks[0].get("children"):  # a compound file: one spectrum per block
        blocks = blocks[0]["children"]
    blocks = [b for b in blocks if "x" in b and "y" in b]
    if not blocks:
        raise SpectraDataError(f"{path}: JCAMP-DX file holds no XY data")
    x = np.asarray(blocks[0]["x"], dtype=np.float64)
    for i, block in enumerate(blocks[1:], start=1):
        if len(block["x"]) != len(x) or not np.allclose(block["x"], x):
            raise SpectraDataError(f"{path}, block {i}: x axis differs from block 0; spectra must share one axis")
    unit = str(blocks[0].get("xunits", "")).strip()
    return (
        x,
        np.stack([np.asarray(b["y"], dtype=np.float64) for b in blocks]),
        JCAMP_AXES.get(unit.upper(), unit or None),
    )


# ---------------------------------------------------------------------------------------------- WDF
WDF_AXES = {"RamanShift": "Raman shift (cm-1)", "Nanometre": "wavelength (nm)", "Micron": "wavelength (µm)"}


def read_wdf(path: Path) -> Read:
    import wdf

    with wdf.Wdf(str(path)) as file:
        count = file.hdr.ncollected  # a map stopped early has fewer spectra than it was set up for
        if count == 0:
            raise SpectraDataError(f"{path}: WDF file holds no collected spectra")
        xlist = file.xlist()
        spectra = np.asarray(file.spectrum(slice(0, count)), dtype=np.float64).reshape(count, -1)
    return np.asarray(xlist, dtype=np.float64), spectra, WDF_AXES.get(xlist.units.name)


# ---------------------------------------------------------------------------------------------- dispatch
def reader(path: Path) -> tuple[str, Callable[[Path], Read]]:
    suffix = path.suffix.lower()
    if suffix in SPC_SUFFIXES:
        return "SPC", read_spc
    if suffix in JCAMP_SUFFIXES:
        return "JCAMP-DX", read_jcamp
    if suffix in WDF_SUFFIXES:
        return "WDF", read_wdf
    return "OPUS", read_opus


def read_vendor(path: str | Path) -> Read:
    """``(x, spectra (N, L), axis title or None)`` of a vendor file; x rises or falls as the file stores it."""
    path = Path(path)
    kind, read = reader(path)
    try:
        x, spectra, title = read(path)
    except ImportError:
        raise missing_extra(path) from None
    except SpectraDataError:
        raise
    except Exception as err:  # noqa: BLE001 - the libraries raise anything on a damaged file
        raise SpectraDataError(f"{path}: cannot read it as a {kind} file ({type(err).__name__}: {err})") from None
    if spectra.ndim != 2 or spectra.shape[1] != len(x) or len(x) < 2:
        raise SpectraDataError(f"{path}: {kind} file has {spectra.shape[-1]} values for an x axis of {len(x)} points")
    if not (np.isfinite(x).all() and np.isfinite(spectra).all()):
        raise SpectraDataError(f"{path}: {kind} file holds values that are not finite (NaN or inf)")
    return x, spectra, title
