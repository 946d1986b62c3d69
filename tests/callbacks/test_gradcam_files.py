"""The write step of GradCAM: the arrays and CSV tables of a mapped split."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from mapped_splits import small_mapped_split

from lightning_spectra.apps.paper_report import read_columns
from lightning_spectra.callbacks.gradcam_files import write_gradcam_files


def test_every_array_and_table_of_a_classifier(tmp_path: Path) -> None:
    mapped = small_mapped_split()
    files = write_gradcam_files(mapped, [3, 0], tmp_path)
    assert set(files) == {
        "maps", "targets", "unseen", "selected_csv", "class_mean_csv", "peaks_csv", "misclassified", "classic",
        "deletion_csv",
    }  # fmt: skip
    assert all(p.parent == tmp_path and p.exists() for p in files.values())
    np.testing.assert_array_equal(np.load(files["maps"]), mapped.per_spectrum["gradcam"])
    np.testing.assert_array_equal(np.load(files["targets"]), [0, 0, 1, 1])
    selected = read_columns(files["selected_csv"])
    assert list(selected)[:4] == ["x", "spectrum[3]", "gradcam[3]", "gradcam_classic[3]"]
    means = read_columns(files["class_mean_csv"])
    np.testing.assert_allclose(means["gradcam[high]"], mapped.means["gradcam"][1])
    assert "mean_spectrum[low]" in means
    deletion = read_columns(files["deletion_csv"])
    assert list(deletion) == ["fraction", "1D_Grad-CAM_order", "1D_Grad-CAM_random"]


def test_without_curves_classic_maps_or_chosen_spectra(tmp_path: Path) -> None:
    files = write_gradcam_files(small_mapped_split(curves=False, classic=False), [], tmp_path)
    assert not {"deletion_csv", "classic"} & set(files)
    assert list(read_columns(files["selected_csv"])) == ["x"]
