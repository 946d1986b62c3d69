"""MultiLabelTask (tasks/multilabel.py): label sets as independent sigmoids with per-label thresholds chosen on
validation; and the acceptance run: ``--data.init_args.task multilabel`` on a ``;``-joined label table fits,
tests and predicts, summary.json has per-label F1 and predictions.csv holds label sets."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import fit_files_tiny

from lightning_spectra.apps.watch import main as watch
from lightning_spectra.cli import main
from lightning_spectra.tasks import TASKS, Targets, task_for
from lightning_spectra.tasks.multilabel import MultiLabelTask

LABELS = ("alpha", "beta", "gamma")
TASK = MultiLabelTask(Targets("multilabel", LABELS))
CENTRES = {"alpha": 500.0, "beta": 600.0, "gamma": 700.0}  # one well-separated peak per phase
#: Every subset of the three phases, the empty one included.
SETS = [[], ["alpha"], ["beta"], ["gamma"], ["alpha", "beta"], ["alpha", "gamma"], ["beta", "gamma"], list(LABELS)]


def mixtures(n: int, seed: int = 0, length: int = 240) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """``n`` spectra cycling through every set of phases: one peak per phase present, on an offset, plus noise;
    the label cells as a table writes them (``alpha;gamma``, ``-`` for none)."""
    rng = np.random.default_rng(seed)
    x = np.linspace(400.0, 800.0, length)
    sets = [SETS[i % len(SETS)] for i in range(n)]
    spectra = rng.normal(0, 0.03, (n, length)) + rng.uniform(0, 0.3, (n, 1))
    for i, phases in enumerate(sets):
        for phase in phases:
            centre = CENTRES[phase] + rng.normal(0, 4)
            spectra[i] += rng.uniform(0.6, 1.2) * np.exp(-0.5 * ((x - centre) / 15) ** 2)
    return x, spectra, [";".join(phases) or "-" for phases in sets]


def write_mixtures(path: Path, x: np.ndarray, spectra: np.ndarray, labels: list[str] | None) -> Path:
    with open(path, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow((["label"] if labels else ["name"]) + [f"{v:.4f}" for v in x])
        for i, spectrum in enumerate(spectra):
            out.writerow([labels[i] if labels else f"new_{i}"] + [f"{v:.6f}" for v in spectrum])
    return path


# ---------------------------------------------------------------------------------------------- the task alone
def test_registered_and_built_from_its_targets() -> None:
    assert TASKS["multilabel"] is MultiLabelTask
    task = task_for(Targets("multilabel", LABELS))
    assert isinstance(task, MultiLabelTask) and task.out_features == 3 and task.class_names == list(LABELS)
    with pytest.raises(ValueError, match="at least 2 labels"):
        MultiLabelTask(Targets("multilabel", ("alpha",)))


def test_loss_probabilities_and_unknown_sets() -> None:
    outputs = torch.tensor([[4.0, -4.0, 0.0], [-4.0, 4.0, 4.0]])
    target = torch.tensor([[1, 0, 1], [0, 1, 1]])
    expected = torch.nn.functional.binary_cross_entropy(torch.sigmoid(outputs), target.float())
    assert float(TASK.loss(outputs, target)) == pytest.approx(float(expected), rel=1e-5)
    probabilities = TASK.exported(outputs)
    assert torch.allclose(probabilities, torch.sigmoid(outputs)) and not torch.allclose(
        probabilities.sum(1), torch.ones(2)
    )
    assert TASK.predict_labels(outputs).tolist() == [[1, 0, 1], [0, 1, 1]]  # sigmoid(0) = 0.5 reaches 0.5
    assert TASK.known(target) and not TASK.known(torch.full((1, 3), -1))
    assert float(TASK.train_metrics(outputs, target)["subset_accuracy"]) == 1.0


def test_prediction_columns_write_the_set_at_the_thresholds_and_every_probability() -> None:
    task = MultiLabelTask(Targets("multilabel", LABELS))
    exported = np.array([[0.9, 0.3, 0.6], [0.1, 0.2, 0.3]])
    columns = task.prediction_columns(exported)
    assert list(columns) == ["predicted", "p(alpha)", "p(beta)", "p(gamma)"]
    assert columns["predicted"] == ["alpha;gamma", "-"] and columns["p(beta)"] == ["0.300000", "0.200000"]
    task.thresholds.copy_(torch.tensor([0.5, 0.25, 0.7]))
    assert task.prediction_columns(exported)["predicted"] == ["alpha;beta", "-"]


def test_the_validation_metric_chooses_the_thresholds_the_others_score_at_them() -> None:
    """The validation metric (Task.validation_metric) sets the task's thresholds when computed (a buffer, saved
    with the weights); the test metric scores at them and chooses nothing, in whatever order they are made."""
    task = MultiLabelTask(Targets("multilabel", LABELS))
    test, val = task.evaluation_metric(), task.validation_metric()
    # alpha's probabilities run low (0.3 and 0.35 where present): 0.5 misses it, the chosen threshold finds it
    outputs = torch.logit(torch.tensor([[0.30, 0.9, 0.1], [0.10, 0.2, 0.8], [0.35, 0.8, 0.2], [0.15, 0.1, 0.9]]))
    target = torch.tensor([[1, 1, 0], [0, 0, 1], [1, 1, 0], [0, 0, 1]])
    task.update(test, outputs, target, torch.arange(4))
    assert test.compute()["f1[alpha]"] == 0.0 and task.thresholds.tolist() == [0.5, 0.5, 0.5]
    task.update(val, outputs, target, torch.arange(4))
    scores = val.compute()
    assert task.thresholds[0] == pytest.approx(0.3) and scores["f1[alpha]"] == 1.0 and scores["subset_accuracy"] == 1.0
    assert "thresholds" in task.state_dict()
    test.reset()
    task.update(test, outputs, target, torch.arange(4))
    assert test.compute()["subset_accuracy"] == 1.0 and task.thresholds[0] == pytest.approx(0.3)


def test_a_map_explains_one_labels_logit() -> None:
    outputs = torch.tensor([[2.0, -1.0, 3.0], [-2.0, 1.0, 0.5]])
    assert TASK.attribution_score(outputs, torch.tensor([0, 2])).tolist() == [2.0, 0.5]
    assert TASK.default_attribution_target(outputs).tolist() == [2, 1]  # the most probable label
    assert torch.allclose(TASK.deletion_score(outputs, torch.tensor([0, 2])), torch.sigmoid(torch.tensor([2.0, 0.5])))
    labels = torch.tensor([[1, 1, 0], [0, 0, 0]])
    # the most probable label among those held; none held: the most probable of all
    assert TASK.labelled_attribution_target(labels, lambda: outputs).tolist() == [0, 1]


def test_feature_importance_is_of_each_labels_term_of_the_loss() -> None:
    """One objective per label, named by it: the BCE of that label's logit alone, and the terms' mean is the loss."""
    outputs = torch.tensor([[2.0, -1.0, 3.0], [-2.0, 1.0, 0.5]], requires_grad=True)
    target = torch.tensor([[1, 0, 0], [0, 1, 1]])
    objectives = TASK.importance_outputs()
    assert list(objectives) == list(LABELS)
    terms = [objective(outputs, target) for objective in objectives.values()]
    assert float(torch.stack(terms).mean()) == pytest.approx(float(TASK.loss(outputs, target)), rel=1e-6)
    (grad,) = torch.autograd.grad(terms[2], outputs)
    assert grad[:, :2].abs().sum() == 0 and grad[:, 2].abs().sum() > 0  # gamma's term reads gamma's logit only
    expected = torch.nn.functional.binary_cross_entropy_with_logits(outputs[:, 2], target[:, 2].float())
    assert float(terms[2]) == pytest.approx(float(expected))


def test_figures_group_by_explained_label_and_mean_spectra_by_set() -> None:
    outputs = torch.tensor([[2.0, -1.0, 3.0], [-2.0, 1.0, -3.0]])
    labels = torch.tensor([[1, 0, 1], [1, 1, 0]])
    groups = TASK.attribution_groups(outputs, torch.tensor([2, 1]), labels, "predicted", 3)
    assert groups.index.tolist() == [2, 1] and groups.names == list(LABELS)
    assert groups.misclassified.tolist() == [False, True]  # beta alone claimed, alpha;beta held
    assert "labels: alpha;beta | predicted: beta | WRONG SET" in groups.titles[1]
    index, names = TASK.reference_groups(np.array([[1, 0, 1], [0, 0, 0], [1, 0, 1], [-1, -1, -1]]))
    assert names == ["-", "alpha;gamma", "unlabelled"] and index.tolist() == [1, 0, 1, 2]


def test_cross_validation_keeps_every_labels_scores() -> None:
    summary = {"macro_f1": 0.9, "subset_accuracy": 0.8, "hamming_loss": 0.05, "test_f1_alpha": 0.95}
    summary |= {"test_recall_beta": 0.7, "test_precision_gamma": 1.0, "test_support_alpha": 8, "loss": 0.3}
    scores = MultiLabelTask.cross_validation_scores(summary)
    assert scores["macro_f1"] == 0.9 and scores["test_f1_alpha"] == 0.95 and scores["test_recall_beta"] == 0.7
    assert scores["test_precision_gamma"] == 1.0 and "test_support_alpha" not in scores and "loss" not in scores


# ---------------------------------------------------------------------------------------------- acceptance
@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A tiny fit with the test after it (its summary), on 96 mixtures of three phases; the run and the data."""
    data = tmp_path_factory.mktemp("mixtures")
    train = write_mixtures(data / "train.csv", *mixtures(96))
    run = fit_files_tiny(
        tmp_path_factory,
        train,
        "--data.init_args.task",
        "multilabel",
        "--test_after_fit",
        "true",
        "--trainer.callbacks+=lightning_spectra.callbacks.GradCAM",
        epochs=15,
    )
    return run, data


def test_fit_tests_with_per_label_scores_and_thresholds(fitted: tuple[Path, Path]) -> None:
    run, _ = fitted
    summary = json.loads((run / "summary.json").read_text())
    for label in LABELS:
        assert 0.8 <= summary[f"test_f1_{label}"] <= 1.0
        assert summary[f"test_precision_{label}"] >= 0 and summary[f"test_recall_{label}"] >= 0
        assert 0.05 <= summary[f"threshold_{label}"] <= 0.95
    assert summary["macro_f1"] >= 0.85 and summary["subset_accuracy"] >= 0.75 and summary["hamming_loss"] <= 0.1
    assert summary["test_macro_f1"] == pytest.approx(summary["macro_f1"], abs=1e-6)
    # maps explain one label each, grouped by label: each label's strongest evidence lies at its own peak
    for label, x in summary["gradcam_test_peak_x"].items():
        assert abs(x - CENTRES[label]) < 40, (label, x)
    ckpt = torch.load(run / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    assert ckpt["hyper_parameters"]["targets"] == {
        "kind": "multilabel",
        "names": list(LABELS),
        "mean": None,
        "scale": None,
    }
    saved = ckpt["state_dict"]["task.thresholds"].tolist()
    assert saved == pytest.approx([summary[f"threshold_{label}"] for label in LABELS], abs=1e-4)


def predicted_rows(run: Path, new: Path) -> list[dict[str, str]]:
    """``predict`` with the run's last checkpoint on the table ``new``: the rows of its predictions.csv."""
    checkpoint = str(run / "checkpoints" / "last.ckpt")
    main(
        [
            "predict",
            "--config",
            str(run / "config.yaml"),
            "--ckpt_path",
            checkpoint,
            "--data.init_args.predict_path",
            str(new),
        ]
    )
    with open(run / "predict" / "predictions.csv") as f:
        return list(csv.DictReader(f))


def test_predict_writes_label_sets_and_probabilities(
    fitted: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    run, data = fitted
    x, spectra, truth = mixtures(24, seed=5)
    new = write_mixtures(tmp_path / "new.csv", x, spectra, None)
    rows = predicted_rows(run, new)
    assert len(rows) == 24 and [r["spectrum"] for r in rows] == [f"new_{i}" for i in range(24)]
    assert all(0 <= float(r[f"p({label})"]) <= 1 for r in rows for label in LABELS)
    assert sum(r["predicted"] == t for r, t in zip(rows, truth, strict=True)) >= 20  # well-separated peaks
    assert {r["predicted"] for r in rows} >= {"-", "alpha;beta;gamma"}  # sets of every size, the empty one too


def test_test_on_the_checkpoint_scores_at_its_saved_thresholds(fitted: tuple[Path, Path], capsys) -> None:
    run, _ = fitted
    summary = json.loads((run / "summary.json").read_text())
    ckpt = run / "checkpoints" / "last.ckpt"
    main(["test", "--config", str(run / "config.yaml"), "--ckpt_path", str(ckpt)])
    out = capsys.readouterr().out
    assert "labels alpha 48, beta 48, gamma 48" in out  # the read line counts spectra per label
    tested = json.loads(
        max(run.parent.glob("version_*"), key=lambda p: int(p.name.split("_")[1])).joinpath("summary.json").read_text()
    )
    assert tested["test_f1_alpha"] == pytest.approx(summary["test_f1_alpha"], abs=1e-6)
    assert tested["thresholds"] == summary["thresholds"]


def test_an_exported_model_claims_the_sets_predict_does(fitted: tuple[Path, Path], tmp_path: Path) -> None:
    """The thresholds travel with the exported file: its reader rebuilds the task and claims the same sets."""
    from lightning_spectra.apps.export import export_checkpoint, read_metadata, run_onnx
    from lightning_spectra.apps.watch import load_classifier
    from lightning_spectra.data.formats import read_spectra
    from lightning_spectra.tasks import task_from_export

    run, _ = fitted
    ckpt = run / "checkpoints" / "last.ckpt"
    x, spectra, _ = mixtures(8, seed=9)
    new = write_mixtures(tmp_path / "new.csv", x, spectra, None)
    out = export_checkpoint(ckpt, tmp_path / "mixtures.onnx")
    raw = read_spectra(new, labels_required=False, progress=False)
    model, preprocessing = load_classifier(ckpt)
    with torch.no_grad():
        expected = model.task.exported(model(torch.as_tensor(preprocessing(raw.x, raw.spectra), dtype=torch.float32)))
    exported = run_onnx(out, raw.spectra)
    np.testing.assert_allclose(exported, expected.numpy(), atol=1e-4)
    meta = read_metadata(out)
    task = task_from_export(meta)
    assert meta["task"] == "multilabel" and torch.equal(task.thresholds, model.task.thresholds)
    assert (
        task.prediction_columns(exported)["predicted"] == model.task.prediction_columns(expected.numpy())["predicted"]
    )


def test_watch_claims_the_sets_predict_does(fitted: tuple[Path, Path], tmp_path: Path, capsys) -> None:
    """``watch`` on a folder prints each spectrum's label set at the saved thresholds (the task's columns), not the
    one likeliest label."""
    run, _ = fitted
    x, spectra, _ = mixtures(24, seed=5)
    folder = tmp_path / "incoming"
    folder.mkdir()
    write_mixtures(folder / "new.csv", x, spectra, None)
    ckpt = run / "checkpoints" / "last.ckpt"
    expected = [r["predicted"] for r in predicted_rows(run, folder / "new.csv")]
    capsys.readouterr()
    watch(["--ckpt_path", str(ckpt), "--folder", str(folder), "--once"])
    lines = [line.split("\t") for line in capsys.readouterr().out.splitlines() if not line.startswith("#")]
    assert [line[1] for line in lines] == expected
    assert all(line[2].startswith(f"p({LABELS[0]})=") for line in lines)
