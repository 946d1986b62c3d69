"""The High Energy Density (HED) ramp-compression XRD series, as the paper used it.

Three sources give the same 349-spectrum ramp shape: ``simulated`` (default; no network), ``zenodo``
(the real data, record 4424866) and ``directory`` (a folder of ``.xy`` files you already have). Every
spectrum has its ALS baseline removed; spectra before ``transition_index`` are class 0, the rest class 1.

Splits:
    train: the paper's originals plus noisy copies (docs/paper.md §2.6), full batch.
    val:   the same originals in time order with one fresh noise draw whose seed no training copy uses.
           The paper had no validation set; this one gives a series to score confidence on during fit
           (early stopping, pruning, epochs-to-target) without ever looking at the test ramp.
    test:  the whole ramp in time order (the paper's evaluation). Predict uses it too.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Literal

import numpy as np

from lightning_spectra.data.base import InMemorySpectra, SpectraDataModule, SpectraSplits
from lightning_spectra.data.cache import cached_arrays, default_cache_dir
from lightning_spectra.data.preprocess import Preprocessing
from lightning_spectra.data.training_set import pool_indices, with_noisy_copies
from lightning_spectra.errors import SpectraDataError


class HEDDataModule(SpectraDataModule):
    """HED ramp spectra for every classifier of the paper.

    Args:
        source: ``simulated``, ``zenodo`` or ``directory``.
        data_dir: folder of ``.xy`` files (``directory``) or where the Zenodo archive goes (``zenodo``).
        cache_dir: where preprocessed arrays and downloads are kept (default: ``~/.cache/lightning-spectra``).
        transition_index: first spectrum of class 1 (paper: 185).
        baseline_lam, baseline_p, baseline_iterations: ALS baseline parameters (paper: 1e5, 0.002, 10).
        pool_stride: every ``pool_stride``-th spectrum is a training candidate (paper: 10; binned model 20).
        pool_ranges: inclusive pool-index ranges of the originals (paper: 0-15 and 20-34).
        noise_copies: noisy copies of the originals added to training (paper: 50; binned model 15).
        noise_amplitude: copies add uniform noise in ``[0, noise_amplitude)`` (paper: 1/6; binned 1/12).
        simulated_points: points per simulated spectrum (4023 like the real data; fewer for quick tests).
        simulation_seed: seed of the simulated ramp.
        simulation_preset: ``default`` (a sharp transition) or ``hard`` (tens of frames of coexisting phases
            with overlapping reflections and stronger drift; see :mod:`lightning_spectra.data.simulate`).
        zenodo_md5: expected MD5 of the archive; by default Zenodo's published checksum is used.
        zenodo_api: the record API address (a mirror, or a local server in tests).
        linear_baseline: also fit the classical baselines (logistic regression / PLS-DA and an RBF SVC, chosen
            on the validation series) on the same splits and print them beside the model.
    """

    x_label = "2θ (°)"
    ordered = True  # the test split is the ramp in time order: the state change along it is what is scored

    def __init__(
        self,
        source: Literal["simulated", "zenodo", "directory"] = "simulated",
        data_dir: str | None = None,
        cache_dir: str | None = None,
        transition_index: int = 185,
        baseline_lam: float = 1e5,
        baseline_p: float = 0.002,
        baseline_iterations: int = 10,
        pool_stride: int = 10,
        pool_ranges: list[tuple[int, int]] = [(0, 15), (20, 34)],  # noqa: B006 - read only; jsonargparse shows it
        noise_copies: int = 50,
        noise_amplitude: float = 1 / 6,
        simulated_points: int = 4023,
        simulation_seed: int = 0,
        simulation_preset: Literal["default", "hard"] = "default",
        zenodo_md5: str | None = None,
        zenodo_api: str = "https://zenodo.org/api/records/{record}",
        linear_baseline: bool = True,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.save_hyperparameters()
        self.source = source
        self.data_dir = Path(data_dir) if data_dir else None
        self.cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
        if source == "directory" and self.data_dir is None:
            raise SpectraDataError("source 'directory' needs --data.data_dir <folder of .xy files>")
        self.transition_index = transition_index
        self.preprocessing = self.preprocessing_from_hparams(self.hparams)
        self.pool_stride, self.pool_ranges = pool_stride, [tuple(r) for r in pool_ranges]
        self.noise_copies, self.noise_amplitude = noise_copies, noise_amplitude
        self.linear_baseline = linear_baseline
        self.simulated_points, self.simulation_seed = simulated_points, simulation_seed
        if simulation_preset not in ("default", "hard"):
            raise SpectraDataError(f"simulation_preset must be 'default' or 'hard', got {simulation_preset!r}")
        self.simulation_preset = simulation_preset
        self.zenodo_md5, self.zenodo_api = zenodo_md5, zenodo_api

    @staticmethod
    def preprocessing_from_hparams(hparams: dict) -> Preprocessing:
        """The paper's preprocessing: ALS baseline removal only (the models normalise their inputs)."""
        return Preprocessing.from_hparams({**hparams, "baseline": "asls", "normalization": "none"})

    # ------------------------------------------------------------------ the ramp
    def _raw_folder(self) -> Path:
        """The folder of ``.xy`` files to read (downloading and extracting the Zenodo archive if needed)."""
        if self.source == "directory":
            return self.data_dir
        from lightning_spectra.data.download import HED_ARCHIVE, fetch_hed_ramp

        root = self.data_dir or self.cache_dir / "zenodo"
        archive = root / HED_ARCHIVE
        folder = fetch_hed_ramp(root, md5=self.zenodo_md5, api=self.zenodo_api, progress=self.progress)
        xy_dirs = sorted({p.parent for p in folder.rglob("*.xy")})
        if len(xy_dirs) != 1:
            raise SpectraDataError(f"{archive}: expected one folder of .xy files inside, found {len(xy_dirs)}")
        return xy_dirs[0]

    def load_ramp(self) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """``(two_theta, baseline-corrected spectra, names)`` of the whole ramp, cached on disk."""
        if self.source == "simulated":
            from lightning_spectra.data.simulate import PRESETS, SIMULATOR_VERSION

            recipe = {
                "source": "simulated",
                "points": self.simulated_points,
                "seed": self.simulation_seed,
                "transition": self.transition_index,
                "version": SIMULATOR_VERSION,
            }
            if self.simulation_preset != "default":  # default ramps keep the cache key they always had
                recipe["preset"] = self.simulation_preset
            names = None
            raw = partial(
                PRESETS[self.simulation_preset],
                n_points=self.simulated_points,
                transition_index=self.transition_index,
                seed=self.simulation_seed,
            )
        else:
            from lightning_spectra.data.xy import read_xy_folder, spectrum_files

            folder = self._raw_folder()
            files = spectrum_files(folder)
            names = [f.name for f in files]
            recipe = {
                "source": str(folder.resolve()),
                "files": [(f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in files],
            }
            raw = partial(read_xy_folder, folder, progress=self.progress)

        def build() -> dict[str, np.ndarray]:
            x, intensities = raw()[:2]
            return {"x": x, "spectra": self.preprocessing(x, intensities, progress=self.progress)}

        arrays = cached_arrays(self.cache_dir, "hed-ramp", {**recipe, **self.preprocessing.as_dict()}, build)
        x, spectra = arrays["x"], arrays["spectra"]
        if not 0 < self.transition_index < len(spectra):
            raise SpectraDataError(f"transition_index {self.transition_index} outside a ramp of {len(spectra)} spectra")
        return x, spectra, names or [f"spectrum {i}" for i in range(len(spectra))]

    def ground_truth_windows(self) -> list[tuple[float, float]] | None:
        """On the simulated ramp, the 2 theta windows of the reflections that differ between the phases."""
        if self.source != "simulated":
            return None
        from lightning_spectra.data.simulate import differing_peak_windows

        return differing_peak_windows()

    def build_splits(self) -> SpectraSplits:
        x, ramp, names = self.load_ramp()
        labels = (np.arange(len(ramp)) >= self.transition_index).astype(np.int64)
        chosen = pool_indices(self.pool_stride, self.pool_ranges, len(ramp))
        originals, original_labels = ramp[chosen], labels[chosen]
        train = with_noisy_copies(originals, self.noise_copies, self.noise_amplitude)
        val = with_noisy_copies(originals, 1, self.noise_amplitude, first_copy=self.noise_copies)[len(chosen) :]
        return SpectraSplits(
            x_axis=x,
            train=InMemorySpectra(train, np.tile(original_labels, self.noise_copies + 1)),
            val=InMemorySpectra(val, original_labels),
            test=InMemorySpectra(ramp, labels),
            class_names=["before transition", "after transition"],
            names={"val": [names[i] for i in chosen], "test": names},
        )
