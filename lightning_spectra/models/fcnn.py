"""The paper's fully connected network ("FNN1D", docs/paper.md §4.2): 1,204,335 parameters at 4023 points."""

from __future__ import annotations

from torch import Tensor, nn

from lightning_spectra.errors import SpectraConfigError
from lightning_spectra.models.base import SpectraModel, input_norm
from lightning_spectra.models.feature_norms import keeps_feature_norms


def dense_block(in_features: int, out_features: int, norm: bool = True) -> nn.Sequential:
    """Linear -> LayerNorm -> ReLU; without ``norm`` an identity holds the LayerNorm's place (same keys)."""
    return nn.Sequential(
        nn.Linear(in_features, out_features), nn.LayerNorm(out_features) if norm else nn.Identity(), nn.ReLU()
    )


class FCNN1D(SpectraModel):
    """LayerNorm -> dense blocks (the paper's three: 256, 512, 64) -> Linear. Any ``spectrum_length >= 2`` works.

    Init: Linear weights ~ N(0, 0.02), biases 0. The paper draws the weights from N(**1.0**, 0.02), which
    makes every unit start as roughly the sum of its inputs; the LayerNorm after each Linear removes that
    common offset, so the paper's model still trains, but the mean of 1.0 is a slip rather than a design.
    ``paper_init=True`` reproduces it. A regressor keeps those LayerNorms only with ``input_normalization:
    layer``: each divides a spectrum's features by their own spread, hiding the magnitude that carries the
    amount (:mod:`lightning_spectra.models.feature_norms`).

    Args:
        hidden: widths of the dense blocks, one or more: the paper's ``(256, 512, 64)``, or ``(64,)`` for the
            one-layer 64-unit MLP that matched a tuned kernel ridge model on small NIR regression sets
            (docs/models.md).
        init_std: std of the Linear weight init (paper 0.02).
        paper_init: draw Linear weights around 1.0 as the paper did, instead of around 0.
    """

    # The first Linear mixes every point of the spectrum: there is no positional layer for Grad-CAM.
    attribution_layer = "input"  # no layer keeps spectral positions: Grad-CAM at the input (grad x input)
    label = "FCNN 1D"
    parameter_counts = (({}, 1_204_335), ({"paper_init": True}, 1_204_335))
    paper_train_time_s, paper_epochs, paper_boundary = 1.576, 300, 188
    paper_order = 2
    tiny_arguments = {"hidden": (32, 32, 16)}

    def __init__(
        self,
        hidden: tuple[int, ...] = (256, 512, 64),
        init_std: float = 0.02,
        paper_init: bool = False,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        if not hidden or not all(isinstance(w, int) and w >= 1 for w in hidden):
            # No hidden layer leaves a linear model, not an MLP: refused, so an empty list in a config cannot train one.
            raise SpectraConfigError(
                f"model.init_args.hidden must be one or more widths of 1 or more, e.g. [64]; got {list(hidden)}"
            )
        widths, norm = (self.spectrum_length, *hidden), keeps_feature_norms(self)
        self.input_norm = input_norm(self.input_normalization, self.spectrum_length, self.input_preparation)
        self.blocks = nn.Sequential(*(dense_block(a, b, norm) for a, b in zip(widths[:-1], widths[1:], strict=True)))
        self.head = nn.Linear(widths[-1], self.out_features)
        mean = 1.0 if paper_init else 0.0
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, mean, init_std)
                nn.init.zeros_(m.bias)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.blocks(self.input_norm(x)))
