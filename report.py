"""Reproduce the paper's comparison: ``python report.py`` trains all eight classifiers and writes
``reports/paper/comparison.{md,csv,png}`` plus the feature-importance and Grad-CAM panels, the attribution
heat map of the test series (``attribution_series.png``) and the per-peak table (``peaks.{csv,md}``).

    python report.py                                  # train all eight with configs/<model>.yaml
    python report.py --collect                        # reuse the newest finished run of each model in logs/
    python report.py --models cnn lstm --wandb        # also log every run to W&B (offline without an account)
    python report.py -- --trainer.accelerator gpu     # anything after -- goes to every `train.py fit`
    python report.py --compare --ramps default hard   # paper-exact (configs/paper/) against corrected, per ramp:
                                                      # reports/paper/paper_vs_corrected.{md,csv}
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []
    own = argv[: argv.index("--")] if "--" in argv else argv
    from lightning_spectra.report import MODELS, RAMPS, build_report, markdown_table, paired_runs, write_paired

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
    parser.add_argument("--compare", action="store_true", help="paper-exact against corrected runs instead")
    parser.add_argument("--ramps", nargs="+", default=list(RAMPS), choices=RAMPS, help="simulated ramps (--compare)")
    parser.add_argument("--partial", action="store_true", help="with --collect: leave missing runs empty")
    parser.add_argument("--light", action="store_true", help="--compare without validation and attribution")
    parser.add_argument("--variants", nargs="+", choices=["paper", "corrected"], help="--compare: train only these")
    args = parser.parse_args(own)
    if args.wandb:
        extra = [
            "--trainer.logger+=lightning.pytorch.loggers.WandbLogger",
            f"--trainer.logger.project={args.wandb}",
            f"--trainer.logger.save_dir={args.log_root}",
            *extra,
        ]
    if args.compare:
        paired = paired_runs(
            args.models, args.ramps, args.log_root, args.collect, extra, not args.partial, args.light, args.variants
        )
        write_paired(paired, args.out)
        print((args.out / "paper_vs_corrected.md").read_text())
        return
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
