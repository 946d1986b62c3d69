"""The arrays and CSV tables of a mapped split (the write step of :class:`~lightning_spectra.callbacks.GradCAM`)."""

from __future__ import annotations

from pathlib import Path

from lightning_spectra.callbacks.mapped_split import MappedSplit
from lightning_spectra.interpret.peaks import peak_rows, peak_table
from lightning_spectra.runs.attribution_files import write_array, write_rows, write_table


def write_gradcam_files(mapped: MappedSplit, chosen: list[int], arrays: Path) -> dict[str, Path]:
    """The arrays and CSV tables of ``mapped`` under ``arrays``, by kind (the summary's ``_files``)."""
    stem, groups, per_spectrum = mapped.stem, mapped.groups, mapped.per_spectrum
    # the chosen spectra with their maps; Integrated Gradients stay in their own array
    selected = {"x": mapped.axis} | {
        f"{prefix}[{i}]": per_spectrum[prefix][i]
        for i in chosen
        for prefix in ("spectrum", "gradcam", "gradcam_classic")
        if prefix in per_spectrum
    }
    means = {"x": mapped.axis} | {
        f"{'mean_spectrum' if prefix == 'spectrum' else prefix}[{name}]": values[g]
        for g, name in enumerate(groups.names)
        if groups.counts[g]
        for prefix, values in mapped.means.items()
    }
    peaks = peak_table(mapped.axis, mapped.means["spectrum"], mapped.means["gradcam"], groups.names)
    # a classifier's groups are the classes its maps explain (``_targets.npy``); a regressor's, target ranges
    group_file = "targets" if groups.kind == "class" else "ranges"
    files = {
        "maps": write_array(arrays / f"{stem}.npy", per_spectrum["gradcam"]),
        group_file: write_array(arrays / f"{stem}_{group_file}.npy", groups.index),
        "unseen": write_array(arrays / f"{stem}_unseen.npy", mapped.unseen),
        "selected_csv": write_table(arrays / f"{stem}_selected.csv", selected),
        f"{groups.kind}_mean_csv": write_table(arrays / f"{stem}_{groups.kind}_mean.csv", means),
        "peaks_csv": write_rows(arrays / f"{stem}_peaks.csv", peak_rows(peaks)),
    }
    if groups.misclassified is not None:
        files["misclassified"] = write_array(arrays / f"{stem}_misclassified.npy", groups.misclassified)
    if "gradcam_classic" in per_spectrum:
        files["classic"] = write_array(arrays / f"{stem}_classic.npy", per_spectrum["gradcam_classic"])
    if "integrated_gradients" in per_spectrum:
        files["integrated_gradients"] = write_array(arrays / f"{stem}_ig.npy", per_spectrum["integrated_gradients"])
    if mapped.curves:
        columns = {"fraction": next(iter(mapped.curves.values())).fractions}
        for name, curve in mapped.curves.items():
            key = name.replace(" ", "_")
            columns.update({f"{key}_order": curve.attribution, f"{key}_random": curve.random})
        files["deletion_csv"] = write_table(arrays / f"{stem}_deletion.csv", columns)
    return files
