"""What a trained classifier looks at: input-gradient feature importance and 1D Grad-CAM (no Lightning needed).

See ``docs/interpretation.md`` for how to read the results.
"""

from lightning_spectra.interpret.gradcam import (
    GradCAMMaps,
    attribution_layer,
    class_means,
    class_score,
    grad_cam,
    grad_cam_1d,
    grad_cam_classic,
    layer_gradients,
    predicted_class,
    rows_interact,
    upsample,
)
from lightning_spectra.interpret.importance import (
    default_loss,
    evaluation_mode,
    input_gradient_importance,
    input_gradients,
    summarise_gradients,
)

__all__ = [
    "GradCAMMaps",
    "attribution_layer",
    "class_means",
    "class_score",
    "default_loss",
    "evaluation_mode",
    "grad_cam",
    "grad_cam_1d",
    "grad_cam_classic",
    "input_gradient_importance",
    "input_gradients",
    "layer_gradients",
    "predicted_class",
    "rows_interact",
    "summarise_gradients",
    "upsample",
]
