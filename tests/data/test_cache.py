from pathlib import Path

import numpy as np
import pytest

from lightning_spectra.data.cache import cache_key, cached_arrays


def test_builds_once_then_reads_from_disk(tmp_path: Path) -> None:
    calls = []

    def build() -> dict[str, np.ndarray]:
        calls.append(1)
        return {"a": np.arange(3.0)}

    first = cached_arrays(tmp_path, "ramp", {"p": 1}, build)
    second = cached_arrays(tmp_path, "ramp", {"p": 1}, build)
    np.testing.assert_array_equal(first["a"], second["a"])
    assert len(calls) == 1
    cached_arrays(tmp_path, "ramp", {"p": 2}, build)  # other parameters: another entry
    assert len(calls) == 2 and len(list(tmp_path.glob("ramp-*.npz"))) == 2


def test_key_is_order_independent() -> None:
    assert cache_key({"a": 1, "b": 2}) == cache_key({"b": 2, "a": 1}) != cache_key({"a": 1, "b": 3})


@pytest.mark.parametrize("damage", ["truncate", "flip_bit"])
def test_damaged_entry_is_detected_rebuilt_and_reported(
    tmp_path: Path, damage: str, capsys: pytest.CaptureFixture
) -> None:
    """A truncated or bit-flipped cache file fails its checksum, is rebuilt, and a ``note:`` says so."""
    calls = []

    def build() -> dict[str, np.ndarray]:
        calls.append(1)
        return {"a": np.arange(1000.0)}

    cached_arrays(tmp_path, "ramp", {"p": 1}, build)
    [entry] = tmp_path.glob("ramp-*.npz")
    data = bytearray(entry.read_bytes())
    if damage == "truncate":
        data = data[: len(data) // 2]
    else:
        data[len(data) // 2] ^= 0x01  # inside the array's bytes: numpy alone would load it without noticing
    entry.write_bytes(bytes(data))

    again = cached_arrays(tmp_path, "ramp", {"p": 1}, build)
    np.testing.assert_array_equal(again["a"], np.arange(1000.0))
    assert len(calls) == 2
    assert f"note: cache file {entry} is damaged" in capsys.readouterr().err
    cached_arrays(tmp_path, "ramp", {"p": 1}, build)  # the rebuilt entry is trusted again
    assert len(calls) == 2


def test_a_read_only_cache_folder_is_a_note_and_the_arrays_are_still_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    from faults import read_only

    folder = read_only(tmp_path / "cache", monkeypatch)
    arrays = cached_arrays(folder, "ramp", {"p": 1}, lambda: {"a": np.arange(3.0)})
    np.testing.assert_allclose(arrays["a"], [0.0, 1.0, 2.0])
    assert capsys.readouterr().err.strip() == (
        f"note: cannot write the cache folder {folder} (Permission denied); not caching"
    )
    assert list(folder.iterdir()) == []
