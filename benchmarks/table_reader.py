"""Peak memory and time of reading a large CSV table of spectra (issue 35: ``predict`` on 50,000 x 200 peaked at
2.8 GB, about 33 times the file, almost all of it in the table reader).

python benchmarks/table_reader.py [--rows 50000] [--points 200] [--label after]

Writes a table of ``--rows`` spectra (a label column, then ``--points`` values under an x axis header) to a
temporary folder and reads it with :func:`lightning_spectra.data.formats.read_table` in a fresh process, twice:
the peak resident memory of that process (``ru_maxrss``) less the same process's memory just before the read
(Python, NumPy and the package imported), and the read's seconds. The numbers go under ``--label`` into
``benchmarks/results/table_reader.json`` (other labels kept, so ``before`` survives an ``after`` run) and the
whole file is rewritten as ``table_reader.md``.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results"


def write_table(path: Path, rows: int, points: int, seed: int = 0) -> None:
    """A table as instruments export it: ``label,400.0,...`` then one spectrum per row, 6 significant digits."""
    rng = np.random.default_rng(seed)
    axis = np.linspace(400.0, 2500.0, points)
    with path.open("w") as handle:
        handle.write("label," + ",".join(f"{v:.2f}" for v in axis) + "\n")
        for start in range(0, rows, 5000):  # in blocks, so writing does not hold the whole table
            block = rng.normal(0.5, 0.2, size=(min(5000, rows - start), points))
            labels = rng.integers(0, 5, size=len(block))
            handle.writelines(
                f"c{k}," + ",".join(f"{v:.6g}" for v in row) + "\n" for k, row in zip(labels, block, strict=True)
            )


def maxrss_mb() -> float:
    """This process's peak resident memory so far, MB (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(path: Path) -> dict:
    """Read ``path`` once in this process: peak memory over the memory before the read, and seconds."""
    from lightning_spectra.data.formats import read_table

    before = maxrss_mb()
    start = time.perf_counter()
    source = read_table(path)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "peak_mb": maxrss_mb() - before, "shape": list(source.spectra.shape)}


def run_once(path: Path) -> dict:
    """:func:`measure` in a fresh interpreter, so one run's peak does not hide the next one's."""
    out = subprocess.run(
        [sys.executable, __file__, "--measure", str(path)], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(out)


def cpu_name() -> str:
    """The CPU's model name from /proc/cpuinfo (what ``lscpu`` shows), else the platform's."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        return next(line.split(":", 1)[1].strip() for line in lines if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def write_markdown(results: dict) -> None:
    lines = [
        "# Table reader: peak memory and time",
        "",
        "`python benchmarks/table_reader.py`: `read_table` on a CSV of a label column and an x axis header, read",
        "in a fresh process; peak is `ru_maxrss` less the process's memory before the read; best of two runs.",
        "",
        "| code | CPU | table | file MB | peak MB | peak / file | seconds |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, r in results.items():
        lines.append(
            f"| {label} | {r['cpu']} | {r['rows']} x {r['points']} | {r['file_mb']:.1f} | {r['peak_mb']:.0f} "
            f"| {r['peak_mb'] / r['file_mb']:.1f}x | {r['seconds']:.2f} |"
        )
    (RESULTS / "table_reader.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--points", type=int, default=200)
    parser.add_argument("--label", default="after", help="name of this code version in the results")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)  # the child process's job
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "spectra.csv"
        write_table(path, args.rows, args.points)
        file_mb = path.stat().st_size / 2**20
        runs = [run_once(path) for _ in range(2)]
    result = {
        "cpu": cpu_name(),
        "rows": args.rows,
        "points": args.points,
        "file_mb": file_mb,
        "peak_mb": min(r["peak_mb"] for r in runs),
        "seconds": min(r["seconds"] for r in runs),
    }
    print(json.dumps(result))
    target = RESULTS / "table_reader.json"
    results = json.loads(target.read_text()) if target.exists() else {}
    results[args.label] = result
    target.write_text(json.dumps(results, indent=2) + "\n")
    write_markdown(results)


if __name__ == "__main__":
    main()
