"""Train, test or predict with a spectrum classifier: ``python train.py fit --config configs/cnn.yaml``."""

from lightning_spectra.cli import main

if __name__ == "__main__":
    main()
