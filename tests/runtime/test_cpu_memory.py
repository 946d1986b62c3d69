"""The CPU allocator setting: big tensors come from reusable heap memory, not fresh kernel mappings."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

from lightning_spectra.runtime.cpu_memory import SWITCH, keep_freed_memory

# How many more bytes glibc holds in mmap'd blocks (mallinfo2's hblkhd) while a new 64 MiB tensor lives.
MAPPED_BYTES = """
import ctypes, sys, torch
from lightning_spectra.runtime.cpu_memory import keep_freed_memory
class Info(ctypes.Structure):
    names = "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost"
    _fields_ = [(n, ctypes.c_size_t) for n in names.split()]
libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = Info
if sys.argv[1] == "keep":
    keep_freed_memory()
before = libc.mallinfo2().hblkhd
big = torch.empty(16 * 2**20)
print(libc.mallinfo2().hblkhd - before)
"""

glibc = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's allocator only")


def mapped_bytes(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", MAPPED_BYTES, mode], capture_output=True, text=True, check=True)
    return int(out.stdout.split()[-1])


@glibc
def test_big_tensors_leave_the_mmap_path():
    assert mapped_bytes("default") >= 64 * 2**20  # glibc's default: a fresh mapping per big tensor
    assert mapped_bytes("keep") < 2**20  # switched: the tensor lives on the reusable heap


@glibc
@pytest.mark.parametrize("value", ["default", "off", "OFF", " off "])
def test_the_switch_leaves_glibc_alone(monkeypatch, value: str):
    """``off`` was read as "switch it" (only ``default`` was known; issue 35)."""
    monkeypatch.setenv(SWITCH, value)
    assert keep_freed_memory() is False


def test_an_unknown_switch_value_is_one_line_naming_the_values(tmp_path, monkeypatch, capsys):
    """``LIGHTNING_SPECTRA_CPU_ALLOCATOR=of`` silently switched the allocator (issue 35)."""
    from conftest import tiny_args

    from lightning_spectra.cli import main

    monkeypatch.setenv(SWITCH, "of")
    with pytest.raises(SystemExit) as stop:
        main(tiny_args("fit", tmp_path, "cnn_tiny.yaml", "--trainer.accelerator=cpu", "--trainer.max_epochs=1"))
    assert stop.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (  # after Lightning's "Seed set" line
        "error: LIGHTNING_SPECTRA_CPU_ALLOCATOR='of': give off (or default) to leave the C library's allocator as it "
        "is, or keep (or leave it unset) to keep freed memory in the process"
    )


@pytest.mark.parametrize(("accelerator", "switched"), [("cpu", True), ("gpu", False)])
def test_the_cli_keeps_freed_memory_for_cpu_runs_only(monkeypatch, tmp_path, accelerator: str, switched: bool):
    from conftest import tiny_args

    from lightning_spectra import cli

    calls = []
    monkeypatch.setattr(cli, "keep_freed_memory", lambda: calls.append(True))
    args = tiny_args("fit", tmp_path, "cnn_tiny.yaml", f"--trainer.accelerator={accelerator}")
    try:
        cli.SpectraCLI(args=args[1:], run=False)
    except Exception:  # no GPU here: the Trainer refuses after the setting was (not) applied
        assert accelerator == "gpu"
    assert bool(calls) is switched
