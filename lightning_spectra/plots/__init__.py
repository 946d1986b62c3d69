"""Figures drawn on the spectra's own x axis, one module per job.

- :mod:`~lightning_spectra.plots.figure`: :func:`~lightning_spectra.plots.figure.save_figure` and the helpers
  every figure shares (arrays from tensors, the diverging colour scale, the zero line).
- :mod:`~lightning_spectra.plots.importance`: input-gradient feature importance and the gradient heat map.
- :mod:`~lightning_spectra.plots.gradcam`: attribution maps over spectra, class means, the ordered series and
  deletion curves.
- :mod:`~lightning_spectra.plots.regression`: predicted against reference, and the predicted value along a series.
- :mod:`~lightning_spectra.plots.paper`: the stacked panels of the paper report, one per model.

Every function returns a :class:`matplotlib.figure.Figure` built without pyplot, so nothing leaks into global
state (no open-figure registry, no backend switch) when the callbacks draw inside a training process. Every
function that draws a spectral axis takes its label (``xlabel``): the datamodule knows it, the figure does not.
Callers import these modules lazily: matplotlib is slow to load.
"""
