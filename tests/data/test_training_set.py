import random

import numpy as np
import pytest

from lightning_spectra.data.training_set import pool_indices, uniform_noise, with_noisy_copies


def test_paper_pool_indices() -> None:
    chosen = pool_indices(10, [(0, 15), (20, 34)], 349)
    assert chosen.tolist() == list(range(0, 160, 10)) + list(range(200, 350, 10))
    assert {160, 170, 180, 190}.isdisjoint(chosen.tolist())  # spectra next to the transition are left out


def test_binned_model_pool() -> None:
    assert pool_indices(20, [(1, 1), (13, 13), (7, 7), (15, 15)], 349).tolist() == [20, 260, 140, 300]


def test_pool_range_outside_pool_is_an_error() -> None:
    with pytest.raises(ValueError, match="outside"):
        pool_indices(10, [(0, 40)], 349)


def test_noise_is_the_papers_python_random_stream() -> None:
    random.seed(3000)
    expected = np.array([[random.random() / 6 for _ in range(7)] for _ in range(2)])
    np.testing.assert_allclose(uniform_noise((2, 7), 1 / 6, 3000), expected, rtol=1e-14, atol=0)


def test_training_set_layout_counts_and_labels() -> None:
    originals = np.arange(31 * 8, dtype=float).reshape(31, 8)
    labels = np.array([0] * 16 + [1] * 15)
    train = with_noisy_copies(originals, 50, 1 / 6)
    assert train.shape == (1581, 8)
    np.testing.assert_array_equal(np.tile(labels, 51)[:31], labels)
    np.testing.assert_array_equal(train[:31], originals)  # the clean originals come first
    blocks = train.reshape(51, 31, 8) - originals
    assert blocks[1:].min() >= 0 and blocks[1:].max() < 1 / 6
    # Each copy starts from the clean originals: noise never accumulates, and copies differ.
    assert blocks[-1].mean() == pytest.approx(1 / 12, abs=0.01)
    assert not np.allclose(blocks[1], blocks[2])


def test_seeding_is_reproducible_and_validation_seeds_are_fresh() -> None:
    originals = np.zeros((3, 4))
    a, b = with_noisy_copies(originals, 2, 0.1), with_noisy_copies(originals, 2, 0.1)
    np.testing.assert_array_equal(a, b)
    val = with_noisy_copies(originals, 1, 0.1, first_copy=2)[3:]
    assert not any(np.allclose(val, a[3 * (k + 1) : 3 * (k + 2)]) for k in range(2))
