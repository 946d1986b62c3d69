"""Linear chemometrics baselines that every deep model is measured against, on the same preprocessed splits."""

from lightning_spectra.baselines.linear import classification_baseline

__all__ = ["classification_baseline"]
