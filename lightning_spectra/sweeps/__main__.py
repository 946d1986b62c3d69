"""``python -m lightning_spectra.sweeps``: the sweep command (how the launcher starts its workers)."""

from lightning_spectra.sweeps.cli import main

raise SystemExit(main())
