from lightning_spectra.callbacks.feature_importance import FeatureImportance
from lightning_spectra.callbacks.gradcam import GradCAM
from lightning_spectra.callbacks.learning_curve import LearningCurve
from lightning_spectra.callbacks.paper_batchnorm import PaperBatchNorm
from lightning_spectra.callbacks.predictions import PredictionWriter
from lightning_spectra.callbacks.timing import Timing

__all__ = ["FeatureImportance", "GradCAM", "LearningCurve", "PaperBatchNorm", "PredictionWriter", "Timing"]
