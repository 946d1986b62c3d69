import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, tiny_args
from jsonargparse import Namespace

from lightning_spectra.errors import SpectraConfigError
from lightning_spectra.runs.wandb_runs import (
    CSV_LOGGER,
    QUIET_WANDB_LOGGER,
    RUN_CALLBACK,
    WANDB_LOGGER,
    WANDB_SWITCH,
    complete_wandb_loggers,
    flat_summary,
    quiet_wandb_without_account,
    run_facts,
    run_name,
    run_tags,
    wandb_has_credentials,
)

LEET = [str(Path(sys.executable).parent / "wandb"), "leet", "inspect", "--json"]
TIMING = {"class_path": "lightning_spectra.callbacks.Timing"}


def offline_runs(folder: Path) -> dict[str, dict]:
    """Each offline W&B run under ``folder/wandb`` as the W&B client reads its files, by display name: the
    summary view (config, summary, tags) with the group from its last run record and its folder."""
    runs = {}
    for run_dir in sorted((folder / "wandb").glob("offline-run-*")):
        summary = json.loads(subprocess.run([*LEET, "--summary", str(run_dir)], **RUN).stdout)
        records = subprocess.run([*LEET, str(run_dir)], **RUN).stdout.splitlines()
        record = [json.loads(line)["run"] for line in records if '"type":"run"' in line][-1]
        runs[summary["name"]] = {**summary, "group": record.get("run_group"), "dir": run_dir}
    return runs


RUN = {"capture_output": True, "text": True, "check": True, "timeout": 60}


def test_offline_without_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "missing"))
    quiet_wandb_without_account()
    assert os.environ["WANDB_MODE"] == "offline"


def test_credentials_from_netrc_keep_online(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine api.wandb.ai\n  login user\n  password abc123\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.delenv("WANDB_MODE", raising=False)
    assert wandb_has_credentials()
    quiet_wandb_without_account()
    assert "WANDB_MODE" not in os.environ


def test_users_choice_of_mode_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WANDB_MODE", "disabled")
    quiet_wandb_without_account()
    assert os.environ["WANDB_MODE"] == "disabled"


def test_each_fit_is_an_offline_wandb_run_built_for_comparison(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture
) -> None:
    """Two fits in one process, one with Lightning's own logger option and one switched on by the environment:
    two offline W&B runs beside the run folders, each named after its model, tagged, configured with its model
    class, its best val/loss as summary, its CSVs as tables, one image per key and dict summaries flattened."""
    from lightning_spectra.cli import main

    importance = {"class_path": "lightning_spectra.callbacks.FeatureImportance", "init_args": {"split": "train"}}
    common = ["--trainer.callbacks=" + json.dumps([TIMING, importance]), "--trainer.enable_checkpointing=false"]
    main(
        tiny_args("fit", tmp_path, "cnn_tiny.yaml", *common, "--trainer.logger+=lightning.pytorch.loggers.WandbLogger")
    )
    monkeypatch.setenv(WANDB_SWITCH, "test")
    main(tiny_args("fit", tmp_path, "resnet_tiny.yaml", *common))
    printed = capfd.readouterr()
    assert "anonymous" not in printed.err  # W&B's warning about the setting Lightning passes
    runs = offline_runs(tmp_path)
    assert set(runs) == {"CNN (default ramp)", "MSResNet (default ramp)"}
    for run in runs.values():  # each run ends saying where its offline run lies and how to upload it
        assert f"W&B run saved offline in {run['dir']}; upload it with: wandb sync {run['dir']}" in printed.out
    cnn = runs["CNN (default ramp)"]
    assert cnn["tags"] == ["corrected", "default ramp", "classification", "HED simulated"]
    assert cnn["config"]["model"]["class_path"] == "lightning_spectra.models.CNN"
    assert cnn["config"]["seed_everything"] == 12345 and cnn["config"]["trainer"]["max_epochs"] == 2
    assert runs["MSResNet (default ramp)"]["project"] == "test"
    for run, folder in ((cnn, "cnn_tiny"), (runs["MSResNet (default ramp)"], "resnet_tiny")):
        with open(tmp_path / folder / "version_0" / "metrics.csv") as f:
            val_losses = [float(r["val/loss"]) for r in csv.DictReader(f) if r["val/loss"]]
        summary = run["summary"]
        assert len(val_losses) == 2 and summary["val/loss"] == {"min": pytest.approx(min(val_losses))}
        assert set(summary["val/accuracy"]) == {"max"} and 0 <= summary["confidence"] <= 1
        assert summary["feature_importance_train_files/csv"].endswith("feature_importance_train.csv")  # a dict
        table = summary["tables/feature_importance_train"]
        assert table["_type"] == "table-file" and table["nrows"] == 512
        rows = json.loads((run["dir"] / "files" / table["path"]).read_text())
        assert rows["columns"] == ["run", "x", "signed_sum", "mean_square"] and rows["data"][0][0] == run["name"]
        images = {k: v for k, v in summary.items() if isinstance(v, dict) and v.get("_type") == "images/separated"}
        assert {"feature_importance/train", "feature_importance/train/input_gradients_train"} <= set(images)
        assert all(image["count"] == 1 for image in images.values())
    assert cnn["summary"]["trainable_parameters"] != runs["MSResNet (default ramp)"]["summary"]["trainable_parameters"]


def test_a_switched_on_run_holds_its_console_and_w_and_b_warns_of_nothing(tmp_path: Path) -> None:
    """From the shell, as a user runs it (pytest's own capture of the console would be what W&B wraps)."""
    args = tiny_args("fit", tmp_path, "cnn_tiny.yaml", "--trainer.max_epochs=1", "--trainer.callbacks=[]")
    env = {**os.environ, WANDB_SWITCH: "console-test"}
    command = [sys.executable, str(ROOT / "train.py"), *args]
    result = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "anonymous" not in result.stderr  # W&B's warning about the setting Lightning passes
    [run] = offline_runs(tmp_path).values()
    assert "`Trainer.fit` stopped" in (run["dir"] / "files" / "output.log").read_text()


def test_report_wandb_groups_its_runs_and_logs_the_comparison_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``report --wandb`` at tiny sizes: every model's run named and in the campaign's group, and one report run
    holding the comparison table."""
    from lightning_spectra.apps.paper_report import main

    for name in (WANDB_SWITCH, "WANDB_RUN_GROUP"):  # the report sets them for its runs: restored after the test
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    tiny = [
        "--data.init_args.simulated_points=512",
        "--data.init_args.noise_copies=2",
        "--data.init_args.progress=false",
        "--trainer.max_epochs=1",
        "--trainer.enable_checkpointing=false",
        "--trainer.callbacks=" + json.dumps([TIMING]),
    ]
    logs = tmp_path / "logs"
    main(
        ["--models", "cnn", "fcnn", "--wandb", "tiny-report", "--out", str(tmp_path / "out"), "--log-root", str(logs)]
        + ["--", *tiny]
    )
    runs = offline_runs(logs)
    assert set(runs) == {"CNN (default ramp)", "FCNN1D (default ramp)", "comparison"}
    groups = {run["group"] for run in runs.values()}
    assert len(groups) == 1 and groups.pop().startswith("paper-report ")
    assert {run["project"] for run in runs.values()} == {"tiny-report"}
    table = runs["comparison"]["summary"]["comparison"]
    assert table["_type"] == "table-file" and table["nrows"] == 2


def test_the_switch_adds_a_wandb_logger_beside_the_configured_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    def config(*loggers) -> Namespace:
        return Namespace(
            model=Namespace(class_path="lightning_spectra.models.CNN"),
            data=Namespace(class_path="lightning_spectra.data.HEDDataModule", init_args=Namespace()),
            trainer=Namespace(logger=list(loggers), callbacks=None, default_root_dir=None),
        )

    csv_logger = Namespace(class_path=CSV_LOGGER, init_args=Namespace(save_dir="runs"))
    monkeypatch.delenv(WANDB_SWITCH, raising=False)
    untouched = config(csv_logger)
    complete_wandb_loggers(untouched)
    assert untouched.trainer.logger == [csv_logger] and untouched.trainer.callbacks is None

    monkeypatch.setenv(WANDB_SWITCH, "proj")
    switched = config(csv_logger)
    complete_wandb_loggers(switched)
    first, added = switched.trainer.logger
    assert first is csv_logger and added.class_path == QUIET_WANDB_LOGGER  # Lightning's, minus `anonymous`
    assert added.init_args == Namespace(
        project="proj",
        console="wrap",  # the switch is on: the console goes into the run
        name="CNN (default ramp)",
        tags=["corrected", "default ramp", "classification", "HED simulated"],
        save_dir="runs",
    )
    assert [c.class_path for c in switched.trainer.callbacks] == [RUN_CALLBACK]

    named = Namespace(class_path=WANDB_LOGGER, init_args=Namespace(name="mine", tags=["a"], save_dir="w"))
    own = config(csv_logger, named)
    complete_wandb_loggers(own)
    assert own.trainer.logger == [csv_logger, named]  # none added: the config has one
    assert named.init_args.name == "mine" and named.init_args.save_dir == "w" and named.init_args.tags[0] == "a"
    assert named.class_path == QUIET_WANDB_LOGGER

    monkeypatch.delenv(WANDB_SWITCH)
    chosen = Namespace(class_path=WANDB_LOGGER, init_args=Namespace(project="p"))
    complete_wandb_loggers(config(csv_logger, chosen))
    assert chosen.class_path == QUIET_WANDB_LOGGER and "console" not in chosen.init_args  # switch off: no console


def test_run_names_tell_paper_exact_from_corrected_and_the_ramp() -> None:
    paper_hard = {
        "model": {"class_path": "lightning_spectra.models.LSTM"},
        "data": {"class_path": "lightning_spectra.data.HEDDataModule", "init_args": {"simulation_preset": "hard"}},
        "trainer": {"callbacks": [{"class_path": "lightning_spectra.callbacks.PaperBatchNorm"}]},
    }
    facts = run_facts(paper_hard)
    assert run_name(facts) == "LSTM paper-exact (hard ramp)"
    assert run_tags(facts) == ["paper-exact", "hard ramp", "classification", "HED simulated"]
    files = {
        "model": {"class_path": "lightning_spectra.models.CNN"},
        "data": {
            "class_path": "lightning_spectra.data.SpectraFilesDataModule",
            "init_args": {"train_path": "data/fat.csv", "task": "regression"},
        },
    }
    assert run_name(run_facts(files)) == "CNN" and run_tags(run_facts(files)) == ["regression", "fat.csv"]


def test_summary_dicts_are_flattened_not_dropped() -> None:
    summary = {"accuracy": 0.9, "peak_x": {"before": 11.5, "after": {"a": 2}}, "complete": True, "times": [1.0, 2.0]}
    assert flat_summary(summary) == {"accuracy": 0.9, "peak_x/before": 11.5, "peak_x/after/a": 2, "times": [1.0, 2.0]}


def test_a_project_name_wandb_would_refuse_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """``LIGHTNING_SPECTRA_WANDB='team/my project'`` ended in W&B's UsageError traceback from ``wandb.init``,
    after the model was built (issue 35); a name with a space is a name W&B takes."""
    from lightning_spectra.cli import main

    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv(WANDB_SWITCH, "team/my project")
    with pytest.raises(SystemExit) as stop:
        main(tiny_args("fit", tmp_path, "cnn_tiny.yaml", "--trainer.max_epochs=1"))
    assert stop.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        "error: LIGHTNING_SPECTRA_WANDB='team/my project': a W&B project name may not hold any of / \\ # ? % : (it "
        "holds /); for a team's project give LIGHTNING_SPECTRA_WANDB='my project' and WANDB_ENTITY=team"
    )
    assert not (tmp_path / "wandb").exists()
    from lightning_spectra.runs.wandb_runs import check_project_name, wandb_campaign

    assert check_project_name("my project", WANDB_SWITCH) == "my project"
    with pytest.raises(SpectraConfigError, match=r"--wandb='a:b#c': .* \(it holds : #\)$"):
        wandb_campaign("a:b#c", "paper-report")
    with pytest.raises(SpectraConfigError, match="at most 128 characters, not 129"):
        check_project_name("p" * 129, WANDB_SWITCH)
