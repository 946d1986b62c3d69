"""Programs built on a trained model: the paper's comparison report, cross-validation, watching a folder, export."""
