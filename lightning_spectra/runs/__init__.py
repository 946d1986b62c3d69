"""A run's files: its folder and summary, checkpoints (written atomically, read and checked once), W&B runs."""
