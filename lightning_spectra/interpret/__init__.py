"""What a trained classifier looks at: input-gradient feature importance, 1D Grad-CAM placed by receptive field,
Integrated Gradients against a reference, and how faithful each map is (no Lightning needed).

See ``docs/interpretation.md`` for how to read the results.
"""

from lightning_spectra.interpret.faithfulness import DeletionCurve, deletion_curve, ground_truth_share
from lightning_spectra.interpret.gradcam import (
    GradCAMMaps,
    attribution_layer,
    class_means,
    class_score,
    classic_informative,
    grad_cam,
    grad_cam_1d,
    grad_cam_classic,
    layer_gradients,
    method_name,
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
from lightning_spectra.interpret.integrated_gradients import integrated_gradients, reference_spectra
from lightning_spectra.interpret.peaks import peak_table
from lightning_spectra.interpret.receptive_field import ReceptiveFields, receptive_fields, upsample_by_receptive_field

__all__ = [
    "DeletionCurve",
    "GradCAMMaps",
    "ReceptiveFields",
    "attribution_layer",
    "class_means",
    "class_score",
    "classic_informative",
    "default_loss",
    "deletion_curve",
    "evaluation_mode",
    "grad_cam",
    "grad_cam_1d",
    "grad_cam_classic",
    "ground_truth_share",
    "input_gradient_importance",
    "input_gradients",
    "integrated_gradients",
    "layer_gradients",
    "method_name",
    "peak_table",
    "predicted_class",
    "receptive_fields",
    "reference_spectra",
    "rows_interact",
    "summarise_gradients",
    "upsample",
    "upsample_by_receptive_field",
]
