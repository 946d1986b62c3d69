"""The paper's binned FCNN with learned weighting factors (docs/paper.md §4.1): the "2D space segmentation" framing.

A spectrum is a cloud of (2 theta, intensity) points. The angle axis is cut into ``bins`` contiguous bins of
``N2 = spectrum_length // bins`` points (the tail is dropped), and every in-bin offset ``ix`` gives one *row*
``[theta_0[ix], I_0[ix], theta_1[ix], I_1[ix], ...]`` holding the ix-th point of every bin. Each bin has its
own small MLP on its (theta, I) pair; a final Linear over the concatenated bin outputs learns how much each
bin counts (the "automatically learned weighting factors", see :attr:`BinnedFCNN.bin_weights`).
Parameters: ``1058 * bins + 1`` (15,871 for the default 15 bins).

Training and prediction are row-based, which is why this model overrides ``training_step``:

- ``training_step`` builds the rows of every spectrum, gives each row its spectrum's label and takes the loss
  over all rows (the paper's ``N2 * 64`` full batch). With ``early_stop`` it stops the fit the paper's way:
  when the row loss is below ``stop_loss`` or the row accuracy above ``stop_accuracy``, it sets
  ``trainer.should_stop`` and returns ``None``, so that iteration's optimiser step is skipped (the paper tests
  before stepping). Set ``max_epochs: 550`` on the trainer for the paper's iteration cap.
- ``forward`` (validation, test, predict) returns one logit per *spectrum*: the log-odds of the share of its
  rows that vote class 1, smoothed by half a vote so it stays finite; ``logit > 0`` iff the majority says
  class 1, and a tie goes to class 1 as in the paper. With C > 2 classes it returns the log of the smoothed
  vote shares (plurality vote). A regressor returns the mean of its rows' values instead. Gradients pass
  straight through to the mean row logit, so input-gradient feature importance still works although a vote
  has no gradient.

Data: the model needs the real x axis (2 theta in degrees), which reaches it as the base class's ``x_axis``
buffer from the datamodule; without one it uses point indices. Its paper training set differs from the 1D
models' (docs/paper.md §2.7), and is set on the datamodule: ``pool_stride: 20`` (spectra 0, 20, ..., 340),
``pool_ranges: [[1, 1], [7, 7], [13, 13], [15, 15]]`` (spectra 20, 140, 260, 300: the paper's four, in time
order so the validation series is ordered), ``noise_copies: 15``,
``noise_amplitude: 0.0833333`` (uniform noise on [0, 1/12)), each copy made from the clean originals, i.e.
without the paper's cumulative-noise aliasing bug. Full batch, no shuffling, as every model.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from lightning_spectra.errors import SpectraConfigError
from lightning_spectra.models.base import Batch, SpectraModel, input_norm

#: Logit returned for an exact binary tie: slightly positive, so the tie goes to class 1 as in the paper.
TIE_LOGIT = 1e-4


def bin_mlp(hidden: int = 150, outputs: int = 2) -> nn.Sequential:
    """One bin's MLP on its (theta, I) pair: Linear -> BN -> ReLU -> Linear -> BN -> Sigmoid (the paper's)."""
    return nn.Sequential(
        nn.Linear(2, hidden),
        nn.BatchNorm1d(hidden),
        nn.ReLU(),
        nn.Linear(hidden, outputs),
        nn.BatchNorm1d(outputs),
        nn.Sigmoid(),
    )


class BinMLPs(nn.ModuleList):
    """One :func:`bin_mlp` per bin; rows ``(R, 2 * bins)`` -> concatenated bin outputs ``(R, outputs * bins)``.

    A loop over small Linear layers: on CPU it is far faster than the equivalent grouped 1x1 convolution.
    """

    def __init__(self, bins: int, hidden: int = 150, outputs: int = 2) -> None:
        super().__init__(bin_mlp(hidden, outputs) for _ in range(bins))

    def forward(self, rows: Tensor) -> Tensor:
        pairs = rows.reshape(rows.shape[0], len(self), 2)  # shape[0], not len(): export keeps it dynamic
        return torch.cat([mlp(pairs[:, b]) for b, mlp in enumerate(self)], dim=1)


class BinnedFCNN(SpectraModel):
    """Per-bin MLPs on (2 theta, intensity) rows, combined by a learned Linear; majority vote per spectrum.

    Spectra need at least ``bins`` points. Default PyTorch init, as the paper. BatchNorm is evaluated in eval
    mode (the paper predicted in train mode).

    Args:
        bins: number of contiguous bins along the x axis (paper sweep 1..16; 15 reached 100 % fastest).
        hidden: hidden width of every bin's MLP (paper 150).
        bin_outputs: outputs of every bin's MLP (paper 2).
        early_stop: stop training once ``stop_loss`` or ``stop_accuracy`` is reached (the paper does).
        stop_loss: row loss below which training stops (paper 0.15).
        stop_accuracy: row accuracy above which training stops (paper 0.99).
    """

    # Rows, not spectra, flow through the layers, so no layer output is (spectra, channels, positions);
    # the learned bin weights (``bin_weights``) are this model's own explanation.
    attribution_layer = "input"  # no layer keeps spectral positions: Grad-CAM at the input (grad x input)
    default_input_normalization = "none"  # the paper's bins read the intensities as they are
    cpu_bf16 = True  # measured faster in bf16 with the same result (BENCHMARKS.md, "Precision per model")
    label = "Binned FCNN"
    minimum_length = 15  # one point per bin
    parameter_counts = (({}, 1058 * 15 + 1), ({"bins": 1}, 1_059), ({"bins": 11}, 11_639), ({"bins": 16}, 16_929))
    paper_train_time_s, paper_epochs, paper_boundary = 17.68, 50, None
    paper_order = 1
    # The paper's stopping rule would end a toy fit after its first batch; the small version needs a larger rate.
    tiny_arguments = {"bins": 16, "hidden": 32, "early_stop": False, "lr": 0.01}

    def __init__(
        self,
        bins: int = 15,
        hidden: int = 150,
        bin_outputs: int = 2,
        early_stop: bool = True,
        stop_loss: float = 0.15,
        stop_accuracy: float = 0.99,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        if bins < 1:
            raise SpectraConfigError(f"model.init_args.bins must be at least 1, got {bins}")
        if bins > self.spectrum_length:
            raise SpectraConfigError(
                f"spectra of {self.spectrum_length} points are too short for the BinnedFCNN with {bins} bins; "
                f"it needs at least {bins} (or fewer bins)"
            )
        self.bins = bins
        self.rows_per_spectrum = self.spectrum_length // bins
        self.input_norm = input_norm(self.input_normalization, self.spectrum_length, self.input_preparation)
        self.bin_mlps = BinMLPs(bins, hidden, bin_outputs)
        self.combine = nn.Linear(bin_outputs * bins, self.out_features)

    @property
    def bin_weights(self) -> Tensor:
        """The learned weighting factors, ``(out_features, bins, bin_outputs)``."""
        return self.combine.weight.detach().view(self.out_features, self.bins, -1)

    def rows(self, x: Tensor) -> Tensor:
        """Spectra ``(B, L)`` -> rows ``(B, N2, 2 * bins)``: row ``ix`` is the ix-th (theta, I) pair of every bin."""
        kept = self.rows_per_spectrum * self.bins
        theta = self.x_axis[:kept].to(x.dtype).view(self.bins, -1).T  # (N2, bins)
        intensity = self.input_norm(x)[:, :kept].reshape(x.shape[0], self.bins, -1).transpose(1, 2)  # (B, N2, bins)
        return torch.stack((theta.expand_as(intensity), intensity), dim=-1).flatten(2)

    def row_logits(self, x: Tensor) -> Tensor:
        """Logits of every row, ``(B, N2, out_features)``."""
        rows = self.rows(x)
        return self.combine(self.bin_mlps(rows.flatten(0, 1))).view(*rows.shape[:2], -1)

    def forward(self, x: Tensor) -> Tensor:
        if self.task.combines_parts_by_vote:
            return self.vote_logits(self.row_logits(x))
        return self.row_logits(x).mean(1)  # a value, not a vote: the mean of the rows' predictions

    def vote_logits(self, row_logits: Tensor) -> Tensor:
        """Per-spectrum logits from the row votes (module docstring), with straight-through gradients."""
        n = row_logits.shape[1]
        if self.out_features == 1:
            ones = (row_logits[..., 0] > 0).sum(1).to(row_logits.dtype)
            votes = torch.log((ones + 0.5) / (n - ones + 0.5))
            votes = torch.where(2 * ones == n, torch.full_like(votes, TIE_LOGIT), votes).unsqueeze(1)
        else:
            counts = F.one_hot(row_logits.argmax(-1), self.out_features).sum(1).to(row_logits.dtype)
            votes = torch.log((counts + 0.5) / (n + 0.5 * self.out_features))
        mean = row_logits.mean(1)
        return votes + (mean - mean.detach())

    def training_step(self, batch: Batch, batch_idx: int) -> Tensor | None:
        x, y, _ = batch
        logits = self.row_logits(x).flatten(0, 1)
        target = y.repeat_interleave(self.rows_per_spectrum, dim=0)
        loss = self.loss(logits, target)
        metrics = self.task.train_metrics(logits, target)
        self.log("train/loss", loss, on_step=False, on_epoch=True, prog_bar=True, batch_size=len(y))
        for name, value in metrics.items():
            self.log(f"train/{name}", value, on_step=False, on_epoch=True, prog_bar=True, batch_size=len(y))
        whole_epoch = self._trainer is None or self.trainer.num_training_batches == 1
        if self.hparams.early_stop and whole_epoch and self._reached_stop(loss, metrics.get("accuracy")):
            if self._trainer is not None:
                self.trainer.should_stop = True
            return None  # the paper stops before this iteration's optimiser step
        return loss

    def on_train_epoch_end(self) -> None:
        """With mini-batches the paper's rule reads the epoch's rows, not one batch: one easy mini-batch would
        otherwise stop the fit in its first epoch. (A full batch is checked before its step, as the paper does.)"""
        if not self.hparams.early_stop or self.trainer.num_training_batches == 1:
            return
        metrics = self.trainer.callback_metrics
        if "train/loss" in metrics and self._reached_stop(metrics["train/loss"], metrics.get("train/accuracy")):
            self.trainer.should_stop = True

    def _reached_stop(self, loss: Tensor, accuracy: Tensor | None) -> bool:
        accurate = accuracy is not None and bool(accuracy > self.hparams.stop_accuracy)
        return bool(loss < self.hparams.stop_loss) or accurate
