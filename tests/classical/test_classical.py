"""The classical calibrations as modules: equal to scikit-learn, chosen on the training split, blended on validation,
and the classical model alone through fit, test, predict and export."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import acceptance_args, run_folder
from sklearn.cross_decomposition import PLSRegression
from sklearn.model_selection import GridSearchCV, KFold

from lightning_spectra.apps.export import main as export_main
from lightning_spectra.apps.export import run_onnx
from lightning_spectra.baselines.kernel import RIDGE_ALPHAS, RIDGE_GAMMA_FACTORS, fit_kernel_ridge, kernel_ridge_model
from lightning_spectra.baselines.regression import fit_pls
from lightning_spectra.callbacks.regression_outputs import no_skill_line
from lightning_spectra.classical.blend import WEIGHTS, choose_weight
from lightning_spectra.classical.calibration import ClassicalCalibration
from lightning_spectra.classical.preparations import PREPARATIONS
from lightning_spectra.classical.selection import Candidate, select_classical
from lightning_spectra.cli import main
from lightning_spectra.data import SpectraFilesDataModule
from lightning_spectra.data.preprocess import PointScaler

LENGTH = 64


def curved_set(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Spectra whose target is a nonlinear function of a peak's height, on a random offset."""
    rng = np.random.default_rng(seed)
    grid = np.arange(LENGTH)
    height = rng.uniform(0, 3, n)
    spectra = height[:, None] * np.exp(-0.5 * ((grid - 20) / 4) ** 2) + rng.uniform(0, 2, (n, 1))
    return spectra + 0.01 * rng.normal(size=spectra.shape), height**2 + 0.05 * rng.normal(size=n)


@pytest.mark.parametrize("preparation", PREPARATIONS)
@pytest.mark.parametrize("family", ["pls", "krr"])
def test_the_module_equals_scikit_learn_on_scaled_inputs(family: str, preparation: str) -> None:
    from lightning_spectra.classical.preparations import prepare

    spectra, targets = curved_set(60, seed=0)
    new, _ = curved_set(15, seed=1)
    prepared = prepare(preparation, spectra)
    fit = fit_pls(prepared, targets) if family == "pls" else fit_kernel_ridge(prepared, targets)
    candidate = Candidate(family, preparation, 0.0, fit)
    mean, scale = spectra.mean(0), spectra.std(0) + 0.1  # the datamodule's per-point scaling, undone first
    module = ClassicalCalibration.from_candidate(candidate, mean, scale)
    inputs = torch.tensor((new - mean) / scale, dtype=torch.float32)  # what the network is handed
    got = module(inputs).numpy()
    np.testing.assert_allclose(got, candidate.predict(new), atol=1e-5, rtol=0)
    rebuilt = ClassicalCalibration.from_state(module.state_dict())  # the checkpoint's arrays alone
    rebuilt.load_state_dict(module.state_dict())
    np.testing.assert_allclose(rebuilt(inputs).numpy(), got, atol=1e-9)


def test_the_fast_cross_validations_choose_as_grid_search_does() -> None:
    spectra, targets = curved_set(70, seed=2)
    cv = KFold(5, shuffle=True, random_state=0)
    pls = fit_pls(spectra, targets)
    search = GridSearchCV(
        PLSRegression(scale=False), {"n_components": list(range(1, 21))}, cv=cv, scoring="neg_root_mean_squared_error"
    ).fit(spectra, targets)
    np.testing.assert_allclose(pls.rmsecv, -search.cv_results_["mean_test_score"], rtol=1e-9)
    krr = fit_kernel_ridge(spectra, targets)
    grid = {
        "regressor__ridge__alpha": list(RIDGE_ALPHAS),
        "regressor__ridge__gamma": [f / LENGTH for f in RIDGE_GAMMA_FACTORS],
    }
    search = GridSearchCV(kernel_ridge_model(1.0, 1.0), grid, cv=cv, scoring="neg_root_mean_squared_error")
    search.fit(spectra, targets)
    assert krr.params == {k.rsplit("__", 1)[-1]: v for k, v in search.best_params_.items()}
    assert krr.cv_rmse == pytest.approx(-search.best_score_, rel=1e-9)


def test_each_family_takes_the_preparation_its_own_cv_picks() -> None:
    spectra, targets = curved_set(80, seed=3)
    selection = select_classical(spectra, targets)
    for candidate in selection.families.values():
        others = [select_classical(spectra, targets, families=(candidate.family,)).families[candidate.family].rmsecv]
        assert candidate.rmsecv <= min(others)
    # The offsets carry nothing: a derivative (or SNV) beats the raw spectra for the linear model.
    assert selection.families["pls"].preparation != "raw"
    assert selection.best.rmsecv == min(c.rmsecv for c in selection.families.values())
    assert selection.best.family == "krr"  # the target is the height squared: the kernel model wins on CV


def test_the_blend_share_is_chosen_from_a_grid_holding_both_parts_alone() -> None:
    reference = np.linspace(0, 1, 50)[:, None]
    noise = np.random.default_rng(0).normal(size=(50, 1))
    assert {0.0, 1.0} <= set(WEIGHTS)
    assert choose_weight(reference + noise, reference, reference) == 0.0  # the classical part is exact
    assert choose_weight(reference, reference + noise, reference) == 1.0  # the network is
    assert choose_weight(reference + noise, reference - noise, reference) == 0.5  # errors that cancel exactly


def test_the_point_scaler_never_divides_by_almost_nothing() -> None:
    spectra = np.random.default_rng(0).normal(size=(21, 10))
    spectra[:, 3] = 1.0 + 1e-9 * spectra[:, 3]  # a point the calibration standards hardly vary at
    scaler = PointScaler("standard").fit(spectra)
    assert scaler.scale[3] == pytest.approx(0.01 * np.median(spectra.std(0)[[0, 1, 2, 4, 5, 6, 7, 8, 9, 3]]), rel=0.2)
    shifted = spectra[:1].copy()
    shifted[0, 3] += 0.1  # a process spectrum that differs there
    assert abs(scaler(shifted)[0, 3]) < 20  # not 1e8


def test_a_model_without_skill_is_named() -> None:
    reference = torch.linspace(0, 1, 20)[:, None]
    spread = float(reference.std(unbiased=False))
    assert no_skill_line({"CNN": 0.5 * spread, "PLS": 0.9 * spread}, reference) is None
    line = no_skill_line({"CNN": 0.5 * spread, "PLS": 2 * spread}, reference)
    assert line is not None and "PLS" in line and "CNN" not in line


# ---------------------------------------------------------------------------------------------- end to end
def write_ts(path: Path, spectra: np.ndarray, targets: np.ndarray) -> None:
    rows = [",".join(f"{v:.6f}" for v in row) + f":{t:.6f}" for row, t in zip(spectra, targets, strict=True)]
    path.write_text("@problemName Toy\n@univariate true\n@targetLabel true\n@data\n" + "\n".join(rows) + "\n")


def fit_args(tmp: Path, model: str, *extra: str) -> list[str]:
    """The regression acceptance command (tests/callbacks/test_regression_outputs.py) on ``tmp``."""
    return acceptance_args(tmp, model, *extra)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray]:
    tmp = tmp_path_factory.mktemp("classical")
    spectra, targets = curved_set(90, seed=4)
    test_spectra, test_targets = curved_set(25, seed=5)
    write_ts(tmp / "X_TRAIN.ts", spectra, targets)
    write_ts(tmp / "X_TEST.ts", test_spectra, test_targets)
    return tmp, np.round(test_spectra, 6)


def exported_and_predicted(tmp: Path, folder: Path, raw_test: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    """The run's best checkpoint exported to ONNX and run on the raw test spectra, and ``predict``'s file."""
    ckpt = folder / "checkpoints" / "best.ckpt"
    torch.load(ckpt, weights_only=True)  # arrays only: no pickled scikit-learn object
    export_main(["--ckpt_path", str(ckpt), "--output", str(tmp / f"{name}.onnx")])
    exported = run_onnx(tmp / f"{name}.onnx", raw_test)[:, 0]
    out = tmp / f"predict_{name}"
    main(
        ["predict", "--config", str(folder / "config.yaml"), "--ckpt_path", str(ckpt)]
        + ["--trainer.logger.init_args.save_dir", str(out), "--data.init_args.predict_path", str(tmp / "X_TEST.ts")]
    )
    with open(folder / "predict" / "predictions.csv") as f:  # into the run of the checkpoint
        predicted = np.array([float(r["predicted_target"]) for r in csv.DictReader(f)])
    return exported, predicted


def test_the_classical_model_alone_fits_tests_predicts_and_exports_as_scikit_learn_does(
    files, capsys: pytest.CaptureFixture
) -> None:
    tmp, raw_test = files
    main(fit_args(tmp, "lightning_spectra.classical.ClassicalRegressor", "--trainer.max_epochs", "1"))
    printed = capsys.readouterr().out
    assert "classical calibrations: PLS and kernel ridge, each on the preprocessing its 5-fold CV" in printed
    assert "done in" in printed and "classical calibration: " in printed  # the phase's end, then the choice
    folder = run_folder(tmp / "logs", "files_ucr")
    summary = json.loads((folder / "summary.json").read_text())
    # scikit-learn on the same training split (the datamodule's own split of X_TRAIN.ts)
    data = SpectraFilesDataModule(
        train_path=str(tmp / "X_TRAIN.ts"),
        test_path=str(tmp / "X_TEST.ts"),
        task="regression",
        split={"val_fraction": 0.2},
        progress=False,
    )
    from lightning_spectra.classical.attachment import unscaled, unscaled_training_split

    train_x, train_y, _ = unscaled_training_split(data)
    best = select_classical(train_x, train_y).best
    test_x = unscaled(data, data.splits.test.spectra)  # the datamodule's steps, not its scaling
    expected = best.predict(test_x)[:, 0]
    assert summary["classical_best_method"] == best.name
    assert summary["rmse"] == pytest.approx(summary["classical_best_rmse"], rel=1e-5)
    exported, predicted = exported_and_predicted(tmp, folder, raw_test, "classical")
    np.testing.assert_allclose(exported, expected, atol=1e-5 * max(1.0, np.abs(expected).max()))
    np.testing.assert_allclose(predicted, expected, rtol=1e-5, atol=1e-5)


def test_a_blended_network_predicts_and_exports_what_its_test_measured(files) -> None:
    tmp, raw_test = files
    logs = tmp / "blend"
    main(
        fit_args(tmp, "lightning_spectra.models.SkipCNN", "--trainer.max_epochs", "15")
        + ["--trainer.logger.init_args.save_dir", str(logs)]
    )
    folder = run_folder(logs, "files_ucr")
    summary = json.loads((folder / "summary.json").read_text())
    weight = summary["blend_network_weight"]
    assert 0.0 <= weight <= 1.0 and "network" in summary["blend"]
    assert summary["rmse"] <= max(summary["network_rmse"], summary["classical_rmse"]) + 1e-9  # between its parts
    exported, predicted = exported_and_predicted(tmp, folder, raw_test, "blend")
    np.testing.assert_allclose(exported, predicted, rtol=1e-4, atol=1e-4)
    reference = np.array([float(line.rsplit(":", 1)[1]) for line in (tmp / "X_TEST.ts").read_text().splitlines()[4:]])
    assert np.sqrt(np.mean((exported - reference) ** 2)) == pytest.approx(summary["rmse"], rel=1e-4, abs=1e-5)


@pytest.mark.parametrize("family", ["pls", "krr"])
def test_the_module_runs_in_onnx_runtime_with_a_derivative(family: str, tmp_path: Path) -> None:
    import onnxruntime

    from lightning_spectra.classical.preparations import prepare

    spectra, targets = curved_set(50, seed=6)
    spectra, new = spectra + 2.0, curved_set(7, seed=7)[0] + 2.0  # a large offset: float32 would lose the slope
    fit = fit_pls(prepare("sg1_snv", spectra), targets)
    if family == "krr":
        fit = fit_kernel_ridge(prepare("sg1_snv", spectra), targets)
    candidate = Candidate(family, "sg1_snv", 0.0, fit)
    module = ClassicalCalibration.from_candidate(candidate).eval()
    path = tmp_path / "classical.onnx"
    torch.onnx.export(
        module, (torch.zeros(3, LENGTH),), str(path), dynamo=False, dynamic_axes={"x": {0: "n"}}, input_names=["x"]
    )
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {"x": new.astype(np.float32)})[0]
    expected = candidate.predict(new.astype(np.float32).astype(np.float64))
    np.testing.assert_allclose(got, expected, atol=1e-5 * max(1.0, np.abs(expected).max()))


def test_a_small_validation_split_that_barely_prefers_the_network_keeps_the_classical_model() -> None:
    rng = np.random.default_rng(1)
    reference = rng.uniform(0, 1, (16, 1))
    network = reference + 0.10 * rng.normal(size=(16, 1))  # 16 validation spectra: two parts about as good
    classical = reference + 0.11 * rng.normal(size=(16, 1))
    assert choose_weight(network, classical, reference) == 0.0  # the network must earn its share
    many = rng.uniform(0, 1, (2000, 1))  # with enough spectra a real difference decides
    assert choose_weight(many + 0.05 * rng.normal(size=(2000, 1)), many + 0.2 * rng.normal(size=(2000, 1)), many) > 0.8
