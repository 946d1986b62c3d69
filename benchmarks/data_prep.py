"""Preprocessing time of the 349-spectrum ramp: cold (simulate + baseline removal) and from the cache.

python benchmarks/data_prep.py
"""

from __future__ import annotations

import tempfile
import time

from lightning_spectra.data import HEDDataModule


def timed_load(cache_dir: str) -> float:
    start = time.perf_counter()
    HEDDataModule(cache_dir=cache_dir, progress=False).build_splits()
    return time.perf_counter() - start


def main() -> None:
    with tempfile.TemporaryDirectory() as cache:
        cold, warm = timed_load(cache), timed_load(cache)
    print(f"349 x 4023 ramp, splits built: cold {cold:.2f} s, cached {warm:.2f} s ({cold / warm:.1f}x faster)")


if __name__ == "__main__":
    main()
