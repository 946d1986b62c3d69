"""Every console script's top-level ``--help`` prints the command's own help without importing torch (issue 35:
it took 10-23 s); anything else reaches the command's ``main``."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from lightning_spectra.runtime import entry_points
from lightning_spectra.runtime.help_texts import HELP

ROOT = Path(__file__).parents[2]
SCRIPTS = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
#: Runs an entry point as its console script does, then says what it imported. Checking imports, not time:
#: a loaded CI machine makes any wall-clock bound flaky.
PROBE = """
import importlib, sys
module, function = sys.argv[1].split(":")
sys.argv = [sys.argv[2], "--help"]
try:
    getattr(importlib.import_module(module), function)()
except SystemExit as stop:
    code = stop.code or 0
heavy = sorted(n for n in ("torch", "lightning", "numpy") if n in sys.modules)
print("imported:", ",".join(heavy) or "none", "exit:", code)
"""


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_top_level_help_imports_no_torch(script: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, SCRIPTS[script], script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"usage: {script} ")
    assert done.stdout.rstrip().endswith("exit: 0")
    assert "imported: none" in done.stdout.splitlines()[-1]


@pytest.mark.parametrize("program", sorted(entry_points.TARGETS))
def test_the_stored_help_is_the_commands_own(program: str) -> None:
    """Out of date after a change to a command's options: ``python -m lightning_spectra.runtime.entry_points``."""
    assert HELP[program] == entry_points.current_help(program)


@pytest.mark.parametrize("argv", [["fit", "--help"], ["--help", "--config", "x"], []])
def test_anything_but_the_top_level_help_runs_the_command(monkeypatch, argv: list[str]) -> None:
    ran: list[str] = []
    monkeypatch.setattr(entry_points, "_target", lambda program: lambda: ran.append(program))
    monkeypatch.setattr(sys, "argv", ["lightning-spectra", *argv])
    entry_points.train()
    assert ran == ["train"]
