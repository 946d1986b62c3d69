"""Cross-validation for small sets: every fold an ordinary training run, then mean +- sd beside the linear baseline.

    python -m lightning_spectra.apps.cross_validation --config configs/examples/files_csv.yaml --folds 5 --repeats 2 \\
        -- --data.init_args.train_path my_spectra.csv

Repeat ``r`` shuffles with seed ``seed + r`` and cuts the training file into ``folds`` stratified folds
(``SpectraFilesDataModule``'s ``split.folds``/``split.fold``/``split.seed``); fold ``k`` is the test split, validation a
stratified share of the rest. Each fold is a normal ``fit`` with its own folder
``<out>/repeat<r>_fold<k>/`` (config, checkpoints, ``summary.json``) and, when the config logs to W&B or
``LIGHTNING_SPECTRA_WANDB`` is set, its own W&B run ``<model> repeat<r>_fold<k>``, grouped under the
cross-validation's name. Each fold starts with a line ``fold i of n``. ``<out>/cv_results.csv`` holds one
row per fold and ``<out>/cv_summary.json`` the means and standard deviations printed at the end. An ``--out``
holding an earlier cross-validation is refused (``--overwrite`` deletes its results first: only the paths it recorded
in ``lightning_spectra_written.json``), and so is one holding other files and no cross-validation. A regression
config (``task: regression``) is scored by RMSE, R^2 and RPD beside the PLS baseline's RMSE instead of accuracy.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import shutil
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path

import yaml

from lightning_spectra.errors import SpectraConfigError, SpectraDataError, one_line_failures
from lightning_spectra.runs.campaign import campaign_run_config, stopped_by_sigterm
from lightning_spectra.runs.manifest import delete_written, read_manifest, record_written, refuse_foreign
from lightning_spectra.runtime.atomic_files import atomic_write
from lightning_spectra.runtime.commands import command, split_passthrough
from lightning_spectra.runtime.console import command_line_set_aside
from lightning_spectra.runtime.shipped_files import config_file
from lightning_spectra.tasks import DEFAULT_TASK, TASKS, Task, task_class

RESULTS = ("cv_results.csv", "cv_summary.json")  # beside the fold folders repeat<r>_fold<k>/ and their configs
PLAN = "cv_plan.json"  # the settings of the cross-validation in a folder: the same ones resume it
FOLD_DONE = "cv_fold.json"  # in a fold's folder: its row, written when the fold has finished
#: A fold row's entries that are not scores (the scores are the task's: Task.cross_validation_scores).
ROW_FACTS = ("repeat", "fold", "model", "linear_baseline_method", "epochs", "train_time_s")


def summarise(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    values = [float(v) for v in values]
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def run_cv(
    config_path: str | Path,
    folds: int = 5,
    repeats: int = 1,
    seed: int = 0,
    out: str | Path | None = None,
    extra_args: Sequence[str] = (),
    overwrite: bool = False,
) -> dict:
    """Run every fold of every repeat and return ``{"rows": [...], "summary": {...}}`` (also written to ``out``).

    An ``out`` holding an earlier cross-validation is refused unless ``overwrite``, which deletes its results
    first (see :func:`prepare_out`); one of the same settings that was stopped (SIGTERM, a kill) is resumed: the
    folds that finished are kept, the others train again in an empty folder."""
    from lightning_spectra.cli import SpectraCLI
    from lightning_spectra.runtime.composed_configs import load_config
    from lightning_spectra.runtime.config_checks import check_config_file

    config_path = Path(config_path)
    check_config_file(config_path)  # missing, empty, not YAML or a !!python tag: one line naming it
    config = load_config(config_path)  # composed with its bases: each fold's config stands on its own
    data_class = str(config.get("data", {}).get("class_path", ""))
    if not data_class.endswith("SpectraFilesDataModule"):
        raise SpectraDataError(
            f"{config_path}: cross-validation needs a SpectraFilesDataModule config, got {data_class!r}"
        )
    if folds < 2 or repeats < 1:
        raise SpectraDataError(f"need folds >= 2 and repeats >= 1, got folds={folds}, repeats={repeats}")
    out = Path(out) if out else Path("logs") / "cv" / config_path.stem
    plan = {"config": config, "extra_args": list(extra_args), "folds": folds, "repeats": repeats, "seed": seed}
    prepare_out(out, overwrite, plan)
    group = out.name
    rows = []
    for repeat in range(repeats):
        for fold in range(folds):
            name = f"repeat{repeat}_fold{fold}"
            done = read_fold(out / name)
            where = f"fold {len(rows) + 1} of {folds * repeats}: repeat {repeat}, fold {fold} ({out / name})"
            print(where + (", done earlier: kept" if done else ""), flush=True)
            if done is not None:
                rows.append(done)
                continue
            fold_path = out / f"{name}.yaml"
            record_written(out, "cv", [name, fold_path.name])  # before writing: a killed run's files count too
            if (out / name).exists():  # a fold stopped before it finished starts again in an empty folder
                shutil.rmtree(out / name)
            fold_path.write_text(yaml.safe_dump(campaign_run_config(config, out, name, group), sort_keys=False))
            args = [
                "fit",
                "--config",
                str(fold_path),
                *extra_args,
                "--data.init_args.split.folds",
                str(folds),
                "--data.init_args.split.fold",
                str(fold),
                "--data.init_args.split.seed",
                str(seed + repeat),
            ]
            with command_line_set_aside():  # this command's own options are not the fold's
                SpectraCLI(args=args)
            summary = json.loads((out / name / "summary.json").read_text())
            row = {
                "repeat": repeat,
                "fold": fold,
                "model": summary.get("model"),
                **summary_task([summary]).cross_validation_scores(summary),
                "linear_baseline_method": summary.get("linear_baseline_method"),
                "epochs": summary.get("epochs"),
                "train_time_s": summary.get("train_time_s"),
            }
            atomic_write(out / name / FOLD_DONE, lambda tmp, row=row: tmp.write_text(json.dumps(row) + "\n"))
            rows.append(row)
    result = {"rows": rows, "summary": cv_summary(rows, folds, repeats)}
    record_written(out, "cv", RESULTS)
    write_results(out, result)
    return result


def earlier_results(out: Path) -> list[Path]:
    """What a cross-validation wrote to ``out`` and is still there: the paths its manifest records (fold folders
    and configs, the results table and summary), or for one written before manifests :func:`legacy_results`."""
    if not out.is_dir():
        return []
    manifest = read_manifest(out)
    names = manifest["paths"] if manifest is not None else legacy_results(out)
    return sorted(out / name for name in names if (out / name).exists() or (out / name).is_symlink())


def legacy_results(out: Path) -> list[str]:
    """The names a cross-validation written before manifests used, read from its own ``cv_results.csv`` and
    ``cv_summary.json`` (its folds, not every ``repeat*_fold*`` name a user may have); nothing without them."""
    present = [name for name in RESULTS if (out / name).exists()]
    if not present:
        return []
    runs: set[tuple[int, int]] = set()
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError, csv.Error), open(out / RESULTS[0]) as f:
        runs |= {(int(row["repeat"]), int(row["fold"])) for row in csv.DictReader(f)}
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError, AttributeError):
        summary = json.loads((out / RESULTS[1]).read_text())
        runs |= {(r, k) for r in range(int(summary["repeats"])) for k in range(int(summary["folds"]))}
    folds = [f"repeat{r}_fold{k}" for r, k in sorted(runs)]
    return [*present, *folds, *(f"{name}.yaml" for name in folds)]


def read_fold(folder: Path) -> dict | None:
    """The row of a fold that finished (its :data:`FOLD_DONE`, written after its test and baselines), or None."""
    try:
        return json.loads((folder / FOLD_DONE).read_text())
    except (OSError, ValueError):
        return None


def prepare_out(out: Path, overwrite: bool, plan: dict | None = None) -> None:
    """Make ``out`` ready for a new cross-validation: every fold starts in an empty folder.

    A fold run into the folder of an earlier one would merge into its ``summary.json`` (keys the new run
    never wrote, such as a baseline it did not fit) and keep its checkpoints (``last.ckpt`` of the old
    model), so an earlier cross-validation is refused, or with ``overwrite`` deleted: only what it recorded as
    written (:mod:`~lightning_spectra.runs.manifest`), never a user's file named like its own. A folder holding
    other files and no cross-validation is refused. One of the same ``plan`` that did not finish (no
    ``cv_summary.json``) is resumed: the same command run again after a SIGTERM goes on where it stopped.
    """
    if read_manifest(out) is not None or not legacy_results(out):
        refuse_foreign(out, "--out", "cross-validation", "cv")
    earlier = earlier_results(out)
    if earlier and not overwrite and resumable(out, plan):
        return
    if earlier and not overwrite:
        raise SpectraConfigError(
            f"{out}: holds an earlier cross-validation ({earlier[0].name}, ...); give another --out, "
            "or --overwrite to delete its results"
        )
    if earlier:
        delete_written(out, [str(path.relative_to(out)) for path in earlier])
    out.mkdir(parents=True, exist_ok=True)
    if plan is not None:
        record_written(out, "cv", [PLAN])
        atomic_write(out / PLAN, lambda tmp: tmp.write_text(json.dumps(plan, indent=2) + "\n"))


def resumable(out: Path, plan: dict | None) -> bool:
    """Whether ``out`` holds an unfinished cross-validation of ``plan`` (same config, options, folds, seed)."""
    if plan is None or (out / RESULTS[1]).exists():
        return False
    try:
        return json.loads((out / PLAN).read_text()) == plan
    except (OSError, ValueError):
        return False


def summary_task(rows: list[dict]) -> type[Task]:
    """The task the folds' summaries come from: the first whose score they report (default: classification)."""
    scored = (task for task in TASKS.values() if any(r.get(task.score_key) is not None for r in rows))
    return next(scored, TASKS[DEFAULT_TASK])


def cv_summary(rows: list[dict], folds: int, repeats: int) -> dict:
    summary: dict = {"folds": folds, "repeats": repeats, "runs": len(rows), "model": rows[0]["model"] if rows else None}
    summary["task"] = summary_task(rows).name
    scores = [key for key in dict.fromkeys(k for r in rows for k in r) if key not in ROW_FACTS]
    for key in (*scores, "epochs", "train_time_s"):
        values = [r[key] for r in rows if r.get(key) is not None]
        if values:
            summary[f"{key}_mean"], summary[f"{key}_sd"] = summarise(values)
    return summary


def write_results(out: Path, result: dict) -> None:
    rows = result["rows"]
    if rows:
        with open(out / RESULTS[0], "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    (out / RESULTS[1]).write_text(json.dumps(result["summary"], indent=2) + "\n")


def print_table(result: dict, out: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    s = result["summary"]
    columns = task_class(s.get("task") or DEFAULT_TASK).cross_validation_columns()
    table = Table(title=f"cross-validation: {s['folds']} folds x {s['repeats']} repeats ({out})")
    for header in ("run", *(c[1] for c in columns), "epochs"):
        table.add_column(header)
    for r in result["rows"]:
        cells = [fmt.format(r[key]) if r.get(key) is not None else "-" for key, _, fmt in columns]
        keys = [key for key, _, _ in columns]
        if r.get("linear_baseline_method") and "linear_baseline_accuracy" in keys:
            cells[keys.index("linear_baseline_accuracy")] += f" ({r['linear_baseline_method']})"
        table.add_row(f"repeat {r['repeat']} fold {r['fold']}", *cells, str(r["epochs"]))
    means = [
        f"{fmt.format(s[key + '_mean'])} +- {fmt.format(s[key + '_sd'])}" if f"{key}_mean" in s else "-"
        for key, _, fmt in columns
    ]
    table.add_row(f"{s['model']} mean +- sd", *means, "", style="bold")
    Console().print(table)


def main(argv: Sequence[str] | None = None) -> None:
    argv, extra = split_passthrough(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog=command("cv"), description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--config", required=True, help="a training config with a SpectraFilesDataModule (or: examples/files_csv)"
    )
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0, help="split seed of the first repeat")
    parser.add_argument("--out", default=None, help="folder of the folds' runs (default logs/cv/<config name>)")
    parser.add_argument("--overwrite", action="store_true", help="delete an earlier cross-validation in --out")
    args, unknown = parser.parse_known_args(argv)
    extra = [*unknown, *extra]  # anything else goes to every fold's `fit` (e.g. --data.init_args.train_path)
    out = Path(args.out) if args.out else Path("logs") / "cv" / Path(args.config).stem
    with one_line_failures():  # bad input: one line, exit 2; a failed run exit 1; a bug keeps its traceback
        from lightning_spectra.runs.folder import check_writable
        from lightning_spectra.runtime.config_checks import check_config_file

        config = config_file(args.config)  # a shipped config's name, or a path
        check_config_file(config)
        check_writable(out, "--out")  # before the first fold trains, not after
        kept = "the folds that finished are kept, the stopped one trains again"
        with stopped_by_sigterm(f"the cross-validation in {out}", kept):
            result = run_cv(config, args.folds, args.repeats, args.seed, args.out, extra, args.overwrite)
    print_table(result, out)


if __name__ == "__main__":
    main()
