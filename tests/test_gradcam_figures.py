"""The draw step of GradCAM: one PNG per figure of a mapped split."""

from __future__ import annotations

from pathlib import Path

from mapped_splits import small_mapped_split

from lightning_spectra.callbacks.gradcam_figures import draw_gradcam_figures

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_chosen_spectra_group_means_series_and_deletion(tmp_path: Path) -> None:
    pngs = draw_gradcam_figures(
        small_mapped_split(), [0, 2], ["a", "b"], "CNN", tmp_path, "2θ (°)", "other_class_mean", dpi=40
    )
    names = [p.name for p in pngs]
    assert names == [
        "gradcam_test_spectra.png", "gradcam_test_class_mean.png", "gradcam_test_series.png",
        "gradcam_test_deletion.png",
    ]  # fmt: skip
    assert all(p.read_bytes()[:8] == PNG_SIGNATURE for p in pngs)


def test_no_chosen_spectra_and_no_curves_draw_no_such_figures(tmp_path: Path) -> None:
    mapped = small_mapped_split(curves=False)
    pngs = draw_gradcam_figures(mapped, [], [], "CNN", tmp_path, "x", "background", dpi=40)
    assert [p.name for p in pngs] == ["gradcam_test_class_mean.png", "gradcam_test_series.png"]
