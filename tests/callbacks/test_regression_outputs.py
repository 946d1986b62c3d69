"""Regression end to end from the command line (the issue's acceptance command), on small ``.ts`` files.

``python train.py fit --config configs/examples/files_ucr.yaml --data.init_args.train_path X_TRAIN.ts
--data.init_args.test_path X_TEST.ts --data.init_args.task regression`` trains a regressor, prints RMSE, R^2,
RPD and the PLS baseline, and leaves the parity figure; ``predict`` writes values under the target's name;
Grad-CAM and feature importance explain the predicted value.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import acceptance_args, run_folder

from lightning_spectra.cli import main

LENGTH = 128


def write_ts(path: Path, n: int, seed: int) -> np.ndarray:
    """A TSER-style ``.ts`` regression file: a peak whose height is the target, over a varying background."""
    rng = np.random.default_rng(seed)
    grid = np.arange(LENGTH)
    target = rng.uniform(1, 9, n)
    background = rng.uniform(0.5, 1.5, (n, 1)) * np.exp(-0.5 * ((grid - 90) / 12) ** 2)
    spectra = 0.3 * target[:, None] * np.exp(-0.5 * ((grid - 40) / 6) ** 2) + background
    spectra += 0.01 * rng.normal(size=spectra.shape)
    lines = [",".join(f"{v:.5f}" for v in row) + f":{t:.4f}" for row, t in zip(spectra, target, strict=True)]
    path.write_text("@problemName Toy\n@univariate true\n@targetLabel true\n@data\n" + "\n".join(lines) + "\n")
    return target


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    tmp = tmp_path_factory.mktemp("regression")
    write_ts(tmp / "X_TRAIN.ts", 80, seed=0)
    write_ts(tmp / "X_TEST.ts", 30, seed=1)
    import io
    from contextlib import redirect_stdout

    printed = io.StringIO()
    with redirect_stdout(printed):
        main(
            acceptance_args(
                tmp,
                "lightning_spectra.models.CNN",
                "--trainer.max_epochs",
                "60",
                # the target is a peak's height: keep raw intensities (no derivative, no SNV, which divides the
                # height out, no per-point scaling) so the peak's importance reads as its sign
                "--data.init_args.preprocessing.derivative",
                "0",
                "--data.init_args.preprocessing.normalization",
                "none",
                "--data.init_args.preprocessing.scaling",
                "none",
            )
        )
    return tmp, printed.getvalue()


def test_acceptance_command_prints_rmse_r2_rpd_and_the_pls_baseline(fitted) -> None:
    tmp, printed = fitted
    for row in ("RMSE (test)", "R^2 (test)", "RPD = SD / RMSE (test)", "PLS baseline: RMSE (test)"):
        assert row in printed
    summary = json.loads((run_folder(tmp / "logs", "files_ucr") / "summary.json").read_text())
    assert summary["model"] == "CNN"
    # Per-spectrum standardisation (the config's) bends the linear target: both learn it, neither perfectly.
    assert summary["r2"] > 0.5 and summary["pls_r2"] > 0.5
    assert summary["rpd"] == pytest.approx(
        np.std(write_ts(tmp / "check.ts", 30, seed=1), ddof=1) / summary["rmse"], rel=1e-4
    )
    assert 1 <= summary["pls_components"] <= 20
    for figure in summary["regression_figures"]:
        assert Path(figure).read_bytes()[:4] == b"\x89PNG"


def test_attribution_explains_the_predicted_value(fitted) -> None:
    tmp, _ = fitted
    folder = run_folder(tmp / "logs", "files_ucr")
    summary = json.loads((folder / "summary.json").read_text())
    maps = np.load(summary["gradcam_test_files"]["maps"])
    assert maps.shape == (30, LENGTH)
    # The target is the height of the peak at point 40: raising the spectrum there raises the prediction.
    signed = np.load(folder / "attribution" / "feature_importance_train_signed_sum.npy")
    assert signed[35:46].mean() > 0 and abs(signed[35:46]).mean() > abs(signed[100:]).mean()
    with open(summary["gradcam_test_files"]["range_mean_csv"]) as f:
        header = next(csv.reader(f))
    assert sum(h.startswith("gradcam[target ") for h in header) == 3  # low, middle and high target ranges


def test_predict_writes_values_under_the_target_name(fitted, capsys: pytest.CaptureFixture) -> None:
    tmp, _ = fitted
    folder = run_folder(tmp / "logs", "files_ucr")
    config = folder / "config.yaml"
    out = tmp / "predict_logs"
    main(
        [
            "predict",
            "--config",
            str(config),
            "--ckpt_path",
            str(folder / "checkpoints" / "best.ckpt"),  # the weights fit tested (lowest validation loss)
            "--trainer.logger.init_args.save_dir",
            str(out),
        ]
    )
    assert not out.exists()  # no new version folder: predict writes into the run it predicts with
    with open(folder / "predict" / "predictions.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 30 and list(rows[0]) == ["position", "spectrum", "predicted_target"]
    reference = write_ts(tmp / "check.ts", 30, seed=1)
    predicted = np.array([float(r["predicted_target"]) for r in rows])
    # The file holds 6 significant digits: about 5e-6 on these values, next to an RMSE of about 0.01
    assert np.sqrt(np.mean((predicted - reference) ** 2)) == pytest.approx(summary_rmse(folder), rel=1e-4, abs=1e-5)


def test_a_non_numeric_target_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    write_ts(tmp_path / "X_TRAIN.ts", 20, seed=0)
    write_ts(tmp_path / "X_TEST.ts", 10, seed=1)
    text = (tmp_path / "X_TEST.ts").read_text().splitlines()
    text[6] = text[6].rsplit(":", 1)[0] + ":high"
    (tmp_path / "X_TEST.ts").write_text("\n".join(text) + "\n")
    with pytest.raises(SystemExit) as exit_info:
        main(acceptance_args(tmp_path, "lightning_spectra.models.CNN"))
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "X_TEST.ts, line 7: target 'high' is not a number" in err


def summary_rmse(folder: Path) -> float:
    return json.loads((folder / "summary.json").read_text())["rmse"]
