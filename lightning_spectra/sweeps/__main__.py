"""``python -m lightning_spectra.sweeps``: the sweep command (how the launcher starts its workers)."""

from lightning_spectra.sweeps.command import main

raise SystemExit(main())
