"""Classical baselines run beside the networks (scikit-learn)."""
