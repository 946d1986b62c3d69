"""Every model of :mod:`lightning_spectra.models`, found by reading the package rather than from a list.

Each module of the package that defines a model (a subclass of :class:`SpectraModel` with a ``forward`` of its
own) is that model's home, and the module's name is the model's name everywhere else: ``configs/<name>.yaml``,
``tests/conf/<name>_tiny.yaml``, ``--models <name>`` of the report and the benchmarks. So a new model is one new
module: the package exports it, checkpoints naming it load, and the tests parametrised over
:func:`model_classes` include it.

Examples:
    >>> from lightning_spectra.models.registry import model_classes
    >>> model_classes()["cnn"].__name__
    'CNN'
"""

from __future__ import annotations

import functools
import importlib
import inspect
import pkgutil

from lightning_spectra.models.base import SpectraModel

PACKAGE = "lightning_spectra.models"


def models_in(package_name: str) -> dict[str, type[SpectraModel]]:
    """Module name -> the model class defined there, for every module of ``package_name``, sorted by name.

    Base classes without a ``forward`` (:class:`SpectraModel`, ``SequenceClassifier``) and classes a module
    only imports are not models of that module. Two models in one module would need two names: refused.
    """
    package = importlib.import_module(package_name)
    found: dict[str, type[SpectraModel]] = {}
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda info: info.name):
        module = importlib.import_module(f"{package_name}.{info.name}")
        classes = [
            cls
            for _, cls in inspect.getmembers(module, inspect.isclass)
            if cls.__module__ == module.__name__ and issubclass(cls, SpectraModel) and is_model(cls)
        ]
        if len(classes) > 1:
            names = ", ".join(cls.__name__ for cls in classes)
            raise TypeError(f"{module.__name__} defines {len(classes)} models ({names}); give each its own module")
        if classes:
            found[info.name] = classes[0]
    return found


def is_model(cls: type[SpectraModel]) -> bool:
    """Whether ``cls`` can map spectra to outputs: it has a ``forward`` (its own or inherited from a model)."""
    return cls.forward is not SpectraModel.forward  # the base's is Lightning's, which has no layers to run


@functools.cache
def model_classes() -> dict[str, type[SpectraModel]]:
    """Config name -> model class, for every model of :mod:`lightning_spectra.models`."""
    return models_in(PACKAGE)


def class_paths() -> dict[str, type[SpectraModel]]:
    """Class path -> class of every model, under both paths it is saved with: ``lightning_spectra.models.Name``
    as configs write it and ``lightning_spectra.models.<module>.Name`` as Python spells it."""
    paths: dict[str, type[SpectraModel]] = {}
    for cls in model_classes().values():
        paths[f"{PACKAGE}.{cls.__name__}"] = cls
        paths[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return paths
