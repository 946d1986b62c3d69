from lightning_spectra.metrics.confidence import SeriesConfidence, series_boundary
from lightning_spectra.metrics.regression import RegressionMetrics, regression_metrics

__all__ = ["RegressionMetrics", "SeriesConfidence", "regression_metrics", "series_boundary"]
