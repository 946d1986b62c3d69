"""``lightning-spectra-ensemble`` as a user runs it, on public regression sets: the shipped regression config
(``configs/examples/files_regression.yaml``, unchanged) with ``--members`` seeds, on each set's calibration/test
split (:func:`datasets.calibration_test`; the test file is given as ``test_path``, so validation is the
config's share of the calibration spectra). Reported from ``ensemble.json``: the ensemble mean's test RMSE, the
members' test RMSEs, the 90 % interval's test coverage and mean width, against the best classical model of
``results/classical_regression.json`` (chosen by cross-validation on the calibration split only).

    nice -n 10 python benchmarks/ensemble_command.py --sets wheat_gluten_nir corn_property --members 5
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import datasets  # noqa: E402  (the benchmark's own loaders, beside this file)
from real_regression import best_classical  # noqa: E402

from lightning_spectra.apps.ensemble import main as ensemble_main  # noqa: E402

RESULTS = Path(__file__).parent / "results"


def write_split(name: str, folder: Path) -> tuple[Path, Path]:
    """The set's calibration and test spectra as ``.npz`` files the files datamodule reads (x axis, y)."""
    x, spectra, targets, _ = datasets.REGRESSION[name]()
    cal, test = datasets.calibration_test(name, targets)
    paths = []
    for part, index in (("cal", cal), ("test", test)):
        path = folder / f"{name}_{part}.npz"
        np.savez(path, spectra=spectra[index], y=np.asarray(targets, dtype=float)[index], x_axis=x)
        paths.append(path)
    return paths[0], paths[1]


def run_set(name: str, members: int, folder: Path) -> dict:
    cal, test = write_split(name, folder)
    out = folder / f"ensemble_{name}"
    start = time.perf_counter()
    args = ["fit", "--config", "examples/files_regression", "--members", str(members), "--out", str(out), "--"]
    args += ["--data.init_args.train_path", str(cal), "--data.init_args.test_path", str(test)]
    args += ["--data.init_args.label_column", "null", "--trainer.enable_progress_bar", "false"]
    ensemble_main(args)
    result = json.loads((out / "ensemble.json").read_text())
    best = best_classical(name)
    return {
        "set": name,
        "members": members,
        "test_rmse": result["test_rmse"],
        "test_r2": result["test_r2"],
        "member_test_rmse": [m["test_rmse"] for m in result["members"]],
        "interval_factor": result["interval_factor"][0],
        "test_interval_coverage": result["test_interval_coverage"],
        "test_interval_mean_width": result["test_interval_mean_width"],
        "validation_spectra": result["validation_spectra"],
        "test_spectra": result["test_spectra"],
        "run_classical_best": [result.get("classical_best_method"), result.get("classical_best_rmse")],
        "best_classical": best,
        "seconds": time.perf_counter() - start,
    }


def markdown(rows: list[dict], machine: str) -> str:
    lines = [
        f"`lightning-spectra-ensemble fit --config examples/files_regression` ({machine})",
        "",
        "| set | cal/val/test | members' test RMSE | ensemble test RMSE | R2 | 90 % interval: test coverage, mean width"
        " (factor) | best classical (CV pick) | / best classical | s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        best = r["best_classical"]
        ratio = f"**{r['test_rmse'] / best['rmse']:.2f}**" if best else "-"
        spread = f"{min(r['member_test_rmse']):.4g}-{max(r['member_test_rmse']):.4g}"
        lines.append(
            f"| {r['set']} | -/{r['validation_spectra']}/{r['test_spectra']} | {spread} ({r['members']}) | "
            f"{r['test_rmse']:.4g} | {r['test_r2']:.3f} | {r['test_interval_coverage']:.0%}, "
            f"{r['test_interval_mean_width']:.4g} ({r['interval_factor']:.1f}) | "
            f"{best['model'] + ' ' + best['prep'] + ' ' + format(best['rmse'], '.4g') if best else '-'} | {ratio} | "
            f"{r['seconds']:.0f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", nargs="+", default=["wheat_gluten_nir", "corn_property", "milk_coconut_nir"])
    parser.add_argument("--members", type=int, default=5)
    parser.add_argument("--out", default=str(RESULTS / "ensemble_command"))
    args = parser.parse_args()
    machine = f"{platform.processor() or platform.machine()}, {platform.node()}"
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.sets:
            rows.append(run_set(name, args.members, Path(tmp)))
    Path(f"{args.out}.json").write_text(json.dumps({"machine": machine, "rows": rows}, indent=2) + "\n")
    Path(f"{args.out}.md").write_text(markdown(rows, machine))
    print(markdown(rows, machine))


if __name__ == "__main__":
    main()
