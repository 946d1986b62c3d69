"""FeatureImportance in a fit: the figures it draws by default, what their titles say (the epoch of the weights
explained, the objective in the task's words) and how its heat map groups the spectra."""

from __future__ import annotations

import json
from pathlib import Path

import lightning.pytorch as L
import numpy as np
import pytest
from conftest import fit_files_tiny, recorded_figures
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger
from matplotlib.figure import Figure

from lightning_spectra.callbacks import FeatureImportance
from lightning_spectra.data import SpectraFilesDataModule
from lightning_spectra.models import CNN
from lightning_spectra.plots.importance import column_means

CLASSES = ("alpha", "beta", "gamma")


def write_csv(path: Path, task: str, n: int = 48, length: int = 96) -> Path:
    """A rows table naming its axis in a titles line: three classes (a peak at three places), or a target
    ``fat`` (the height of one peak), with noise."""
    rng = np.random.default_rng(0)
    x = np.linspace(400.0, 800.0, length)
    kind = np.arange(n) % 3
    fat = rng.uniform(0, 10, n)
    centres = np.array([500.0, 600.0, 700.0])[kind] if task == "classification" else np.full(n, 600.0)
    heights = np.ones(n) if task == "classification" else 0.1 * fat
    spectra = heights[:, None] * np.exp(-0.5 * ((x - centres[:, None]) / 20) ** 2) + rng.normal(0, 0.02, (n, length))
    labels = [CLASSES[k] for k in kind] if task == "classification" else [f"{v:.4f}" for v in fat]
    header = "label" if task == "classification" else "fat"
    lines = ["# Raman shift (cm-1), counts", ",".join([header, *(f"{v:.3f}" for v in x)])]
    lines += [",".join([label, *(f"{v:.5f}" for v in row)]) for label, row in zip(labels, spectra, strict=True)]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module", params=["classification", "regression"])
def run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """A 3-epoch fit keeping the best validation loss, with FeatureImportance; the figures it drew, by file name."""
    from lightning_spectra.plots import figure

    task = request.param
    root = tmp_path_factory.mktemp(task)
    path = write_csv(root / "spectra.csv", task)
    label = "label" if task == "classification" else "fat"
    data = SpectraFilesDataModule(train_path=str(path), task=task, label_column=label, progress=False)
    data.build_splits()
    L.seed_everything(0, verbose=False)
    model = CNN(spectrum_length=data.spectrum_length, targets=data.targets, x_axis=data.x_axis, **CNN.tiny_arguments)
    importance = FeatureImportance(save_gradients=True)
    trainer = L.Trainer(
        max_epochs=3,
        logger=CSVLogger(root, name="run"),
        callbacks=[ModelCheckpoint(monitor="val/loss", dirpath=root / "checkpoints"), importance],
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        log_every_n_steps=1,
    )
    drawn: dict[str, Figure] = {}
    save = figure.save_figure

    def keep(fig, path, dpi=150):
        drawn[Path(path).name] = fig
        return save(fig, path, dpi)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(figure, "save_figure", keep)
        trainer.fit(model, datamodule=data)
    folder = Path(trainer.logger.log_dir)
    return task, data, folder, json.loads((folder / "summary.json").read_text()), drawn


def texts(fig: Figure) -> list[str]:
    """Every title and axis label of ``fig``, the suptitle without its caption (the checkpoint's monitor)."""
    found = [fig.get_suptitle().split("\n")[0]]
    for ax in fig.axes:
        found += [ax.get_title(), ax.get_title(loc="left"), ax.get_xlabel(), ax.get_ylabel()]
    return found


def test_by_default_the_importance_and_the_grouped_gradients_are_drawn_not_the_symlog(run) -> None:
    _, _, folder, summary, drawn = run
    assert set(drawn) == {"feature_importance_train.png", "input_gradients_train.png"}
    assert [Path(p).name for p in summary["feature_importance_train_figures"]] == sorted(drawn)
    for fig in drawn.values():
        panels = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
        assert panels[-1].get_xlabel() == "Raman shift (cm-1)"  # the file's own name for its axis


def test_every_title_names_the_epoch_of_the_weights_explained(run) -> None:
    _, _, _, summary, drawn = run
    caption = f"weights of epoch {summary['attribution_epoch']} (best val/loss)"
    for name, fig in drawn.items():
        assert caption in fig.get_suptitle(), name


def test_a_regressor_is_worded_by_its_predicted_value_and_a_classifier_by_its_loss(run) -> None:
    task, _, _, _, drawn = run
    words = [text for fig in drawn.values() for text in texts(fig)]
    if task == "regression":
        assert not any("loss" in text for text in words)
        assert any("raises the predicted fat" in text for text in words)
        assert any("mean predicted fat" in text for text in words)  # the value the gradient was taken of
    else:
        assert any("raises the loss" in text for text in words)


def test_the_heat_map_groups_the_spectra_and_draws_each_groups_mean(run) -> None:
    task, data, folder, _, drawn = run
    gradients = np.load(folder / "attribution" / "input_gradients_train.npy") * len(data.splits.train.labels)
    labels = data.splits.train.labels.numpy()
    if task == "classification":
        groups, names = labels, list(CLASSES)
    else:
        from lightning_spectra.interpret.target_ranges import target_ranges

        groups, names = target_ranges(labels[:, 0], 3, "fat")
    curves, image = drawn["input_gradients_train.png"].axes[:2]
    order = np.argsort(groups, kind="stable")
    binned = column_means(gradients)[0]
    np.testing.assert_allclose(image.images[0].get_array(), binned[order], rtol=1e-5, atol=1e-7)
    assert [t.get_text() for t in image.get_yticklabels()] == names
    for line, group in zip(curves.lines, range(len(names)), strict=False):
        np.testing.assert_allclose(line.get_ydata(), binned[groups == group].mean(axis=0), rtol=1e-5, atol=1e-7)


# ---------------------------------------------------------------------------------------------- one per label
CENTRES = {"alpha": 500.0, "beta": 600.0, "gamma": 700.0}


def write_label_sets(path: Path, n: int = 96, length: int = 240) -> Path:
    """A rows table of mixtures: spectrum ``i`` holds the phases of ``i % 8``'s bits (every set, the empty one
    too), a peak at each phase's place, the label cell the set (``alpha;gamma``, ``-``)."""
    rng = np.random.default_rng(0)
    x = np.linspace(400.0, 800.0, length)
    sets = [[p for k, p in enumerate(CLASSES) if (i % 8) >> k & 1] for i in range(n)]
    spectra = rng.normal(0, 0.02, (n, length)) + rng.uniform(0, 0.2, (n, 1))
    for i, phases in enumerate(sets):
        for phase in phases:
            spectra[i] += rng.uniform(0.6, 1.2) * np.exp(-0.5 * ((x - CENTRES[phase]) / 15) ** 2)
    lines = ["# Raman shift (cm-1), counts", ",".join(["label", *(f"{v:.3f}" for v in x)])]
    lines += [",".join([";".join(s) or "-", *(f"{v:.5f}" for v in row)]) for s, row in zip(sets, spectra, strict=True)]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def per_label(tmp_path_factory: pytest.TempPathFactory):
    """A short multi-label fit through the CLI with FeatureImportance; the run folder, its summary and the figures,
    by file name."""
    root = tmp_path_factory.mktemp("multilabel")
    train = write_label_sets(root / "mixtures.csv")
    with pytest.MonkeyPatch.context() as patch:
        drawn = recorded_figures(patch)
        folder = fit_files_tiny(
            tmp_path_factory,
            train,
            "--data.init_args.task",
            "multilabel",
            "--trainer.callbacks+=lightning_spectra.callbacks.FeatureImportance",
            "--trainer.callbacks.save_gradients=true",
            epochs=15,
        )
    drawn = {name: fig for name, fig in drawn.items() if name.startswith(("feature_importance", "input_gradients"))}
    return folder, json.loads((folder / "summary.json").read_text()), drawn


def test_a_multilabel_models_importance_is_drawn_per_label_and_peaks_at_its_own_peak(per_label) -> None:
    folder, summary, _ = per_label
    assert summary["feature_importance_train_outputs"] == list(CLASSES)
    table = np.genfromtxt(folder / "attribution" / "feature_importance_train.csv", delimiter=",", names=True)
    x = table["x"]
    signed_sums = np.load(folder / "attribution" / "feature_importance_train_signed_sum.npy")  # one row per label
    assert signed_sums.shape == (3, len(x))
    for j, label in enumerate(CLASSES):
        signed = table[f"signed_sum{label}"]  # genfromtxt drops the brackets of signed_sum(alpha)
        np.testing.assert_allclose(signed, signed_sums[j], rtol=1e-6)
        assert np.all(table[f"mean_square{label}"] >= 0)
        # each label's importance lies at its own phase's peak, not at the others' (they are 100 apart)
        peak = summary["feature_importance_train_peak_x"][label]
        assert peak == x[np.argmax(np.abs(signed))] and abs(peak - CENTRES[label]) < 30, (label, peak)
        assert summary["feature_importance_train_loss"][label] > 0
    gradients = np.load(folder / "attribution" / "input_gradients_train.npy")  # (labels, spectra, points)
    assert gradients.shape[0] == 3 and gradients.shape[2] == len(x)


def test_every_label_has_its_figures_titled_by_it(per_label) -> None:
    _, summary, drawn = per_label
    expected = {f"{kind}_train_{label}.png" for kind in ("feature_importance", "input_gradients") for label in CLASSES}
    assert set(drawn) == expected
    assert sorted(Path(p).name for p in summary["feature_importance_train_figures"]) == sorted(expected)
    for label in CLASSES:
        for kind in ("feature_importance", "input_gradients"):
            words = texts(drawn[f"{kind}_train_{label}.png"])
            assert f"'{label}'" in words[0] and any(f"raises the loss of {label}" in text for text in words)


def test_labels_become_file_names_that_never_clash() -> None:
    from lightning_spectra.callbacks.feature_importance import file_parts

    assert file_parts(["a b", "a_b", "Ca/Mg", "quartz"]) == {
        "a b": "0_a_b",
        "a_b": "1_a_b",
        "Ca/Mg": "Ca_Mg",
        "quartz": "quartz",
    }
