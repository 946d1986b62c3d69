"""Classical chemometrics baselines (scikit-learn) that every deep model is measured against, on the same
preprocessed splits: logistic regression / PLS-DA for classes, PLS regression for numeric targets."""

from lightning_spectra.baselines.linear import classification_baseline

__all__ = ["classification_baseline"]
