from lightning_spectra.callbacks.predictions import PredictionWriter
from lightning_spectra.callbacks.timing import Timing

__all__ = ["PredictionWriter", "Timing"]
