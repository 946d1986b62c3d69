"""The datamodule every spectrum source shares: in-memory splits, full-batch loading, device placement.

Sources (the HED ramp, user files) only have to produce :class:`SpectraSplits`; this class turns them into
loaders. Training data small enough to fit is moved to the training device once, so a full-batch epoch costs
no host-to-device copy. Under DDP, Lightning's DistributedSampler shards every split and each batch carries
its spectra's positions in the series, so metrics can rebuild the time order after gathering.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Protocol

import lightning.pytorch as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from lightning_spectra.data.formats import check_axis, model_axis
from lightning_spectra.data.preprocess import FittedPreprocessing, Preprocessing
from lightning_spectra.data.ranges import SpectralRanges
from lightning_spectra.tasks import DEFAULT_TASK, Targets


class TrainedModel(Protocol):
    """What a datamodule reads of the trained model it serves; :class:`lightning_spectra.runs.checkpoint.
    TrainedModel` (a checkpoint, read and checked once) is the one the CLI hands over. Declared here so that data
    depends on what it needs, not on how checkpoints are read."""

    path: Path
    spectrum_length: int
    targets: Targets
    x_axis: np.ndarray | None
    predicting: bool  # predict: class names and sizes come from the model, the training file is not needed

    @property
    def class_names(self) -> list[str]: ...

    @property
    def raw_x_axis(self) -> np.ndarray | None: ...  # the full raw axis, wider than x_axis where ranges cut it

    def check_length(self, length: int, source: object) -> None: ...

    def check_classes(self, class_names: list[str], source: object) -> None: ...

    def fitted_preprocessing(self, datamodule_class: type | None = None) -> FittedPreprocessing: ...


class InMemorySpectra(Dataset):
    """Spectra, labels and series positions held as tensors; batches are fetched by one indexing op.

    Labels are class indices ``(N,)``, or float regression targets ``(N, T)`` (NaN where unknown).
    """

    def __init__(self, spectra: np.ndarray | torch.Tensor, labels: np.ndarray | torch.Tensor) -> None:
        self.spectra = torch.as_tensor(spectra, dtype=torch.float32)
        labels = torch.as_tensor(labels)
        numeric = labels.is_floating_point() and labels.dim() == 2  # regression targets stay floats
        self.labels = labels.to(torch.float32 if numeric else torch.long)
        self.positions = torch.arange(len(self.labels))
        if len(self.spectra) != len(self.labels):
            raise ValueError(f"{len(self.spectra)} spectra but {len(self.labels)} labels")

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.spectra[i], self.labels[i], self.positions[i]

    def __getitems__(self, indices: list[int]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        # DataLoader calls this with a whole batch of indices: one gather instead of B Python calls, and for
        # a full batch in order (the paper's protocol) no gather at all, which saves a copy of the whole set.
        if len(indices) == len(self) and indices == list(range(len(self))):
            return self.spectra, self.labels, self.positions
        idx = torch.as_tensor(indices, device=self.spectra.device)
        return self.spectra[idx], self.labels[idx], self.positions[idx]

    def to(self, device: torch.device) -> InMemorySpectra:
        self.spectra, self.labels, self.positions = (t.to(device) for t in (self.spectra, self.labels, self.positions))
        return self


def _batch_as_is(batch):
    return batch


@dataclass
class SpectraSplits:
    """What a source provides: time-ordered series where order matters (validation, test, predict)."""

    x_axis: np.ndarray
    train: InMemorySpectra
    val: InMemorySpectra
    test: InMemorySpectra
    class_names: list[str]
    predict: InMemorySpectra | None = None  # defaults to test
    names: dict[str, list[str]] = field(default_factory=dict)  # per-split names of spectra (files, rows)
    task: str = DEFAULT_TASK  # the task's name (tasks.TASKS); regression labels are targets (N, T) in their units
    target_names: list[str] = field(default_factory=list)  # regression: one per target
    target_mean: list[float] | None = None  # regression: per-target mean of the training split
    target_scale: list[float] | None = None  # regression: per-target standard deviation of the training split


class SpectraDataModule(L.LightningDataModule):
    """Base datamodule: subclasses implement :meth:`build_splits`.

    What callbacks, reports and models read from a datamodule is declared here, each with one default:
    :attr:`ordered`, :attr:`linear_baseline`, :attr:`split_seed`, :attr:`source`, :attr:`batch_size`, the
    :attr:`splits` and :attr:`task` (from the splits), :meth:`spectrum_names`, :meth:`raw_spectra`.

    A datamodule serving a trained model (``test``, ``predict`` or a resumed ``fit`` with ``--ckpt_path``) is
    handed that model's facts by :meth:`serve`; the CLI does so right after building it, before it links the
    datamodule's sizes into the model.

    Args:
        batch_size: spectra per training batch; ``None`` trains full batch, as the paper does.
        eval_batch_size: spectra per evaluation batch; ``None`` evaluates each series in one batch
            (sequence models that attend over the whole series need that).
        on_device: keep the training set on the training device (GPU) for the whole fit.
        progress: show progress bars while reading and preprocessing.
    """

    #: The test and predict spectra form a time-ordered series (a ramp, an experiment's sequence of
    #: measurements), so the paper's confidence and state-change boundary along them mean something. Off unless
    #: a source says so: independent samples have no order for a boundary to be found in.
    ordered: bool = False
    #: Fit the classical baselines on the same splits at the end of ``fit`` and report them beside the model.
    linear_baseline: bool = False
    #: Seed of the random split of the training data (the classical baselines' cross-validation uses it too).
    split_seed: int = 0
    #: Where the spectra come from, for sources that have several (the HED ramp: ``simulated``, ``zenodo``,
    #: ``directory``); ``None`` otherwise.
    source: str | None = None
    #: The label of the spectral axis in figures; a source that knows its axis names it (HED: 2θ).
    x_label: str = "x"
    #: Options of an earlier release and where they live now, for the one-line error naming the new place.
    moved_options: ClassVar[dict[str, str]] = {}

    def __init__(
        self,
        batch_size: int | None = None,
        eval_batch_size: int | None = None,
        on_device: bool = True,
        progress: bool = True,
    ) -> None:
        super().__init__()
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size
        self.on_device = on_device
        self.progress = progress
        self._splits: SpectraSplits | None = None
        # The trained model this datamodule serves (see :meth:`serve`): its data must fit it, and ``predict``
        # takes class names and sizes from it rather than from the training file. ``None``: a fit from scratch.
        self.trained: TrainedModel | None = None

    def build_splits(self) -> SpectraSplits:
        raise NotImplementedError

    @staticmethod
    def preprocessing_from_hparams(hparams: dict) -> Preprocessing:
        """The preprocessing that saved hyperparameters describe, to treat new spectra (``watch``) alike."""
        return Preprocessing.from_hparams(hparams)

    @staticmethod
    def scaling_from_hparams(hparams: dict) -> str:
        """The per-point scaling saved hyperparameters describe (``none``: the source has none)."""
        return "none"

    @staticmethod
    def ranges_from_hparams(hparams: dict) -> SpectralRanges:
        """The spectral ranges saved hyperparameters describe (none: the source takes whole spectra)."""
        return SpectralRanges()

    @property
    def splits(self) -> SpectraSplits:
        if self._splits is None:
            splits = self.build_splits()
            if self.trained is not None:
                self._check_fits_trained(splits)
            self._splits = splits
        return self._splits

    def serve(self, trained: TrainedModel) -> None:
        """Serve the checkpoint's :class:`~lightning_spectra.runs.checkpoint.TrainedModel` from now on: the data
        must fit it (length, classes, x axis; one line naming both sides otherwise), and the sizes, class names
        and x axis come from it. Splits built before are built again, and checked against it.

        The CLI calls this right after building the datamodule, before linking its sizes into the model, and
        again for ``--ckpt_path last``, whose file is known only once the trainer exists."""
        self.trained = trained
        self._splits = None
        self.splits  # noqa: B018 - builds and checks the data against the checkpoint

    def _check_fits_trained(self, splits: SpectraSplits) -> None:
        data = splits.predict if self.trained.predicting and splits.predict is not None else splits.train
        self.trained.check_length(int(data.spectra.shape[1]), f"the {type(self).__name__} data")
        if not self.trained.predicting:  # test/validate/resumed fit: labels must mean what they meant
            self.trained.check_classes(splits.class_names, f"the {type(self).__name__} data")
            # Splits cut from the training file have its axis; the model compares spectra point by point.
            where, reference = f"the {type(self).__name__} data", f"the model's ({self.trained.path})"
            check_axis(model_axis(splits.x_axis), model_axis(self.trained.x_axis), where, reference)

    # Sizes the CLI links into the model (from the checkpoint when there is one: it fixes them).
    @property
    def spectrum_length(self) -> int:
        if self.trained is not None:
            self.splits  # noqa: B018 - builds and checks the data against the checkpoint
            return self.trained.spectrum_length
        return int(self.splits.train.spectra.shape[1])

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def x_axis(self) -> list[float]:
        if self.trained is not None and self.trained.x_axis is not None:
            return [float(v) for v in self.trained.x_axis]
        return [float(v) for v in self.splits.x_axis]

    @property
    def class_names(self) -> list[str]:
        if self.trained is not None:
            return list(self.trained.class_names)
        return list(self.splits.class_names)

    @property
    def targets(self) -> Targets:
        """What a model of these data learns: the one description of the targets the CLI links into the model."""
        splits = self.splits
        # a task has class names or target names, never both
        names = self.class_names or self.target_names
        return Targets(splits.task, tuple(names), splits.target_mean, splits.target_scale)

    @property
    def task(self) -> str:
        return self.splits.task

    @property
    def target_names(self) -> list[str]:
        return list(self.splits.target_names)

    @property
    def target_mean(self) -> list[float] | None:
        return self.splits.target_mean

    @property
    def target_scale(self) -> list[float] | None:
        return self.splits.target_scale

    def ground_truth_windows(self) -> list[tuple[float, float]] | None:
        """The x windows that hold what tells the classes apart, where the data says so (a simulation); else
        ``None``. Attribution reports the share of every map inside them."""
        return None

    def spectrum_names(self, split: str) -> list[str]:
        """Names of the spectra of a split (file names, table rows), in series order."""
        if split == "predict" and self.splits.predict is None:
            split = "test"
        return list(self.splits.names.get(split, []))

    def prediction_index_columns(self, split: str) -> dict[str, list]:
        """The columns that name each spectrum of ``split`` in ``predictions.csv``: by default ``spectrum``, its
        name (a run directory's datamodule gives ``train_id`` and ``pulse``)."""
        return {"spectrum": self.spectrum_names(split)}

    def raw_spectra(self, split: str) -> np.ndarray | None:
        """The spectra of a split in the data's own units, where the model reads them transformed (a derivative,
        standardised); figures draw these. ``None``: the model's input is in the data's units already."""
        return None

    def _loader(self, data: InMemorySpectra, batch_size: int | None) -> DataLoader:
        return DataLoader(data, batch_size=batch_size or len(data), shuffle=False, collate_fn=_batch_as_is)

    def train_dataloader(self) -> DataLoader:
        train = self.splits.train
        if self.on_device and self.trainer is not None:
            train.to(self.trainer.strategy.root_device)
        return self._loader(train, self.batch_size)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.splits.val, self.eval_batch_size)

    def test_dataloader(self) -> DataLoader:
        return self._loader(self.splits.test, self.eval_batch_size)

    def predict_dataloader(self) -> DataLoader:
        return self._loader(self.splits.predict or self.splits.test, self.eval_batch_size)
