import csv
import json
from pathlib import Path

import numpy as np
import pytest

from lightning_spectra.apps.paper_report import build_report, latest_run, markdown_table, read_columns, series_maps


def fake_run(root: Path, name: str, version: int, **summary) -> Path:
    folder = root / name / f"version_{version}"
    folder.mkdir(parents=True)
    (folder / "summary.json").write_text(json.dumps(summary))
    return folder


def test_collects_finished_runs_into_table_csv_and_figure(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    fake_run(logs, "cnn", 0, train_time_s=9.0)  # fit that never reached its test: ignored
    done = fake_run(
        logs,
        "cnn",
        1,
        confidence=1.0,
        boundary=184,
        true_boundary=184,
        accuracy=1.0,
        train_time_s=45.0,
        epochs=5,
        trainable_parameters=23307,
        peak_memory_gib=4.5,
        device="cpu",
    )
    fake_run(
        logs,
        "lstm",
        0,
        confidence=0.9656,
        boundary=172,
        true_boundary=184,
        accuracy=0.98,
        train_time_s=12.5,
        epochs=25,
        trainable_parameters=6273391,
        peak_memory_gib=2.0,
        device="cpu",
    )
    assert latest_run(logs, "cnn") == done

    rows = build_report(["cnn", "lstm"], tmp_path / "out", log_root=logs, collect=True)
    table = (tmp_path / "out" / "comparison.md").read_text()
    assert "| CNN | 100.00% | 184 (184) | 100.00% | 45.000 | 0.753 | 5 | 23,307 | 4.50 | cpu |" in table
    assert "| LSTM | 96.56% | 172 (184)" in table
    with open(tmp_path / "out" / "comparison.csv") as f:
        records = list(csv.DictReader(f))
    assert [r["model"] for r in records] == ["CNN", "LSTM"] and records[1]["paper_train_time_s"] == "0.463"
    assert (tmp_path / "out" / "comparison.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert markdown_table(rows) == table
    assert not (tmp_path / "out" / "gradcam.png").exists()  # no run left attribution arrays


def test_attribution_panels_stack_every_model_that_has_arrays(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    for name in ("cnn", "resnet"):
        folder = fake_run(logs, name, 0, confidence=1.0)
        (folder / "attribution").mkdir()
        x = np.linspace(10, 25, 50)
        (folder / "attribution" / "feature_importance_train.csv").write_text(
            "x,signed_sum,mean_square\n" + "".join(f"{v},{np.sin(v)},{v}\n" for v in x)
        )
        (folder / "attribution" / "gradcam_test_class_mean.csv").write_text(
            "x,mean_spectrum[a],gradcam[a],mean_spectrum[b],gradcam[b]\n" + "".join(f"{v},1,{v},2,{-v}\n" for v in x)
        )
    rows = build_report(["cnn", "resnet"], tmp_path / "out", log_root=logs, collect=True)
    assert read_columns(rows[0].folder / "attribution" / "gradcam_test_class_mean.csv")["gradcam[b]"][0] == -10
    for figure in ("feature_importance.png", "feature_importance_symlog.png", "gradcam.png"):
        assert (tmp_path / "out" / figure).read_bytes()[:4] == b"\x89PNG"


def test_series_heat_map_peak_table_and_faithfulness_table(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    x = np.linspace(10, 25, 50)
    summary = {"confidence": 1.0, "gradcam_test_method": "1D Grad-CAM", "gradcam_test_deletion_gap": 0.25}
    summary |= {"gradcam_test_default_map": "integrated gradients", "gradcam_test_default_deletion_gap": 0.4}
    folder = fake_run(logs, "cnn", 0, gradcam_test_predicted_change=3, **summary)
    (folder / "attribution").mkdir()
    (folder / "attribution" / "gradcam_test_class_mean.csv").write_text(
        "x,mean_spectrum[a],gradcam[a]\n" + "".join(f"{v},1,{v}\n" for v in x)
    )
    np.save(folder / "attribution" / "gradcam_test.npy", np.random.default_rng(0).normal(size=(6, 50)))
    np.save(folder / "attribution" / "gradcam_test_ig.npy", np.full((6, 50), 2.0))  # the default map
    np.save(folder / "attribution" / "gradcam_test_misclassified.npy", np.array([0, 0, 1, 0, 0, 0], dtype=bool))
    (folder / "attribution" / "gradcam_test_peaks.csv").write_text(
        "position,lo,hi,height,found_in,attribution[a],attribution[b]\n12.5,12.4,12.6,3.0,a,0.25,-0.5\n"
    )
    rows = build_report(["cnn"], tmp_path / "out", log_root=logs, collect=True)
    assert (tmp_path / "out" / "attribution_series.png").read_bytes()[:4] == b"\x89PNG"
    assert "| CNN | 12.500 | a | +0.25 | -0.5 |" in (tmp_path / "out" / "peaks.md").read_text()
    table = (tmp_path / "out" / "attribution.md").read_text()
    assert "| CNN | integrated gradients | +0.400 | – | 1D Grad-CAM | +0.250 | – |" in table
    [(_, method, _, maps, _, _)] = series_maps(rows)  # the series image draws the default
    assert method == "integrated gradients" and np.all(maps == 2.0)


def test_paper_exact_and_corrected_rows_side_by_side_per_ramp(tmp_path: Path) -> None:
    from lightning_spectra.apps.paper_report import paired_runs, paired_table, write_paired

    logs = tmp_path / "logs"
    common = dict(true_boundary=184, accuracy=1.0, train_time_s=1.0, trainable_parameters=23307)
    fake_run(logs / "hard", "paper_cnn", 0, confidence=0.9, boundary=171, **common)
    fake_run(logs / "hard", "cnn", 0, confidence=1.0, boundary=186, **common)
    fake_run(logs / "hard", "paper_lstm", 0, confidence=1.0, boundary=190, **common)  # its corrected run is missing
    rows = paired_runs(["cnn", "lstm"], ["hard"], logs, collect=True, train_missing=False)
    table = paired_table(rows)
    assert "| CNN | hard | 90.00% | 171 | 100.00% | 100.00% | 186 | 100.00% | 184 | 173 |" in table
    assert "| LSTM | hard | 100.00% | 190 | 100.00% | – | – | – | 184 | 175 |" in table
    assert "- boundaries, hard ramp, paper: 171-190 (2 models)" in table
    assert "- boundaries, hard ramp, corrected: 186-186 (1 models)" in table
    write_paired(rows, tmp_path / "out")
    with open(tmp_path / "out" / "paper_vs_corrected.csv") as f:
        records = list(csv.DictReader(f))
    assert [(r["model"], r["paper_boundary"], r["corrected_boundary"]) for r in records] == [
        ("CNN", "171", "186"),
        ("LSTM", "190", ""),
    ]


def test_the_report_command_trains_the_shipped_configs_from_any_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From a folder with no ``configs/``, each model's ``fit`` gets the package's config file."""
    import subprocess

    from lightning_spectra.apps.paper_report import main
    from lightning_spectra.runtime.shipped_files import CONFIGS

    configs = []

    def fake_fit(command: list[str], **kwargs) -> subprocess.CompletedProcess:
        config = Path(command[command.index("--config") + 1])
        configs.append(config)
        save_dir = Path(command[command.index("--trainer.logger.init_args.save_dir") + 1])
        name = f"paper_{config.stem}" if config.parent.name == "paper" else config.stem
        fake_run(save_dir, name, 0, confidence=1.0, boundary=184, true_boundary=184, train_time_s=1.0)
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(subprocess, "run", fake_fit)
    main(["--models", "cnn", "--out", "out", "--log-root", "logs"])
    main(["--compare", "--models", "lstm", "--ramps", "default", "--out", "out", "--log-root", "logs"])
    assert configs == [
        CONFIGS.folder / "cnn.yaml",
        CONFIGS.folder / "paper" / "lstm.yaml",
        CONFIGS.folder / "lstm.yaml",
    ]
    assert all(c.is_file() for c in configs) and (tmp_path / "out" / "comparison.md").is_file()


def test_report_py_is_the_report_command() -> None:
    import subprocess
    import sys

    shown = subprocess.run(
        [sys.executable, str(Path(__file__).parents[2] / "report.py"), "--help"], capture_output=True, text=True
    )
    assert shown.returncode == 0 and shown.stdout.startswith("usage: python report.py [-h]")


def test_the_comparison_carries_the_classical_baselines_of_each_run(tmp_path: Path) -> None:
    from lightning_spectra.apps.paper_report import Row, markdown_table

    summary = {"accuracy": 1.0, "linear_baseline_accuracy": 0.983, "svc_accuracy": 0.991}
    summary |= {"classical_best_method": "SVC", "classical_best_accuracy": 0.991}
    row = Row("cnn", summary, tmp_path)
    assert row.values()["svc_accuracy"] == 0.991 and row.values()["classical_best_method"] == "SVC"
    assert "100.00% (linear baseline 98.3%, SVC 99.1%)" in markdown_table([row])


def test_collect_with_nothing_to_collect_is_one_line_and_trains_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """``--collect`` under a log root without finished runs trained every model (issue 35)."""
    import subprocess

    from lightning_spectra.apps.paper_report import main

    trained = []
    monkeypatch.setattr(subprocess, "run", lambda command, **kwargs: trained.append(command))
    fake_run(tmp_path / "logs", "cnn", 0, train_time_s=9.0)  # a fit that never reached its test
    for compare in ([], ["--compare", "--ramps", "hard"]):
        with pytest.raises(SystemExit) as stop:
            main(["--collect", "--models", "cnn", "lstm", "--log-root", str(tmp_path / "logs"), *compare])
        assert stop.value.code == 2
        runs = "cnn, lstm" + (" (paper-exact or corrected) on the hard ramp" if compare else "")
        assert capsys.readouterr().err.strip() == (
            f"error: --collect: nothing to collect: no finished run of {runs} under {tmp_path / 'logs'} (a "
            "summary.json with a test result); give the --log-root the runs went to, or leave out --collect to train "
            "them"
        )
    assert trained == []


def test_the_report_trains_the_papers_models_and_compare_takes_no_other(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """A model outside the paper (SkipCNN) is in the registry but not in the paper's report by default, and
    ``--compare`` (which needs a ``configs/paper/`` file) refuses it in one line, before training anything."""
    import subprocess

    from lightning_spectra.apps.paper_report import MODELS, PAPER_MODELS, main
    from lightning_spectra.models.registry import model_classes

    assert "skip_cnn" in MODELS and "skip_cnn" not in PAPER_MODELS
    assert [model_classes()[name].paper_order for name in PAPER_MODELS] == list(range(1, len(PAPER_MODELS) + 1))
    trained = []
    monkeypatch.setattr(subprocess, "run", lambda command, **kwargs: trained.append(command))
    with pytest.raises(SystemExit) as stop:
        main(["--compare", "--models", "cnn", "skip_cnn", "--log-root", str(tmp_path / "logs")])
    assert stop.value.code == 2 and trained == []
    assert capsys.readouterr().err.strip() == (
        f"error: --compare takes the paper's models only ({', '.join(PAPER_MODELS)}); got skip_cnn"
    )


def test_a_damaged_summary_is_one_line_and_the_other_runs_are_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """A cut ``summary.json`` ended ``--collect`` in a JSONDecodeError traceback (issue 35)."""
    logs = tmp_path / "logs"
    kept = fake_run(logs, "cnn", 0, confidence=1.0, boundary=184, true_boundary=184, accuracy=1.0, train_time_s=4.0)
    newer = fake_run(logs, "cnn", 1, confidence=1.0)
    (newer / "summary.json").write_text('{"confidence": 0.9, "bound')  # cut by a full disk
    fake_run(logs, "lstm", 0, confidence=0.97, boundary=172, true_boundary=184, accuracy=0.98, train_time_s=2.0)
    (logs / "lstm" / "version_1").mkdir()
    (logs / "lstm" / "version_1" / "summary.json").write_text("[1, 2]")
    rows = build_report(["cnn", "lstm"], tmp_path / "out", log_root=logs, collect=True)
    assert [(r.name, r.folder) for r in rows] == [("cnn", kept), ("lstm", logs / "lstm" / "version_0")]
    assert capsys.readouterr().err.strip().splitlines() == [
        f"warning: {newer / 'summary.json'}: not a readable summary (line 1: Unterminated string starting at); "
        "that run is left out",
        f"warning: {logs / 'lstm' / 'version_1' / 'summary.json'}: not a summary (a JSON object); that run is left out",
    ]


def test_an_unknown_model_is_one_line_listing_the_models(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    """No argparse choices (the stored --help must not change with the package's models): the check is the
    command's own, one line."""
    from lightning_spectra.apps.paper_report import MODELS, main

    with pytest.raises(SystemExit) as stop:
        main(["--models", "cnn", "cnnn", "--log-root", str(tmp_path / "logs")])
    assert stop.value.code == 2
    assert capsys.readouterr().err.strip() == f"error: --models: no model named cnnn (known: {', '.join(MODELS)})"
