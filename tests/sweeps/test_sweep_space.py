"""Sweep files, search spaces, storage, budget and dead-worker recovery, without training anything."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
import yaml
from conftest import CONF
from optuna.trial import TrialState

from lightning_spectra.runtime.composed_configs import load_config
from lightning_spectra.runtime.shipped_files import SWEEPS
from lightning_spectra.sweeps.best_configs import best_config, write_best_configs
from lightning_spectra.sweeps.budget import TrialBudget
from lightning_spectra.sweeps.orphans import WORKER_ATTR, claim, fail_orphaned_trials, this_process
from lightning_spectra.sweeps.space import SweepSpecError, cli_args, parse_space, set_dotted, suggest
from lightning_spectra.sweeps.storage import create_or_load_study, open_storage, retry_callback
from lightning_spectra.sweeps.sweep_file import load_spec

ROOT = Path(__file__).parents[2]
optuna.logging.set_verbosity(optuna.logging.WARNING)


def write_spec(tmp_path: Path, **changes) -> Path:
    spec = yaml.safe_load((CONF / "sweep_cnn_tiny.yaml").read_text())
    spec["config"] = str(CONF / "cnn_tiny.yaml")
    spec.update(changes)
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def _corner(dim, end: int):
    d = dim.distribution
    stored = d.choices[end] if hasattr(d, "choices") else (d.low, d.high)[end]
    return dim.value(stored)


@pytest.mark.parametrize("name", SWEEPS.names())  # every shipped sweep, read from the package
def test_every_model_has_a_valid_sweep(name: str) -> None:
    """Each sweep parses, and its model builds at both corners of the space (all lowest, all highest)."""
    import importlib

    path = ROOT / "sweeps" / f"{name}.yaml"
    raw = yaml.safe_load(path.read_text())
    if not (path.parent / raw["config"]).exists():
        pytest.skip(f"{raw['config']} not written yet")
    spec = load_spec(path)
    assert spec.n_trials and spec.space and spec.study
    base = load_config(spec.config)  # with its bases (runtime/composed_configs.py)
    module, cls = base["model"]["class_path"].rsplit(".", 1)
    model_class = getattr(importlib.import_module(module), cls)
    for end in (0, -1):
        corner = {k: _corner(d, end) for k, d in spec.space.items()}
        config = best_config(
            spec,
            optuna.trial.create_trial(
                params={
                    k: d.distribution.choices[end] if hasattr(d.distribution, "choices") else corner[k]
                    for k, d in spec.space.items()
                },
                distributions={k: d.distribution for k, d in spec.space.items()},
                values=[0.0] * len(spec.metrics),
            ),
        )
        assert all(k.split(".")[0] in ("model", "data", "trainer") for k in corner)
        model_class(**config["model"].get("init_args", {}))


def test_tiny_sweep_file_parses() -> None:
    spec = load_spec(CONF / "sweep_cnn_tiny.yaml")
    assert spec.config == (CONF / "cnn_tiny.yaml").resolve()
    assert spec.directions == ["minimize"] and spec.pruning_monitor == "val/loss"

    def first_trial(worker_index: int) -> dict:
        return suggest(optuna.create_study(sampler=spec.make_sampler(worker_index)).ask(), spec.space)

    assert first_trial(0) == first_trial(0) != first_trial(1)  # seeded, but workers do not repeat each other


def test_space_parses_validates_and_decodes() -> None:
    space = parse_space(
        {
            "model.init_args.lr": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True},
            "trainer.max_epochs": {"type": "int", "low": 1, "high": 3},
            "model.init_args.channels": {"type": "categorical", "choices": [[32, 32, 4], [64, 64, 4], None]},
        }
    )
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen = set()
    for _ in range(12):
        values = suggest(study.ask(), space)
        assert 1e-4 <= values["model.init_args.lr"] <= 1e-2 and values["trainer.max_epochs"] in (1, 2, 3)
        assert values["model.init_args.channels"] in ([32, 32, 4], [64, 64, 4], None)
        seen.add(str(values["model.init_args.channels"]))
    assert len(seen) > 1
    for bad, message in [
        ({"type": "float", "low": 1, "high": 0}, "space.k"),
        ({"type": "uniform", "low": 0, "high": 1}, "type: float, int or categorical"),
        ({"type": "int", "low": 0}, "required"),
        ({"type": "float", "low": 0, "high": 1, "log": True}, "space.k"),
    ]:
        with pytest.raises(SweepSpecError, match=message):
            parse_space({"k": bad})


def test_cli_values_are_yaml_that_reads_back() -> None:
    args = cli_args({"a.lr": 1e-5, "a.n": 3, "a.flag": False, "a.none": None, "a.list": [1, 2], "a.s": "x y"})
    assert args == ["--a.lr=1.0e-05", "--a.n=3", "--a.flag=false", "--a.none=null", "--a.list=[1, 2]", "--a.s=x y"]
    assert yaml.safe_load(args[0].split("=", 1)[1]) == 1e-5


def test_set_dotted_creates_init_args_and_rejects_non_mappings() -> None:
    config = {"model": "pkg.CNN", "trainer": {"max_epochs": 5}, "callbacks": [1]}
    set_dotted(config, "model.init_args.lr", 0.1)
    set_dotted(config, "data.init_args.batch_size", 32)
    set_dotted(config, "trainer.max_epochs", 2)
    assert config["model"] == {"class_path": "pkg.CNN", "init_args": {"lr": 0.1}}
    assert config["data"] == {"init_args": {"batch_size": 32}} and config["trainer"]["max_epochs"] == 2
    with pytest.raises(SweepSpecError, match="callbacks"):
        set_dotted(config, "callbacks.x", 1)


def test_bad_sweep_files_name_the_problem(tmp_path: Path) -> None:
    cases = [
        ({"objectives": {"val/loss": "down"}}, "objectives"),
        ({"objectives": {"val/confidence": "maximize", "train_time_s": "minimize"}}, "cannot prune"),
        ({"sampler": {"type": "NoSuchSampler"}}, "sampler"),
        ({"sampler": {"type": "TPESampler", "no_such_argument": 1}}, "sampler/pruner"),
        ({"overrides": {"model.init_args.lr": 0.1}}, "both fixed"),
        ({"config": "missing.yaml"}, "not found"),
        ({"spaces": {}}, "unknown keys"),
    ]
    for change, message in cases:
        with pytest.raises(SweepSpecError, match=message):
            load_spec(write_spec(tmp_path, **change))


def test_best_config_is_the_base_with_overrides_and_params(tmp_path: Path) -> None:
    spec = load_spec(CONF / "sweep_cnn_tiny.yaml")
    trial = optuna.trial.create_trial(
        params={"model.init_args.lr": 0.003, "model.init_args.weight_decay": 1e-5, "trainer.max_epochs": 1},
        distributions={k: d.distribution for k, d in spec.space.items()},
        value=0.5,
    )
    config = best_config(spec, trial)
    base = yaml.safe_load((CONF / "cnn_tiny.yaml").read_text())
    assert config["model"] == {
        "class_path": base["model"]["class_path"],
        "init_args": {"lr": 0.003, "weight_decay": 1e-5},
    }
    assert config["trainer"]["max_epochs"] == 1 and config["test_after_fit"] is False
    assert config["data"] == base["data"] and config["trainer"]["logger"] == base["trainer"]["logger"]
    assert config["trainer"]["callbacks"] == base["trainer"]["callbacks"]  # trial_only keys stay out

    study = create_or_load_study(open_storage(str(tmp_path / "journal.log")), "s", spec)
    study.add_trial(trial)
    [path] = write_best_configs(spec, study, tmp_path)
    assert path == tmp_path / "best.yaml" and yaml.safe_load(path.read_text()) == config


def test_study_resumes_but_refuses_other_objectives(tmp_path: Path) -> None:
    storage = str(tmp_path / "journal.log")
    spec = load_spec(CONF / "sweep_cnn_tiny.yaml")
    create_or_load_study(open_storage(storage), "s", spec).add_trial(
        optuna.trial.create_trial(params={}, distributions={}, value=1.0)
    )
    assert len(create_or_load_study(open_storage(storage), "s", spec).trials) == 1
    other = load_spec(write_spec(tmp_path, objectives={"val/confidence": "maximize"}))
    with pytest.raises(SweepSpecError, match="optimises"):
        create_or_load_study(open_storage(storage), "s", other)


def test_budget_counts_trials_other_workers_are_running() -> None:
    study = optuna.create_study()
    budget = TrialBudget(n_trials=3)
    study.add_trial(optuna.trial.create_trial(params={}, distributions={}, value=1.0))
    study.add_trial(optuna.trial.create_trial(params={}, distributions={}, state=TrialState.FAIL))
    assert not budget.enough(study)  # failures do not use up the budget
    study.ask()  # another worker's trial in flight
    assert not budget.enough(study)
    study.ask()
    assert budget.enough(study) and not budget.done(study)  # wait: one of the running trials may still fail
    study.add_trial(optuna.trial.create_trial(params={}, distributions={}, value=1.0))
    study.add_trial(optuna.trial.create_trial(params={}, distributions={}, state=TrialState.PRUNED))
    assert budget.done(study)


def test_budget_stops_a_worker_whose_trials_keep_failing() -> None:
    def broken(trial: optuna.Trial) -> float:
        raise RuntimeError("always")

    study = optuna.create_study()
    study.optimize(broken, n_trials=10, catch=(Exception,), callbacks=[TrialBudget(n_trials=5, max_failures=3)])
    assert len(study.trials) == 3


def _dead_process() -> dict:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    started = __import__("psutil").Process(child.pid).create_time()
    child.wait()
    return {**this_process(), "pid": child.pid, "started": started}


def test_trials_of_dead_workers_are_failed_and_retried(tmp_path: Path) -> None:
    study = optuna.create_study(storage=open_storage(str(tmp_path / "journal.log")), study_name="s")
    dead, alive, elsewhere, unclaimed = (study.ask() for _ in range(4))
    for trial in (dead, alive, elsewhere):
        trial.suggest_float("x", 0, 1)
    claim(alive)
    dead.set_user_attr(WORKER_ATTR, {**_dead_process(), "trial": dead.number})
    elsewhere.set_user_attr(WORKER_ATTR, {**_dead_process(), "host": "another-host", "trial": elsewhere.number})
    assert fail_orphaned_trials(study, retry_callback()) == [dead.number]
    trials = study.get_trials()
    assert [t.state for t in trials[:4]] == [
        TrialState.FAIL,
        TrialState.RUNNING,
        TrialState.RUNNING,
        TrialState.RUNNING,
    ]
    retry = trials[4]
    assert retry.state == TrialState.WAITING and retry.params == trials[0].params
    assert retry.system_attrs["failed_trial"] == dead.number
    assert fail_orphaned_trials(study, retry_callback()) == []  # nothing left to do, nothing retried twice
    assert unclaimed.number == 3  # unclaimed trials are left alone until UNCLAIMED_S has passed


@pytest.mark.filterwarnings("ignore:Heartbeat of storage", "ignore::optuna.exceptions.ExperimentalWarning")
def test_database_storage_has_heartbeat_and_retries(tmp_path: Path) -> None:
    storage = open_storage(f"sqlite:///{tmp_path / 'study.db'}", heartbeat_interval=1)
    assert isinstance(storage, optuna.storages.RDBStorage) and storage.get_heartbeat_interval() == 1
    study = optuna.create_study(storage=storage, study_name="s")
    trial = study.ask()
    trial.suggest_float("x", 0, 1)
    storage.record_heartbeat(trial._trial_id)  # then the worker "dies": no more heartbeats
    time.sleep(3.2)  # SQLite's clock has whole seconds; grace is 2 s
    optuna.storages.fail_stale_trials(study)
    states = [t.state for t in study.get_trials()]
    assert states == [TrialState.FAIL, TrialState.WAITING]
    assert study.get_trials()[1].params == study.get_trials()[0].params


def test_sweep_command_reports_bad_input_in_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, str(ROOT / "sweep.py"), "--sweep", str(write_spec(tmp_path, objectives={"val/loss": "down"}))],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 2 and result.stderr.startswith("error: ") and "Traceback" not in result.stderr


def test_a_storage_file_that_is_not_a_journal_is_refused_and_left_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """``--storage`` naming a CSV whose last line has no newline: one line, exit 2, the file untouched."""
    from lightning_spectra.sweeps.command import main as sweep_main

    notes = tmp_path / "notes.csv"
    notes.write_bytes(b"name,value\nfoo,1\nbar,2")  # no newline at the end: looks "torn" to a repair
    before = notes.read_bytes()
    status = sweep_main(["--sweep", str(write_spec(tmp_path)), "--storage", str(notes), "--out", str(tmp_path / "o")])
    errors = [line for line in capsys.readouterr().err.splitlines() if "error" in line.lower()]
    assert status == 2 and errors == [
        f"error: {notes}: not an Optuna journal (line 1 is not a journal record); give --storage a journal "
        "file, a new file name or a database URL"
    ]
    assert notes.read_bytes() == before and not (tmp_path / "notes.csv.torn").exists()


def test_a_resumed_study_whose_space_changed_kind_is_refused_before_a_trial(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """An int key turned categorical: one line naming the key, exit 2, no new trial; a new float range is run."""
    from lightning_spectra.sweeps.command import main as sweep_main

    storage, out = str(tmp_path / "journal.log"), str(tmp_path / "out")
    study = create_or_load_study(open_storage(storage), "s", load_spec(write_spec(tmp_path)))
    study.add_trial(
        optuna.trial.create_trial(
            params={"trainer.max_epochs": 1, "model.init_args.lr": 1e-3},
            distributions={
                "trainer.max_epochs": optuna.distributions.IntDistribution(1, 2),
                "model.init_args.lr": optuna.distributions.FloatDistribution(1e-4, 1e-2, log=True),
            },
            value=1.0,
        )
    )
    space = yaml.safe_load((CONF / "sweep_cnn_tiny.yaml").read_text())["space"]
    wider = {**space, "model.init_args.lr": {"type": "float", "low": 1e-5, "high": 1e-1, "log": True}}
    assert len(create_or_load_study(open_storage(storage), "s", load_spec(write_spec(tmp_path, space=wider))).trials)

    changed = write_spec(tmp_path, space={**space, "trainer.max_epochs": {"type": "categorical", "choices": [1, 2]}})
    status = sweep_main(["--sweep", str(changed), "--study", "s", "--storage", storage, "--out", out])
    errors = [line for line in capsys.readouterr().err.splitlines() if "error" in line.lower()]
    assert status == 2 and len(errors) == 1
    assert errors[0].startswith("error: space.trainer.max_epochs: study 's' searched it as IntDistribution(")
    assert errors[0].endswith("pick another --study name")
    assert len(optuna.load_study(study_name="s", storage=open_storage(storage)).trials) == 1
