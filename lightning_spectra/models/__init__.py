"""Classifiers. Each lives in its own module and subclasses :class:`SpectraClassifier`.

To add a model: write ``models/<name>.py`` with a subclass, export it here, add ``configs/<name>.yaml``
and ``tests/conf/<name>_tiny.yaml``, and add it to the parametrised lists in ``tests/test_models.py``.
"""

from lightning_spectra.models.base import SpectraClassifier
from lightning_spectra.models.cnn import CNN

__all__ = ["CNN", "SpectraClassifier"]
