"""What a checkpoint written by ``train.py`` says about its model, read once and checked before anything uses it.

A checkpoint fixes the spectrum length, the class names (in the order of the model's outputs) and the x axis
the model was trained on, and the datamodule settings (spectral ranges, preprocessing) its spectra went through;
where ranges cut the spectra, the full raw axis they were cut from is saved too (:attr:`TrainedModel.raw_x_axis`).
``predict`` takes all of them from here, so it needs no training file and names classes as the model learned them;
every subcommand given ``--ckpt_path`` refuses data of another length or class list with one line naming both sides,
and prepares spectra with the saved preprocessing, whatever the config says (a warning names what it overrides).

One path leads from a checkpoint to predictions: :func:`read_trained_model` reads and checks the file once;
its :class:`TrainedModel` builds the model (:meth:`TrainedModel.load_model`) and the preprocessing new spectra
need (:meth:`TrainedModel.fitted_preprocessing`: the saved settings, then the per-point scaling fitted on the
training split), for ``predict``, ``watch`` and export alike.

A checkpoint is trusted for data only. The model class it names is never imported from the file: it must be
one of :mod:`lightning_spectra.models` (or, on the command line, the configured class). ``torch.load`` reads
weights only; pickled objects, which can run code, load only where ``LIGHTNING_SPECTRA_TRUST_CHECKPOINTS=1``
is set, and then for every command alike.

A datamodule is handed a :class:`TrainedModel` by its ``serve`` method
(:meth:`lightning_spectra.data.base.SpectraDataModule.serve`); the CLI calls it right after building the
datamodule, before it links the datamodule's sizes into the model.
"""

from __future__ import annotations

import importlib
import io
import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lightning_spectra.data.preprocess import FittedPreprocessing
from lightning_spectra.data.ranges import Selection
from lightning_spectra.errors import SpectraConfigError, SpectraDataError
from lightning_spectra.tasks import DEFAULT_TASK, Targets, task_class, task_for

#: ``--ckpt_path`` values Lightning resolves itself (no file to read beforehand).
SPECIAL_CKPT_PATHS = ("last", "best", "hpc", "registry")
#: Set to ``1`` to load checkpoints holding pickled objects (``weights_only=False``): only for trusted files.
TRUST_ENV = "LIGHTNING_SPECTRA_TRUST_CHECKPOINTS"


def pickles_trusted() -> bool:
    """Whether the user opted in to loading pickled objects from checkpoints (see :data:`TRUST_ENV`)."""
    return os.environ.get(TRUST_ENV, "").strip() == "1"


def checked_weights_only(given: bool | None) -> bool:
    """The ``weights_only`` every checkpoint load uses: ``True`` unless the user opted in to pickles.

    ``--weights_only false`` without the opt-in is refused rather than obeyed, so no command loads a pickle
    by a flag alone; with the opt-in an unset value means ``False`` (the opt-in applies to every path alike).
    """
    if given is False and not pickles_trusted():
        raise SpectraConfigError(
            f"--weights_only false lets a checkpoint run code (pickled objects); set {TRUST_ENV}=1 to allow it "
            "for checkpoints you trust"
        )
    return (not pickles_trusted()) if given is None else bool(given)


def _exported_classes(package_name: str, base_name: str) -> dict[str, type]:
    """The classes ``package_name`` exports that subclass its ``base_name``, under every class path they are
    saved with (``package.Name`` as configs write it, ``module.Name`` as Python spells it)."""
    package = importlib.import_module(package_name)
    base = getattr(package, base_name)
    classes: dict[str, type] = {}
    for name in package.__all__:
        obj = getattr(package, name)
        if isinstance(obj, type) and issubclass(obj, base):
            classes[f"{package_name}.{name}"] = obj
            classes[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return classes


def package_models() -> dict[str, type]:
    """Class path -> class of every model in :mod:`lightning_spectra.models` (the allow-list), as its registry
    finds them: a model added as a module of the package loads with no list to edit; and the classical
    calibration alone (:class:`~lightning_spectra.classical.ClassicalRegressor`)."""
    from lightning_spectra.classical.regressor import ClassicalRegressor
    from lightning_spectra.models.registry import class_paths

    classical = {"lightning_spectra.classical.ClassicalRegressor": ClassicalRegressor}
    return class_paths() | classical | {f"{ClassicalRegressor.__module__}.ClassicalRegressor": ClassicalRegressor}


def package_datamodule(class_path: str | None, source: object) -> type:
    """The datamodule class ``class_path`` names, if :mod:`lightning_spectra.data` exports it (looked up, never
    imported); ``None`` (settings saved without a class) means the base datamodule."""
    known = _exported_classes("lightning_spectra.data", "SpectraDataModule")
    if class_path is None:
        return known["lightning_spectra.data.SpectraDataModule"]
    if class_path not in known:
        raise SpectraConfigError(
            f"{source}: names datamodule class {class_path!r}, which is not one of lightning_spectra's "
            "datamodules; it is not imported"
        )
    return known[class_path]


@dataclass(frozen=True)
class TrainedModel:
    """The facts of a trained model that data must agree with."""

    path: Path
    spectrum_length: int
    targets: Targets
    x_axis: np.ndarray | None = None
    model_class: str | None = None
    datamodule_hparams: dict[str, Any] = field(default_factory=dict)
    model_hparams: dict[str, Any] = field(default_factory=dict)  # as this release's models take them
    weight_shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)
    predicting: bool = False  # predict: class names come from here, the training file is not needed
    datamodule_state: dict[str, Any] = field(default_factory=dict)  # per-point scaling fitted on training data

    @property
    def class_names(self) -> list[str]:
        """The classes the model scores (none for a regressor)."""
        return task_for(self.targets).class_names

    def model_type(self) -> type:
        """The model class the checkpoint names, if it is one of :mod:`lightning_spectra.models`; the name is
        looked up, never imported, so a checkpoint cannot make Python run a module of its choosing."""
        if self.model_class is None:
            raise SpectraDataError(f"{self.path}: no model class in the checkpoint; use one written by train.py")
        known = package_models()
        if self.model_class not in known:
            raise SpectraConfigError(
                f"{self.path}: names model class {self.model_class!r}, which is not one of lightning_spectra's "
                f"models ({', '.join(sorted({c.__name__ for c in known.values()}))}); it is not imported"
            )
        return known[self.model_class]

    def check_model_class(self, configured: str) -> None:
        """Refuse a checkpoint of another model class than the configured one (the config names the code to
        run: a checkpoint's class path is only compared with it, never imported)."""
        if self.model_class is None or self.model_class == configured:
            return
        known = package_models()
        if self.model_class not in known:
            raise SpectraConfigError(
                f"{self.path}: names model class {self.model_class!r}, neither the configured {configured} nor one "
                "of lightning_spectra's models; it is not imported"
            )
        if known.get(configured) is not known[self.model_class]:
            raise SpectraConfigError(
                f"{self.path}: holds a {known[self.model_class].__name__} model, but the config builds "
                f"{configured.rpartition('.')[2]}"
            )

    def datamodule_type(self) -> type:
        """The datamodule class whose settings the checkpoint holds (see :func:`package_datamodule`)."""
        return package_datamodule(self.datamodule_hparams.get("_class_path"), self.path)

    def fitted_preprocessing(self, datamodule_class: type | None = None) -> FittedPreprocessing:
        """How the model expects new spectra: the preprocessing saved with its datamodule's settings, then the
        per-point scaling fitted on its training split (saved as the datamodule's state).

        ``datamodule_class`` reads the settings (default: the checkpoint's own, see :meth:`datamodule_type`);
        the command line passes the configured class, which may be a user's own subclass.
        """
        if not self.datamodule_hparams:
            raise SpectraDataError(
                f"{self.path}: no preprocessing settings (datamodule hyperparameters) in the checkpoint; use one "
                "written by train.py"
            )
        cls = datamodule_class or self.datamodule_type()
        preprocessing = cls.preprocessing_from_hparams(self.datamodule_hparams)
        scaling = cls.scaling_from_hparams(self.datamodule_hparams)
        if scaling != "none" and "point_mean" not in self.datamodule_state:
            raise SpectraDataError(
                f"{self.path}: the model was trained on spectra scaled point by point (scaling {scaling!r}), but "
                "the checkpoint holds no scaling statistics"
            )
        return FittedPreprocessing.from_state(preprocessing, self.datamodule_state, self._selection(cls))

    def _selection(self, datamodule_class: type) -> Selection | None:
        """The spectral ranges the model was trained on, as positions on the raw axis saved with them."""
        ranges = datamodule_class.ranges_from_hparams(self.datamodule_hparams)
        if not ranges.active:
            return None
        if "raw_x_axis" not in self.datamodule_state:
            raise SpectraDataError(
                f"{self.path}: the model was trained on spectral ranges (keep {ranges.keep}, drop {ranges.drop}), "
                "but the checkpoint holds no raw x axis to cut new spectra on"
            )
        selection = ranges.selection(self.raw_x_axis, f"the raw axis saved in {self.path}")
        if len(selection.indices) != self.spectrum_length:
            raise SpectraDataError(
                f"{self.path}: its spectral ranges choose {len(selection.indices)} points of the saved raw axis, but "
                f"the model takes {self.spectrum_length}"
            )
        return selection

    @property
    def raw_x_axis(self) -> np.ndarray | None:
        """The full axis of the raw spectra the model was trained on: wider than :attr:`x_axis` where spectral
        ranges cut it (the datamodule saves it then), else the model's own axis."""
        if "raw_x_axis" in self.datamodule_state:
            return np.asarray(self.datamodule_state["raw_x_axis"], dtype=np.float64)
        return self.x_axis

    def preprocess(self, x: np.ndarray | None, spectra: np.ndarray) -> np.ndarray:
        """``(N, L)`` raw spectra on axis ``x`` (``None``: point index) as the model's input, float64."""
        return self.fitted_preprocessing()(x, spectra)

    def load_model(self, device: str = "cpu") -> torch.nn.Module:
        """The trained model in eval mode, of the package's class the checkpoint names (:meth:`model_type`)."""
        ckpt = load_checkpoint(self.path)
        # The model is built from these hyper-parameters: their length must be the saved axis's (the file may
        # have changed since it was read).
        check_claimed_length(self.path, self.model_hparams.get("spectrum_length"), ckpt["state_dict"].get("x_axis"))
        # Lightning builds the model from the file's hyper-parameters: hand it this release's (current_hparams).
        ckpt["hyper_parameters"] = self.model_hparams
        buffer = io.BytesIO()
        torch.save(ckpt, buffer)
        buffer.seek(0)
        model = self.model_type().load_from_checkpoint(
            buffer, map_location=device, weights_only=checked_weights_only(None)
        )
        return model.eval()

    def check_length(self, length: int, source: object) -> None:
        if length != self.spectrum_length:
            raise SpectraConfigError(
                f"{self.path}: the model was trained on spectra of {self.spectrum_length} points, but {source} "
                f"has spectra of {length}"
            )

    def check_classes(self, class_names: list[str], source: object) -> None:
        if list(class_names) != list(self.class_names):
            raise SpectraConfigError(
                f"{self.path}: the model was trained on classes {self.class_names}, but {source} has classes "
                f"{list(class_names)}"
            )


def load_checkpoint(path: str | Path, weights_only: bool | None = None) -> dict[str, Any]:
    """The checkpoint's contents; a missing, empty, truncated or foreign file is one line naming it.

    ``weights_only`` as the user gave it (``None``: unset), see :func:`checked_weights_only`."""
    path = Path(path)
    if not path.exists():
        raise SpectraDataError(f"{path}: no such checkpoint file")
    if not path.is_file():
        raise SpectraDataError(f"{path}: is a folder, not a checkpoint file")
    if path.stat().st_size == 0:
        raise SpectraDataError(f"{path}: checkpoint file is empty")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=checked_weights_only(weights_only))
    except Exception as err:  # noqa: BLE001 - torch raises many types for a broken file; all mean the same here
        if isinstance(err, pickle.UnpicklingError) and "GLOBAL" in str(err):  # a class to import: not damage
            raise SpectraConfigError(
                f"{path}: holds pickled objects besides weights, which could run code; set {TRUST_ENV}=1 to load "
                "it if you trust the file"
            ) from None
        reason = f" ({err.strerror})" if isinstance(err, OSError) and err.strerror else ""
        raise SpectraDataError(
            f"{path}: not a readable checkpoint (truncated, damaged or not written by train.py){reason}"
        ) from None
    if not isinstance(ckpt, dict) or not isinstance(ckpt.get("state_dict"), dict):
        raise SpectraDataError(f"{path}: not a Lightning checkpoint (no state_dict); use one written by train.py")
    return ckpt


def read_trained_model(path: str | Path, predicting: bool = False, weights_only: bool | None = None) -> TrainedModel:
    """The :class:`TrainedModel` of a checkpoint written by ``train.py`` (``weights_only``: see
    :func:`checked_weights_only`)."""
    ckpt = load_checkpoint(path, weights_only)
    hparams = ckpt.get("hyper_parameters") or {}
    if "spectrum_length" not in hparams:
        raise SpectraDataError(
            f"{path}: no spectrum length in the checkpoint's hyperparameters; use one written by train.py"
        )
    hparams = current_hparams(hparams)
    state = ckpt["state_dict"]
    x_axis = state.get("x_axis")
    check_claimed_length(path, hparams["spectrum_length"], x_axis)
    datamodule_hparams = dict(ckpt.get("datamodule_hyper_parameters") or {})
    # Lightning saves a datamodule's state under its class name.
    datamodule_state = ckpt.get(str(datamodule_hparams.get("_class_path", "")).rpartition(".")[2])
    return TrainedModel(
        path=Path(path),
        spectrum_length=int(hparams["spectrum_length"]),
        targets=Targets.of(hparams.get("targets")),
        x_axis=None if x_axis is None else x_axis.double().numpy(),
        model_class=hparams.get("_class_path"),
        datamodule_hparams=datamodule_hparams,
        model_hparams=dict(hparams),
        weight_shapes={k: tuple(v.shape) for k, v in state.items() if hasattr(v, "shape")},
        predicting=predicting,
        datamodule_state=dict(datamodule_state) if isinstance(datamodule_state, dict) else {},
    )


#: The longest spectrum a checkpoint without a saved x axis may claim; real spectra have thousands of points.
MAX_UNCONFIRMED_LENGTH = 10_000_000


def check_claimed_length(path: str | Path, claimed: object, x_axis: object) -> None:
    """Refuse a checkpoint whose ``spectrum_length`` its own saved x axis does not confirm, before anything is
    built from it: a model allocates its axis (and layers) from the claimed length, so a file claiming 3e9 points
    would take tens of GB before its weights were ever compared with the model's. The x axis buffer is saved with
    every model's weights, one value per point; a checkpoint without one may claim at most
    :data:`MAX_UNCONFIRMED_LENGTH`."""
    if (
        isinstance(claimed, bool)
        or not isinstance(claimed, (int, float, np.number))
        or not np.isfinite(claimed)
        or claimed != int(claimed)
        or claimed < 1
    ):
        raise SpectraDataError(f"{path}: spectrum_length {claimed!r} in the checkpoint is not a positive whole number")
    claimed = int(claimed)
    shape = getattr(x_axis, "shape", None)
    if shape is not None and tuple(shape) != (claimed,):
        raise SpectraDataError(
            f"{path}: claims spectra of {claimed} points but its saved x axis has shape {tuple(shape)}; a damaged "
            "or hand-edited checkpoint (use one written by train.py)"
        )
    if shape is None and claimed > MAX_UNCONFIRMED_LENGTH:
        raise SpectraDataError(
            f"{path}: claims spectra of {claimed} points and saves no x axis to confirm it; a damaged or hand-edited "
            "checkpoint (use one written by train.py)"
        )


#: Model hyper-parameters of earlier releases that this release's models take as the one ``targets``.
EARLIER_TARGET_HPARAMS = ("task", "num_classes", "class_names", "target_names", "target_mean", "target_scale")


def current_hparams(hparams: dict[str, Any]) -> dict[str, Any]:
    """A checkpoint's model hyper-parameters as this release's models take them: an earlier release's task,
    class names and target statistics become one ``targets`` (:class:`~lightning_spectra.tasks.base.Targets`,
    as a dict); the others are kept as they are."""
    if "targets" in hparams or not set(EARLIER_TARGET_HPARAMS) & set(hparams):
        return dict(hparams)
    current = {k: v for k, v in hparams.items() if k not in EARLIER_TARGET_HPARAMS}
    task = task_class(hparams.get("task") or DEFAULT_TASK)
    current["targets"] = task.earlier_targets(hparams).as_dict()
    return current


#: Weights a model builds from the checkpoint's own shapes when it loads (a regressor's classical calibration:
#: lightning_spectra/classical/attachment.py), so a configured model need not have them yet. So are the norm
#: layers of an earlier regressor where this release's model has identities (models/feature_norms.py).
REBUILT_ON_LOAD = ("classical.",)


def check_weights_fit(trained: TrainedModel, model: torch.nn.Module) -> None:
    """Refuse a checkpoint whose weights do not fit ``model`` (another model class or size), naming the first
    differing weight, before Lightning would fail on it with a long traceback."""
    own = {k: tuple(v.shape) for k, v in model.state_dict().items() if not k.startswith(REBUILT_ON_LOAD)}
    identities = {name for name, module in model.named_modules() if isinstance(module, torch.nn.Identity)}
    theirs_all = {
        k: v
        for k, v in trained.weight_shapes.items()
        if not k.startswith(REBUILT_ON_LOAD) and k.rpartition(".")[0] not in identities  # a stored norm layer
    }
    configured = type(model).__name__
    if trained.model_class and trained.model_class.rpartition(".")[2] != configured:
        saved = trained.model_class.rpartition(".")[2]
        raise SpectraConfigError(f"{trained.path}: holds a {saved} model, but the config builds a {configured}")
    for key in sorted(own.keys() | theirs_all.keys()):
        mine, theirs = own.get(key), theirs_all.get(key)
        if mine != theirs:
            what = "missing in the checkpoint" if theirs is None else f"{theirs} in the checkpoint"
            raise SpectraConfigError(
                f"{trained.path}: weight {key!r} is {what} but {mine if mine is not None else 'absent'} in the "
                "configured model (other model settings than the checkpoint's)"
            )


def _checkpoint_folders(trainer) -> list[Path]:
    """The folders the trainer's ``ModelCheckpoint`` callbacks write to, as Lightning resolves them: the
    callback's ``dirpath``, else ``<save_dir>/<name>/version_<n>/checkpoints`` of the first logger, else
    ``<default_root_dir>/checkpoints``."""
    from lightning.pytorch.callbacks import ModelCheckpoint

    folders = []
    for callback in trainer.checkpoint_callbacks:
        if not isinstance(callback, ModelCheckpoint):
            continue
        if callback.dirpath is not None:
            folders.append(Path(callback.dirpath))
        elif trainer.loggers:
            logger = trainer.loggers[0]
            version = logger.version if isinstance(logger.version, str) else f"version_{logger.version}"
            folders.append(Path(logger.save_dir or trainer.default_root_dir, str(logger.name), version, "checkpoints"))
        else:
            folders.append(Path(trainer.default_root_dir, "checkpoints"))
    return folders


def find_special_checkpoint(value: str, trainer) -> Path | None:
    """The file Lightning would load for ``--ckpt_path last`` or ``best`` (as its checkpoint connector resolves
    them: the newest ``last*.ckpt`` of the run's checkpoint folders, or the best path the first
    ``ModelCheckpoint`` knows), or ``None`` where there is none; other special values are refused."""
    from lightning.pytorch.callbacks import ModelCheckpoint, OnExceptionCheckpoint

    if value == "best":
        best = getattr(trainer.checkpoint_callback, "best_model_path", "") if trainer.checkpoint_callback else ""
        candidates = {best}
    elif value == "last":
        candidates = {getattr(c, "ckpt_path", None) for c in trainer.callbacks if isinstance(c, OnExceptionCheckpoint)}
        for callback in trainer.checkpoint_callbacks:
            if isinstance(callback, ModelCheckpoint):
                candidates |= callback._find_last_checkpoints(trainer)
    else:  # hpc, registry: resolved deep inside Lightning, where the checks here could not see the file
        raise SpectraConfigError(f"--ckpt_path {value}: not supported; give the checkpoint file's path")
    found = [Path(p) for p in candidates if p and Path(p).is_file()]
    return max(found, key=lambda p: p.stat().st_mtime) if found else None


def no_special_checkpoint(value: str, trainer) -> SpectraConfigError:
    """The one line for ``--ckpt_path last``/``best`` finding no checkpoint, naming the folders looked in."""
    folders = ", ".join(str(f) for f in _checkpoint_folders(trainer)) or "(no ModelCheckpoint configured)"
    why = " (a best checkpoint is known only while fit runs)" if value == "best" else ""
    return SpectraConfigError(
        f"--ckpt_path {value}: there is no {value} checkpoint for this run in {folders}{why}; give the checkpoint "
        "file's path (e.g. logs/<name>/version_<n>/checkpoints/last.ckpt)"
    )
