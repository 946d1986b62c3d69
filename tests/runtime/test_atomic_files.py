from pathlib import Path

import pytest

from lightning_spectra.runtime.atomic_files import atomic_write


def test_failed_write_leaves_nothing_behind(tmp_path: Path) -> None:
    target = tmp_path / "x.npz"

    def explode(tmp: Path) -> None:
        tmp.write_text("half")
        raise RuntimeError("killed mid-write")

    with pytest.raises(RuntimeError, match="killed"):
        atomic_write(target, explode)
    assert list(tmp_path.iterdir()) == []
