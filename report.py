"""Reproduce the paper's comparison: ``python report.py`` trains all eight classifiers and writes
``reports/paper/comparison.{md,csv,png}`` plus the feature-importance and Grad-CAM panels, the attribution
heat map of the test series (``attribution_series.png``) and the per-peak table (``peaks.{csv,md}``).

    python report.py                                  # train all eight with configs/<model>.yaml
    python report.py --collect                        # reuse the newest finished run of each model in logs/
    python report.py --models cnn lstm --wandb        # also log every run to W&B (offline without an account)
    python report.py -- --trainer.accelerator gpu     # anything after -- goes to every `train.py fit`
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []
    own = argv[: argv.index("--")] if "--" in argv else argv
    from lightning_spectra.report import MODELS, build_report, markdown_table

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
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
    args = parser.parse_args(own)
    if args.wandb:
        extra = [
            "--trainer.logger+=lightning.pytorch.loggers.WandbLogger",
            f"--trainer.logger.project={args.wandb}",
            f"--trainer.logger.save_dir={args.log_root}",
            *extra,
        ]
    rows = build_report(args.models, args.out, args.log_root, collect=args.collect, extra=extra)
    print(markdown_table(rows))
    for table in ("attribution.md", "peaks.md"):  # faithfulness per model; attribution per peak
        if (args.out / table).exists():
            print((args.out / table).read_text())
    if (args.out / "attribution_series.png").exists():
        print(f"Attribution over the test series: {args.out / 'attribution_series.png'}")
    print(f"Report written to {args.out}/")


if __name__ == "__main__":
    main()
