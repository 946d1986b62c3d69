"""Seed ensembles: members that differ only in their seed, their mean and a calibrated interval, resumed when killed."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import CONF

from lightning_spectra.apps.ensemble import main, requested_task, wide_interval_warning, wider_than_range
from lightning_spectra.errors import SpectraConfigError
from lightning_spectra.metrics.prediction_interval import EnsemblePrediction, member_spread
from lightning_spectra.runs.folder_lock import LOCK_FILE, folder_lock
from lightning_spectra.runs.manifest import refuse_foreign

MEMBERS = 3


def regression_config(folder: Path) -> Path:
    """The tiny files config as a regressor that keeps its best validation epoch."""
    config = yaml.safe_load((CONF / "files_tiny.yaml").read_text())
    config["trainer"]["max_epochs"] = 3
    config["data"]["init_args"].update(task="regression", preprocessing={"normalization": "none"})
    config["trainer"]["callbacks"][0]["init_args"].update(monitor="val/rmse", mode="min")
    # The networks alone: on this band the classical calibration is exact and would take the whole blend, leaving
    # nothing between the members for these tests of the ensemble's arithmetic to see.
    config["model"].setdefault("init_args", {})["classical_blend"] = False
    path = folder / "regression.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def band_spectra(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    content = rng.uniform(0, 1, n)
    grid = np.linspace(0, 1, 120)
    band = np.exp(-0.5 * ((grid - 0.5) / 0.05) ** 2)
    return content[:, None] * band + rng.uniform(0, 0.3, n)[:, None] * grid + rng.normal(0, 0.01, (n, 120)), content


def read_rows(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("ensemble")
    spectra, content = band_spectra(np.random.default_rng(0), 50)
    np.savez(folder / "nir.npz", spectra=spectra, y=content)
    args = ["fit", "--config", str(regression_config(folder)), "--members", str(MEMBERS), "--out", str(folder / "ens")]
    args += ["--", "--data.init_args.train_path", str(folder / "nir.npz")]
    main(args)
    return {"folder": folder, "out": folder / "ens", "args": args}


def test_members_are_ordinary_runs_with_their_own_seed_and_the_ensemble_is_their_mean(fitted: dict) -> None:
    out = fitted["out"]
    result = json.loads((out / "ensemble.json").read_text())
    assert [m["seed"] for m in result["members"]] == [0, 1, 2]
    outputs = [np.load(out / f"member{i}" / "ensemble_outputs.npz") for i in range(MEMBERS)]
    for i, member in enumerate(result["members"]):
        summary = json.loads((out / f"member{i}" / "summary.json").read_text())
        assert member["test_rmse"] == pytest.approx(summary["rmse"], rel=1e-5)  # the epoch test used
        config = yaml.safe_load((out / f"member{i}" / "config.yaml").read_text())
        assert config["seed_everything"] == i
    test = np.stack([o["test_predicted"] for o in outputs])
    assert not np.allclose(test[0], test[1])  # the seeds gave different networks
    rows = read_rows(out / "ensemble_test.csv")
    predicted = np.array([float(r["predicted_target"]) for r in rows])
    reference = np.array([float(r["reference_target"]) for r in rows])
    np.testing.assert_allclose(predicted, test.mean(axis=0)[:, 0], rtol=1e-5)
    assert result["test_rmse"] == pytest.approx(np.sqrt(np.mean((predicted - reference) ** 2)), rel=1e-4)
    assert result["test_rmse"] <= max(m["test_rmse"] for m in result["members"])  # the mean beats the worst
    assert result["classical_best_rmse"] > 0 and result["pls_rmse"] > 0
    assert [Path(p).name for p in result["figures"]] == ["parity_ensemble_target.png"]
    assert all(Path(p).stat().st_size > 10_000 for p in result["figures"])


def test_the_interval_holds_the_asked_share_of_the_validation_spectra(fitted: dict) -> None:
    out = fitted["out"]
    result = json.loads((out / "ensemble.json").read_text())
    outputs = [np.load(out / f"member{i}" / "ensemble_outputs.npz") for i in range(MEMBERS)]
    mean, spread = member_spread(np.stack([o["val_predicted"] for o in outputs]))
    factor = result["interval_factor"][0]
    inside = np.abs(outputs[0]["val_reference"] - mean) <= factor * spread * (1 + 1e-9)
    assert inside.mean() >= 0.9 and (np.abs(outputs[0]["val_reference"] - mean) <= 0.9 * factor * spread).mean() < 1
    rows = read_rows(out / "ensemble_test.csv")
    covered = [float(r["lower_target"]) <= float(r["reference_target"]) <= float(r["upper_target"]) for r in rows]
    assert result["test_interval_coverage"] == pytest.approx(np.mean(covered))


def test_predict_gives_the_members_mean_and_keeps_their_training_logs(fitted: dict) -> None:
    folder, out = fitted["folder"], fitted["out"]
    spectra, _ = band_spectra(np.random.default_rng(5), 6)
    np.savez(folder / "new.npz", spectra=spectra)
    main(["predict", "--ensemble", str(out), "--predict_path", str(folder / "new.npz")])
    rows = read_rows(out / "predictions.csv")
    assert [r["spectrum"] for r in rows] == [f"new.npz[{i}]" for i in range(6)]
    members = np.array(
        [
            [float(r["predicted_target"]) for r in read_rows(out / "predict" / f"member{i}" / "predictions.csv")]
            for i in range(MEMBERS)
        ]
    )
    np.testing.assert_allclose([float(r["predicted_target"]) for r in rows], members.mean(axis=0), rtol=1e-4)
    np.testing.assert_allclose([float(r["sd_target"]) for r in rows], members.std(axis=0, ddof=1), rtol=1e-3)
    assert all(float(r["lower_target"]) < float(r["predicted_target"]) < float(r["upper_target"]) for r in rows)
    assert all((out / f"member{i}" / "metrics.csv").exists() for i in range(MEMBERS))


def test_a_killed_fit_resumes_with_the_finished_members_kept(fitted: dict, capsys: pytest.CaptureFixture) -> None:
    out = fitted["out"]
    before = json.loads((out / "ensemble.json").read_text())["members"]
    kept = (out / "member0" / "summary.json").stat().st_mtime_ns
    (out / "member2" / "ensemble_outputs.npz").unlink()  # member 2 was killed before it finished
    main(fitted["args"])
    printed = capsys.readouterr().out
    assert "member 1 of 3: seed 0" in printed and "done earlier: kept" in printed
    assert (out / "member0" / "summary.json").stat().st_mtime_ns == kept
    after = json.loads((out / "ensemble.json").read_text())["members"]
    assert [m["test_rmse"] for m in after] == pytest.approx([m["test_rmse"] for m in before], rel=1e-5)


def test_other_settings_on_an_ensemble_folder_are_refused(fitted: dict, capsys: pytest.CaptureFixture) -> None:
    args = [a if a != str(MEMBERS) else "4" for a in fitted["args"]]
    with pytest.raises(SystemExit) as stop:
        main(args)
    assert stop.value.code == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: ") and "--overwrite" in error and len(error.splitlines()) == 1


def test_a_classification_config_is_one_line_before_any_training(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["fit", "--config", str(CONF / "files_tiny.yaml"), "--out", str(tmp_path / "ens")])
    assert stop.value.code == 2
    assert "regression" in capsys.readouterr().err and not list(tmp_path.glob("ens/member*"))


def test_predict_without_a_fitted_ensemble_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["predict", "--ensemble", str(tmp_path), "--predict_path", str(tmp_path / "new.csv")])
    assert stop.value.code == 2
    assert "ensemble.json" in capsys.readouterr().err


def test_the_requested_task_reads_the_command_line_after_the_config() -> None:
    config = {"data": {"init_args": {"task": "classification"}}}
    assert requested_task(config, []) == "classification"
    assert requested_task(config, ["--data.init_args.task", "regression"]) == "regression"
    assert requested_task({}, ["--data.init_args.task=regression"]) == "regression"
    assert requested_task({}, []) == "classification"


def test_overwrite_deletes_every_file_of_the_earlier_ensemble_and_keeps_the_users(tmp_path: Path) -> None:
    """Only what the ensemble recorded as written goes: a user's ``member7/``, ``figures/mine.png``,
    ``predict/notes.txt`` and ``predictions.csv`` (named like the ensemble's) stay (issue 35)."""
    from lightning_spectra.apps.ensemble import prepare_out
    from lightning_spectra.runs.manifest import record_written

    out = tmp_path / "ens"
    prepare_out(out, {"members": 3}, overwrite=False)
    ours = ("member0/summary.json", "figures/parity_ensemble_target.png", "predict/member0/predictions.csv")
    record_written(out, "ensemble", ["member0", "figures/parity_ensemble_target.png", "predict/member0"])
    users = ("member7/summary.json", "figures/mine.png", "predict/notes.txt", "predictions.csv", "my_notes.txt")
    for name in (*ours, *users):
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_text("written")
    prepare_out(out, {"members": 4}, overwrite=True)
    left = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert left == sorted(["ensemble_plan.json", "lightning_spectra_written.json", *users])


def test_an_out_folder_of_other_files_is_refused_before_any_training(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """A folder that holds the user's files and no ensemble: one line, exit 2, nothing written (issue 35)."""
    out = tmp_path / "mine"
    out.mkdir()
    (out / "member_list.csv").write_text("a,b\n")
    with pytest.raises(SystemExit) as stop:
        main(["fit", "--config", str(regression_config(tmp_path)), "--out", str(out)])
    assert stop.value.code == 2
    assert capsys.readouterr().err.strip() == (
        f"error: --out {out}: holds other files (member_list.csv) and no ensemble of ours; give an empty or new folder"
    )
    assert [p.name for p in out.iterdir()] == ["member_list.csv"]


def test_an_ensemble_written_before_manifests_is_overwritten_by_its_own_names_only(tmp_path: Path) -> None:
    """Its plan and result say which members and figures were its own; ``member5`` and ``predictions.csv``
    may be the user's and stay."""
    from lightning_spectra.apps.ensemble import prepare_out

    out = tmp_path / "ens"
    out.mkdir()
    (out / "ensemble_plan.json").write_text(json.dumps({"seeds": [0, 1]}))
    (out / "ensemble.json").write_text(json.dumps({"figures": [str(out / "figures" / "parity_ensemble_t.png")]}))
    for name in ("member0/a", "member1/a", "member0.yaml", "figures/parity_ensemble_t.png", "member5/a"):
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_text("x")
    (out / "predictions.csv").write_text("mine")
    prepare_out(out, {"seeds": [0, 1, 2]}, overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == [
        "ensemble_plan.json",
        "lightning_spectra_written.json",
        "member5",
        "predictions.csv",
    ]


def fake_ensemble(folder: Path) -> Path:
    """An ``ensemble.json`` that ``predict`` reads before it runs any member."""
    folder.mkdir()
    result = {"target_names": ["fat"], "members": [{"checkpoint": "member0/checkpoints/last.ckpt"}]}
    (folder / "ensemble.json").write_text(json.dumps(result))
    return folder


def test_predict_onto_the_new_spectra_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """``--output`` equal to ``--predict_path`` (by another spelling too), or inside a ``--predict_path`` folder:
    one line, exit 2, the spectra untouched (they were replaced by the predictions, exit 0; issue 35)."""
    ensemble = fake_ensemble(tmp_path / "ens")
    new = tmp_path / "new.csv"
    new.write_text("x,1,2\n")
    spectra = tmp_path / "spectra"
    spectra.mkdir()
    for predict_path, output, message in [
        (new, tmp_path / "." / "new.csv", "is the --predict_path file; the predictions would replace the spectra"),
        (spectra, spectra / "predictions.csv", "is inside the --predict_path folder"),
    ]:
        with pytest.raises(SystemExit) as stop:
            main(["predict", "--ensemble", str(ensemble), "--predict_path", str(predict_path), "--output", str(output)])
        assert stop.value.code == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith(f"error: {output}: {message}") and "\n" not in err
    assert new.read_text() == "x,1,2\n" and list(spectra.iterdir()) == []


def test_predict_never_overwrites_a_predictions_csv_it_did_not_write(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """A ``predictions.csv`` the user put into the ensemble folder is theirs: the default output is refused."""
    from lightning_spectra.runs.manifest import record_written

    ensemble = fake_ensemble(tmp_path / "ens")
    record_written(ensemble, "ensemble", ["ensemble_plan.json", "ensemble.json"])
    (ensemble / "predictions.csv").write_text("mine")
    (tmp_path / "new.csv").write_text("x,1,2\n")
    with pytest.raises(SystemExit) as stop:
        main(["predict", "--ensemble", str(ensemble), "--predict_path", str(tmp_path / "new.csv")])
    assert stop.value.code == 2
    assert capsys.readouterr().err.strip() == (
        f"error: {ensemble / 'predictions.csv'}: a file this ensemble did not write; give --output to write the "
        "predictions elsewhere"
    )
    assert (ensemble / "predictions.csv").read_text() == "mine"


def test_member_checkpoints_are_the_ensemble_folders_own(tmp_path: Path) -> None:
    """Stored relative to the ensemble; an old absolute path into ``member<i>/`` is read from this folder when
    the copy holds the file, so a copied ensemble never predicts with the original's members (issue 35)."""
    from lightning_spectra.apps.ensemble import member_checkpoint, relative_checkpoint

    out = tmp_path / "ens"
    assert relative_checkpoint(out, out / "member0" / "checkpoints" / "epoch=2.ckpt") == str(
        Path("member0/checkpoints/epoch=2.ckpt")
    )
    assert relative_checkpoint(out, tmp_path / "elsewhere.ckpt") == str(tmp_path / "elsewhere.ckpt")
    copy = tmp_path / "copy"
    assert member_checkpoint(copy, 0, "member0/checkpoints/epoch=2.ckpt") == copy / "member0/checkpoints/epoch=2.ckpt"
    original = str(out / "member1" / "checkpoints" / "epoch=2.ckpt")
    assert member_checkpoint(copy, 1, original) == Path(original)  # the copy lacks it: the recorded file
    (copy / "member1" / "checkpoints").mkdir(parents=True)
    (copy / "member1" / "checkpoints" / "epoch=2.ckpt").write_text("")
    assert member_checkpoint(copy, 1, original) == copy / "member1" / "checkpoints" / "epoch=2.ckpt"


def test_a_copied_ensemble_predicts_with_its_own_members(fitted: dict, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(fitted["out"], copy)
    members = json.loads((copy / "ensemble.json").read_text())["members"]
    assert all(
        not Path(m["checkpoint"]).is_absolute() and m["checkpoint"].startswith(f"member{i}/")
        for i, m in enumerate(members)
    )
    moved = fitted["out"].with_name("moved_away")
    fitted["out"].rename(moved)  # the original is gone (or refitted): the copy needs only itself
    try:
        spectra, _ = band_spectra(np.random.default_rng(5), 6)
        np.savez(tmp_path / "new.npz", spectra=spectra)
        path = main(["predict", "--ensemble", str(copy), "--predict_path", str(tmp_path / "new.npz")])
        assert path is None and len(read_rows(copy / "predictions.csv")) == 6
    finally:
        moved.rename(fitted["out"])


def test_intervals_wider_than_the_targets_range_are_counted_and_warned_of() -> None:
    """Two targets; the test references span 4 (fat) and 10 (water). Intervals of width 5 are wider than fat's
    range but not water's: ensemble.json records how many, and the command prints one line."""
    reference = np.stack([np.linspace(2, 6, 8), np.linspace(0, 10, 8)], axis=1)
    mean = reference + 0.1
    width = np.array([[5.0, 5.0]] * 8)
    width[:5, 0] = 1.0  # five of fat's intervals are narrow, three wide
    test = EnsemblePrediction(mean, np.ones_like(mean), mean - width / 2, mean + width / 2, np.ones(2))
    recorded = wider_than_range(test, reference)
    assert recorded == {
        "interval_wider_than_range": True,
        "intervals_wider_than_range": 3,
        "test_reference_range": [4.0, 10.0],
    }
    result = {
        "target_names": ["fat", "water"],
        "test_spectra": 8,
        "coverage": 0.9,
        "test_interval_mean_width": float(width.mean()),
        **recorded,
    }
    line = wide_interval_warning(result)
    assert line == (
        "warning: 3 of 16 test intervals (90%) are wider than the range of the test reference values (fat 4, "
        "water 10); mean width 3.75. Such an interval says little about a spectrum: more members, more validation "
        "spectra or a better model narrow it"
    )
    narrow = EnsemblePrediction(mean, np.ones_like(mean), mean - 0.5, mean + 0.5, np.ones(2))
    assert wider_than_range(narrow, reference)["interval_wider_than_range"] is False
    assert wide_interval_warning({**result, **wider_than_range(narrow, reference)}) is None


def test_sigterm_exits_143_with_a_hint_that_fits_the_ensemble(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """It exited 0 with the member's hint to resume with ``--ckpt_path``, which the ensemble does not take
    (issue 35); the same command again resumes it (test_a_killed_fit_resumes_with_the_finished_members_kept)."""
    from lightning.pytorch.utilities.exceptions import SIGTERMException

    import lightning_spectra.apps.ensemble as ensemble

    def stopped(*args: object) -> None:
        raise SIGTERMException

    monkeypatch.setattr(ensemble, "fit_member", stopped)
    out = tmp_path / "ens"
    with pytest.raises(SystemExit) as stop:
        main(["fit", "--config", str(regression_config(tmp_path)), "--members", "2", "--out", str(out)])
    assert stop.value.code == 143
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f"the ensemble in {out} stopped by SIGTERM; run the same command again to resume it: the members that "
        "finished are kept, the stopped one trains again (the command takes no --ckpt_path)"
    )


def fake_member(rng: np.random.Generator, validation: int):
    """A ``fit_member`` that writes a member's outputs at once: ``validation`` validation spectra, 8 test ones."""
    import lightning_spectra.apps.ensemble as ensemble

    def fit(config: dict, out: Path, name: str, seed: int, extra_args: object) -> None:
        val_reference, test_reference = rng.uniform(0, 1, (validation, 1)), rng.uniform(0, 1, (8, 1))
        outputs = {
            "val_predicted": val_reference + rng.normal(0, 0.1, val_reference.shape),
            "val_reference": val_reference,
            "test_predicted": test_reference + rng.normal(0, 0.1, test_reference.shape),
            "test_reference": test_reference,
            "test_names": np.asarray([f"s{i}" for i in range(8)]),
            "target_names": np.asarray(["target"]),
            "checkpoint": np.asarray(f"{name}/checkpoints/best.ckpt"),
        }
        (out / name).mkdir(parents=True, exist_ok=True)
        np.savez(out / name / ensemble.MEMBER_OUTPUTS, **outputs)

    return fit


def test_a_coverage_the_validation_spectra_cannot_give_is_labelled_with_the_one_they_can(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """``--coverage 0.99`` with 12 validation spectra gave their largest score, the 92 % interval, labelled 99 %
    (split conformal needs ceil((n + 1) x 0.99) <= n, so 99 spectra; issue 35)."""
    import lightning_spectra.apps.ensemble as ensemble

    monkeypatch.setattr(ensemble, "fit_member", fake_member(np.random.default_rng(0), 12))
    out = tmp_path / "ens"
    config = str(regression_config(tmp_path))
    main(["fit", "--config", config, "--members", "3", "--coverage", "0.99", "--out", str(out)])
    printed = capsys.readouterr().out
    assert (
        "warning: --coverage 0.99 needs at least 99 validation spectra, the split has 12: the interval is calibrated "
        "and labelled for the 92.3% they can promise; give more validation spectra or a lower --coverage"
    ) in printed.splitlines()
    result = json.loads((out / "ensemble.json").read_text())
    assert result["coverage"] == pytest.approx(12 / 13) and result["coverage_asked"] == 0.99
    assert "92% interval" in printed and "99%" not in printed.replace("--coverage 0.99", "")


def test_a_seed_giving_a_member_a_seed_out_of_range_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """``--seed -3`` ended in a traceback when member 0 was seeded (issue 35)."""
    config = str(regression_config(tmp_path))
    for seed, members in (("-3", "3"), (str(2**32 - 2), "3")):
        with pytest.raises(SystemExit) as stop:
            main(["fit", "--config", config, "--members", members, "--seed", seed, "--out", str(tmp_path / "ens")])
        assert stop.value.code == 2
        assert capsys.readouterr().err.strip() == (
            f"error: --seed {seed}: member i trains with seed + i, which must lie between 0 and 4294967295; give a "
            "--seed from 0 to 4294967293"
        )
    assert not (tmp_path / "ens").exists()


# ------------------------------------------------------------------------------------- one fit per folder
def hold_lock(folder: Path):
    """The folder's lock as another ``ensemble fit`` holds it (flock: per open file, so also within a process)."""
    import fcntl
    import os

    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    os.write(fd, b"4242\n")
    return fd


def test_a_second_fit_into_the_same_out_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    import os

    out = tmp_path / "ens"
    fd = hold_lock(out)
    try:
        with pytest.raises(SystemExit) as stop:
            main(["fit", "--config", str(regression_config(tmp_path)), "--out", str(out), "--", "--x", "1"])
    finally:
        os.close(fd)
    err = capsys.readouterr().err
    assert stop.value.code == 2 and len(err.splitlines()) == 1
    assert err.startswith(f"error: --out {out}: another ensemble fit (process 4242) is writing into it")
    assert [p.name for p in out.iterdir()] == [LOCK_FILE]  # refused before any work


def test_the_lock_of_a_killed_fit_does_not_block_a_rerun(tmp_path: Path) -> None:
    """The kernel drops a flock with its process: the file left behind is no lock, and no file of the user's."""
    import subprocess
    import sys

    hold = "import sys, time; from pathlib import Path; from lightning_spectra.runs.folder_lock import folder_lock\n"
    hold += "with folder_lock(Path(sys.argv[1]), '--out', 'ensemble fit'):\n"
    hold += "    print('held', flush=True); time.sleep(60)"
    holder = subprocess.Popen([sys.executable, "-c", hold, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(SpectraConfigError, match="another ensemble fit"):
            folder_lock(tmp_path, "--out", "ensemble fit").__enter__()
    finally:
        holder.kill()
        holder.wait()
    with folder_lock(tmp_path, "--out", "ensemble fit"):
        refuse_foreign(tmp_path, "--out", "ensemble", "ensemble")  # the lock file alone: an empty folder
