from lightning_spectra.callbacks.feature_importance import FeatureImportance
from lightning_spectra.callbacks.gradcam import GradCAM
from lightning_spectra.callbacks.paper_batchnorm import PaperBatchNorm
from lightning_spectra.callbacks.predictions import PredictionWriter
from lightning_spectra.callbacks.timing import Timing

__all__ = ["FeatureImportance", "GradCAM", "PaperBatchNorm", "PredictionWriter", "Timing"]
