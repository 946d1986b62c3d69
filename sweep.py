"""Run an Optuna sweep: ``python sweep.py --sweep sweeps/cnn.yaml --n-trials 20 --devices 0,1`` (docs/sweeps.md)."""

from lightning_spectra.sweeps.command import main

if __name__ == "__main__":
    raise SystemExit(main())
