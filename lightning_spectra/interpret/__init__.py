"""What a trained classifier looks at: input-gradient feature importance, 1D Grad-CAM placed by receptive field,
Integrated Gradients against a reference, and how faithful each map is (no Lightning needed).

See ``docs/interpretation.md`` for how to read the results.
"""

from lightning_spectra.interpret.gradcam import class_means, grad_cam, layer_gradients, upsample
from lightning_spectra.interpret.importance import input_gradient_importance, input_gradients
from lightning_spectra.interpret.integrated_gradients import integrated_gradients, reference_spectra
from lightning_spectra.interpret.model_modes import evaluation_mode

__all__ = [
    "class_means",
    "evaluation_mode",
    "grad_cam",
    "input_gradient_importance",
    "input_gradients",
    "integrated_gradients",
    "layer_gradients",
    "reference_spectra",
    "upsample",
]
