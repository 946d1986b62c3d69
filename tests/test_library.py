"""docs/library.md runs as written: a datamodule, a model sized from it, a plain Trainer, probabilities."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

DOC = Path(__file__).parent.parent / "docs" / "library.md"


def test_the_library_page_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    monkeypatch.chdir(tmp_path)
    text = DOC.read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) == 4
    namespace: dict = {}
    exec(compile("\n".join(blocks), str(DOC), "exec"), namespace)
    probabilities, data = namespace["probabilities"], namespace["data"]
    assert probabilities.shape == (len(data.splits.test), 2)
    assert torch.allclose(probabilities.sum(dim=1), torch.ones(len(probabilities)), atol=1e-5)
    assert torch.allclose(namespace["one_channel"], probabilities[:4], atol=1e-5)
    shown = capsys.readouterr().out.splitlines()[-1]
    assert shown in text  # the error the page shows is the one the model gives
