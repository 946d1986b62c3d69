"""Reproduce the paper's comparison: ``python report.py --help`` (the command ``lightning-spectra-report``)."""

from lightning_spectra.apps.paper_report import main

if __name__ == "__main__":
    main()
