"""Checks of the command line's settings before anything is built, and config errors as one line.

jsonargparse reports a bad option as 50-60 lines of usage with the culprit in the middle; :func:`argument_error_line`
reduces its message to the culprit (and, for a misspelt key, the nearest known key). The numeric options, the
accelerator and the config files themselves are checked here so a bad value is one line naming its key rather
than a traceback from deep inside torch or Lightning.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml
from jsonargparse import Namespace

from lightning_spectra.errors import SpectraConfigError
from lightning_spectra.runtime.shipped_files import config_file

#: Smallest (and, where there is one, largest) value of each numeric option; ``None`` values mean "off" or
#: "default" and are not checked. Keys are relative to a subcommand's config.
LIMITS: dict[str, tuple[float, float | None]] = {
    "seed_everything": (0, 2**32 - 1),  # outside it Lightning silently picks another seed
    "trainer.max_epochs": (-1, None),  # -1: no limit
    "trainer.min_epochs": (0, None),
    "trainer.max_steps": (-1, None),
    "trainer.min_steps": (0, None),
    "trainer.check_val_every_n_epoch": (1, None),
    "trainer.log_every_n_steps": (0, None),
    "trainer.accumulate_grad_batches": (1, None),
    "trainer.num_sanity_val_steps": (-1, None),
    "trainer.gradient_clip_val": (0, None),
    "trainer.limit_train_batches": (0, None),
    "trainer.limit_val_batches": (0, None),
    "trainer.limit_test_batches": (0, None),
    "trainer.limit_predict_batches": (0, None),
    "trainer.num_nodes": (1, None),
    "data.init_args.batch_size": (1, None),
    "data.init_args.eval_batch_size": (1, None),
    "data.init_args.split.seed": (0, 2**32 - 1),  # NumPy's seeds
    "data.init_args.simulation_seed": (0, 2**32 - 1),
    "data.init_args.noise_copies": (0, None),
    "data.init_args.noise_amplitude": (0, None),
    "data.init_args.simulated_points": (1, None),
    "data.init_args.augmentation.noise": (0, None),
    "data.init_args.augmentation.offset": (0, None),
    "data.init_args.augmentation.slope": (0, None),
    "data.init_args.augmentation.scale": (0, None),
    "data.init_args.augmentation.shift": (0, None),
    "data.init_args.preprocessing.baseline_lam": (0, None),
    "data.init_args.baseline_lam": (0, None),  # the HED ramp's
    "data.init_args.num_workers": (0, None),
}
CONFIG_SUFFIXES = (".yaml", ".yml", ".json")
#: Trainer options that are a share of the batches (a float up to 1.0) or a count of them (a whole number):
#: Lightning refuses anything else (-1, 1.5) with a MisconfigurationException traceback as the trainer is built.
BATCH_AMOUNTS = (
    "trainer.overfit_batches",
    "trainer.val_check_interval",
    "trainer.limit_train_batches",
    "trainer.limit_val_batches",
    "trainer.limit_test_batches",
    "trainer.limit_predict_batches",
)


def check_numbers(config: Namespace) -> None:
    """Refuse a numeric option outside its range (:data:`LIMITS`), naming the key."""
    for key, (low, high) in LIMITS.items():
        value = config.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if value < low or (high is not None and value > high):
            wanted = f"at least {low}" if high is None else f"between {low} and {high}"
            raise SpectraConfigError(f"{key} must be {wanted}, got {value}")
    for key in BATCH_AMOUNTS:
        check_batch_amount(key, config.get(key))


def check_batch_amount(key: str, value: Any) -> None:
    """Refuse a share or count of batches Lightning would refuse (:data:`BATCH_AMOUNTS`) with one line; a
    ``val_check_interval`` of time (a string, a dict) is left to Lightning."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return
    if (
        value >= 0
        and (value <= 1 or float(value).is_integer())
        and not (key.endswith("val_check_interval") and value == 0)
    ):
        return
    low = "above 0.0" if key.endswith("val_check_interval") else "from 0.0"
    raise SpectraConfigError(
        f"{key} is {value}: give a share of the batches {low} up to 1.0 (e.g. 0.25) or a whole number of batches"
    )


def check_val_check_interval(trainer: Any, datamodule: Any) -> None:
    """Refuse ``trainer.val_check_interval`` of more batches than an epoch has, with one line giving the number.

    Lightning refuses it with a ValueError traceback only once the fit loop has its data; the number of batches
    is known as soon as the datamodule has its splits (``ceil(train spectra / batch_size)``, less with
    ``limit_train_batches`` or ``overfit_batches``). Datamodules without :attr:`splits` are left to Lightning."""
    interval = trainer.val_check_interval
    if isinstance(interval, bool) or not isinstance(interval, int) or trainer.check_val_every_n_epoch is None:
        return
    try:
        spectra = len(datamodule.splits.train)
    except AttributeError:
        return
    batches = -(-spectra // (getattr(datamodule, "batch_size", None) or spectra or 1))
    limit = trainer.limit_train_batches
    batches = min(batches, limit) if isinstance(limit, int) else int(batches * limit)
    if 0 < batches < interval:  # no batches (limit_train_batches 0): nothing trains, nothing to check
        raise SpectraConfigError(
            f"trainer.val_check_interval is {interval} batches but an epoch has {batches} training batches "
            f"({spectra} spectra); give at most {batches}, a share of the epoch (e.g. 0.5), or "
            "trainer.check_val_every_n_epoch null to count batches across epochs"
        )


def check_accelerator(accelerator: Any) -> None:
    """Refuse ``trainer.accelerator`` naming a device this machine does not have (Lightning fails late, deep)."""
    if not isinstance(accelerator, str) or accelerator.lower() in ("auto", "cpu"):
        return
    from lightning.pytorch.accelerators import AcceleratorRegistry, CUDAAccelerator, MPSAccelerator

    name = accelerator.lower()
    known = sorted({"auto", "gpu", *AcceleratorRegistry.available_accelerators()})
    if name == "gpu":
        available = CUDAAccelerator.is_available() or MPSAccelerator.is_available()
    elif name in AcceleratorRegistry:
        available = AcceleratorRegistry[name]["accelerator"].is_available()
    else:
        raise SpectraConfigError(f"trainer.accelerator {accelerator!r} is not one of {', '.join(known)}")
    if not available:
        raise SpectraConfigError(
            f"trainer.accelerator is {accelerator!r} but this machine has no such device; use cpu or auto"
        )


def check_devices(devices: Any) -> None:
    """Refuse ``trainer.devices`` that selects no device (``0``, a negative count other than ``-1``, an empty
    list): Lightning ends in a MisconfigurationException traceback. ``auto``, ``-1``, counts, lists of indices
    and ``"0,1"``-style strings are left to Lightning."""
    value = devices
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):  # "0" as given on the command line
        value = int(value)
    if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, list | tuple) and not value)):
        return
    if isinstance(value, int) and (value >= 1 or value == -1):
        return
    raise SpectraConfigError(
        f"trainer.devices is {devices}, which selects no device; give a count of at least 1, -1 (all) or auto"
    )


def callback_entries(callbacks: Any) -> list:
    """``trainer.callbacks`` as a list, whichever form it was given in: one class (a Namespace, a dict or a
    class path, Lightning's documented ``--trainer.callbacks=<class>``), a list of them, or nothing."""
    if callbacks is None:
        return []
    if isinstance(callbacks, str | dict | Namespace) or not isinstance(callbacks, Iterable):
        return [callbacks]
    return list(callbacks)


def class_path(entry: Any) -> str:
    """The class an entry of ``trainer.callbacks`` (or ``trainer.plugins``) names: a Namespace, dict, class
    path or an object already built."""
    if isinstance(entry, str):
        return entry
    if isinstance(entry, dict | Namespace):
        return str(entry.get("class_path", ""))
    return f"{type(entry).__module__}.{type(entry).__qualname__}"


def config_paths(args: Sequence[str]) -> list[str]:
    """The values of ``--config``/``-c`` in ``args``."""
    paths = []
    for i, arg in enumerate(args):
        if arg in ("--config", "-c") and i + 1 < len(args):
            paths.append(args[i + 1])
        elif arg.startswith("--config="):
            paths.append(arg.partition("=")[2])
    return paths


def check_config_file(path: str | Path) -> None:
    """A config file that is missing, empty, not YAML or uses a ``!!python`` tag: one line naming it (and the
    line). Configs are plain YAML; a tag that would build Python objects is refused, never run."""
    path = Path(path)
    if not path.is_file():
        what = "is a folder, not a config file" if path.is_dir() else "no such config file"
        raise SpectraConfigError(f"{path}: {what}")
    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise SpectraConfigError(f"{path}: not a text file (a config is YAML)") from None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f", line {mark.line + 1}" if mark is not None else ""
        tag = re.search(r"tag '([^']+)'", str(err.problem))
        if tag and "python" in tag.group(1):
            name = tag.group(1).removeprefix("tag:yaml.org,2002:")
            raise SpectraConfigError(f"{path}{where}: tag !!{name} is not allowed: configs are plain YAML") from None
        raise SpectraConfigError(f"{path}{where}: not valid YAML ({err.problem})") from None
    except yaml.YAMLError as err:
        raise SpectraConfigError(f"{path}: not valid YAML ({' '.join(str(err).split())})") from None
    if content is None:
        raise SpectraConfigError(f"{path}: the config file is empty")
    if not isinstance(content, dict):
        raise SpectraConfigError(f"{path}: a config holds keys and values, got a {type(content).__name__}")


def check_config_files(args: Sequence[str]) -> None:
    """:func:`check_config_file` for each ``--config`` that names a file (it may also be inline YAML): the file
    the command will read, so a shipped config's repository path (``configs/paper/cnn.yaml``) from another
    folder is the shipped file, and a file that is neither there nor shipped is the line that lists the names."""
    for value in config_paths(args):
        if Path(value).suffix.lower() in CONFIG_SUFFIXES or Path(value).exists():
            check_config_file(config_file(value))


def argument_error_line(message: str, known_keys: Iterable[str] = ()) -> str:
    """jsonargparse's error ``message`` reduced to one line naming the culprit, with the nearest of
    ``known_keys`` (or of the named class's options) for a key it does not know."""
    parent = re.search(r'Parser key "([^"]+)"', message)
    key = parent.group(1) if parent else None
    if found := re.search(r"class_path '([^']+)':", message):
        # The class's own complaint is the block under it, up to the next alternative at the outer level.
        block = re.split(r"\n {0,4}- ", message[found.end() :], maxsplit=1)[0]
        return _class_problem(key or "?", found.group(1), block)
    if found := re.search(r"does not accept option '([^']+)'", message) or re.search(
        r"unrecognized arguments: --?([^\s=]+)", message, flags=re.IGNORECASE
    ):
        return _unknown_key(found.group(1), known_keys)
    if key and (given := re.search(r"(?:Given|Got) value: (.*)", message)):
        expected = [t for t in re.findall(r"Expected a <class '([^']+)'>", message) if t != "NoneType"]
        wanted = " or ".join(dict.fromkeys(expected)) or "another value"
        return f"{key}: expected {wanted}, got {given.group(1).strip()!r}"
    if key == "config" and (missing := re.search(r"File does not exist: '([^']+)'", message)):
        return f"{missing.group(1)}: no such config file"
    return " ".join(message.split())[:300]


def _unknown_key(key: str, known_keys: Iterable[str]) -> str:
    close = difflib.get_close_matches(key, list(known_keys), n=1, cutoff=0.6)
    return f"{key}: no such option" + (f"; did you mean {close[0]}?" if close else "")


def _class_problem(key: str, path: str, block: str) -> str:
    """What is wrong with the class ``path`` given for ``key``: an option it does not take, a value of the
    wrong type for one of its options, or no such class."""
    if option := re.search(r"Option '([^']+)' is not accepted", block):
        name = option.group(1)
        if moved := _moved_options(path).get(name):
            return f"{key}.init_args.{name} is now {key}.init_args.{moved}"
        return _unknown_key(f"{key}.init_args.{name}", (f"{key}.init_args.{p}" for p in _options(path)))
    if 'Parser key "' in block:
        return f"{key}.init_args.{argument_error_line(block)}"
    module, _, name = path.rpartition(".")
    if "has no attribute" not in block and "No module named" not in block:
        return f"{key}: {path}: {' '.join(block.split())[:200]}"
    try:
        names = [n for n, v in vars(importlib.import_module(module)).items() if inspect.isclass(v)] if module else []
    except ImportError:
        return f"{key}: no module {module!r} for class {path}"
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    return f"{key}: no class {path}" + (f"; did you mean {module}.{close[0]}?" if close else "")


def _class_at(path: str) -> type | None:
    """The class at ``path``, or ``None`` where there is none (its options are only a hint)."""
    module, _, name = path.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError):
        return None
    return cls if inspect.isclass(cls) else None


def _moved_options(path: str) -> dict[str, str]:
    """Options the class at ``path`` took in an earlier release and where they live now (a datamodule's
    ``moved_options``; other classes have none)."""
    return dict(getattr(_class_at(path), "moved_options", {}))


def _options(path: str) -> list[str]:
    """The init options of the class at ``path`` and of the classes it hands ``**kwargs`` to (its bases), read
    from their signatures: the same list in every process, whatever jsonargparse has cached."""
    cls = _class_at(path)
    if cls is None:  # only a hint: without it the line still names the key
        return []
    names: list[str] = []
    for klass in inspect.getmro(cls):
        init = vars(klass).get("__init__")
        if init is None:
            continue
        try:
            parameters = inspect.signature(init).parameters.values()
        except (TypeError, ValueError):  # a C-level __init__
            continue
        skipped = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
        names += [p.name for p in parameters if p.name != "self" and p.kind not in skipped]
    return list(dict.fromkeys(names))
