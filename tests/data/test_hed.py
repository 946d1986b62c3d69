from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import write_xy

from lightning_spectra.data import HEDDataModule, SpectraDataError


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> HEDDataModule:
    return HEDDataModule(
        simulated_points=256, noise_copies=3, cache_dir=str(tmp_path_factory.mktemp("c")), progress=False
    )


def test_splits_follow_the_paper(tiny: HEDDataModule) -> None:
    s = tiny.splits
    assert s.train.spectra.shape == (31 * 4, 256)
    assert s.train.labels.tolist() == ([0] * 16 + [1] * 15) * 4
    assert s.test.spectra.shape == (349, 256)
    assert s.test.labels.tolist() == [0] * 185 + [1] * 164
    assert tiny.spectrum_length == 256 and tiny.num_classes == 2 and len(tiny.x_axis) == 256
    torch.testing.assert_close(s.train.spectra[:31], s.test.spectra[tiny_pool()])  # originals come first


def tiny_pool() -> list[int]:
    return list(range(0, 160, 10)) + list(range(200, 350, 10))


def test_validation_is_the_ordered_originals_with_fresh_noise(tiny: HEDDataModule) -> None:
    s = tiny.splits
    assert s.val.labels.tolist() == [0] * 16 + [1] * 15
    noise = s.val.spectra - s.test.spectra[tiny_pool()]
    assert float(noise.min()) >= 0 and float(noise.max()) < 1 / 6
    for k in range(1, 4):  # no training copy has the same noise draw
        assert not torch.allclose(s.val.spectra, s.train.spectra[31 * k : 31 * (k + 1)])


def test_preprocessed_ramp_is_cached(tmp_path: Path) -> None:
    first = HEDDataModule(simulated_points=128, cache_dir=str(tmp_path), progress=False).load_ramp()
    assert len(list(tmp_path.glob("hed-ramp-*.npz"))) == 1
    second = HEDDataModule(simulated_points=128, cache_dir=str(tmp_path), progress=False).load_ramp()
    np.testing.assert_array_equal(first[1], second[1])
    HEDDataModule(simulated_points=128, baseline_lam=1e4, cache_dir=str(tmp_path), progress=False).load_ramp()
    assert len(list(tmp_path.glob("hed-ramp-*.npz"))) == 2  # other preprocessing, other cache entry


def test_directory_source(tmp_path: Path) -> None:
    x = np.linspace(10, 20, 40)
    for i in range(1, 41):
        write_xy(tmp_path / f"frame_{i:03d}.xy", x, 3 + (i > 20) * np.exp(-(((x - 15) / 0.3) ** 2)))
    dm = HEDDataModule(
        source="directory",
        data_dir=str(tmp_path),
        cache_dir=str(tmp_path / "cache"),
        transition_index=20,
        pool_stride=2,
        pool_ranges=[(0, 4), (15, 19)],
        noise_copies=1,
        progress=False,
    )
    assert dm.spectrum_names("test")[:2] == ["frame_001.xy", "frame_002.xy"]
    assert dm.splits.train.spectra.shape == (20, 40)


def test_directory_source_needs_a_folder() -> None:
    with pytest.raises(SpectraDataError, match="needs --data.data_dir"):
        HEDDataModule(source="directory")


def test_transition_outside_the_ramp(tmp_path: Path) -> None:
    with pytest.raises(SpectraDataError, match="outside a ramp of 349"):
        HEDDataModule(simulated_points=64, transition_index=400, cache_dir=str(tmp_path), progress=False).load_ramp()


def test_simulation_preset_selects_the_hard_ramp(tmp_path: Path) -> None:
    from lightning_spectra.data.simulate import simulate_hard_ramp

    hard = HEDDataModule(simulated_points=128, simulation_preset="hard", cache_dir=str(tmp_path), progress=False)
    default = HEDDataModule(simulated_points=128, cache_dir=str(tmp_path), progress=False)
    x, raw = simulate_hard_ramp(n_points=128)
    expected = hard.preprocessing(x, raw, progress=False)
    np.testing.assert_allclose(hard.load_ramp()[1], expected)
    assert not np.allclose(default.load_ramp()[1], hard.load_ramp()[1])  # separate cache entries


def test_unknown_simulation_preset_is_one_clear_error() -> None:
    with pytest.raises(SpectraDataError, match="simulation_preset"):
        HEDDataModule(simulation_preset="harder")


def test_the_simulated_ramp_knows_where_the_phases_differ(tmp_path: Path) -> None:
    from lightning_spectra.data.base import SpectraDataModule
    from lightning_spectra.data.simulate import differing_peak_windows

    assert HEDDataModule(progress=False, cache_dir=str(tmp_path)).ground_truth_windows() == differing_peak_windows()
    measured = HEDDataModule(source="directory", data_dir=str(tmp_path), progress=False, cache_dir=str(tmp_path))
    assert measured.ground_truth_windows() is None
    assert SpectraDataModule.ground_truth_windows(measured) is None  # the default of every other source
