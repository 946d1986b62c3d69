"""What a model's outputs mean: the task (classification or regression) decides the output size, loss, metrics,
predictions, attribution target and summary fields."""
