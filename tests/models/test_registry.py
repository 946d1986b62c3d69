"""Model discovery: every model module of the package is found, exported, configured and tested, with no list."""

from __future__ import annotations

import ast
import importlib
import itertools
import textwrap
from pathlib import Path

import pytest
from conftest import ROOT, every_model, tiny_config

import lightning_spectra.models as models
from lightning_spectra.models.registry import class_paths, model_classes, models_in
from lightning_spectra.runs.checkpoint import package_models
from lightning_spectra.runtime.composed_configs import load_config

MODELS_DIR = Path(models.__file__).parent
BASES = {"SpectraModel", "SpectraClassifier"}  # the base and its alias; both lack a forward of their own


def scanned_models() -> dict[str, str]:
    """Module name -> model class name, read from the package's source files alone (``ast``, nothing
    imported): classes that derive, through the package's own classes, from the base and have a ``forward``."""
    classes: dict[str, tuple[str, list[str], bool]] = {}  # class -> module, base names, defines forward
    for path in sorted(MODELS_DIR.glob("*.py")):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ClassDef):
                bases = [b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases]
                forward = any(isinstance(f, ast.FunctionDef) and f.name == "forward" for f in node.body)
                classes[node.name] = (path.stem, bases, forward)

    def derives(name: str) -> bool:
        return name in BASES or (name in classes and any(derives(base) for base in classes[name][1]))

    def has_forward(name: str) -> bool:
        return name in classes and (classes[name][2] or any(has_forward(base) for base in classes[name][1]))

    found = {}
    for name, (module, bases, _) in classes.items():
        if any(derives(base) for base in bases) and has_forward(name):
            found[module] = name
    return found


def test_every_model_module_is_found() -> None:
    """The registry's models are exactly those an independent reading of the source files finds."""
    found = {name: cls.__name__ for name, cls in model_classes().items()}
    assert found == scanned_models()
    assert len(found) >= 8  # the paper's models at least: a scan that finds nothing must not pass


@pytest.mark.parametrize(("name", "cls"), model_classes().items(), ids=list(model_classes()))
def test_every_model_is_exported_configured_and_loadable(name: str, cls: type) -> None:
    """Its class is exported, its config and tiny config name it, and checkpoints naming it are allowed."""
    assert getattr(models, cls.__name__) is cls and cls.__name__ in models.__all__
    for config in (ROOT / "configs" / f"{name}.yaml", tiny_config(name)):
        class_path = load_config(config)["model"]["class_path"]
        module, _, attribute = class_path.rpartition(".")
        assert getattr(importlib.import_module(module), attribute) is cls, config
        assert package_models()[class_path] is cls, config
    assert package_models()[f"{cls.__module__}.{cls.__qualname__}"] is cls
    # the tiny config is derived from the class's small version, not copied (tests/conftest.py: tiny_config)
    tiny = load_config(tiny_config(name))["model"].get("init_args", {})
    for key, value in cls.tiny_arguments.items():
        assert tiny[key] == (list(value) if isinstance(value, tuple) else value), key


def test_the_allow_list_holds_the_models_only() -> None:
    from lightning_spectra.classical import ClassicalRegressor

    # the registry's models, and the classical calibration alone (a model of lightning_spectra.classical)
    assert set(package_models().values()) == set(model_classes().values()) | {ClassicalRegressor}
    assert "lightning_spectra.models.SpectraModel" not in class_paths()


def write_package(root: Path, name: str, modules: dict[str, str]) -> str:
    """A package ``name`` of ``modules`` (module name -> source) under ``root`` (a new name per test: Python
    keeps a package it imported once)."""
    package = root / name
    package.mkdir()
    (package / "__init__.py").write_text("")
    for module, source in modules.items():
        (package / f"{module}.py").write_text(source)
    return package.name


NEW_MODEL = textwrap.dedent("""
    from torch import nn

    from lightning_spectra.models.base import SpectraModel
    from lightning_spectra.models.cnn import CNN  # imported, not defined here: not this module's model
    from lightning_spectra.models.sequence import SequenceClassifier


    class SequenceBase(SequenceClassifier):  # no forward: a base, not a model
        pass


    class TinyNet(SpectraModel):
        label = "Tiny net"

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.head = nn.Linear(self.spectrum_length, self.out_features)

        def forward(self, x):
            return self.head(x)
""")


def test_a_new_model_module_is_found_and_parametrised(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A model written as one more module of a package is what discovery and the tests' parametrisation find."""
    monkeypatch.syspath_prepend(str(tmp_path))
    package = write_package(
        tmp_path, "throwaway_new", {"tiny_net": NEW_MODEL, "helpers": "def unrelated():\n    return 1\n"}
    )
    found = models_in(package)
    assert list(found) == ["tiny_net"] and found["tiny_net"].__name__ == "TinyNet"
    (param,) = every_model(package)
    assert param.values == (found["tiny_net"],) and param.id == "TinyNet"
    assert found["tiny_net"](spectrum_length=8).num_trainable_parameters == 9


def test_two_models_in_one_module_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    second = NEW_MODEL + "\n\nclass OtherNet(TinyNet):\n    pass\n"
    package = write_package(tmp_path, "throwaway_two", {"two": second})
    with pytest.raises(TypeError, match=r"throwaway_two\.two defines 2 models \(OtherNet, TinyNet\)"):
        models_in(package)


def test_every_row_of_the_models_table_in_the_docs_is_read_from_the_class() -> None:
    """docs/models.md's table said a model's Grad-CAM layer was one the class no longer used: each row present must
    equal the row built from the class's facts. A model without a row fails nothing (a new model is two files)."""
    from lightning_spectra.models.registry import TABLE_HEADER, table_row

    lines = (ROOT / "docs" / "models.md").read_text().splitlines()
    start = lines.index(TABLE_HEADER[0])
    assert lines[start + 1] == TABLE_HEADER[1]
    rows = list(itertools.takewhile(lambda line: line.startswith("|"), lines[start + 2 :]))
    by_class = {f"`{cls.__name__}`": (name, cls) for name, cls in model_classes().items()}
    assert rows
    for row in rows:
        class_cell = row.split("|")[2].strip()
        assert class_cell in by_class, f"docs/models.md has a row for {class_cell}, which is no model"
        assert row == table_row(*by_class[class_cell]), class_cell
