from lightning_spectra.metrics.confidence import SeriesConfidence, series_boundary

__all__ = ["SeriesConfidence", "series_boundary"]
