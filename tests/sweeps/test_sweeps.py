"""Real Optuna sweeps on the tiny CNN: worker processes sharing a journal, a killed worker, a trial that raises,
a multi-objective study, one offline W&B run per trial, and a best config that trains."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
import yaml
from conftest import CONF, ROOT
from optuna.artifacts import get_all_artifact_meta
from optuna.trial import TrialState

from lightning_spectra.cli import main as train_main
from lightning_spectra.sweeps.best_configs import print_report, write_best_configs
from lightning_spectra.sweeps.storage import artifact_store, create_or_load_study, open_storage
from lightning_spectra.sweeps.sweep_file import load_spec
from lightning_spectra.sweeps.worker import run_worker

SWEEP = CONF / "sweep_cnn_tiny.yaml"
WANDB = Path(sys.executable).parent / "wandb"
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
optuna.logging.set_verbosity(optuna.logging.WARNING)


def sweep_file(tmp_path: Path, **changes) -> Path:
    """The tiny sweep with some keys changed, written to tmp_path (its base config path made absolute)."""
    spec = {**yaml.safe_load(SWEEP.read_text()), "config": str(CONF / "cnn_tiny.yaml"), **changes}
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))  # objectives keep their order
    return path


def sweep_command(*args: str) -> list[str]:
    return [sys.executable, str(ROOT / "sweep.py"), *args]


def run_sweep(*args: str) -> subprocess.CompletedProcess:
    result = subprocess.run(sweep_command(*args), capture_output=True, text=True, timeout=300)
    print(result.stdout, result.stderr[-3000:])
    return result


def load(out: Path, name: str = "cnn-tiny") -> optuna.Study:
    return optuna.load_study(study_name=name, storage=open_storage(str(out / "journal.log")))


def wandb_runs(out: Path) -> dict[str, dict]:
    """Each offline run as the real W&B client reads it (``wandb leet inspect``), by run name.

    ``--summary`` gives state, config and summary; the run record of the plain ``--json`` dump has the group.
    """

    def inspect(*args: str) -> subprocess.Popen:
        return subprocess.Popen([str(WANDB), "leet", "inspect", "--json", *args], stdout=subprocess.PIPE, text=True)

    calls = [(inspect("--summary", str(d)), inspect(str(d))) for d in sorted((out / "wandb").glob("offline-run-*"))]
    runs = {}
    for summary_call, records_call in calls:  # started together: each call is a process of its own
        summary = json.loads(summary_call.communicate(timeout=60)[0])
        records = records_call.communicate(timeout=60)[0].splitlines()
        run_record = next(json.loads(line)["run"] for line in records if '"type":"run"' in line)
        runs[summary["name"]] = {**summary, "group": run_record.get("run_group")}
    return runs


def test_two_workers_share_a_journal_and_log_one_wandb_run_per_trial(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "sweep"
    result = run_sweep("--sweep", str(SWEEP), "--cpu-workers", "2", "--n-trials", "4", "--out", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "best trial of study cnn-tiny" in result.stdout

    study = load(out)
    assert [t.state in FINISHED for t in study.trials] == [True] * 4  # exactly the requested count, no failures
    assert len({t.user_attrs["worker"]["pid"] for t in study.trials}) == 2  # both workers ran trials
    assert study.metric_names == ["val/loss"]  # optuna-dashboard names the objective
    for trial in study.trials:  # one console line per finished trial, with the best so far
        state = "complete: val/loss" if trial.state == TrialState.COMPLETE else "pruned"
        assert f"trial {trial.number} {state}" in result.stdout
    assert f"best val/loss {study.best_value:.4g} (trial" in result.stdout
    # An ETA wherever trials remain (the workers may finish all four between two looks of the launcher).
    status = [line for line in result.stdout.splitlines() if line.startswith("trial ") and "/4 finished" in line]
    assert status and all("ETA " in line for line in status if "4/4 finished" not in line)
    frame = study.trials_dataframe()  # the documented way to read a study (pandas)
    assert {"value_val/loss", "user_attrs_val/confidence", "user_attrs_train_time_s"} <= set(frame.columns)
    [best_artifact] = get_all_artifact_meta(study)
    with artifact_store(str(out / "journal.log"), out).open_reader(best_artifact.artifact_id) as f:
        assert f.read() == (out / "best.yaml").read_bytes() and best_artifact.filename == "best.yaml"

    runs = wandb_runs(out)
    assert sorted(runs) == sorted(f"trial-{t.number}" for t in study.trials)
    for trial in study.trials:
        run = runs[f"trial-{trial.number}"]
        assert run["state"] == "finished" and run["group"] == "cnn-tiny"
        assert run["summary"]["trainable_parameters"] == 14965
        assert run["config"]["model"]["init_args"]["lr"] == pytest.approx(trial.params["model.init_args.lr"])
        if trial.state == TrialState.COMPLETE:
            assert run["summary"]["val/loss"] == pytest.approx(trial.value)
            assert run["summary"]["train_time_s"] > 0 and "val/confidence" in run["summary"]
        else:
            assert run["summary"]["pruned"] is True and run["summary"]["val/loss"]["min"] > 0

    best = out / "best.yaml"
    assert yaml.safe_load(best.read_text())["model"]["init_args"]["lr"] == study.best_params["model.init_args.lr"]
    monkeypatch.chdir(tmp_path)  # the best config logs where the base config does: ./logs/cnn_tiny
    monkeypatch.setattr(sys, "argv", sys.argv[:1])
    # unchanged but for the attribution callbacks (figures take seconds); the slow test runs it verbatim
    train_main(["fit", "--config", str(best), "--trainer.callbacks=[{class_path: lightning_spectra.callbacks.Timing}]"])
    summary = json.loads(next((tmp_path / "logs" / "cnn_tiny").glob("version_*/summary.json")).read_text())
    assert summary["epochs"] == study.best_params["trainer.max_epochs"]


def _wait_for_a_claimed_trial(out: Path, timeout_s: float = 120) -> optuna.trial.FrozenTrial:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        time.sleep(0.1)
        try:
            running = load(out).get_trials(states=(TrialState.RUNNING,))
        except (KeyError, FileNotFoundError):
            continue  # the launcher has not created the study yet
        for trial in running:
            # claimed and sampled: a trial killed between the two keeps no parameters for its retry to repeat
            if trial.user_attrs.get("worker", {}).get("trial") == trial.number and trial.params:
                return trial
    raise AssertionError("no trial started")


def test_killed_worker_loses_nothing_its_trial_is_retried_and_a_rerun_resumes(tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    sweep = sweep_file(
        tmp_path,
        pruner=None,
        overrides={"test_after_fit": False, "trainer.max_epochs": 4},
        space={"model.init_args.lr": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True}},
    )
    launcher = subprocess.Popen(
        sweep_command("--sweep", str(sweep), "--cpu-workers", "2", "--n-trials", "2", "--out", str(out)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    victim = _wait_for_a_claimed_trial(out)
    os.kill(victim.user_attrs["worker"]["pid"], signal.SIGKILL)  # mid-trial, as when a node dies
    stdout, stderr = launcher.communicate(timeout=300)
    print(stdout, stderr[-3000:])
    assert launcher.returncode == 1 and "ended early" in stderr

    study = load(out)
    killed = study.trials[victim.number]
    assert killed.state == TrialState.FAIL and "fail_reason" not in killed.user_attrs
    [retry] = [t for t in study.trials if t.system_attrs.get("failed_trial") == victim.number]
    assert retry.state == TrialState.COMPLETE and retry.params == killed.params
    assert not study.get_trials(states=(TrialState.RUNNING, TrialState.WAITING))
    done = {t.number: t.value for t in study.get_trials(states=(TrialState.COMPLETE,))}
    assert len(done) == 2

    result = run_sweep("--sweep", str(sweep), "--cpu-workers", "1", "--n-trials", "3", "--out", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    resumed = {t.number: t.value for t in load(out).get_trials(states=(TrialState.COMPLETE,))}
    assert len(resumed) == 3 and resumed.items() >= done.items()  # earlier trials kept as they were


def test_a_trial_that_raises_is_recorded_and_the_sweep_goes_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", sys.argv[:1])
    spec = load_spec(
        sweep_file(
            tmp_path,
            pruner=None,
            space={
                "model.init_args.lr": {"type": "float", "low": 1e-3, "high": 2e-3},
                "data.init_args.batch_size": {"type": "categorical", "choices": [-1, None]},
            },
        )
    )
    storage = str(tmp_path / "journal.log")
    study = create_or_load_study(open_storage(storage), "s", spec)
    study.enqueue_trial({"model.init_args.lr": 1e-3, "data.init_args.batch_size": -1})  # refused before the build
    study.enqueue_trial({"model.init_args.lr": 1e-3, "data.init_args.batch_size": None})

    run_worker(spec, "s", storage, n_trials=1, out_dir=tmp_path)
    failed, complete = load(tmp_path, "s").trials
    assert failed.state == TrialState.FAIL and "batch_size" in failed.user_attrs["fail_reason"]
    assert complete.state == TrialState.COMPLETE
    runs = wandb_runs(tmp_path)
    assert "trial-0" not in runs  # refused before anything was built: no W&B run was started for it
    assert runs["trial-1"]["exit_code"] == 0


def test_multi_objective_sweep_writes_its_pareto_front(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setattr(sys, "argv", sys.argv[:1])
    spec = load_spec(
        sweep_file(tmp_path, pruner=None, objectives={"val/confidence": "maximize", "train_time_s": "minimize"})
    )
    storage = str(tmp_path / "journal.log")
    study = create_or_load_study(open_storage(storage), "tradeoff", spec)
    run_worker(spec, "tradeoff", storage, n_trials=3, out_dir=tmp_path)

    study = load(tmp_path, "tradeoff")
    assert len(study.get_trials(states=(TrialState.COMPLETE,))) == 3
    paths = write_best_configs(spec, study, tmp_path)
    assert sorted(p.name for p in paths) == sorted(f"trial-{t.number}.yaml" for t in study.best_trials)
    for trial in study.best_trials:
        assert 0 <= trial.values[0] <= 1 and trial.values[1] > 0
        assert trial.user_attrs["train_time_s"] == trial.values[1]  # a flat attribute: a sortable column
    assert study.metric_names == ["val/confidence", "train_time_s"]
    print_report(spec, study, paths, n_trials=3)
    assert f"Pareto front ({len(study.best_trials)} trials) of study tradeoff" in capsys.readouterr().out


@pytest.mark.slow
def test_acceptance_eight_trials_on_two_cpu_workers_and_train_py_trains_the_best(tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    start = time.monotonic()
    result = run_sweep("--sweep", str(SWEEP), "--cpu-workers", "2", "--n-trials", "8", "--out", str(out))
    elapsed = time.monotonic() - start
    assert result.returncode == 0, result.stderr[-3000:]
    study = load(out)
    assert len(study.get_trials(states=FINISHED)) == 8
    assert len(wandb_runs(out)) == len(study.trials)
    print(f"8 trials in {elapsed:.0f} s: {8 * 3600 / elapsed:.0f} trials/hour")
    trained = subprocess.run(
        [sys.executable, str(ROOT / "train.py"), "fit", "--config", str(out / "best.yaml")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert trained.returncode == 0, trained.stderr[-3000:]


# ------------------------------------------------------------------------------------------- sweeps that cannot succeed
def test_a_misspelt_space_key_or_objective_is_refused_before_the_first_trial(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """A space key or objective no fit knows stops the sweep before its first trial, with exit 2."""
    from lightning_spectra.sweeps.command import main as sweep_main

    space = {"model.init_args.lrr": {"type": "float", "low": 1e-4, "high": 1e-2}}
    bad_key = sweep_file(tmp_path, pruner=None, space=space)
    assert sweep_main(["--sweep", str(bad_key), "--out", str(tmp_path / "a"), "--cpu-workers", "1"]) == 2
    err = capsys.readouterr().err
    assert "a trial's config does not parse: model.init_args.lrr: no such option; did you mean model.init_args.lr?" in (
        err
    )
    assert not (tmp_path / "a" / "journal.log").exists()  # no study, no trial

    bad_objective = sweep_file(tmp_path, pruner=None, objectives={"val/los": "minimize"})
    assert sweep_main(["--sweep", str(bad_objective), "--out", str(tmp_path / "b")]) == 2
    assert "objective 'val/los' is never logged by a fit; did you mean val/loss" in capsys.readouterr().err


def test_regression_objectives_are_known_names() -> None:
    """A regression sweep (``val/rmse: minimize``) is not refused as "never logged"."""
    from lightning_spectra.sweeps.check import known_names

    logged, summary, _ = known_names()
    assert {"val/rmse", "val/r2", "test/rpd", "train/rmse"} <= logged and {"rmse", "pls_rmse", "pls_r2"} <= summary
    assert {"val/accuracy", "val/confidence", "train/accuracy"} <= logged and "svc_accuracy" in summary
    assert "val/rmsee" not in logged and "train/r2" not in logged


@pytest.mark.parametrize("option", [["--cpu-workers", "0"], ["--n-trials", "-3"]])
def test_nonsense_counts_are_refused(option: list[str], tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from lightning_spectra.sweeps.command import main as sweep_main

    with pytest.raises(SystemExit) as exit_info:
        sweep_main(["--sweep", str(SWEEP), "--out", str(tmp_path), *option])
    assert exit_info.value.code == 2
    assert f"argument {option[0]}: must be at least 1, got {option[1]}" in capsys.readouterr().err


def test_a_sweep_whose_trials_all_fail_exits_non_zero_with_the_reasons(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """A sweep whose every trial fails exits 1 and prints each trial's whole reason.

    In-process (the worker and the launcher's report and verdict) to stay fast; the launcher's subprocess
    path is the same code after its workers exit.
    """
    from lightning_spectra.sweeps.command import unfinished

    monkeypatch.setattr(sys, "argv", sys.argv[:1])
    spec = load_spec(
        sweep_file(
            tmp_path,
            pruner=None,
            overrides={"test_after_fit": False, "trainer.max_epochs": 1},
            space={"data.init_args.batch_size": {"type": "categorical", "choices": [-1]}},  # parses, fails in fit
        )
    )
    storage = str(tmp_path / "journal.log")
    create_or_load_study(open_storage(storage), "s", spec)
    run_worker(spec, "s", storage, n_trials=1, out_dir=tmp_path, max_failures=1)
    study = load(tmp_path, "s")
    print_report(spec, study, [], n_trials=1)
    assert "trial 0 failed: SpectraConfigError: data.init_args.batch_size must be at least 1, got -1" in (
        capsys.readouterr().out
    )
    assert unfinished(study, 1) == "study s has 0 of 1 trials finished; 1 failed (reasons above)"


def test_a_torn_journal_line_is_cut_and_the_study_goes_on(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """A journal whose last line a killed writer left torn is cut back to its last whole record and loads."""
    from lightning_spectra.sweeps.storage import repair_journal

    journal = tmp_path / "journal.log"
    study = optuna.create_study(storage=open_storage(str(journal)), study_name="s")
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
    journal.write_bytes(journal.read_bytes()[:-30])  # the last record cut off

    assert repair_journal(journal) > 0
    assert "ended in a cut-off record" in capsys.readouterr().err
    study = optuna.load_study(storage=open_storage(str(journal)), study_name="s")
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1)  # appends after the cut, not onto it
    reloaded = optuna.load_study(storage=open_storage(str(journal)), study_name="s")
    assert len(reloaded.trials) == 4 and repair_journal(journal) == 0


def test_a_resumed_sweep_does_not_repeat_a_configuration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A resumed seeded sweep mixes the seed with the trials done, so it does not replay trial 0's parameters."""
    monkeypatch.setattr(sys, "argv", sys.argv[:1])
    spec = load_spec(
        sweep_file(
            tmp_path,
            pruner=None,
            overrides={"test_after_fit": False, "trainer.max_epochs": 1},
            space={"model.init_args.lr": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True}},
        )
    )
    storage = str(tmp_path / "journal.log")
    create_or_load_study(open_storage(storage), "s", spec)
    run_worker(spec, "s", storage, n_trials=1, out_dir=tmp_path)
    run_worker(spec, "s", storage, n_trials=2, out_dir=tmp_path)  # the same command again, one more trial
    first, second = load(tmp_path, "s").trials
    assert first.params != second.params


def test_a_finished_sweep_prints_the_optuna_dashboard_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """The sweep's last lines say how to look at it: optuna-dashboard on its storage, with its artifacts."""
    from lightning_spectra.sweeps.command import main as sweep_main

    monkeypatch.setattr(sys, "argv", sys.argv[:1])
    space = {"model.init_args.lr": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True}}
    path = sweep_file(tmp_path, pruner=None, overrides={"test_after_fit": False, "trainer.max_epochs": 1}, space=space)
    storage = tmp_path.resolve() / "journal.log"
    spec = load_spec(path)
    create_or_load_study(open_storage(str(storage)), "s", spec)
    run_worker(spec, "s", str(storage), n_trials=1, out_dir=tmp_path)  # in-process: the launcher starts no worker
    assert sweep_main(["--sweep", str(path), "--study", "s", "--n-trials", "1", "--out", str(tmp_path)]) == 0
    expected = f"see the study in a browser: optuna-dashboard {storage} --artifact-dir {storage.parent / 'artifacts'}"
    assert capsys.readouterr().out.splitlines()[-1] == expected


def test_a_trial_whose_key_the_study_refuses_records_why(tmp_path: Path) -> None:
    """A worker whose sweep file gives a searched key another type than the study has (a file edited while
    another machine's workers run): the failed trial says why instead of "no reason recorded"."""
    from lightning_spectra.sweeps.objective import Objective

    storage = str(tmp_path / "journal.log")
    study = create_or_load_study(open_storage(storage), "s", load_spec(sweep_file(tmp_path)))
    study.add_trial(
        optuna.trial.create_trial(
            params={"trainer.max_epochs": 1},
            distributions={"trainer.max_epochs": optuna.distributions.IntDistribution(1, 2)},
            value=1.0,
        )
    )
    space = {"trainer.max_epochs": {"type": "categorical", "choices": [1, 2]}}
    spec = load_spec(sweep_file(tmp_path, pruner=None, space=space))
    study.optimize(Objective(spec, "s", tmp_path), n_trials=1, catch=(Exception,))
    failed = study.trials[-1]
    assert failed.state == TrialState.FAIL
    assert (
        failed.user_attrs["fail_reason"]
        == "ValueError: Cannot set different distribution kind to the same parameter name."
    )


def test_workers_die_with_a_killed_launcher(tmp_path: Path) -> None:
    """SIGKILL of sweep.py (no chance to stop its workers) ends them too: none goes on running trials alone."""
    import psutil

    out = tmp_path / "sweep"
    sweep = sweep_file(
        tmp_path,
        pruner=None,
        overrides={"test_after_fit": False, "trainer.max_epochs": 50},  # a trial long enough to be killed in
        space={"model.init_args.lr": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True}},
    )
    launcher = subprocess.Popen(
        sweep_command("--sweep", str(sweep), "--cpu-workers", "1", "--n-trials", "20", "--out", str(out)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    running = _wait_for_a_claimed_trial(out)  # the worker is past its start-up, training
    worker = psutil.Process(running.user_attrs["worker"]["pid"])
    assert worker.ppid() == launcher.pid
    left = [worker, *worker.children(recursive=True)]
    launcher.kill()
    launcher.wait()
    _, alive = psutil.wait_procs(left, timeout=30)
    assert alive == []


def test_a_worker_whose_launcher_ended_before_it_started_stops() -> None:
    """The launcher killed while its worker was still starting (before the parent-death signal was set)."""
    from lightning_spectra.sweeps.launch import LAUNCHER_ENV

    code = "from lightning_spectra.sweeps.launch import die_with_launcher; die_with_launcher(); print('running')"
    env = {**os.environ, LAUNCHER_ENV: "1", "PYTHONPATH": str(ROOT)}  # PID 1 is not this worker's parent
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.strip() == "the sweep launcher (PID 1) has ended; this worker stops"


def test_storage_naming_a_folder_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from lightning_spectra.sweeps.command import main as sweep_main

    assert sweep_main(["--sweep", str(SWEEP), "--out", str(tmp_path), "--storage", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.strip() == (
        f"error: --storage {tmp_path} is a folder; give a journal file in it (e.g. {tmp_path / 'journal.log'}) "
        "or a database URL"
    )


def test_a_read_only_out_folder_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    from faults import read_only

    from lightning_spectra.sweeps.command import main as sweep_main

    out = read_only(tmp_path / "ro", monkeypatch) / "study"
    assert sweep_main(["--sweep", str(SWEEP), "--out", str(out), "--cpu-workers", "1"]) == 2
    assert capsys.readouterr().err.strip() == f"error: --out {out}: cannot write files there (Permission denied)"


def test_a_trial_attaches_its_figures_as_optuna_artifacts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", sys.argv[:1])
    importance = {"class_path": "lightning_spectra.callbacks.FeatureImportance", "init_args": {"split": "train"}}
    spec = load_spec(
        sweep_file(
            tmp_path,
            pruner=None,
            overrides={"test_after_fit": False, "trainer.max_epochs": 1},
            trial_only={"trainer.callbacks": [importance], "trainer.enable_checkpointing": False},
            space={"model.init_args.lr": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True}},
        )
    )
    storage = str(tmp_path / "journal.log")
    create_or_load_study(open_storage(storage), "s", spec)
    run_worker(spec, "s", storage, n_trials=1, out_dir=tmp_path)
    [trial] = load(tmp_path, "s").trials
    figures = sorted(p.name for p in (tmp_path / "trials" / "trial-0" / "figures").glob("*.png"))
    assert "feature_importance_train.png" in figures
    attached = get_all_artifact_meta(trial, storage=open_storage(storage))
    assert sorted(a.filename for a in attached) == figures
    assert all((tmp_path / "artifacts" / a.artifact_id).is_file() for a in attached)


def test_gpu_devices_are_checked_before_the_first_trial(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    import torch

    from lightning_spectra.sweeps.command import main as sweep_main

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    assert sweep_main(["--sweep", str(SWEEP), "--out", str(tmp_path), "--devices", "0"]) == 2
    assert capsys.readouterr().err == "error: --devices 0: this machine has no GPU; use --cpu-workers N\n"
    assert not (tmp_path / "journal.log").exists()  # no study, no trial


def test_each_finished_trial_is_one_line_with_the_best_so_far_and_an_eta() -> None:
    from lightning_spectra.sweeps.progress import TrialProgress

    spec = load_spec(SWEEP)
    study = optuna.create_study()
    progress = TrialProgress(spec, study, n_trials=4)
    assert progress(study) == []
    study.optimize(lambda t: [0.5, 0.25][t.number], n_trials=2)
    first, second = progress(study)
    assert first.startswith("trial 0 complete: val/loss 0.5 | 2/4 finished | best val/loss 0.25 (trial 1) | ETA ")
    assert second.startswith("trial 1 complete: val/loss 0.25 | 2/4")
    assert progress(study) == []  # each trial once
    study.optimize(lambda t: 1.0, n_trials=2)
    assert progress(study)[-1] == "trial 3 complete: val/loss 1 | 4/4 finished | best val/loss 0.25 (trial 1)"


def test_a_trials_wandb_run_is_named_after_the_trial_in_the_studys_group(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the trial's command line makes of the sweep's loggers: the run is ``trial-<n>`` in the study's group,
    whatever the sweep file's ``wandb:`` or the switch say (no sweep needed)."""
    from lightning_spectra.runs.wandb_runs import WANDB_SWITCH, complete_wandb_loggers
    from lightning_spectra.sweeps.objective import Objective

    monkeypatch.setenv(WANDB_SWITCH, "switched")
    spec = load_spec(sweep_file(tmp_path, wandb={"project": "p", "name": "mine", "group": "other"}))
    config = {
        "model": {"class_path": "lightning_spectra.models.CNN"},
        "data": {"class_path": "lightning_spectra.data.HEDDataModule"},
        "trainer": {"logger": Objective(spec, "cnn-tiny", tmp_path).loggers(7), "callbacks": None},
    }
    complete_wandb_loggers(config)
    [run] = [entry["init_args"] for entry in config["trainer"]["logger"] if entry["class_path"].endswith("WandbLogger")]
    assert run["name"] == "trial-7" and run["group"] == "cnn-tiny" and run["job_type"] == "trial"
    assert run["project"] == "p" and run["save_dir"] == str(tmp_path)
