"""Classical calibrations as models of the framework: PLS and RBF kernel ridge, each on the preprocessing its own
cross-validation chose on the training split, held as arrays in the checkpoint and run as torch modules.

- :mod:`~lightning_spectra.classical.preparations`: the candidate preprocessings (raw, SNV, Savitzky-Golay first
  derivative, both) in NumPy for the fit and in torch for the module.
- :mod:`~lightning_spectra.classical.selection`: the choice of preprocessing and family by k-fold RMSECV.
- :mod:`~lightning_spectra.classical.calibration`: the fitted model as a torch module (a linear map, or the RBF
  kernel against the stored spectra times the dual coefficients).
- :mod:`~lightning_spectra.classical.blend`: the network's share in a blend, chosen on the validation split.
- :mod:`~lightning_spectra.classical.regressor`: :class:`ClassicalRegressor`, the classical model alone through
  ``fit``, ``test``, ``predict`` and export.
"""


def __getattr__(name: str):
    # Lazily: the regressor imports the models' base class, which imports this package's attachment module.
    if name == "ClassicalRegressor":
        from lightning_spectra.classical.regressor import ClassicalRegressor

        return ClassicalRegressor
    raise AttributeError(name)


__all__ = ["ClassicalRegressor"]
