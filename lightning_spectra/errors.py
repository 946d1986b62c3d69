"""One base for every error this package raises on purpose (:class:`SpectraError`), so the command line prints
each as one clear line: bad data, a setting that cannot work, a run without a meaningful result, a sweep file."""

from __future__ import annotations

import errno
import sys
from collections.abc import Iterator
from contextlib import contextmanager

#: Errors of the machine rather than of the program: a folder that cannot be written, a full disk.
UNWRITABLE = {errno.EACCES, errno.EPERM, errno.EROFS}
FULL = {errno.ENOSPC, errno.EDQUOT}
#: Exit status of a run stopped by SIGTERM: 128 + the signal number, as a shell reports a killed command. Here, with
#: the other statuses, as both a run (callbacks/interrupted.py) and a campaign (runs/campaign.py) exit with it.
SIGTERM_STATUS = 143


class SpectraError(ValueError):
    """The base of this package's errors: the message is the one line the user reads (a ``ValueError``, as
    each is a value that cannot work)."""


class SpectraDataError(SpectraError):
    """Bad or missing spectrum data; the message names the file (and line) at fault."""


class SpectraConfigError(SpectraDataError):
    """A setting that cannot work (a learning rate below zero, spectra too short for a model, a checkpoint that
    does not fit); the message names the setting or file. A subclass so the CLI reports it the same way."""


class SpectraRunError(SpectraDataError):
    """A run that cannot give a meaningful result (a non-finite loss, no training step at all)."""


def _chain(err: BaseException | None):
    """``err`` and what it was raised from or during (``__cause__``/``__context__``), each once."""
    seen: set[int] = set()
    while err is not None and id(err) not in seen:
        yield err
        seen.add(id(err))
        err = err.__cause__ or err.__context__


def find_data_error(err: BaseException | None) -> SpectraError | None:
    """The :class:`SpectraError` behind ``err``, following ``__cause__``/``__context__``.

    The config parser (jsonargparse) and Lightning wrap what a datamodule or model raises while they build it
    in errors of their own; the one-line message the user needs is the original one.
    """
    return next((e for e in _chain(err) if isinstance(e, SpectraError)), None)


def find_machine_error(err: BaseException | None) -> OSError | None:
    """The :class:`OSError` behind ``err`` that says a file or folder cannot be written (no permission, a
    read-only file system, a full disk), if it names that file or folder."""
    return next(
        (e for e in _chain(err) if isinstance(e, OSError) and e.errno in UNWRITABLE | FULL and e.filename), None
    )


def failure_line(err: BaseException) -> tuple[str, int] | None:
    """The one line to print for ``err`` and the exit status (2 bad input or settings, 1 a failed run), or
    ``None`` for a bug (which keeps its traceback)."""
    if (cause := find_data_error(err)) is not None:
        return str(cause), 1 if isinstance(cause, SpectraRunError) else 2
    if (machine := find_machine_error(err)) is not None:
        # A full disk is the run failing; a folder the user cannot write is a setting to change.
        return f"cannot write {machine.filename}: {machine.strerror}", 1 if machine.errno in FULL else 2
    return None


@contextmanager
def one_line_failures() -> Iterator[None]:
    """A command's body: bad input or settings end as ``error: <line>`` on stderr and exit 2, a failed run exit 1
    (:func:`failure_line`); a bug keeps its traceback."""
    try:
        yield
    except Exception as err:
        failure = failure_line(err)
        if failure is None:
            raise
        print(f"error: {failure[0]}", file=sys.stderr)
        raise SystemExit(failure[1]) from None
