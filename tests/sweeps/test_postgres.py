"""Sweeps over several machines on a real PostgreSQL server (``make test-postgres``; skipped without the server).

Each test starts ``sweep.py`` launchers as separate processes, as two machines would, on one database of a
throwaway server (:mod:`pg_server`). "Machine B" runs in its own UTS namespace (``unshare --uts``) with another
host name, so the workers cannot see each other's processes as local: a dead machine's trial can only be
noticed through Optuna's heartbeat, as on a real cluster.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest
import yaml
from conftest import CONF, ROOT
from optuna.trial import TrialState
from pg_server import PASSWORD, PG_BIN_ENV, USER, PostgresServer, free_port, why_unavailable

from lightning_spectra.sweeps.storage import open_storage

postgres = pytest.mark.postgres  # needs the server; `make test-postgres`
SWEEP = CONF / "sweep_cnn_tiny.yaml"
STUDY = "cnn-tiny"
BIN = Path(sys.executable).parent
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
optuna.logging.set_verbosity(optuna.logging.WARNING)


@pytest.fixture(scope="module")
def server() -> Iterator[PostgresServer]:
    if reason := why_unavailable():
        pytest.skip(reason)
    pg = PostgresServer()
    pg.start()
    yield pg
    pg.remove()


@pytest.fixture
def database(server: PostgresServer, request: pytest.FixtureRequest) -> str:
    """A fresh database for this test; its SQLAlchemy URL."""
    return server.create_database(re.sub(r"\W", "_", request.node.name)[:60])


def other_machine() -> list[str]:
    """Command prefix that runs a process under another host name (its own UTS namespace)."""
    if shutil.which("unshare") is None:
        pytest.skip("unshare (util-linux) is needed to give the second launcher its own host name")
    probe = subprocess.run(["unshare", "--uts", "true"], capture_output=True)
    if probe.returncode:
        pytest.skip(f"cannot make a UTS namespace here (needs root or CAP_SYS_ADMIN): {probe.stderr.decode().strip()}")
    return ["unshare", "--uts", "--", "sh", "-c", 'hostname machine-b && exec "$@"', "sh"]


def sweep_file(tmp_path: Path, **changes) -> Path:
    """The tiny sweep, its base config path made absolute, with some keys changed."""
    spec = {**yaml.safe_load(SWEEP.read_text()), "config": str(CONF / "cnn_tiny.yaml"), **changes}
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


_LAUNCHED: list[subprocess.Popen] = []


@pytest.fixture(autouse=True)
def stop_launchers() -> Iterator[None]:
    """A failed test leaves no machine running."""
    yield
    while _LAUNCHED:
        launcher = _LAUNCHED.pop()
        if launcher.poll() is None:
            os.killpg(launcher.pid, signal.SIGKILL)
            launcher.communicate()


def launch(
    sweep: Path, storage: str, out: Path, n_trials: int, *extra: str, prefix: list[str] = (), env: dict | None = None
) -> subprocess.Popen:
    """One machine's ``sweep.py`` with one CPU worker, in its own process group (to kill it as a whole)."""
    cmd = [*prefix, sys.executable, str(ROOT / "sweep.py"), "--sweep", str(sweep), "--storage", storage]
    cmd += ["--out", str(out), "--n-trials", str(n_trials), "--cpu-workers", "1", *extra]
    env = {**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}
    launcher = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True
    )
    _LAUNCHED.append(launcher)
    return launcher


def finish(launcher: subprocess.Popen, timeout_s: float = 400) -> tuple[str, str]:
    stdout, stderr = launcher.communicate(timeout=timeout_s)
    print(stdout, stderr[-3000:])
    return stdout, stderr


def load(storage: str) -> optuna.Study:
    return optuna.load_study(study_name=STUDY, storage=open_storage(storage))


def best_trial_reported(stdout: str) -> int:
    """The trial number in the launcher's report table header (``| | trial 3 |``)."""
    match = re.search(r"best trial of study \S+\s*\n.*?trial (\d+)", stdout, re.S)
    assert match, stdout
    return int(match.group(1))


def trials_run_in(out: Path) -> list[int]:
    return sorted(int(p.name.removeprefix("trial-")) for p in (out / "trials").glob("trial-*"))


def wandb_groups(out: Path) -> dict[str, str]:
    """Run name -> group of each offline W&B run under ``out``, read from the run files by ``wandb leet``."""
    groups = {}
    for run_dir in sorted((out / "wandb").glob("offline-run-*")):
        records = subprocess.run(
            [str(BIN / "wandb"), "leet", "inspect", "--json", str(run_dir)],
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout
        run = next(json.loads(line)["run"] for line in records.splitlines() if '"type":"run"' in line)
        groups[run["display_name"]] = run.get("run_group")
    return groups


def wait_for_finished_trials(storage: str, count: int, timeout_s: float = 300) -> dict[int, float]:
    """Once at least ``count`` trials have finished: their numbers and values."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        time.sleep(0.5)
        try:
            finished = load(storage).get_trials(states=FINISHED)
            if len(finished) >= count:
                return {t.number: t.value for t in finished}
        except KeyError:
            continue  # no study yet
    raise AssertionError(f"fewer than {count} trials finished in {timeout_s} s")


def wait_for_running_trial_of(storage: str, host: str, timeout_s: float = 180) -> optuna.trial.FrozenTrial:
    """The first RUNNING trial claimed by a worker on ``host``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        time.sleep(0.2)
        try:
            running = load(storage).get_trials(states=(TrialState.RUNNING,))
        except KeyError:
            continue  # no study yet
        for trial in running:
            worker = trial.user_attrs.get("worker", {})
            if worker.get("host") == host and worker.get("trial") == trial.number:
                return trial
    raise AssertionError(f"no trial started on {host}")


@postgres
def test_two_machines_share_one_study(tmp_path: Path, server: PostgresServer, database: str) -> None:
    sweep, n_trials = sweep_file(tmp_path), 6
    # machine B keeps the password out of the URL (and so out of `ps`), in a libpq password file as documented
    pgpass = tmp_path / "pgpass"
    pgpass.write_text(f"127.0.0.1:{server.port}:*:{USER}:{PASSWORD}\n")
    pgpass.chmod(0o600)
    machines = [
        launch(sweep, database, tmp_path / "a", n_trials),
        launch(
            sweep,
            database.replace(f":{PASSWORD}@", "@"),
            tmp_path / "b",
            n_trials,
            prefix=other_machine(),
            env={"PGPASSFILE": str(pgpass)},
        ),
    ]
    outputs = [finish(m) for m in machines]
    assert [m.returncode for m in machines] == [0, 0], [err[-2000:] for _, err in outputs]
    assert PASSWORD not in "".join(out + err for out, err in outputs)  # printed URLs hide it

    study = load(database)
    states = [t.state for t in study.trials]
    assert sum(s in FINISHED for s in states) == n_trials and TrialState.RUNNING not in states
    assert len({t.user_attrs["worker"]["host"] for t in study.trials}) == 2  # both machines ran trials
    ran_a, ran_b = trials_run_in(tmp_path / "a"), trials_run_in(tmp_path / "b")
    assert sorted(ran_a + ran_b) == [t.number for t in study.trials]  # every trial ran once, on one machine
    assert best_trial_reported(outputs[0][0]) == best_trial_reported(outputs[1][0]) == study.best_trial.number
    best_a, best_b = (yaml.safe_load((tmp_path / m / "best.yaml").read_text()) for m in "ab")
    assert best_a == best_b  # the same config on both machines (only the comment naming the file differs)

    groups = {**wandb_groups(tmp_path / "a"), **wandb_groups(tmp_path / "b")}
    assert sorted(groups) == sorted(f"trial-{n}" for n in ran_a + ran_b)  # one W&B run per trial, none twice
    assert set(groups.values()) == {STUDY}

    # the best config trains unchanged (the base config's loggers write to ./logs under the working folder)
    result = subprocess.run(
        [sys.executable, str(ROOT / "train.py"), "fit", "--config", str(tmp_path / "a" / "best.yaml")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(next((tmp_path / "logs").rglob("summary.json")).read_text())
    assert summary["epochs"] == study.best_params["trainer.max_epochs"]


@postgres
def test_a_dead_machine_trial_is_failed_by_the_heartbeat_and_retried_by_the_other(
    tmp_path: Path, database: str
) -> None:
    heartbeat = 4  # a trial silent for 2 x 4 s is failed
    sweep = sweep_file(
        tmp_path,
        pruner=None,
        overrides={"test_after_fit": False, "trainer.max_epochs": 3},
        space={"model.init_args.lr": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True}},
    )
    beat = ("--heartbeat", str(heartbeat))
    machine_a = launch(sweep, database, tmp_path / "a", 4, *beat)
    machine_b = launch(sweep, database, tmp_path / "b", 4, *beat, prefix=other_machine())
    host_a = os.uname().nodename
    victim = wait_for_running_trial_of(database, host_a)
    os.killpg(machine_a.pid, signal.SIGKILL)  # the whole machine: launcher and worker, mid-trial
    killed_at = time.time()
    machine_a.communicate()
    stdout, stderr = finish(machine_b)
    assert machine_b.returncode == 0, stderr[-3000:]

    study = load(database)
    killed = study.trials[victim.number]
    assert killed.state == TrialState.FAIL and "fail_reason" not in killed.user_attrs
    # failed by the heartbeat: only once it had been silent for the grace period, not when its process died
    assert killed.datetime_complete.timestamp() - killed_at >= heartbeat
    [retry] = [t for t in study.trials if t.system_attrs.get("failed_trial") == victim.number]
    assert retry.state == TrialState.COMPLETE and retry.params == killed.params
    assert retry.user_attrs["worker"]["host"] == "machine-b"
    assert not study.get_trials(states=(TrialState.RUNNING, TrialState.WAITING))
    done = study.get_trials(states=(TrialState.COMPLETE,))
    assert len(done) == 4
    finished_on_a = [t for t in done if t.user_attrs["worker"]["host"] == host_a]
    assert all(t.number in trials_run_in(tmp_path / "a") for t in finished_on_a)  # A's finished trials are kept


@postgres
def test_database_restart_mid_sweep(tmp_path: Path, server: PostgresServer, database: str) -> None:
    sweep, n_trials = sweep_file(tmp_path, pruner=None), 6
    machines = [
        # a heartbeat grace (20 s) longer than the outage: the running trials are not stale when it ends
        launch(sweep, database, tmp_path / "a", n_trials, "--heartbeat", "10"),
        launch(sweep, database, tmp_path / "b", n_trials, "--heartbeat", "10", prefix=other_machine()),
    ]
    before = wait_for_finished_trials(database, 1)
    server.stop()  # the database host goes down mid-sweep ...
    time.sleep(6)
    server.start()  # ... and comes back
    outputs = [finish(m) for m in machines]

    assert [m.returncode for m in machines] == [0, 0], [err[-2000:] for _, err in outputs]
    study = load(database)
    finished = {t.number: t.value for t in study.get_trials(states=FINISHED)}
    assert len(finished) == n_trials and finished.items() >= before.items()  # nothing recorded was lost
    assert not study.get_trials(states=(TrialState.RUNNING, TrialState.WAITING))
    for cut_off in study.get_trials(states=(TrialState.FAIL,)):  # a trial the outage interrupted ran again
        [retry] = [t for t in study.trials if t.system_attrs.get("failed_trial") == cut_off.number]
        assert retry.state in FINISHED
        assert retry.params == cut_off.params or not cut_off.params  # cut off before its parameters were drawn
    logs = {p.parent.parent.name: p.read_text() for p in tmp_path.glob("*/workers/worker-0.log")}
    print(logs)
    for log in logs.values():  # each worker said it in one line, and that it carried on
        assert 1 <= log.count("database unreachable (") <= 2 and "database reachable again" in log
    assert "Traceback" not in "".join(logs.values()) + "".join(out + err for out, err in outputs)


def dashboard_studies(storage: str) -> list[str]:
    """Study names that ``optuna-dashboard <storage>`` lists on a local port."""
    port = free_port()
    cmd = [str(BIN / "optuna-dashboard"), storage, "--host", "127.0.0.1", "--port", str(port), "--quiet"]
    dashboard = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies", timeout=5) as response:
                    return [s["study_name"] for s in json.load(response)["study_summaries"]]
            except OSError:
                if dashboard.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(
                        f"optuna-dashboard did not serve: {dashboard.communicate()[0][-2000:]}"
                    ) from None
                time.sleep(0.3)
    finally:
        dashboard.terminate()
        dashboard.wait(timeout=30)


def _tiny_study(storage: str, name: str) -> None:
    study = optuna.create_study(storage=open_storage(storage), study_name=name)
    study.optimize(lambda t: t.suggest_float("x", -1, 1) ** 2, n_trials=2)


@postgres
def test_dashboard_lists_a_database_study(database: str) -> None:
    _tiny_study(database, "on-postgres")
    assert dashboard_studies(database) == ["on-postgres"]


def test_dashboard_lists_a_journal_study(tmp_path: Path) -> None:
    journal = str(tmp_path / "journal.log")
    _tiny_study(journal, "on-journal")
    assert dashboard_studies(journal) == ["on-journal"]


def test_without_server_binaries_the_postgres_tests_skip_with_the_install_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PG_BIN_ENV, str(tmp_path))  # an empty folder: no initdb, pg_ctl, postgres
    assert "apt-get install -y postgresql" in why_unavailable()
