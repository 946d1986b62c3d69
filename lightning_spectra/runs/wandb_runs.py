"""W&B runs built for comparison: offline unless this machine holds credentials (never a prompt), switched on
for any command by one environment variable, named, tagged and configured from the run's config, and given
the run's summary, resolved config and tables when it ends.

``LIGHTNING_SPECTRA_WANDB=<project>`` adds a ``WandbLogger`` to every ``fit``/``test``/``validate``/``predict``
(and so to every run of ``report``, ``cv`` and the sweeps) whose config has none; docs/dashboard.md.
"""

from __future__ import annotations

import csv
import netrc
import os
import shlex
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from jsonargparse import Namespace

from lightning_spectra.errors import SpectraConfigError

WANDB_SWITCH = "LIGHTNING_SPECTRA_WANDB"
WANDB_LOGGER = "lightning.pytorch.loggers.WandbLogger"
QUIET_WANDB_LOGGER = "lightning_spectra.runs.wandb_logger.WandbLogger"  # Lightning's, minus a dropped setting
CSV_LOGGER = "lightning.pytorch.loggers.CSVLogger"
RUN_CALLBACK = "lightning_spectra.callbacks.wandb_run.WandbRun"
TABLE_ROWS = 20_000  # a table is for looking at curves and spectra; a longer file stays on disk
MAX_TAG = 64  # W&B refuses longer tags
#: What W&B refuses in a project name (``wandb.sdk.wandb_settings.Settings.validate_project``), and its length.
PROJECT_FORBIDDEN = "/\\#?%:"
MAX_PROJECT = 128


def wandb_has_credentials() -> bool:
    """True if an API key is in the environment or in ``~/.netrc`` (where ``wandb login`` puts it)."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    try:
        auth = netrc.netrc(os.environ.get("NETRC")).authenticators("api.wandb.ai")
    except (FileNotFoundError, netrc.NetrcParseError, OSError):
        return False
    return bool(auth and auth[2])


def quiet_wandb_without_account() -> None:
    """Make W&B log offline when there is no account, unless the user chose a mode; silence login prompts."""
    if "WANDB_MODE" not in os.environ and not wandb_has_credentials():
        os.environ["WANDB_MODE"] = "offline"
    os.environ.setdefault("WANDB_SILENT", "true")
    os.environ.setdefault("WANDB_CONSOLE", "off")


def wandb_project() -> str | None:
    """The W&B project the switch names (``LIGHTNING_SPECTRA_WANDB``), or ``None`` when it is off; a name W&B
    would refuse is a :class:`~lightning_spectra.errors.SpectraConfigError` (:func:`check_project_name`)."""
    value = os.environ.get(WANDB_SWITCH, "").strip()
    return None if value.lower() in ("", "0", "false", "off", "no") else check_project_name(value, WANDB_SWITCH)


def check_project_name(project: str, source: str) -> str:
    """``project`` if W&B takes it as a project name, else one line naming ``source`` (where it was given) and
    what a name may hold. W&B refused ``team/my project`` deep in ``wandb.init``, a traceback after the model
    was built; a team's project is the project's name with the team in ``WANDB_ENTITY``."""
    found = "".join(dict.fromkeys(c for c in project if c in PROJECT_FORBIDDEN))
    if found:
        entity, _, name = project.partition("/")
        team = "/" in found and name and entity
        hint = f"; for a team's project give {source}={name!r} and WANDB_ENTITY={entity}" if team else ""
        raise SpectraConfigError(
            f"{source}={project!r}: a W&B project name may not hold any of {' '.join(PROJECT_FORBIDDEN)} (it holds "
            f"{' '.join(found)}){hint}"
        )
    if len(project) > MAX_PROJECT:
        raise SpectraConfigError(
            f"{source}={project[:20]!r}...: a W&B project name has at most {MAX_PROJECT} characters, not {len(project)}"
        )
    return project


# ---------------------------------------------------------------------------------------------- the run's names
def _get(entry: Any, *keys: str) -> Any:
    """``entry[k1][k2]...`` through dicts and Namespaces, ``None`` where a key is missing."""
    for key in keys:
        if not isinstance(entry, Mapping | Namespace):
            return None
        entry = entry.get(key)
    return entry


def _class_name(entry: Any) -> str:
    return str(entry if isinstance(entry, str) else _get(entry, "class_path") or "").rpartition(".")[2]


def _entries(value: Any) -> list:
    """A logger or callback setting as a list (one entry, a list, or nothing)."""
    if value is None or isinstance(value, bool):
        return []
    if isinstance(value, str | Mapping | Namespace) or not isinstance(value, Iterable):
        return [value]
    return list(value)


def run_facts(config: Mapping | Namespace) -> dict[str, str | None]:
    """What a run is, read from its config: model class, variant (paper-exact or corrected, on the HED data),
    simulated ramp, task and data set."""
    model = _class_name(_get(config, "model")) or "model"
    data_class = _class_name(_get(config, "data"))
    init = _get(config, "data", "init_args") or {}
    hed = data_class == "HEDDataModule"
    source = init.get("source") or "simulated"
    # The shipped paper/ configs are the ones that test with the paper's train-mode BatchNorm.
    paper = any(_class_name(c) == "PaperBatchNorm" for c in _entries(_get(config, "trainer", "callbacks")))
    train_path = init.get("train_path")
    return {
        "model": model,
        "variant": ("paper-exact" if paper else "corrected") if hed else None,
        "ramp": (init.get("simulation_preset") or "default") if hed and source == "simulated" else None,
        "task": init.get("task") or "classification",
        "dataset": f"HED {source}" if hed else Path(str(train_path)).name if train_path else data_class or None,
    }


def run_name(facts: Mapping[str, str | None]) -> str:
    """``CNN``, ``CNN paper-exact (hard ramp)``: the model, then what sets this run apart from its neighbours."""
    name = str(facts["model"])
    if facts.get("variant") == "paper-exact":
        name += " paper-exact"
    if facts.get("ramp"):
        name += f" ({facts['ramp']} ramp)"
    return name


def run_tags(facts: Mapping[str, str | None]) -> list[str]:
    """Tags to filter and colour by: variant, ramp, task, data set."""
    ramp = f"{facts['ramp']} ramp" if facts.get("ramp") else None
    tags = [facts.get("variant"), ramp, facts.get("task"), facts.get("dataset")]
    return [str(t)[:MAX_TAG] for t in tags if t]


def complete_wandb_loggers(config: Namespace) -> None:
    """In a command's parsed config: add a ``WandbLogger`` when the switch is on and none is configured, and
    give every ``WandbLogger`` a name and tags saying what ran (a name the user or a campaign gave wins), its
    files beside the run folders, the console captured when the switch is on (W&B's ``output.log``; a
    ``console`` the user gave wins), and the callback that summarises metrics by their best value. Lightning's
    class is replaced by :class:`~lightning_spectra.runs.wandb_logger.WandbLogger` (no warning about a dropped
    setting)."""
    trainer = config["trainer"]
    loggers = trainer.get("logger")
    project = wandb_project()
    if loggers is False:
        if project:
            print(f"note: {WANDB_SWITCH} is set but trainer.logger is false: nothing is logged", file=sys.stderr)
        return
    # Lightning's own default logger (logger unset or true) here is a CSVLogger in the root folder; kept first.
    entries = _entries(loggers) or [
        Namespace(class_path=CSV_LOGGER, init_args=Namespace(save_dir=trainer.get("default_root_dir") or "."))
    ]
    if project and not any(_class_name(e) == "WandbLogger" for e in entries):
        entries.append(Namespace(class_path=WANDB_LOGGER, init_args=Namespace(project=project)))
    wandb_loggers = [e for e in entries if isinstance(e, Namespace | dict) and _class_name(e) == "WandbLogger"]
    if not wandb_loggers:
        return
    facts = run_facts(config)
    first_dir = next((_get(e, "init_args", "save_dir") for e in entries if _class_name(e) != "WandbLogger"), None)
    for entry in wandb_loggers:
        if _get(entry, "class_path") == WANDB_LOGGER:
            entry["class_path"] = QUIET_WANDB_LOGGER
        if _get(entry, "init_args") is None:
            entry["init_args"] = Namespace()
        args = entry["init_args"]
        if project and _get(entry, "class_path") == QUIET_WANDB_LOGGER and args.get("console") is None:
            args["console"] = "wrap"  # stdout and stderr into the run; W&B reads WANDB_CONSOLE once per process
        if not args.get("name"):
            args["name"] = run_name(facts)
        args["tags"] = list(dict.fromkeys([*(args.get("tags") or []), *run_tags(facts)]))
        # Offline runs next to the run folders (<save_dir>/wandb/) rather than in the working folder, the
        # logger's default "." (the parsed config cannot tell it from a "." the user gave).
        if args.get("save_dir") in (None, "", ".") and first_dir:
            args["save_dir"] = first_dir
    trainer["logger"] = entries
    callbacks = _entries(trainer.get("callbacks"))
    if not any(_class_name(c) == "WandbRun" for c in callbacks):
        trainer["callbacks"] = [*callbacks, Namespace(class_path=RUN_CALLBACK, init_args=Namespace())]


# ---------------------------------------------------------------------------------------------- the run's end
def _plain(value: Any) -> bool:
    return isinstance(value, int | float | str) and not isinstance(value, bool)


def flat_summary(summary: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Numbers, text and lists of them; dicts flattened to ``key/inner`` (W&B sorts and plots flat keys)."""
    flat: dict[str, Any] = {}
    for key, value in summary.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flat_summary(value, f"{name}/"))
        elif _plain(value) or isinstance(value, list) and all(_plain(v) for v in value):
            flat[name] = value
    return flat


def _cell(text: str) -> float | str:
    try:
        return float(text)
    except ValueError:
        return text


def csv_table(path: Path, label: str | None = None):
    """A CSV the run wrote as a ``wandb.Table``; with ``label`` a first column ``run`` holding it, so that the
    tables of several runs overlay in one panel, coloured by run."""
    import wandb

    with open(path, newline="") as f:
        header, *rows = list(csv.reader(f))
    rows = [[_cell(c) for c in row] for row in rows[:TABLE_ROWS]]
    if label is not None:
        header, rows = ["run", *header], [[label, *row] for row in rows]
    return wandb.Table(columns=header, data=rows)


def run_tables(folder: Path) -> dict[str, Path]:
    """The CSVs a run leaves in its folder (predictions, attribution curves, peaks), by W&B key."""
    found = [folder / "predictions.csv", *sorted((folder / "attribution").glob("*.csv"))]
    return {f"tables/{path.stem}": path for path in found if path.is_file()}


def read_config(folder: Path) -> dict[str, Any]:
    """The run's resolved config (``config.yaml``, written by LightningCLI), or ``{}``."""
    path = folder / "config.yaml"
    if not path.is_file():
        return {}
    return yaml.safe_load(path.read_text()) or {}


def summary_to_wandb(loggers: list, summary: dict, finish: bool = True, folder: Path | None = None) -> list[Path]:
    """Copy a run's summary into every W&B run it logs to (dicts flattened), with its resolved config as nested
    keys (``model.class_path``, ``data``, ``trainer``, ``seed_everything``) and the CSVs in ``folder`` as
    ``tables/<name>``; then finish those runs. Returns the folders of the offline ones (:func:`sync_line`).

    Finishing matters when several runs share one process (tests, notebooks, cross-validation): W&B would
    otherwise append the next run to this one. A caller that adds to the run afterwards (a sweep trial)
    finishes it itself.
    """
    from lightning.pytorch.loggers import WandbLogger

    flat = flat_summary(summary)
    offline = []
    for logger in loggers:
        if not isinstance(logger, WandbLogger):
            continue
        run = logger.experiment
        if run.offline:  # read before finish: a finished run no longer answers
            offline.append(Path(run.sync_dir))
        if folder is not None:
            config = read_config(Path(folder))
            if config:
                run.config.update(config, allow_val_change=True)
            tables = run_tables(Path(folder))
            if tables:
                run.log({key: csv_table(path, run.name or None) for key, path in tables.items()})
        run.summary.update(flat)
        if finish:
            run.finish()
    return offline


def sync_line(folder: Path) -> str:
    """Where an offline W&B run lies and the command that uploads it: without an account nothing leaves the
    machine, and the run's folder is otherwise found only by looking under ``wandb/``."""
    return f"W&B run saved offline in {folder}; upload it with: wandb sync {shlex.quote(str(folder))}"


def log_table_run(csv_path: Path, key: str, save_dir: Path, name: str, project: str | None = None) -> None:
    """One W&B run (job type ``report``) holding ``csv_path`` as the table ``key``: a campaign's comparison, in
    the project and group (``WANDB_RUN_GROUP``) of the runs it compares."""
    import wandb

    project = project or wandb_project()
    save_dir.mkdir(parents=True, exist_ok=True)
    # The group given, not left to wandb.init: W&B reads its environment once per process.
    group = os.environ.get("WANDB_RUN_GROUP")
    run = wandb.init(
        project=project, group=group, dir=str(save_dir), name=name, job_type="report", reinit="finish_previous"
    )
    run.log({key: csv_table(csv_path)})
    run.finish()


def wandb_campaign(project: str, kind: str) -> str:
    """Switch W&B on for every run this process starts (children included) and put them in one group named
    after the campaign and its start, ``paper-report 2026-01-31 14:05``; returns the group."""
    import datetime as dt

    os.environ[WANDB_SWITCH] = check_project_name(project, "--wandb")
    os.environ.setdefault("WANDB_RUN_GROUP", f"{kind} {dt.datetime.now():%Y-%m-%d %H:%M}")
    return os.environ["WANDB_RUN_GROUP"]
