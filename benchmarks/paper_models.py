"""Train all eight classifiers at full size with their user configs and print one table.

Model, parameters, epochs, confidence, boundary (true boundary), training time, next to the paper's P100
times. The same code builds ``python report.py``; this entry point exists so the benchmark is one command.

    python benchmarks/paper_models.py                       # all eight, CPU or the default accelerator
    python benchmarks/paper_models.py --models cnn lstm -- --trainer.accelerator gpu
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import report  # noqa: E402 - the top-level report command, importable once the repo root is on the path

if __name__ == "__main__":
    args = sys.argv[1:]
    if "--out" not in args:
        args = ["--out", "reports/benchmark", *args]
    report.main(args)
