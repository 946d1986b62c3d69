"""Keep freed tensor memory in the process on Linux CPUs, so that big activations stop costing page faults.

glibc hands every allocation above its mmap threshold (at most 32 MiB) straight to the kernel and gives it
back on ``free``. A full-batch CNN step on the HED ramp allocates and frees several activations of
~0.8 GB, so every step maps fresh pages and the kernel zero-fills each one on first touch: on a 2-core machine
that fault traffic made up more than half of a training step (BENCHMARKS.md, "CPU speed"). Turning
glibc's mmap path off (``M_MMAP_MAX = 0``) and never trimming the heap (``M_TRIM_THRESHOLD``) lets the
next step reuse the same, already mapped memory. The price: the process keeps its peak memory until it ends,
which a training run reaches anyway.

Applied by the CLI for runs on the CPU. ``LIGHTNING_SPECTRA_CPU_ALLOCATOR=off`` (or ``default``) leaves glibc as it
is, ``keep`` (or unset) switches it; any other value is refused with one line listing these, since a misspelt
switch silently kept the setting the user meant to turn off. Other C libraries (macOS, musl) are left alone.
"""

from __future__ import annotations

import ctypes
import os
import platform

from lightning_spectra.errors import SpectraConfigError

SWITCH = "LIGHTNING_SPECTRA_CPU_ALLOCATOR"
M_TRIM_THRESHOLD = -1  # mallopt parameters, from glibc's malloc.h
M_MMAP_MAX = -4
NEVER_TRIM = -1  # "disables trimming completely" (mallopt(3))
#: The switch's values: whether each keeps freed memory in the process.
VALUES = {"": True, "keep": True, "on": True, "off": False, "default": False}


def allocator_switched() -> bool:
    """Whether :data:`SWITCH` asks for the switched allocator (unset: yes); an unknown value is a
    :class:`~lightning_spectra.errors.SpectraConfigError` naming the values there are."""
    value = os.environ.get(SWITCH, "").strip().lower()
    if value not in VALUES:
        raise SpectraConfigError(
            f"{SWITCH}={os.environ[SWITCH]!r}: give off (or default) to leave the C library's allocator as it is, "
            "or keep (or leave it unset) to keep freed memory in the process"
        )
    return VALUES[value]


def keep_freed_memory() -> bool:
    """Switch glibc to reuse freed memory instead of returning it to the kernel; True if it was switched."""
    if not allocator_switched() or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    return bool(libc.mallopt(M_MMAP_MAX, 0)) and bool(libc.mallopt(M_TRIM_THRESHOLD, NEVER_TRIM))
