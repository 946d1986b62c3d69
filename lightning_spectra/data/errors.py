"""One exception type for everything wrong with input data, so the CLI can print it as one clear line."""


class SpectraDataError(ValueError):
    """Bad or missing spectrum data; the message names the file (and line) at fault."""


class SpectraConfigError(SpectraDataError):
    """A setting that cannot work (a learning rate below zero, spectra too short for a model, a checkpoint that
    does not fit); the message names the setting or file. A subclass so the CLI reports it the same way."""


class SpectraRunError(SpectraDataError):
    """A run that cannot give a meaningful result (a non-finite loss, no training step at all)."""


def find_data_error(err: BaseException | None) -> SpectraDataError | None:
    """The :class:`SpectraDataError` behind ``err``, following ``__cause__``/``__context__``.

    The config parser (jsonargparse) and Lightning wrap what a datamodule or model raises while they build it
    in errors of their own; the one-line message the user needs is the original one.
    """
    seen: set[int] = set()
    while err is not None and id(err) not in seen:
        if isinstance(err, SpectraDataError):
            return err
        seen.add(id(err))
        err = err.__cause__ or err.__context__
    return None
