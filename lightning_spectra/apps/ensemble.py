"""Seed ensembles for regression: k ordinary fits that differ only in their seed; their mean is the prediction, and
their spread, calibrated on the validation split, a prediction interval.

    lightning-spectra-ensemble fit --config examples/files_regression --members 5 \\
        -- --data.init_args.train_path my_nir.csv
    lightning-spectra-ensemble predict --ensemble logs/ensemble/files_regression --predict_path new.csv

``fit`` trains member ``i`` with ``--seed_everything <seed + i>`` in ``<out>/member<i>/`` (an ordinary run: config,
checkpoints, ``summary.json``, figures, the PLS and kernel ridge baselines; with W&B a run per member in the
ensemble's group). The data split is the config's (``split.seed``), the same for every member. Each member's
checkpoint of its best validation epoch predicts the validation and test splits; the factor that widens the
members' spread into an interval holding ``--coverage`` of the validation spectra (normalised split conformal,
:mod:`lightning_spectra.metrics.prediction_interval`) and the ensemble's test RMSE, R^2, RPD, bias, interval
coverage and width go into ``<out>/ensemble.json``, one row per test spectrum into ``<out>/ensemble_test.csv``.
A killed ``fit`` run again with the same arguments keeps the members that finished; other arguments on an ``--out``
holding an ensemble are refused (``--overwrite`` deletes it first: only the paths ``fit`` and ``predict`` recorded in
``lightning_spectra_written.json``), and so is an ``--out`` holding other files and no ensemble. Member checkpoints
are recorded relative to the ensemble folder, so a copied folder predicts with its own members.

``predict`` runs every member through ``predict`` on the new spectra and writes ``<ensemble>/predictions.csv``
(or ``--output``, never the ``--predict_path`` spectra themselves): per spectrum and target the mean, the members'
standard deviation and the interval.
Measured on public NIR sets (BENCHMARKS.md, "Regression"): ensembles of 3 were more accurate than their best member
in 8 of 12 cases; the calibrated 90 % interval covered 85-100 % of test spectra.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import yaml

from lightning_spectra.errors import SpectraConfigError, SpectraDataError, one_line_failures
from lightning_spectra.metrics.prediction_interval import (
    DEFAULT_COVERAGE,
    EnsemblePrediction,
    attainable_coverage,
    calibrate,
    ensemble_prediction,
    spectra_needed,
)
from lightning_spectra.runs.campaign import campaign_run_config, stopped_by_sigterm
from lightning_spectra.runs.folder_lock import folder_lock
from lightning_spectra.runs.manifest import delete_written, read_manifest, record_written, refuse_foreign
from lightning_spectra.runs.wandb_runs import CSV_LOGGER
from lightning_spectra.runtime.atomic_files import atomic_write
from lightning_spectra.runtime.commands import command, split_passthrough
from lightning_spectra.runtime.composed_configs import load_config
from lightning_spectra.runtime.console import command_line_set_aside
from lightning_spectra.runtime.shipped_files import config_file

PLAN, RESULT, TEST_TABLE = "ensemble_plan.json", "ensemble.json", "ensemble_test.csv"
MEMBER_OUTPUTS = "ensemble_outputs.npz"  # a member's validation and test predictions, written when it is done


def requested_task(config: dict, extra_args: Sequence[str]) -> str:
    """The task the config's data asks for, a command-line ``--data.init_args.task`` winning."""
    task = str(((config.get("data") or {}).get("init_args") or {}).get("task") or "classification")
    for i, arg in enumerate(extra_args):
        if arg == "--data.init_args.task" and i + 1 < len(extra_args):
            task = extra_args[i + 1]
        elif arg.startswith("--data.init_args.task="):
            task = arg.partition("=")[2]
    return task


def prepare_out(out: Path, plan: dict, overwrite: bool) -> None:
    """``out`` ready for the ensemble of ``plan``: an earlier ensemble of the same plan is resumed (its finished
    members kept), one of another plan refused, or deleted with ``overwrite``; a folder holding other files and
    no ensemble is refused.

    ``--overwrite`` deletes only what the ensemble's commands recorded as written (:mod:`~lightning_spectra.runs.
    manifest`), never a user's file named like theirs (``member*``, ``figures/``, ``predictions.csv``)."""
    plan_path = out / PLAN
    refuse_other_files(out)
    adopt_earlier(out)
    if plan_path.exists() and overwrite:
        delete_written(out)
    elif plan_path.exists() and json.loads(plan_path.read_text()) != plan:
        raise SpectraConfigError(
            f"{out}: holds an ensemble of other settings ({PLAN} differs); give another --out, or --overwrite to "
            "delete it"
        )
    out.mkdir(parents=True, exist_ok=True)
    record_written(out, "ensemble", [PLAN])
    atomic_write(plan_path, lambda tmp: tmp.write_text(json.dumps(plan, indent=2) + "\n"))


def refuse_other_files(out: Path) -> None:
    """Refuse an ``--out`` holding files that no ensemble command wrote (the user's, another command's run)."""
    if not (out / PLAN).exists() or read_manifest(out) is not None:
        refuse_foreign(out, "--out", "ensemble", "ensemble")


def adopt_earlier(out: Path) -> None:
    """Give an ensemble written before manifests the manifest of what it wrote (:func:`earlier_written`)."""
    if (out / PLAN).exists() and read_manifest(out) is None:
        record_written(out, "ensemble", earlier_written(out))


def earlier_written(out: Path) -> list[str]:
    """What an ensemble written before manifests holds, from its own plan and result: its members (by number,
    not every ``member*``), their configs, results and figures. A ``predictions.csv`` is left: it may be the
    user's."""
    plan = json.loads((out / PLAN).read_text())
    result = json.loads((out / RESULT).read_text()) if (out / RESULT).exists() else {}
    members = [f"member{i}" for i in range(len(plan.get("seeds", [])))]
    figures = [str(Path(f).relative_to(out)) for f in result.get("figures", []) if Path(f).is_relative_to(out)]
    return [PLAN, RESULT, TEST_TABLE, *members, *(f"{m}.yaml" for m in members), *figures]


def predict_split(model, spectra) -> np.ndarray:
    """``model``'s predictions ``(N, T)`` of a split in the targets' units, computed as ``predict`` does."""
    import torch

    from lightning_spectra.interpret.model_modes import evaluation_mode

    with torch.no_grad(), evaluation_mode(model):
        return model.predict_values(model.prediction_outputs(spectra.to(model.device))).double().cpu().numpy()


def fit_member(config: dict, out: Path, name: str, seed: int, extra_args: Sequence[str]) -> None:
    """Train one member in ``out/name`` and save its validation and test predictions (best validation epoch)."""
    from lightning_spectra.cli import SpectraCLI
    from lightning_spectra.runs.checkpoint import load_checkpoint

    folder = out / name
    record_written(out, "ensemble", [name, f"{name}.yaml"])
    if folder.exists():  # a member killed before it finished starts again in an empty folder
        shutil.rmtree(folder)
    member_path = out / f"{name}.yaml"
    member_path.write_text(yaml.safe_dump(campaign_run_config(config, out, name, out.name), sort_keys=False))
    args = ["fit", "--config", str(member_path), *extra_args, "--seed_everything", str(seed)]
    with command_line_set_aside():  # this command's own options are not the member's
        cli = SpectraCLI(args=args)
    model, splits = cli.model, cli.datamodule.splits
    if model.task.name != "regression":
        raise SpectraConfigError(
            f"{member_path}: the ensemble needs a regression model, this config trains a {model.task.name} one"
        )
    best = getattr(cli.trainer.checkpoint_callback, "best_model_path", "")
    if not best:
        raise SpectraConfigError(f"{member_path}: the member wrote no checkpoint; keep trainer.enable_checkpointing")
    model.load_state_dict(load_checkpoint(best)["state_dict"])  # the best validation epoch, as test used
    outputs = {
        "val_predicted": predict_split(model, splits.val.spectra),
        "val_reference": splits.val.labels.double().cpu().numpy().reshape(len(splits.val.labels), -1),
        "test_predicted": predict_split(model, splits.test.spectra),
        "test_reference": splits.test.labels.double().cpu().numpy().reshape(len(splits.test.labels), -1),
        "test_names": np.asarray(cli.datamodule.spectrum_names("test"), dtype=str),
        "target_names": np.asarray(model.target_names, dtype=str),
        "checkpoint": np.asarray(relative_checkpoint(out, best)),
    }
    atomic_write(folder / MEMBER_OUTPUTS, lambda tmp: np.savez(tmp.open("wb"), **outputs))


def relative_checkpoint(out: Path, checkpoint: str | Path) -> str:
    """``checkpoint`` relative to the ensemble folder ``out`` when inside it (absolute otherwise): a copied or
    moved ensemble then predicts with its own members, not with the folder it was copied from."""
    path = Path(checkpoint)
    if not path.is_absolute():
        return str(path)
    try:
        return str(path.resolve().relative_to(out.resolve()))
    except ValueError:
        return str(path)


def member_checkpoint(ensemble: Path, index: int, stored: str) -> Path:
    """The checkpoint of member ``index`` of ``ensemble`` as ``ensemble.json`` records it: a relative path is the
    ensemble folder's; an absolute one (ensembles written before relative paths) is taken from this folder's
    ``member<index>`` when it holds the same file there, so a copy does not read the original's members."""
    path = Path(stored)
    if not path.is_absolute():
        return ensemble / path
    parts = path.parts
    name = f"member{index}"
    if name in parts:
        here = ensemble.joinpath(*parts[len(parts) - 1 - parts[::-1].index(name) :])
        if here.exists():
            return here
    return path


def read_member(folder: Path) -> dict | None:
    """The saved outputs of a finished member, or None."""
    path = folder / MEMBER_OUTPUTS
    if not path.exists():
        return None
    with np.load(path) as saved:
        return {key: saved[key] for key in saved.files}


def fit_ensemble(
    config_path: str | Path,
    members: int = 5,
    seed: int = 0,
    out: str | Path | None = None,
    extra_args: Sequence[str] = (),
    coverage: float = DEFAULT_COVERAGE,
    overwrite: bool = False,
) -> dict:
    """Fit (or resume) the ensemble, calibrate its interval on the validation split, score it on the test split;
    returns what ``ensemble.json`` holds."""
    from lightning_spectra.runtime.config_checks import LIMITS, check_config_file

    config_path = Path(config_path)
    check_config_file(config_path)
    config = load_config(config_path)  # composed with its bases: the member configs stand on their own
    if members < 2:
        raise SpectraConfigError(
            f"--members {members}: an ensemble needs 2 or more members (3 or more for a useful interval)"
        )
    if not 0 < coverage < 1:
        raise SpectraConfigError(
            f"--coverage {coverage}: give the interval's share of spectra between 0 and 1 (e.g. 0.9)"
        )
    low, high = LIMITS["seed_everything"]
    if seed < low or seed + members - 1 > high:
        raise SpectraConfigError(
            f"--seed {seed}: member i trains with seed + i, which must lie between {low} and {high}; "
            f"give a --seed from {low} to {high - members + 1}"
        )
    if (task := requested_task(config, extra_args)) != "regression":
        raise SpectraConfigError(
            f"{config_path}: the ensemble is for regression (data.init_args.task: regression); "
            f"this config's task is {task}"
        )
    out = Path(out) if out else Path("logs") / "ensemble" / config_path.stem
    seeds = [seed + i for i in range(members)]
    refuse_other_files(out)  # before the lock file is written into a folder of the user's
    # before the folder is read: a second fit would resume the same plan and train the same members at once
    with folder_lock(out, "--out", "ensemble fit"):
        return fit_members(config, out, seeds, extra_args, coverage, overwrite)


def fit_members(
    config: dict, out: Path, seeds: list[int], extra_args: Sequence[str], coverage: float, overwrite: bool
) -> dict:
    """:func:`fit_ensemble`'s work in ``out``, once its settings were checked and the folder locked."""
    members = len(seeds)
    prepare_out(
        out, {"config": config, "extra_args": list(extra_args), "seeds": seeds, "coverage": coverage}, overwrite
    )
    outputs = []
    for i, member_seed in enumerate(seeds):
        name = f"member{i}"
        done = read_member(out / name)
        where = f"seed {member_seed} ({out / name})"
        record_written(out, "ensemble", [name, f"{name}.yaml"])
        print(f"member {i + 1} of {members}: {where}" + (", done earlier: kept" if done else ""), flush=True)
        if done is None:
            fit_member(config, out, name, member_seed, extra_args)
            done = read_member(out / name)
        outputs.append(done)
    targets = [str(t) for t in outputs[0]["target_names"]]
    held = interval_coverage(len(outputs[0]["val_reference"]), coverage)
    factor = calibrate(np.stack([o["val_predicted"] for o in outputs]), outputs[0]["val_reference"], held)
    test = ensemble_prediction(np.stack([o["test_predicted"] for o in outputs]), factor)
    result = {**score(outputs, test, seeds, held, out), "coverage_asked": coverage}
    if (warning := wide_interval_warning(result)) is not None:
        print(warning, flush=True)
    reference, names = outputs[0]["test_reference"], [str(n) for n in outputs[0]["test_names"]]
    figures = [f"figures/parity_ensemble_{target}.png" for target in targets]
    record_written(out, "ensemble", [TEST_TABLE, RESULT, *figures])
    write_rows(out / TEST_TABLE, targets, names, test, reference)
    result["figures"] = draw_parity(out, outputs, test, result)
    atomic_write(out / RESULT, lambda tmp: tmp.write_text(json.dumps(result, indent=2) + "\n"))
    return result


def interval_coverage(validation_spectra: int, coverage: float) -> float:
    """The coverage the interval is calibrated for and labelled with: ``coverage``, or the ``n / (n + 1)`` that
    ``n`` validation spectra can promise, with a line saying so. The members have trained by now, so refusing
    would throw their work away; labelling the 92 % interval of 12 spectra "99 %" was silently wrong."""
    held = attainable_coverage(validation_spectra, coverage)
    if held < coverage:
        print(
            f"warning: --coverage {coverage:g} needs at least {spectra_needed(coverage)} validation spectra, the split "
            f"has {validation_spectra}: the interval is calibrated and labelled for the {held:.1%} they can promise; "
            "give more validation spectra or a lower --coverage",
            flush=True,
        )
    return held


def score(outputs: list[dict], test: EnsemblePrediction, seeds: list[int], coverage: float, out: Path) -> dict:
    """The ensemble's prediction ``test`` (its interval calibrated on validation) and its members on the test
    split."""
    import torch

    from lightning_spectra.metrics.regression import flatten_metrics, regression_metrics

    targets = [str(t) for t in outputs[0]["target_names"]]
    reference = outputs[0]["test_reference"]
    metrics = flatten_metrics(regression_metrics(torch.as_tensor(test.mean), torch.as_tensor(reference)), targets)
    members = []
    for member_seed, o in zip(seeds, outputs, strict=True):
        member_rmse = regression_metrics(torch.as_tensor(o["test_predicted"]), torch.as_tensor(reference))["rmse"]
        members.append(
            {
                "seed": member_seed,
                "checkpoint": relative_checkpoint(out, str(o["checkpoint"])),
                "test_rmse": float(member_rmse.mean()),
            }
        )
    first = (
        json.loads((out / "member0" / "summary.json").read_text())
        if (out / "member0" / "summary.json").exists()
        else {}
    )
    return {
        "model": first.get("model"),
        "members": members,
        "target_names": targets,
        "coverage": coverage,
        "interval_factor": [float(f) for f in test.factor],
        "validation_spectra": len(outputs[0]["val_reference"]),
        "test_spectra": len(reference),
        **{f"test_{key}": value for key, value in metrics.items()},
        "test_interval_coverage": float(test.covered(reference).mean()),
        "test_interval_mean_width": float((test.upper - test.lower).mean()),
        **wider_than_range(test, reference),
        "members_test_rmse_mean": float(np.mean([m["test_rmse"] for m in members])),
        "best_member_test_rmse": float(min(m["test_rmse"] for m in members)),
        **{key: first[key] for key in ("classical_best_method", "classical_best_rmse", "pls_rmse") if key in first},
    }


def wider_than_range(test: EnsemblePrediction, reference: np.ndarray) -> dict:
    """``interval_wider_than_range`` (whether any test interval is wider than the range of its target's test
    reference values), ``intervals_wider_than_range`` (how many, over all targets) and
    ``test_reference_range`` (that range per target): ``ensemble.json``'s record of intervals that say little."""
    spread = np.ptp(np.asarray(reference, dtype=np.float64).reshape(test.mean.shape), axis=0)
    wide = int(((test.upper - test.lower) > spread).sum())
    return {
        "interval_wider_than_range": wide > 0,
        "intervals_wider_than_range": wide,
        "test_reference_range": [float(v) for v in spread],
    }


def wide_interval_warning(result: dict) -> str | None:
    """One line when some test intervals are wider than the range of the test reference values (``None``
    otherwise): any reference value would fall inside such an interval, so its coverage means little; the
    parity figure draws them whole."""
    wide = result.get("intervals_wider_than_range", 0)
    if not wide:
        return None
    total = result["test_spectra"] * len(result["target_names"])
    ranges = ", ".join(
        f"{t} {r:.4g}" for t, r in zip(result["target_names"], result["test_reference_range"], strict=True)
    )
    return (
        f"warning: {wide} of {total} test intervals ({result['coverage']:.0%}) are wider than the range of the test "
        f"reference values ({ranges}); mean width {result['test_interval_mean_width']:.4g}. Such an interval says "
        "little about a spectrum: more members, more validation spectra or a better model narrow it"
    )


def draw_parity(out: Path, outputs: list[dict], test: EnsemblePrediction, result: dict) -> list[str]:
    """``<out>/figures/parity_ensemble_<target>.png``: the ensemble's mean with its interval, and member 0 (what
    one fit of the config gives), against the test reference values."""
    from lightning_spectra.plots.figure import save_figure  # matplotlib loads only when a figure is drawn
    from lightning_spectra.plots.regression import plot_parity

    mean_name = f"mean of {len(outputs)}"
    pngs = []
    for t, target in enumerate(result["target_names"]):
        fig = plot_parity(
            outputs[0]["test_reference"][:, t],
            {
                mean_name: test.mean[:, t],
                f"one fit (seed {result['members'][0]['seed']})": outputs[0]["test_predicted"][:, t],
            },
            target=target,
            title=f"seed ensemble of {result['model']}: {result['coverage']:.0%} interval, test coverage "
            f"{test.covered(outputs[0]['test_reference'])[:, t].mean():.0%}",
            intervals={mean_name: (test.lower[:, t], test.upper[:, t])},
        )
        pngs.append(str(save_figure(fig, out / "figures" / f"parity_ensemble_{target}.png")))
    return pngs


def write_rows(path: Path, targets: Sequence[str], names: Sequence[str], prediction, reference=None) -> None:
    """The ensemble's CSV: position, spectrum, then per target (reference,) predicted mean, sd, lower, upper."""

    def write(tmp: Path) -> None:
        with open(tmp, "w", newline="") as f:
            rows = csv.writer(f)
            header = ["position", "spectrum"]
            for t in targets:
                header += ([f"reference_{t}"] if reference is not None else []) + [
                    f"predicted_{t}",
                    f"sd_{t}",
                    f"lower_{t}",
                    f"upper_{t}",
                ]
            rows.writerow(header)
            for i, name in enumerate(names):
                row: list = [i, name]
                for t in range(len(targets)):
                    values = [prediction.mean, prediction.spread, prediction.lower, prediction.upper]
                    row += ([f"{reference[i, t]:.6g}"] if reference is not None else []) + [
                        f"{v[i, t]:.6g}" for v in values
                    ]
                rows.writerow(row)

    atomic_write(path, write)


#: The packages whose classes a saved member config may name (``class_path``): this package's, Lightning's, torch's.
SAVED_CONFIG_PACKAGES = ("lightning_spectra", "lightning", "torch")


def check_saved_config(path: Path) -> None:
    """Refuse a member config whose ``class_path`` (anywhere, in an inline JSON string or in a config file it
    names too) is outside :data:`SAVED_CONFIG_PACKAGES`, before the config parser sees it.

    jsonargparse imports every dotted ``class_path`` it parses; an ensemble folder is shared data, and a config
    in it naming ``payload.Model`` runs ``payload.py`` from the working folder (or ``member0.payload`` from the
    folder itself) under ``python -m``. Nothing named by a data folder is imported: one line instead.
    """

    def refuse(value: str, where: str, source: Path) -> None:
        if value.split(".")[0] not in SAVED_CONFIG_PACKAGES:
            raise SpectraConfigError(
                f"{source}: {where} names {value!r}, which is not a class of {', '.join(SAVED_CONFIG_PACKAGES)}; "
                "a saved member config may name only those, and it is not imported"
            )

    def walk(node: object, where: str, source: Path, depth: int) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                here = f"{where}.{key}" if where else str(key)
                if key == "class_path" and isinstance(value, str) and "." in value:
                    refuse(value, here, source)
                walk(value, here, source, depth)
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}[{i}]", source, depth)
        elif isinstance(node, str) and depth < 5:  # jsonargparse reads a string as inline YAML or a file's path
            named = source.parent / node
            if _importable_elsewhere(node):  # `model: payload.Model`, a class path without `class_path`
                refuse(node, where, source)
            elif node.lstrip().startswith(("{", "[")):
                walk(_yaml_or_none(node), where, source, depth + 1)
            elif node.lower().endswith((".yaml", ".yml", ".json")) and named.is_file():
                walk(_yaml_or_none(named.read_text(encoding="utf-8", errors="replace")), "", named, depth + 1)

    if path.is_file():
        walk(_yaml_or_none(path.read_text(encoding="utf-8", errors="replace")), "", path, 0)
        # and composed with its bases (``base:`` may name a local file under any name): what the parser would see
        walk(load_config(path), "", path, 0)


def _importable_elsewhere(text: str) -> bool:
    """Whether ``text`` is a dotted path to a class (``payload.Model``: the config parser takes a class path
    given as a plain string) whose top module, outside :data:`SAVED_CONFIG_PACKAGES`, can be found (located, not
    run). A file name such as ``train.csv`` is not one, even beside a ``train.py``: its last part is no class."""
    import importlib.util

    parts = text.split(".")
    if len(parts) < 2 or not all(p.isidentifier() for p in parts) or parts[0] in SAVED_CONFIG_PACKAGES:
        return False
    if not parts[-1][0].isupper():
        return False
    try:
        return importlib.util.find_spec(parts[0]) is not None
    except (ImportError, ValueError):
        return False


def _yaml_or_none(text: str) -> object:
    """``text`` parsed as YAML, or None where it is not YAML (the config parser then refuses it itself)."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return None


def predict_ensemble(ensemble: str | Path, predict_path: str | Path, output: str | Path | None = None) -> Path:
    """Every member's ``predict`` on ``predict_path``, combined into the ensemble's CSV; returns its path."""
    from lightning_spectra.cli import SpectraCLI

    ensemble = Path(ensemble)
    if not (ensemble / RESULT).exists():
        raise SpectraDataError(f"{ensemble}: no {RESULT}; run `{command('ensemble')} fit` into it first")
    result = json.loads((ensemble / RESULT).read_text())
    targets = result["target_names"]
    for i in range(len(result["members"])):
        check_saved_config(ensemble / f"member{i}" / "config.yaml")  # before any is parsed: parsing imports
    path = Path(output) if output else ensemble / "predictions.csv"
    refuse_writing_onto(path, Path(predict_path))
    adopt_earlier(ensemble)
    ours = [f"predict/member{i}" for i in range(len(result["members"]))]
    if path.parent.resolve() == ensemble.resolve():
        written = (read_manifest(ensemble) or {}).get("paths", [])
        if path.exists() and path.name not in written and read_manifest(ensemble) is not None:
            raise SpectraConfigError(
                f"{path}: a file this ensemble did not write; give --output to write the predictions elsewhere"
            )
        ours.append(path.name)  # recorded before it is written: a later fit --overwrite deletes it
    record_written(ensemble, "ensemble", ours)
    values, names = [], None
    for i, member in enumerate(result["members"]):
        folder, name = ensemble / f"member{i}", f"member{i}"
        written = ensemble / "predict" / name / "predictions.csv"
        # The member's own folder keeps its training logs: predict logs into predict/<member> (CSV only).
        logger = {
            "class_path": CSV_LOGGER,
            "init_args": {"save_dir": str(ensemble / "predict"), "name": "", "version": name},
        }
        writer = {"class_path": "lightning_spectra.callbacks.PredictionWriter", "init_args": {"output": str(written)}}
        args = [
            "predict",
            "--config",
            str(folder / "config.yaml"),
            "--ckpt_path",
            str(member_checkpoint(ensemble, i, member["checkpoint"])),
            "--data.init_args.predict_path",
            str(predict_path),
            f"--trainer.logger={json.dumps(logger)}",
            f"--trainer.callbacks={json.dumps([writer])}",  # only the writer: no checkpointing, no figures
        ]
        print(f"member {i + 1} of {len(result['members'])}: predicting {predict_path}", flush=True)
        written.unlink(missing_ok=True)
        with command_line_set_aside(), warnings.catch_warnings():
            # Lightning asks for the checkpoint's callbacks to restore their state: only a resumed fit needs it.
            warnings.filterwarnings("ignore", message=".*callbacks used to create the checkpoint")
            SpectraCLI(args=args)
        with open(written, newline="") as f:
            rows = list(csv.DictReader(f))
        member_names = [r["spectrum"] for r in rows]
        if names is not None and member_names != names:
            raise SpectraDataError(f"{written}: member {i} predicted other spectra than member 0")
        names = member_names
        values.append([[float(r[f"predicted_{t}"]) for t in targets] for r in rows])
    prediction = ensemble_prediction(np.asarray(values), np.asarray(result["interval_factor"]))
    write_rows(path, targets, names or [], prediction)
    print(
        f"Wrote {len(names or [])} predicted {', '.join(targets)} values to {path}: the mean of "
        f"{len(values)} members, their sd, and the {result['coverage']:.0%} interval calibrated on validation"
    )
    return path


def refuse_writing_onto(output: Path, predict_path: Path) -> None:
    """Refuse an ``--output`` that is the new spectra themselves (or a file inside a ``--predict_path`` folder,
    which the next predict would read as a spectrum): the predictions would replace the user's data."""
    if output.exists() and predict_path.exists() and os.path.samefile(output, predict_path):
        raise SpectraConfigError(
            f"{output}: is the --predict_path file; the predictions would replace the spectra. Give another --output"
        )
    if predict_path.is_dir() and output.resolve().is_relative_to(predict_path.resolve()):
        raise SpectraConfigError(
            f"{output}: is inside the --predict_path folder, where it would be read as spectra next time. Give "
            "another --output"
        )


def print_result(result: dict, out: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"seed ensemble of {len(result['members'])} {result['model']} ({out})")
    for header in ("", "test RMSE", "R²", "RPD", f"{result['coverage']:.0%} interval: coverage, mean width"):
        table.add_column(header)
    for member in result["members"]:
        table.add_row(f"member seed {member['seed']}", f"{member['test_rmse']:.4g}", "", "", "")
    table.add_row(
        "ensemble mean",
        f"{result['test_rmse']:.4g}",
        f"{result['test_r2']:.3f}",
        f"{result['test_rpd']:.2f}",
        f"{result['test_interval_coverage']:.0%}, {result['test_interval_mean_width']:.4g}",
        style="bold",
    )
    if "classical_best_rmse" in result:
        table.add_row(f"best classical ({result['classical_best_method']})", f"{result['classical_best_rmse']:.4g}")
    if "pls_rmse" in result:
        table.add_row("PLS", f"{result['pls_rmse']:.4g}")
    Console().print(table)


def main(argv: Sequence[str] | None = None) -> None:
    argv, extra = split_passthrough(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog=command("ensemble"), description=__doc__.split("\n\n")[0])
    steps = parser.add_subparsers(dest="step", required=True)
    fit = steps.add_parser("fit", help="train the members, calibrate the interval, score on the test split")
    fit.add_argument("--config", required=True, help="a regression config (or: examples/files_regression)")
    fit.add_argument("--members", type=int, default=5)
    fit.add_argument("--seed", type=int, default=0, help="seed of the first member; member i gets seed + i")
    fit.add_argument("--coverage", type=float, default=DEFAULT_COVERAGE, help="the interval's share of spectra")
    fit.add_argument("--out", default=None, help="the ensemble's folder (default logs/ensemble/<config name>)")
    fit.add_argument("--overwrite", action="store_true", help="delete an ensemble of other settings in --out")
    predict = steps.add_parser("predict", help="mean, spread and interval of the members on new spectra")
    predict.add_argument("--ensemble", required=True, help="the folder `fit` wrote")
    predict.add_argument("--predict_path", required=True, help="new spectra: a file or a folder")
    predict.add_argument("--output", default=None, help="CSV path (default <ensemble>/predictions.csv)")
    args, unknown = parser.parse_known_args(argv)
    if args.step == "predict" and (unknown or extra):
        parser.error(f"predict takes no other options: {' '.join([*unknown, *extra])}")
    with one_line_failures():  # bad input: one line, exit 2; a failed run exit 1; a bug keeps its traceback
        if args.step == "predict":
            predict_ensemble(args.ensemble, args.predict_path, args.output)
            return
        from lightning_spectra.runs.folder import check_writable

        config = config_file(args.config)  # a shipped config's name, or a path
        out = Path(args.out) if args.out else Path("logs") / "ensemble" / Path(config).stem
        check_writable(out, "--out")
        kept = "the members that finished are kept, the stopped one trains again"
        with stopped_by_sigterm(f"the ensemble in {out}", kept):
            result = fit_ensemble(
                config, args.members, args.seed, out, [*unknown, *extra], args.coverage, args.overwrite
            )
    print_result(result, out)


if __name__ == "__main__":
    main()
