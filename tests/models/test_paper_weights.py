"""The authors' published weights in our CNN and Conv SC give the notebook architectures' outputs.

The weight files live outside the project (``../shared/reference/paper-weights``, relative to the repository
root, or the folder ``PAPER_WEIGHTS`` names); where they are absent (a user's clone) the tests that need
them skip. The notebook architectures are
transcribed below from the paper's notebooks (CNN, "2mpool3" version of ``ModelPath/CNN.pth``) and the
authors' ``ConvSC`` class (docs/paper.md §4.7), with the notebooks' module names, so ``load_state_dict`` of the
file into them is strict.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from torch import nn

from lightning_spectra.errors import SpectraDataError
from lightning_spectra.models import CNN, ConvSCAttention, load_paper_weights
from lightning_spectra.models.paper_weights import CONV_SC_KEYS

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
WEIGHTS = Path(os.environ.get("PAPER_WEIGHTS", SHARED / "reference" / "paper-weights"))
needs_weights = pytest.mark.skipif(not WEIGHTS.is_dir(), reason="the authors' weights (../shared) are not here")
N = 4023


class NotebookCNN(nn.Module):
    """SpectralClassification-CNN (2mpool3): LayerNorm, 3 conv blocks (pools 2, 3, 2), LayerNorm, Linear, Sigmoid."""

    def __init__(self) -> None:
        super().__init__()
        self.LayerNorm = nn.LayerNorm(N)
        self.conv1 = nn.Sequential(nn.Conv1d(1, 64, 5, 2), nn.BatchNorm1d(64), nn.ReLU(), nn.MaxPool1d(2))
        self.conv2 = nn.Sequential(nn.Conv1d(64, 64, 3, 2), nn.BatchNorm1d(64), nn.ReLU(), nn.MaxPool1d(3))
        self.conv3 = nn.Sequential(nn.Conv1d(64, 4, 3, 1), nn.BatchNorm1d(4), nn.ReLU(), nn.MaxPool1d(2))
        self.fc1 = nn.Sequential(nn.LayerNorm(328), nn.Linear(328, 1), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.LayerNorm(x).view(-1, 1, N)
        x = self.conv3(self.conv2(self.conv1(x)))
        return self.fc1(x.view(x.size(0), -1))


class CAMModule(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.zeros(1))
        self.softmax = nn.Softmax(dim=-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        energy = torch.bmm(x, x.permute(0, 2, 1))
        energy_new = torch.max(energy, -1, keepdim=True)[0].expand_as(energy) - energy
        return self.gamma * torch.bmm(self.softmax(energy_new), x) + x


class NotebookConvSC(nn.Module):
    """The authors' ``ConvSC`` at 4023 points (no adaptive pool; embedding from 500), 4 heads, fc1 on dec_conv3."""

    def __init__(self, num_heads: int = 4) -> None:
        super().__init__()
        self.conv1 = nn.Sequential(nn.Conv1d(1, 64, 5, stride=2), nn.BatchNorm1d(64), nn.ReLU(), nn.MaxPool1d(2))
        self.conv3 = nn.Sequential(nn.Conv1d(64, 8, 5), nn.BatchNorm1d(8), nn.ReLU(), nn.MaxPool1d(2))
        self.dec_conv3 = nn.Sequential(nn.Conv1d(8, 1, kernel_size=1), nn.BatchNorm1d(1), nn.ReLU())
        self.embeding = nn.Sequential(nn.Linear(500, 256), nn.LayerNorm(256))
        self.MultiHeadAttention = nn.MultiheadAttention(8, num_heads)
        self.C_Attention_F = CAMModule()
        self.LayerNorm = nn.LayerNorm(256)
        self.fc1 = nn.Sequential(nn.Linear(256, 1), nn.Sigmoid())
        self.linear1, self.linear2 = nn.Linear(256, 1024), nn.Linear(1024, 256)
        self.norm1, self.norm2 = nn.LayerNorm(256), nn.LayerNorm(256)
        self.activation = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.unsqueeze(torch.squeeze(x, -1), 1)
        att = self.embeding(self.conv3(self.conv1(x)))
        att_s = att.permute(2, 0, 1)
        spatial, _ = self.MultiHeadAttention(att_s, att_s, att_s)
        x = (att + spatial.permute(1, 2, 0)) + self.C_Attention_F(att)
        x = self.dec_conv3(self.LayerNorm(x))
        src = self.norm1(x)  # computed and discarded, as in the authors' code
        src = self.norm2(src + self.linear2(self.activation(self.linear1(src))))
        return self.fc1(x.view(x.size(0), -1))


def spectra_batch(n: int = 6) -> torch.Tensor:
    """Baseline-corrected-looking spectra: peaks on a flat floor with noise (values about -1 to 40)."""
    generator = torch.Generator().manual_seed(0)
    grid = torch.arange(N, dtype=torch.float32)
    centres = torch.randint(100, N - 100, (n, 8), generator=generator).float()
    heights = 30 * torch.rand(n, 8, 1, generator=generator)
    peaks = (heights * torch.exp(-(((grid - centres[..., None]) / 8) ** 2))).sum(1)
    return peaks + 0.5 * torch.randn(n, N, generator=generator)


def notebook_and_ours(file: str, notebook: nn.Module, ours: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    state = torch.load(WEIGHTS / file, map_location="cpu", weights_only=True)["model_state"]
    notebook.load_state_dict(state)  # strict: the transcription has exactly the file's tensors
    load_paper_weights(ours, WEIGHTS / file)
    x = spectra_batch()
    with torch.no_grad():
        return notebook.eval()(x)[:, 0], torch.sigmoid(ours.eval()(x)[:, 0])


@needs_weights
def test_cnn_with_the_authors_weights_equals_the_notebook() -> None:
    expected, ours = notebook_and_ours("CNN.pth", NotebookCNN(), CNN(pools=(2, 3, 2)))
    assert expected.std() > 1e-3  # the batch is not degenerate: the outputs differ between spectra
    torch.testing.assert_close(ours, expected, atol=1e-5, rtol=0)


@needs_weights
@pytest.mark.parametrize("include_unused_layer", [False, True])
def test_conv_sc_with_the_authors_weights_equals_the_notebook(include_unused_layer: bool) -> None:
    ours = ConvSCAttention(include_unused_layer=include_unused_layer)
    expected, ours_out = notebook_and_ours("ConvSC_Att.pth", NotebookConvSC(), ours)
    assert expected.std() > 1e-3
    torch.testing.assert_close(ours_out, expected, atol=1e-5, rtol=0)


@needs_weights
def test_the_checkpoint_shows_an_untrained_feed_forward_block_and_batchnorm_started_at_one() -> None:
    """The facts the Conv SC design rests on, read from the file."""
    state = torch.load(WEIGHTS / "ConvSC_Att.pth", map_location="cpu", weights_only=True)["model_state"]
    for norm in ("norm1", "norm2"):
        assert torch.equal(state[f"{norm}.weight"], torch.ones(256))
        assert torch.equal(state[f"{norm}.bias"], torch.zeros(256))
    for name in ("conv1.1.weight", "conv3.1.weight", "dec_conv3.1.weight"):
        assert (state[name] - 1).abs().max() < 0.05


@needs_weights
def test_the_paper_size_cnn_refuses_the_2mpool3_weights_with_a_hint() -> None:
    with pytest.raises(SpectraDataError, match=r"pools=\(2, 3, 2\)"):
        load_paper_weights(CNN(), WEIGHTS / "CNN.pth")


def test_a_file_without_a_models_tensor_names_it(tmp_path: Path) -> None:
    model = CNN(spectrum_length=128)
    state = {k: v for k, v in model.state_dict().items() if k != "x_axis"}
    back = {"input_norm.": "LayerNorm.", "head.1.": "fc1.0.", "head.2.": "fc1.1."}
    renamed = {}
    for name, tensor in state.items():
        prefix = next((p for p in back if name.startswith(p)), "")
        renamed[back.get(prefix, "") + name[len(prefix) :]] = tensor
    del renamed["conv2.0.bias"]
    torch.save({"model_state": renamed}, tmp_path / "cnn.pth")
    with pytest.raises(SpectraDataError, match="conv2.0.bias"):
        load_paper_weights(CNN(spectrum_length=128), tmp_path / "cnn.pth")


def test_round_trip_through_the_notebook_names(tmp_path: Path) -> None:
    """A model saved under the notebook's names loads back into a fresh model with identical outputs."""
    torch.manual_seed(1)
    source = ConvSCAttention(spectrum_length=256, include_unused_layer=True).eval()
    back = {new: old for old, new in CONV_SC_KEYS}
    state = {}
    for name, tensor in source.state_dict().items():
        if name == "x_axis":
            continue
        prefix = next(p for p in back if name.startswith(p))
        state[back[prefix] + name[len(prefix) :]] = tensor
    torch.save({"model_state": state}, tmp_path / "sc.pth")
    target = load_paper_weights(ConvSCAttention(spectrum_length=256), tmp_path / "sc.pth").eval()
    x = torch.randn(3, 256)
    with torch.no_grad():
        torch.testing.assert_close(target(x), source(x))
