"""Models. Each lives in its own module and subclasses :class:`SpectraModel` (``SpectraClassifier`` is its earlier
name, kept so configs and checkpoints load); any of them serves every task (``task: classification``, ``regression``,
``multilabel``): the task sets its outputs.

The models are found by :mod:`~lightning_spectra.models.registry`, which reads every module of this package: the
module's name is the model's name (``configs/<name>.yaml``, its tiny test config), and the class is
exported here, so ``class_path: lightning_spectra.models.<Class>`` works in configs and checkpoints.

To add a model, write two files:

- ``models/<name>.py`` with one subclass that takes its own keyword arguments plus ``**kwargs`` (forwarded to
  ``super().__init__``), builds its layers from ``self.spectrum_length`` and ``self.out_features``, returns
  outputs ``(B, out_features)`` from ``forward`` and sets the class attributes that describe it
  (``attribution_layer``, ``"input"`` if no layer keeps positions along the spectrum; ``label``;
  ``tiny_arguments``; ``minimum_length`` if short spectra are refused; the paper's numbers if it has them: see
  :class:`SpectraModel`). Models that read the spectra of a batch as tokens of a sequence subclass
  :class:`SequenceModel` (earlier ``SequenceClassifier``) instead.
- ``configs/<name>.yaml``, the model's user config: ``base: bases/hed_ramp`` and what differs (docs/models.md).

Every test parametrised over the models picks it up, with a tiny config derived from ``tiny_arguments``; its row of
``docs/models.md``'s table is ``registry.table_row``.
"""

from lightning_spectra.models.base import SpectraClassifier, SpectraModel

# The shipped models by name, so type checkers and editors see them; the registry exports any other model module.
from lightning_spectra.models.binned_fcnn import BinnedFCNN as BinnedFCNN
from lightning_spectra.models.cnn import CNN as CNN
from lightning_spectra.models.conv_sc_attention import ConvSCAttention as ConvSCAttention
from lightning_spectra.models.conv_sct_attention import ConvSCTAttention as ConvSCTAttention
from lightning_spectra.models.fcnn import FCNN1D as FCNN1D
from lightning_spectra.models.lstm import LSTMClassifier as LSTMClassifier
from lightning_spectra.models.paper_weights import load_paper_weights
from lightning_spectra.models.registry import model_classes
from lightning_spectra.models.resnet import MSResNet as MSResNet
from lightning_spectra.models.sequence import SequenceClassifier, SequenceModel
from lightning_spectra.models.transformer import TransformerClassifier as TransformerClassifier

globals().update({cls.__name__: cls for cls in model_classes().values()})

__all__ = [
    "SequenceClassifier",
    "SequenceModel",
    "SpectraClassifier",
    "SpectraModel",
    "load_paper_weights",
    *sorted(cls.__name__ for cls in model_classes().values()),
]
