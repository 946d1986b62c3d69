"""Every model of :mod:`lightning_spectra.models`, found by reading the package rather than from a list.

Each module of the package that defines a model (a subclass of :class:`SpectraModel` with a ``forward`` of its
own) is that model's home, and the module's name is the model's name everywhere else: ``configs/<name>.yaml``,
its tiny test config (derived from the class's ``tiny_arguments`` in ``tests/conftest.py``), ``--models <name>`` of
the report and the benchmarks, its row of docs/models.md's table (:func:`table_row`). So a new model is one new
module and its config: the package exports it, checkpoints naming it load, and the tests parametrised over
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
from typing import Any

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


#: The columns of docs/models.md's table of models, every cell read from the class (:func:`table_row`).
TABLE_HEADER = (
    "| Model | Class | Config | Paper epochs | Trainable params at L = 4023 | Min. length | Grad-CAM layer |",
    "|---|---|---|---|---|---|---|",
)


def _setting(settings: dict[str, Any]) -> str:
    """``{"pools": (2, 3, 2), "paper_init": True}`` as a config writes it: ``pools: [2, 3, 2], paper_init: true``."""

    def value(v: Any) -> str:
        return str(v).lower() if isinstance(v, bool) else str(list(v) if isinstance(v, tuple) else v)

    return ", ".join(f"{key}: {value(v)}" for key, v in settings.items())


def table_row(name: str, cls: type[SpectraModel]) -> str:
    """The model's row of docs/models.md's table, from its class facts only (so the table cannot drift from the
    code: ``tests/models/test_registry.py`` checks every row the page has)."""
    if cls.paper_epochs is not None:
        epochs = str(cls.paper_epochs)
    else:
        epochs = "not in the paper" if cls.paper_order is None else "–"
    counts = [
        f"{count:,}" if not settings else f"{count:,} with `{_setting(settings)}`"
        for settings, count in cls.parameter_counts
    ]
    params = counts[0] + (f" ({'; '.join(counts[1:])})" if len(counts) > 1 else "") if counts else "–"
    length = "any" if cls.minimum_length is None else str(cls.minimum_length)
    layer = cls.attribution_layer or "input"
    layer = "the input (grad x input)" if layer == "input" else f"`{layer}`"
    cells = (cls.label or cls.__name__, f"`{cls.__name__}`", f"`{name}`", epochs, params, length, layer)
    return "| " + " | ".join(cells) + " |"


def models_table() -> str:
    """docs/models.md's table of every registered model, the paper's in its order first; print it with
    ``python -c "from lightning_spectra.models.registry import models_table; print(models_table())"``."""
    ordered = sorted(model_classes().items(), key=lambda item: (item[1].paper_order is None, item[1].paper_order or 0))
    return "\n".join((*TABLE_HEADER, *(table_row(name, cls) for name, cls in ordered)))
