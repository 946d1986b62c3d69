"""lightning-spectra: Lightning classifiers for 1D spectra (XRD, Raman, IR).

Kept import-light on purpose: importing the package must not pull in Lightning (about 3 s).
"""

__version__ = "0.1.0"
