"""One exception type for everything wrong with input data, so the CLI can print it as one clear line."""


class SpectraDataError(ValueError):
    """Bad or missing spectrum data; the message names the file (and line) at fault."""
