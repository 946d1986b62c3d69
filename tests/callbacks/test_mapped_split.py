"""A mapped split: its per-group means and the maps by method."""

from __future__ import annotations

import numpy as np
from mapped_splits import small_mapped_split


def test_means_are_per_group_and_named_by_the_table_prefixes() -> None:
    mapped = small_mapped_split()
    assert mapped.stem == "gradcam_test"
    assert set(mapped.means) == {"spectrum", "gradcam", "gradcam_classic"}
    np.testing.assert_array_equal(mapped.means["gradcam"][0], mapped.per_spectrum["gradcam"][:2].mean(axis=0))
    np.testing.assert_array_equal(mapped.means["gradcam"][1], mapped.per_spectrum["gradcam"][2:].mean(axis=0))


def test_an_empty_group_has_a_nan_mean_and_ig_joins_the_methods() -> None:
    mapped = small_mapped_split()
    mapped.groups.index[:] = 0
    mapped.per_spectrum["integrated_gradients"] = mapped.per_spectrum["gradcam"] * 3
    mapped.__post_init__()
    assert np.isnan(mapped.means["gradcam"][1]).all()
    assert list(mapped.maps_by_method) == ["1D Grad-CAM", "integrated gradients"]
    assert mapped.maps_by_method["integrated gradients"] is mapped.per_spectrum["integrated_gradients"]
