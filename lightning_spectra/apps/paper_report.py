"""The paper's comparison of all classifiers: one table (Markdown + CSV) and figures from finished runs.

Every run leaves ``summary.json`` in its log folder; the report trains the models it is asked for (or
collects the newest finished run of each with ``collect=True``) and lays their summaries side by side with
the paper's own numbers (docs/paper.md §7, NVIDIA P100).

The command ``lightning-spectra-report`` (or ``python report.py`` in the repository) trains all eight
classifiers and writes ``reports/paper/comparison.{md,csv,png}`` plus the feature-importance and Grad-CAM panels,
the attribution heat map of the test series (``attribution_series.png``) and the per-peak table
(``peaks.{csv,md}``)::

    lightning-spectra-report                                # train all eight with the shipped configs <model>
    lightning-spectra-report --collect                      # reuse the newest finished run of each model in logs/
    lightning-spectra-report --models cnn lstm --wandb      # also log every run to W&B (offline without an account)
    lightning-spectra-report -- --trainer.accelerator gpu   # anything after -- goes to every `fit`
    lightning-spectra-report --compare --ramps default hard # paper-exact (paper/<model>) against corrected, per
                                                            # ramp: reports/paper/paper_vs_corrected.{md,csv}
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lightning_spectra.errors import SpectraConfigError, one_line_failures
from lightning_spectra.interpret.map_checks import INTEGRATED_GRADIENTS
from lightning_spectra.models.registry import model_classes
from lightning_spectra.runs.wandb_runs import log_table_run, wandb_campaign
from lightning_spectra.runtime.commands import command
from lightning_spectra.runtime.shipped_files import CONFIGS

_CLASSES = model_classes()
#: Config names of every model: the paper's in its order, then any others by name.
MODELS = tuple(sorted(_CLASSES, key=lambda name: (_CLASSES[name].paper_order or len(_CLASSES) + 1, name)))
#: The paper's models, in its order: what the report trains unless told otherwise, and the only ones ``--compare``
#: can take (the others have no paper-exact config in ``configs/paper/``).
PAPER_MODELS = tuple(name for name in MODELS if _CLASSES[name].paper_order is not None)
LABELS = {name: cls.label or cls.__name__ for name, cls in _CLASSES.items()}
# The paper (docs/paper.md §7): training time in seconds on a P100, epochs, boundary (on the models' classes).
PAPER = {
    name: (cls.paper_train_time_s, cls.paper_epochs, cls.paper_boundary)
    for name, cls in _CLASSES.items()
    if cls.paper_order is not None
}
COLUMNS = (
    "model",
    "confidence",
    "boundary",
    "true_boundary",
    "accuracy",
    "train_time_s",
    "epochs",
    "trainable_parameters",
    "peak_memory_gib",
    "device",
    "paper_train_time_s",
    "paper_boundary",
    "run_dir",
    "linear_baseline_accuracy",
    "svc_accuracy",
    "classical_best_method",
    "classical_best_accuracy",
)
#: The classical baselines a run fitted beside its model (HED runs and users' files alike).
BASELINE_COLUMNS = COLUMNS[-4:]


@dataclass
class Row:
    name: str
    summary: dict
    folder: Path

    def values(self) -> dict:
        paper = PAPER.get(self.name, (None, None, None))
        return {
            "model": LABELS.get(self.name, self.name),
            **{k: self.summary.get(k) for k in COLUMNS[1:10]},
            "paper_train_time_s": paper[0],
            "paper_boundary": paper[2],
            "run_dir": str(self.folder),
            **{k: self.summary.get(k) for k in BASELINE_COLUMNS},
        }


def read_summary(path: Path) -> dict | None:
    """``path``'s summary, or None with one line naming the file where it is damaged (cut by a full disk, edited by
    hand): one bad run is left out of the report rather than ending it in a traceback."""
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        reason = f"line {err.lineno}: {err.msg}" if isinstance(err, json.JSONDecodeError) else str(err)
        print(f"warning: {path}: not a readable summary ({reason}); that run is left out", file=sys.stderr, flush=True)
        return None
    if not isinstance(summary, dict):
        print(f"warning: {path}: not a summary (a JSON object); that run is left out", file=sys.stderr, flush=True)
        return None
    return summary


def latest_run(log_root: Path, name: str) -> Path | None:
    """The newest run folder of ``name`` whose summary has a test result (damaged summaries left out)."""
    runs = [
        p.parent for p in (log_root / name).glob("version_*/summary.json") if "confidence" in (read_summary(p) or {})
    ]
    return max(runs, key=lambda p: p.stat().st_mtime) if runs else None


def nothing_to_collect(log_root: Path, runs: str) -> None:
    """Refuse ``--collect`` where not one of the ``runs`` asked for has finished under ``log_root``: it trained
    every model, hours where the user asked to reuse what is there (a wrong ``--log-root``, most often)."""
    raise SpectraConfigError(
        f"--collect: nothing to collect: no finished run of {runs} under {log_root} (a summary.json with a test "
        "result); give the --log-root the runs went to, or leave out --collect to train them"
    )


def train(name: str, log_root: Path, config_dir: Path, extra: list[str], run_name: str | None = None) -> Path:
    """Train ``<config_dir>/<name>.yaml`` in its own ``fit`` process and return its run folder.

    One process per model, as a user runs them: peak memory (the process's on CPU) and timings of one model
    are not inherited by the next. ``run_name`` is the config's logger name when it is not ``name``.
    """
    command = [
        sys.executable,
        "-m",
        "lightning_spectra.cli",
        "fit",
        "--config",
        str(config_dir / f"{name}.yaml"),
        "--trainer.logger.init_args.save_dir",
        str(log_root),
        *extra,
    ]
    if subprocess.run(command).returncode != 0:
        raise RuntimeError(f"{name}: training failed ({' '.join(command)})")
    found = latest_run(log_root, run_name or name)
    if found is None:
        raise RuntimeError(f"{name}: the run left no summary.json with test results under {log_root / name}")
    return found


def _fmt(value, spec: str) -> str:
    return "–" if value is None else format(value, spec)


def baseline_note(values: dict) -> str:
    """`` (linear baseline 98.3%, SVC 99.1%)`` after the accuracy when the run fitted the classical baselines."""
    notes = [
        f"{label} {values[key]:.1%}"
        for key, label in (("linear_baseline_accuracy", "linear baseline"), ("svc_accuracy", "SVC"))
        if values.get(key) is not None
    ]
    return f" ({', '.join(notes)})" if notes else ""


def markdown_table(rows: list[Row]) -> str:
    header = (
        "| model | confidence | boundary (true) | accuracy | train time s | paper s (P100) | epochs | "
        "parameters | peak memory GiB | device |"
    )
    lines = [header, "|" + "---|" * 10]
    for row in rows:
        v = row.values()
        lines.append(
            f"| {v['model']} | {_fmt(v['confidence'], '.2%')} | {_fmt(v['boundary'], '.0f')} "
            f"({_fmt(v['true_boundary'], '.0f')}) | {_fmt(v['accuracy'], '.2%')}{baseline_note(v)} "
            f"| {_fmt(v['train_time_s'], '.3f')} "
            f"| {_fmt(v['paper_train_time_s'], '.3f')} | {_fmt(v['epochs'], 'd')} "
            f"| {_fmt(v['trainable_parameters'], ',d')} | {_fmt(v['peak_memory_gib'], '.2f')} | {v['device'] or '–'} |"
        )
    return "\n".join(lines) + "\n"


def write_csv(rows: list[Row], path: Path) -> None:
    with open(path, "w", newline="") as f:
        out = csv.DictWriter(f, fieldnames=COLUMNS)
        out.writeheader()
        out.writerows(row.values() for row in rows)


def read_columns(path: Path) -> dict[str, np.ndarray]:
    """The columns of a CSV the attribution callbacks wrote (header row, then numbers)."""
    with open(path) as f:
        header, *rows = list(csv.reader(f))
    values = np.asarray(rows, dtype=np.float64)
    return {name: values[:, i] for i, name in enumerate(header)}


def _attribution(row: Row, name: str) -> dict[str, np.ndarray] | None:
    path = row.folder / "attribution" / name
    return read_columns(path) if path.exists() else None


def series_maps(rows: list[Row]) -> list[tuple[str, str, np.ndarray, np.ndarray, int | None, np.ndarray | None]]:
    """Per model with maps of the test series: its label, method, x axis, maps (the default map where saved),
    predicted change, misclassified."""
    found = []
    for row in rows:
        folder = row.folder / "attribution"
        means = _attribution(row, "gradcam_test_class_mean.csv")
        if means is None or not (folder / "gradcam_test.npy").exists():
            continue
        wrong = folder / "gradcam_test_misclassified.npy"
        # the map the run drew first (its model class's measured default), where the run saved it
        method = row.summary.get("gradcam_test_default_map", row.summary.get("gradcam_test_method", "1D Grad-CAM"))
        maps = folder / ("gradcam_test_ig.npy" if method == INTEGRATED_GRADIENTS else "gradcam_test.npy")
        if not maps.exists():
            method, maps = row.summary.get("gradcam_test_method", "1D Grad-CAM"), folder / "gradcam_test.npy"
        found.append(
            (
                LABELS.get(row.name, row.name),
                method,
                means["x"],
                np.load(maps),
                row.summary.get("gradcam_test_predicted_change"),
                np.load(wrong) if wrong.exists() else None,
            )
        )
    return found


def write_figures(rows: list[Row], out: Path, xlabel: str) -> list[Path]:
    """The report's figures in ``out``; a stacked figure is left out when no run left the files it draws."""
    from lightning_spectra.plots import paper  # matplotlib loads only when a figure is drawn
    from lightning_spectra.plots.figure import save_figure

    names = [LABELS.get(r.name, r.name) for r in rows]
    written = [save_figure(paper.comparison_figure(names, [r.values() for r in rows]), out / "comparison.png")]
    importance = [
        (LABELS.get(r.name, r.name), d) for r in rows if (d := _attribution(r, "feature_importance_train.csv"))
    ]
    means = [(LABELS.get(r.name, r.name), d) for r in rows if (d := _attribution(r, "gradcam_test_class_mean.csv"))]
    if importance:
        reference = means[0][1] if means else None
        for scale, name in (("linear", "feature_importance.png"), ("symlog", "feature_importance_symlog.png")):
            fig = paper.importance_panels(importance, reference, xlabel=xlabel, scale=scale)
            written.append(save_figure(fig, out / name, dpi=130))
    if means:
        written.append(save_figure(paper.gradcam_panel(means, xlabel=xlabel), out / "gradcam.png", dpi=130))
    if series := series_maps(rows):
        written.append(save_figure(paper.series_panels(series, xlabel=xlabel), out / "attribution_series.png", dpi=130))
    return written


def peak_rows(rows: list[Row]) -> list[dict[str, str]]:
    """The per-peak tables of every model (``gradcam_test_peaks.csv``), one list with a model column."""
    table = []
    for row in rows:
        path = row.folder / "attribution" / "gradcam_test_peaks.csv"
        if path.exists():
            with open(path) as f:
                table += [{"model": LABELS.get(row.name, row.name), **r} for r in csv.DictReader(f)]
    return table


def peak_markdown(table: list[dict[str, str]]) -> str:
    """Per-peak table as Markdown: position, the class whose mean shows the peak, attribution per class."""
    if not table:
        return ""
    classes = [k for k in table[0] if k.startswith("attribution[")]
    header = "| model | 2θ (°) | found in | " + " | ".join(c[len("attribution[") : -1] for c in classes) + " |"
    lines = [header, "|" + "---|" * (3 + len(classes))]
    for r in table:
        values = " | ".join(f"{float(r[c]):+.3g}" if r.get(c) else "–" for c in classes)
        lines.append(f"| {r['model']} | {float(r['position']):.3f} | {r['found_in']} | {values} |")
    return "\n".join(lines) + "\n"


ATTRIBUTION_FIELDS = (
    ("gradcam_test_default_map", "default map", "{}"),
    ("gradcam_test_default_deletion_gap", "deletion gap (default)", "{:+.3f}"),
    ("gradcam_test_default_ground_truth_share", "share on differing peaks (default)", "{:.2f}"),
    ("gradcam_test_method", "layer map", "{}"),
    ("gradcam_test_deletion_gap", "deletion gap (map)", "{:+.3f}"),
    ("gradcam_test_ig_deletion_gap", "deletion gap (IG)", "{:+.3f}"),
    ("gradcam_test_ground_truth_share", "share on differing peaks (map)", "{:.2f}"),
    ("gradcam_test_ig_ground_truth_share", "share on differing peaks (IG)", "{:.2f}"),
    ("gradcam_test_ground_truth_chance", "share of the axis", "{:.2f}"),
)


def attribution_markdown(rows: list[Row]) -> str:
    """Faithfulness of every model's attribution: deletion gap (random area - attribution area), ground truth."""
    found = [r for r in rows if "gradcam_test_method" in r.summary]
    if not found:
        return ""
    lines = ["| model | " + " | ".join(label for _, label, _ in ATTRIBUTION_FIELDS) + " |"]
    lines.append("|" + "---|" * (1 + len(ATTRIBUTION_FIELDS)))
    for row in found:
        cells = [spec.format(row.summary[k]) if k in row.summary else "–" for k, _, spec in ATTRIBUTION_FIELDS]
        lines.append(f"| {LABELS.get(row.name, row.name)} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def build_report(
    models: list[str],
    out: Path,
    log_root: Path = Path("logs"),
    config_dir: Path = CONFIGS.folder,
    collect: bool = False,
    extra: list[str] | None = None,
) -> list[Row]:
    """Train (or collect) each model, then write ``comparison.md``/``.csv`` and the figures to ``out``.

    Figures: ``comparison.png`` (confidence, time, parameters, memory), ``feature_importance.png`` and
    ``feature_importance_symlog.png`` (stacked input-gradient panels), ``gradcam.png`` (class-averaged maps),
    ``attribution_series.png`` (each model's maps over the ordered test series). Tables: ``peaks.csv`` /
    ``peaks.md`` (integrated attribution per peak of the class-mean spectra) and ``attribution.md``
    (deletion-curve gaps and ground-truth shares).
    """
    found = {name: latest_run(log_root, name) if collect else None for name in models}
    if collect and not any(found.values()):
        nothing_to_collect(log_root, ", ".join(models))
    rows = []
    for name, folder in found.items():
        if folder is None:
            if collect:
                print(f"note: no finished run of {name} under {log_root / name}: training it", flush=True)
            folder = train(name, log_root, config_dir, extra or [])
        rows.append(Row(name, read_summary(folder / "summary.json") or {}, folder))
    out.mkdir(parents=True, exist_ok=True)
    (out / "comparison.md").write_text(markdown_table(rows))
    write_csv(rows, out / "comparison.csv")
    from lightning_spectra.data.hed import HEDDataModule  # every run of the report is on the HED ramp

    write_figures(rows, out, HEDDataModule.x_label)
    peaks = peak_rows(rows)
    if peaks:
        with open(out / "peaks.csv", "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(peaks[0]))
            writer.writeheader()
            writer.writerows(peaks)
        (out / "peaks.md").write_text(peak_markdown(peaks))
    if attribution := attribution_markdown(rows):
        (out / "attribution.md").write_text(attribution)
    return rows


# ---------------------------------------------------------------------------------- paper-exact against corrected
#: Variant -> (logger-name prefix, config folder): the shipped ``paper/`` configs revert every revertible deviation.
VARIANTS = {"paper": ("paper_", CONFIGS.folder / "paper"), "corrected": ("", CONFIGS.folder)}
RAMPS = ("default", "hard")  # HEDDataModule.simulation_preset


def light_args(variant: str) -> list[str]:
    """Leave out what does not change training or the test result: validation (no early stopping or checkpoint
    selection reads it, and precise BatchNorm does not need it), checkpoints, prediction files and attribution.
    Timing stays, and the paper variant keeps its train-mode BatchNorm at test."""
    callbacks = ["lightning_spectra.callbacks.Timing"]
    if variant == "paper":
        callbacks.append("lightning_spectra.callbacks.PaperBatchNorm")
    return [
        "--trainer.limit_val_batches=0",
        "--trainer.enable_checkpointing=false",
        "--trainer.callbacks=" + json.dumps([{"class_path": c} for c in callbacks]),
    ]


@dataclass
class PairedRow:
    """One model on one ramp: its paper-exact and corrected runs (``None`` where a run is missing)."""

    name: str
    ramp: str
    runs: dict[str, dict | None]

    def values(self) -> dict:
        out = {"model": LABELS.get(self.name, self.name), "ramp": self.ramp}
        for variant, summary in self.runs.items():
            for key in ("confidence", "boundary", "true_boundary", "accuracy", "train_time_s", "trainable_parameters"):
                out[f"{variant}_{key}"] = (summary or {}).get(key)
        out["paper_boundary_real_data"] = PAPER.get(self.name, (None, None, None))[2]
        return out


def paired_runs(
    models: list[str],
    ramps: list[str],
    log_root: Path,
    collect: bool = False,
    extra: list[str] | None = None,
    train_missing: bool = True,
    light: bool = False,
    variants: list[str] | None = None,
) -> list[PairedRow]:
    """Train (or collect from ``log_root/<ramp>``) the paper-exact and corrected run of each model on each ramp.

    Runs go model by model (both variants of a model before the next model), so a partial campaign still
    gives complete pairs. With ``train_missing=False`` a missing run stays ``None`` (a partial report);
    ``light`` trains with :func:`light_args` (same test results, less CPU); ``variants`` limits which
    variants are trained (the others are only collected).
    """
    found = {
        (ramp, name, variant): latest_run(log_root / ramp, prefix + name) if collect else None
        for ramp in ramps
        for name in models
        for variant, (prefix, _) in VARIANTS.items()
    }
    if collect and not any(found.values()):
        nothing_to_collect(log_root, f"{', '.join(models)} (paper-exact or corrected) on the {', '.join(ramps)} ramp")
    rows = []
    for ramp in ramps:
        for name in models:
            runs = {}
            for variant, (prefix, config_dir) in VARIANTS.items():
                folder = found[ramp, name, variant]
                if folder is None and train_missing and variant in (variants or VARIANTS):
                    args = ["--data.init_args.simulation_preset", ramp, *(light_args(variant) if light else [])]
                    folder = train(name, log_root / ramp, config_dir, [*args, *(extra or [])], prefix + name)
                runs[variant] = read_summary(folder / "summary.json") if folder else None
            rows.append(PairedRow(name, ramp, runs))
    return rows


def paired_table(rows: list[PairedRow]) -> str:
    """Markdown: per model and ramp, paper-exact next to corrected, then the spread of boundaries per ramp."""
    lines = [
        "| model | ramp | paper-exact confidence | paper-exact boundary | paper-exact accuracy | corrected confidence "
        "| corrected boundary | corrected accuracy | true boundary | paper's boundary (real data) |",
        "|" + "---|" * 10,
    ]
    for row in rows:
        v = row.values()
        true = v["paper_true_boundary"] if v["paper_true_boundary"] is not None else v["corrected_true_boundary"]
        lines.append(
            f"| {v['model']} | {v['ramp']} | {_fmt(v['paper_confidence'], '.2%')} | {_fmt(v['paper_boundary'], '.0f')} "
            f"| {_fmt(v['paper_accuracy'], '.2%')} | {_fmt(v['corrected_confidence'], '.2%')} "
            f"| {_fmt(v['corrected_boundary'], '.0f')} | {_fmt(v['corrected_accuracy'], '.2%')} | {_fmt(true, '.0f')} "
            f"| {_fmt(v['paper_boundary_real_data'], '.0f')} |"
        )
    lines.append("")
    for ramp in dict.fromkeys(r.ramp for r in rows):
        for variant in VARIANTS:
            found = [r.runs[variant]["boundary"] for r in rows if r.ramp == ramp and r.runs[variant]]
            found = [b for b in found if b is not None]
            spread = f"{min(found):.0f}-{max(found):.0f} ({len(found)} models)" if found else "no runs"
            lines.append(f"- boundaries, {ramp} ramp, {variant}: {spread}")
    return "\n".join(lines) + "\n"


def write_paired(rows: list[PairedRow], out: Path) -> None:
    """``paper_vs_corrected.md`` and ``.csv`` in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "paper_vs_corrected.md").write_text(paired_table(rows))
    records = [row.values() for row in rows]
    with open(out / "paper_vs_corrected.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(records[0]) if records else ["model"])
        writer.writeheader()
        writer.writerows(records)


# ---------------------------------------------------------------------------------- the command
def main(argv: list[str] | None = None) -> None:
    """``lightning-spectra-report``: train (or collect) the classifiers and print the comparison."""
    argv = sys.argv[1:] if argv is None else argv
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []
    own = argv[: argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(
        prog=command("report"), description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    # No `choices`: the help must not change with the models the package holds (its stored copy prints without torch)
    parser.add_argument(
        "--models", nargs="+", default=list(PAPER_MODELS), metavar="MODEL", help="models by name (default: the paper's)"
    )
    parser.add_argument("--out", type=Path, default=Path("reports/paper"))
    parser.add_argument("--log-root", type=Path, default=Path("logs"))
    parser.add_argument("--collect", action="store_true", help="reuse finished runs instead of training")
    parser.add_argument(
        "--wandb",
        metavar="PROJECT",
        nargs="?",
        const="lightning-spectra-paper",
        help="log each run to this W&B project as well",
    )
    parser.add_argument("--compare", action="store_true", help="paper-exact against corrected runs instead")
    parser.add_argument("--ramps", nargs="+", default=list(RAMPS), choices=RAMPS, help="simulated ramps (--compare)")
    parser.add_argument("--partial", action="store_true", help="with --collect: leave missing runs empty")
    parser.add_argument("--light", action="store_true", help="--compare without validation and attribution")
    parser.add_argument("--variants", nargs="+", choices=["paper", "corrected"], help="--compare: train only these")
    args = parser.parse_args(own)

    with one_line_failures():  # bad input or settings: one line, exit 2
        report(args, extra)


def report(args: argparse.Namespace, extra: list[str]) -> None:
    """The command's work, once its options are parsed."""
    if unknown := [name for name in args.models if name not in MODELS]:
        raise SpectraConfigError(f"--models: no model named {', '.join(unknown)} (known: {', '.join(MODELS)})")
    if args.wandb:  # every run's `fit` logs to W&B, in one group for this campaign (docs/dashboard.md)
        wandb_campaign(args.wandb, "paper-vs-corrected" if args.compare else "paper-report")
    if args.compare:
        if others := [name for name in args.models if name not in PAPER_MODELS]:
            raise SpectraConfigError(
                f"--compare takes the paper's models only ({', '.join(PAPER_MODELS)}); got {', '.join(others)}"
            )
        paired = paired_runs(
            args.models, args.ramps, args.log_root, args.collect, extra, not args.partial, args.light, args.variants
        )
        write_paired(paired, args.out)
        if args.wandb:
            log_table_run(args.out / "paper_vs_corrected.csv", "paper_vs_corrected", args.log_root, "comparison")
        print((args.out / "paper_vs_corrected.md").read_text())
        return
    rows = build_report(args.models, args.out, args.log_root, collect=args.collect, extra=extra)
    if args.wandb:
        log_table_run(args.out / "comparison.csv", "comparison", args.log_root, "comparison")
    print(markdown_table(rows))
    for table in ("attribution.md", "peaks.md"):  # faithfulness per model; attribution per peak
        if (args.out / table).exists():
            print((args.out / table).read_text())
    if (args.out / "attribution_series.png").exists():
        print(f"Attribution over the test series: {args.out / 'attribution_series.png'}")
    print(f"Report written to {args.out}/")


if __name__ == "__main__":
    main()
