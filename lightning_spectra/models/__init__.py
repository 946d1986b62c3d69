"""Models. Each lives in its own module and subclasses :class:`SpectraClassifier` (= :class:`SpectraModel`);
any of them is a classifier or, with ``task: regression``, a regressor (one output per target).

To add a model: write ``models/<name>.py`` with a subclass that takes its own keyword arguments plus
``**kwargs`` (forwarded to ``super().__init__``), builds its layers from ``self.spectrum_length`` and
``self.out_features``, returns logits ``(B, out_features)`` from ``forward`` and sets ``attribution_layer``
(``"input"`` if no layer keeps positions along the spectrum). Models that read the spectra of a batch as tokens of
a sequence subclass :class:`SequenceClassifier` instead. Export the class here, add ``configs/<name>.yaml`` and
``tests/conf/<name>_tiny.yaml``, add it to the parametrised lists in ``tests/test_models.py`` with its paper
parameter count, and describe it in ``docs/models.md``.
"""

from lightning_spectra.models.base import SpectraClassifier, SpectraModel
from lightning_spectra.models.binned_fcnn import BinnedFCNN
from lightning_spectra.models.cnn import CNN
from lightning_spectra.models.conv_sc_attention import ConvSCAttention
from lightning_spectra.models.conv_sct_attention import ConvSCTAttention
from lightning_spectra.models.fcnn import FCNN1D
from lightning_spectra.models.lstm import LSTMClassifier
from lightning_spectra.models.paper_weights import load_paper_weights
from lightning_spectra.models.resnet import MSResNet
from lightning_spectra.models.sequence import SequenceClassifier
from lightning_spectra.models.transformer import TransformerClassifier

__all__ = [
    "CNN",
    "FCNN1D",
    "BinnedFCNN",
    "ConvSCAttention",
    "ConvSCTAttention",
    "LSTMClassifier",
    "MSResNet",
    "SequenceClassifier",
    "SpectraClassifier",
    "SpectraModel",
    "TransformerClassifier",
    "load_paper_weights",
]
