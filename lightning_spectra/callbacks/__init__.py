from lightning_spectra.callbacks.timing import Timing

__all__ = ["Timing"]
