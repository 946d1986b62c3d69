"""A network's own input preprocessing (``input_preparation``): what the regression recipe's network reads, while the
classical calibration beside it prepares the same raw spectra its own way."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.signal import savgol_filter

from lightning_spectra.errors import SpectraConfigError
from lightning_spectra.models import FCNN1D, SkipCNN
from lightning_spectra.tasks import Targets

LENGTH = 60


def regressor(cls=SkipCNN, **settings) -> torch.nn.Module:
    torch.manual_seed(0)
    return cls(spectrum_length=LENGTH, targets=Targets.values(["y"]), **settings).eval()


def test_a_derivative_input_ignores_an_offset_and_snv_a_scale() -> None:
    x = torch.randn(5, LENGTH).cumsum(1)
    with torch.no_grad():
        raw, sg1, snv = (regressor(input_preparation=p) for p in ("raw", "sg1", "sg1_snv"))
        assert not torch.allclose(raw(x), raw(x + 3.0), atol=1e-4)
        torch.testing.assert_close(sg1(x + 3.0), sg1(x), atol=1e-4, rtol=1e-4)  # the derivative of an offset is 0
        assert not torch.allclose(sg1(x), sg1(2 * x), atol=1e-4)
        torch.testing.assert_close(snv(2 * x + 3.0), snv(x), atol=1e-4, rtol=1e-4)


def test_the_prepared_input_is_scipys_derivative() -> None:
    model = regressor(FCNN1D, hidden=(8,), input_preparation="sg1")
    x = np.random.default_rng(0).normal(size=(3, LENGTH))
    got = model.input_norm(torch.tensor(x, dtype=torch.float32)).detach().numpy()
    np.testing.assert_allclose(got, savgol_filter(x, 15, 2, deriv=1, axis=1), atol=1e-5)


def test_raw_keeps_the_papers_layers_and_a_wrong_name_is_one_line() -> None:
    assert isinstance(regressor(FCNN1D, hidden=(8,)).input_norm, torch.nn.Identity)
    with pytest.raises(SpectraConfigError, match="input_preparation must be one of raw, snv, sg1, sg1_snv"):
        regressor(input_preparation="sg2")
