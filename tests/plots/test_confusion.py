"""A classifier's confusion matrix and per-class scores: scikit-learn's numbers, of the weights the run tested."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import fit_keeping_epoch_0, run_folder
from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support

from lightning_spectra.metrics.classification import class_scores
from lightning_spectra.plots.confusion import plot_confusion_matrix, row_shares

NAMES = ["alpha", "beta", "gamma"]


def test_per_class_scores_are_scikit_learns_without_the_unlabelled_spectra() -> None:
    rng = np.random.default_rng(0)
    # -1: no label; class 3 is predicted but never true; class 4 neither (its F1 is left out of the macro mean)
    reference, predicted = rng.integers(-1, 3, 200), rng.integers(0, 4, 200)
    scores = class_scores(torch.as_tensor(predicted), torch.as_tensor(reference), 5)
    known = reference >= 0
    reference, predicted = reference[known], predicted[known]
    precision, recall, f1, _ = precision_recall_fscore_support(reference, predicted, labels=range(5), zero_division=0)
    np.testing.assert_allclose(scores.precision, precision, rtol=1e-6)
    np.testing.assert_allclose(scores.recall, recall, rtol=1e-6)
    np.testing.assert_allclose(scores.f1, f1, rtol=1e-6)
    assert scores.macro_f1 == pytest.approx(f1_score(reference, predicted, average="macro"))
    np.testing.assert_array_equal(scores.confusion, confusion_matrix(reference, predicted, labels=range(5)))
    assert scores.spectra == known.sum()
    assert class_scores(torch.tensor([0, 1]), torch.tensor([-1, -1]), 2) is None  # nothing labelled: no scores


def test_the_figure_names_classes_on_both_axes_and_shades_each_row_by_its_share() -> None:
    counts = np.array([[8, 2, 0], [1, 3, 0], [0, 0, 5]])
    fig_title = "CNN: test split, 19 spectra"
    fig = plot_confusion_matrix(counts, NAMES, title=fig_title)
    ax = fig.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == ("predicted class", "reference class", fig_title)
    assert [t.get_text() for t in ax.get_xticklabels()] == NAMES == [t.get_text() for t in ax.get_yticklabels()]
    np.testing.assert_allclose(ax.images[0].get_array(), row_shares(counts))
    np.testing.assert_allclose(row_shares(counts).sum(axis=1), 1.0)
    assert "8\n80%" in [t.get_text() for t in ax.texts]  # row alpha: 8 of 10 right


# ---------------------------------------------------------------------------------------------- a fit, end to end
@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict]:
    """A 3-class fit whose checkpoint keeps the epoch of the *highest* validation loss (epoch 0 of 3), so the
    tested weights are not the last; returns the run folder, the training file and the figures drawn, by name."""
    return fit_keeping_epoch_0(tmp_path_factory, "confusion", 90, [])


def test_a_fit_draws_the_confusion_matrix_of_the_tested_weights(fitted: tuple[Path, Path, dict]) -> None:
    run, _, drawn = fitted
    summary = json.loads((run / "summary.json").read_text())
    assert Path(summary["confusion_matrix_figure"]) == run / "figures" / "confusion_matrix_test.png"
    assert (run / "figures" / "confusion_matrix_test.png").read_bytes()[:4] == b"\x89PNG"
    ax = drawn["confusion_matrix_test.png"].axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("predicted class", "reference class")
    assert [t.get_text() for t in ax.get_yticklabels()] == NAMES
    assert ax.get_title() == "CNN: test split, 18 spectra\ntested weights: epoch 0"
    confusion = np.asarray(summary["test_confusion_matrix"])
    assert confusion.sum() == summary["spectra"] == 18
    assert np.trace(confusion) / confusion.sum() == pytest.approx(summary["accuracy"])  # the test's own predictions


def test_the_summary_per_class_scores_are_scikit_learns_on_the_tested_weights(fitted: tuple[Path, Path, dict]) -> None:
    from lightning_spectra.apps.watch import load_classifier
    from lightning_spectra.data import SpectraFilesDataModule
    from lightning_spectra.data.options import PreprocessingOptions
    from lightning_spectra.runs.wandb_runs import flat_summary

    run, train, _ = fitted
    summary = json.loads((run / "summary.json").read_text())
    [best] = (run / "checkpoints").glob("epoch=0-*.ckpt")  # the checkpoint of the highest validation loss
    model, _ = load_classifier(best)
    data = SpectraFilesDataModule(
        train_path=str(train), preprocessing=PreprocessingOptions(normalization="max"), progress=False
    )
    with torch.no_grad():
        predicted = model.predict_labels(model(data.splits.test.spectra)).numpy()
    reference = data.splits.test.labels.numpy()
    precision, recall, f1, _ = precision_recall_fscore_support(reference, predicted, labels=range(3), zero_division=0)
    for i, name in enumerate(NAMES):
        assert summary[f"test_precision_{name}"] == pytest.approx(precision[i])
        assert summary[f"test_recall_{name}"] == pytest.approx(recall[i])
        assert summary[f"test_f1_{name}"] == pytest.approx(f1[i])
    assert summary["test_macro_f1"] == pytest.approx(f1_score(reference, predicted, average="macro"))
    assert summary["test_macro_f1"] < 1  # epoch 0's weights: not the last epoch's perfect score
    flat = flat_summary(summary)  # what W&B's run summary receives
    assert {f"test_{m}_{n}" for m in ("precision", "recall", "f1") for n in NAMES} | {"test_macro_f1"} <= set(flat)


def test_the_fits_learning_curve_marks_the_tested_epoch(fitted: tuple[Path, Path, dict]) -> None:
    run, _, drawn = fitted
    summary = json.loads((run / "summary.json").read_text())
    assert summary["learning_curve_tested_epoch"] == 0
    assert len((run / "attribution" / "learning_curve.csv").read_text().splitlines()) == 1 + 3  # header, 3 epochs
    (loss,) = drawn["learning_curve.png"].axes  # the monitored metric is the validation loss: one panel
    assert (loss.get_ylabel(), loss.get_xlabel()) == ("loss", "epoch")
    labels = [line.get_label() for line in loss.lines]
    assert labels == ["training loss", "validation loss", "tested weights: epoch 0"]


def test_a_separate_test_run_draws_the_confusion_matrix_of_its_checkpoint(
    fitted: tuple[Path, Path, dict], tmp_path: Path
) -> None:
    from lightning_spectra.cli import main

    run, train, _ = fitted
    [best] = (run / "checkpoints").glob("epoch=0-*.ckpt")
    config = run.parents[1] / "worst.yaml"
    args = ["test", "--config", str(config), "--ckpt_path", str(best), "--trainer.logger.init_args.save_dir"]
    main([*args, str(tmp_path), "--data.init_args.train_path", str(train), "--data.init_args.linear_baseline", "false"])
    tested = run_folder(tmp_path, "files_tiny")
    summary = json.loads((tested / "summary.json").read_text())
    assert Path(summary["confusion_matrix_figure"]) == tested / "figures" / "confusion_matrix_test.png"
    confusion = np.asarray(summary["test_confusion_matrix"])
    assert confusion.sum() == 18 and np.trace(confusion) / 18 == pytest.approx(summary["accuracy"])
    fitted_summary = json.loads((run / "summary.json").read_text())
    assert summary["test_macro_f1"] == pytest.approx(fitted_summary["test_macro_f1"])  # the same weights
