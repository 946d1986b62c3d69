"""Cross-validation: each fold an ordinary run in its own folder, stratified splits, mean +- sd with the baseline."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import CONF

from lightning_spectra.apps.cross_validation import main, summarise
from lightning_spectra.errors import SpectraConfigError
from lightning_spectra.runs.wandb_runs import WANDB_SWITCH


def test_summarise() -> None:
    assert summarise([0.5]) == (0.5, 0.0)
    mean, sd = summarise([0.8, 1.0])
    assert mean == pytest.approx(0.9) and sd == pytest.approx(np.std([0.8, 1.0], ddof=1))


def two_fold_cv(tmp_path: Path, data: Path, max_epochs: int, **data_options) -> Path:
    """``--folds 2`` on ``data`` with the tiny files config; the output folder."""
    config = yaml.safe_load((CONF / "files_tiny.yaml").read_text())
    config["trainer"]["max_epochs"] = max_epochs
    config["data"]["init_args"].update(data_options)
    (tmp_path / "cv.yaml").write_text(yaml.safe_dump(config))
    out = tmp_path / "cv"
    main(
        [
            "--config",
            str(tmp_path / "cv.yaml"),
            "--folds",
            "2",
            "--out",
            str(out),
            "--data.init_args.train_path",
            str(data),
        ]
    )
    return out


def test_two_folds_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two folds, each announced, each a run with its own folder and a W&B run in the cross-validation's group
    (switched on by the environment: the config has no W&B logger)."""
    monkeypatch.setenv(WANDB_SWITCH, "cv-test")
    rng = np.random.default_rng(0)
    labels = np.arange(40) % 2
    grid = np.linspace(0, 1, 200)
    spectra = np.exp(-0.5 * ((grid - np.where(labels, 0.3, 0.7)[:, None]) / 0.05) ** 2) + rng.normal(0, 0.05, (40, 200))
    data = tmp_path / "two.npz"
    np.savez(data, spectra=spectra, labels=np.array(["low", "high"])[labels])
    monkeypatch.setattr(sys, "argv", ["cv", "--config", "cv.yaml", "--folds", "2"])  # as from the shell
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = two_fold_cv(tmp_path, data, max_epochs=3)
    assert not [w for w in caught if "args parameter" in str(w.message)]  # LightningCLI sees the fold's alone
    rows = (out / "cv_results.csv").read_text().splitlines()
    assert len(rows) == 3  # header + one row per fold
    tests = []
    for fold in (0, 1):
        summary = json.loads((out / f"repeat0_fold{fold}" / "summary.json").read_text())
        assert summary["linear_baseline_accuracy"] >= 0.9
        config = yaml.safe_load((out / f"repeat0_fold{fold}" / "config.yaml").read_text())
        split = config["data"]["init_args"]["split"]
        assert split["folds"] == 2 and split["fold"] == fold
        tests.append(summary["spectra"])
    assert tests == [20, 20]  # each fold tests on half the spectra
    summary = json.loads((out / "cv_summary.json").read_text())
    assert summary["runs"] == 2 and 0 <= summary["accuracy_mean"] <= 1
    assert summary["linear_baseline_accuracy_mean"] >= 0.9
    printed = capsys.readouterr().out
    assert "mean +- sd" in printed
    assert printed.index("fold 1 of 2: repeat 0, fold 0") < printed.index("fold 2 of 2: repeat 0, fold 1")
    runs = [wandb_run_record(run) for run in sorted((out / "wandb").glob("offline-run-*"))]
    assert sorted(r["display_name"] for r in runs) == ["CNN repeat0_fold0", "CNN repeat0_fold1"]
    assert {r["run_group"] for r in runs} == {"cv"} and {r["project"] for r in runs} == {"cv-test"}


def wandb_run_record(run_dir: Path) -> dict:
    """The last run record (name, group, project, tags) of an offline W&B run, as the W&B client reads it."""
    leet = [str(Path(sys.executable).parent / "wandb"), "leet", "inspect", "--json", str(run_dir)]
    records = subprocess.run(leet, capture_output=True, text=True, check=True, timeout=60).stdout.splitlines()
    return [json.loads(line)["run"] for line in records if '"type":"run"' in line][-1]


def test_regression_folds_are_scored_by_rmse_beside_pls(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    rng = np.random.default_rng(1)
    content = rng.uniform(0, 1, 30)
    grid = np.linspace(0, 1, 120)
    spectra = content[:, None] * np.exp(-0.5 * ((grid - 0.5) / 0.05) ** 2) + rng.normal(0, 0.01, (30, 120))
    data = tmp_path / "nir.npz"
    np.savez(data, spectra=spectra, y=content)
    out = two_fold_cv(tmp_path, data, max_epochs=2, task="regression")
    summary = json.loads((out / "cv_summary.json").read_text())
    assert summary["task"] == "regression" and summary["runs"] == 2
    assert summary["rmse_mean"] > 0 and summary["pls_rmse_mean"] > 0 and "accuracy_mean" not in summary
    rmse = [json.loads((out / f"repeat0_fold{k}" / "summary.json").read_text())["rmse"] for k in (0, 1)]
    assert summary["rmse_mean"] == pytest.approx(np.mean(rmse))
    assert "PLS RMSE" in capsys.readouterr().out


def test_a_config_without_user_files_is_refused(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--config", str(CONF / "cnn_tiny.yaml"), "--folds", "2"])
    assert exit_info.value.code == 2
    assert "needs a SpectraFilesDataModule config" in capsys.readouterr().err


def _earlier_cv(out: Path) -> Path:
    """``out`` as an earlier cross-validation left it: a fold folder with a summary holding a baseline, a
    checkpoint of its own model with ``last.ckpt`` linked to it, and the results table and summary."""
    checkpoints = out / "repeat0_fold0" / "checkpoints"
    checkpoints.mkdir(parents=True)
    (out / "repeat0_fold0" / "summary.json").write_text(json.dumps({"linear_baseline_accuracy": 0.99}))
    (checkpoints / "epoch=99-step=999.ckpt").write_bytes(b"the earlier model")
    (checkpoints / "last.ckpt").symlink_to("epoch=99-step=999.ckpt")
    (out / "cv_results.csv").write_text("repeat,fold\n0,0\n")
    (out / "cv_summary.json").write_text("{}\n")
    return out


def _cv_args(tmp_path: Path, out: Path, *extra: str) -> list[str]:
    data = tmp_path / "two.npz"
    rng = np.random.default_rng(0)
    labels = np.arange(24) % 2
    np.savez(data, spectra=rng.normal(0, 1, (24, 80)) + labels[:, None], labels=np.array(["a", "b"])[labels])
    config = yaml.safe_load((CONF / "files_tiny.yaml").read_text())
    config["trainer"]["max_epochs"] = 1
    (tmp_path / "cv.yaml").write_text(yaml.safe_dump(config))
    return ["--config", str(tmp_path / "cv.yaml"), "--folds", "2", "--out", str(out), *extra]


def test_an_out_folder_with_an_earlier_cross_validation_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """Its fold summaries and checkpoints would merge into the new run's: one line, exit 2, nothing touched."""
    out = _earlier_cv(tmp_path / "cv")
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    with pytest.raises(SystemExit) as exit_info:
        main(_cv_args(tmp_path, out, "--data.init_args.train_path", str(tmp_path / "two.npz")))
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.strip() == (
        f"error: {out}: holds an earlier cross-validation (cv_results.csv, ...); give another --out, "
        "or --overwrite to delete its results"
    )
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before


def test_overwrite_starts_every_fold_in_an_empty_folder(tmp_path: Path) -> None:
    """With --overwrite the folds hold this run's keys and checkpoints only (no baseline it did not fit)."""
    out = _earlier_cv(tmp_path / "cv")
    (out / "notes.txt").write_text("the user's own file")
    main(
        _cv_args(
            tmp_path,
            out,
            "--overwrite",
            "--data.init_args.train_path",
            str(tmp_path / "two.npz"),
            "--data.init_args.linear_baseline",
            "false",
        )
    )
    fold = out / "repeat0_fold0"
    assert "linear_baseline_accuracy" not in json.loads((fold / "summary.json").read_text())
    assert not (fold / "checkpoints" / "epoch=99-step=999.ckpt").exists()
    assert (fold / "checkpoints" / "last.ckpt").resolve().read_bytes() != b"the earlier model"
    assert (out / "cv_results.csv").read_text().splitlines()[1].startswith("0,0,CNN,")  # this run's rows
    assert (out / "notes.txt").read_text() == "the user's own file"  # only what a cross-validation writes goes


def test_a_missing_or_python_tagged_config_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    tagged = tmp_path / "tagged.yaml"
    tagged.write_text("data: !!python/object/apply:os.getcwd []\n")
    for path, message in [
        (tmp_path / "missing.yaml", f"error: {tmp_path / 'missing.yaml'}: no such config file"),
        (
            tagged,
            f"error: {tagged}, line 1: tag !!python/object/apply:os.getcwd is not allowed: configs are plain YAML",
        ),
    ]:
        with pytest.raises(SystemExit) as exit_info:
            main(["--config", str(path), "--out", str(tmp_path / "out")])
        err = capsys.readouterr().err
        assert exit_info.value.code == 2 and err.strip() == message and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_a_read_only_out_folder_is_one_line_before_any_fold(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    from faults import read_only

    out = read_only(tmp_path / "out", monkeypatch) / "cv"
    with pytest.raises(SystemExit) as exit_info:
        main(["--config", str(CONF / "files_tiny.yaml"), "--folds", "2", "--out", str(out)])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.strip() == f"error: --out {out}: cannot write files there (Permission denied)"


def test_overwrite_keeps_a_users_files_named_like_the_folds(tmp_path: Path) -> None:
    """Only what a cross-validation recorded (or, written before manifests, the folds its results name) goes:
    the user's ``repeat3_fold9/`` and ``repeat0_fold0_notes.txt`` stay (issue 35)."""
    from lightning_spectra.apps.cross_validation import prepare_out
    from lightning_spectra.runs.manifest import record_written

    out = _earlier_cv(tmp_path / "cv")  # written before manifests: its cv_results.csv names repeat0_fold0
    users = [out / "repeat3_fold9" / "mine.csv", out / "repeat0_fold0_notes.txt"]
    for path in users:
        path.parent.mkdir(exist_ok=True)
        path.write_text("mine")
    prepare_out(out, overwrite=True)
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == sorted(
        [Path("repeat3_fold9"), *(p.relative_to(out) for p in users)]
    )
    record_written(out, "cv", ["repeat0_fold1", "repeat0_fold1.yaml", "cv_summary.json"])
    (out / "repeat0_fold1").mkdir()
    (out / "cv_summary.json").write_text("{}")
    with pytest.raises(SpectraConfigError, match="holds an earlier cross-validation"):
        prepare_out(out, overwrite=False)
    prepare_out(out, overwrite=True)
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == sorted(
        [Path("repeat3_fold9"), *(p.relative_to(out) for p in users)]
    )


def test_an_out_folder_of_other_files_is_refused_before_any_fold(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "cv"
    out.mkdir()
    (out / "repeat0_fold0.csv").write_text("the user's own table")
    with pytest.raises(SystemExit) as exit_info:
        main(["--config", str(CONF / "files_tiny.yaml"), "--folds", "2", "--out", str(out), "--overwrite"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.strip() == (
        f"error: --out {out}: holds other files (repeat0_fold0.csv) and no cross-validation of ours; give an empty "
        "or new folder"
    )
    assert [p.name for p in out.iterdir()] == ["repeat0_fold0.csv"]


def test_sigterm_exits_143_and_the_same_command_resumes_with_the_finished_folds_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """A SIGTERM in fold 2 ended the command with status 0 and a hint naming ``--ckpt_path``, which cv does not
    take; now 143, a hint that fits, and the same command again keeps fold 1 and trains fold 2 (issue 35)."""
    from lightning.pytorch.utilities.exceptions import SIGTERMException

    import lightning_spectra.cli

    trained, stop_at = [], ["repeat0_fold1"]

    class Fold:  # a stand-in for the fold's fit: writes its summary, or is stopped as Lightning stops a fit
        def __init__(self, args: list[str]) -> None:
            name = Path(args[args.index("--config") + 1]).stem
            if name in stop_at:
                stop_at.clear()
                raise SIGTERMException
            trained.append(name)
            (out / name).mkdir(parents=True, exist_ok=True)
            (out / name / "summary.json").write_text(json.dumps({"model": "CNN", "accuracy": 0.5, "epochs": 1}))

    monkeypatch.setattr(lightning_spectra.cli, "SpectraCLI", Fold)
    out = tmp_path / "cv"
    args = ["--config", str(CONF / "files_tiny.yaml"), "--folds", "2", "--out", str(out)]
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 143
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f"the cross-validation in {out} stopped by SIGTERM; run the same command again to resume it: the folds that "
        "finished are kept, the stopped one trains again (the command takes no --ckpt_path)"
    )
    main(args)
    assert trained == ["repeat0_fold0", "repeat0_fold1"]  # the first fold trained once: kept at the rerun
    assert "fold 1 of 2: repeat 0, fold 0" in capsys.readouterr().out
    assert (out / "cv_results.csv").read_text().count("\n") == 3
    with pytest.raises(SystemExit) as exit_info:  # finished: the same command again is refused, not resumed
        main(args)
    assert exit_info.value.code == 2
