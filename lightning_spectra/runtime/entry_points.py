"""The console scripts' entry points (pyproject.toml ``[project.scripts]``).

A command's top-level ``--help`` is printed from :data:`~lightning_spectra.runtime.help_texts.HELP`, without
importing the command's module: those import torch and Lightning (10-20 s on a loaded 2-core machine) before
their parser exists. Anything else, a subcommand's ``--help`` included, runs the command's own ``main``.

The texts are the commands' own ``--help`` output, written by ``python -m lightning_spectra.runtime.entry_points``
(a test fails when one is out of date).
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

from lightning_spectra.runtime.commands import COMMANDS

#: program (a key of COMMANDS) -> the ``module:function`` that runs it
TARGETS = {
    "train": "lightning_spectra.cli:main",
    "cv": "lightning_spectra.apps.cross_validation:main",
    "ensemble": "lightning_spectra.apps.ensemble:main",
    "watch": "lightning_spectra.apps.watch:main",
    "report": "lightning_spectra.apps.paper_report:main",
    "export": "lightning_spectra.apps.export:main",
}
HELP_OPTIONS = (["-h"], ["--help"])
#: the width the texts are wrapped to (argparse reads COLUMNS)
HELP_COLUMNS = "100"
HELP_TEXTS = Path(__file__).with_name("help_texts.py")


def _target(program: str) -> Callable[..., None]:
    module, function = TARGETS[program].split(":")
    return getattr(importlib.import_module(module), function)


def _launch(program: str) -> None:
    """Print the stored top-level help of ``program``, or run it."""
    if sys.argv[1:] in HELP_OPTIONS:
        from lightning_spectra.runtime.help_texts import HELP

        print(HELP[program], end="")
        raise SystemExit(0)
    _target(program)()


def train() -> None:
    _launch("train")


def cv() -> None:
    _launch("cv")


def ensemble() -> None:
    _launch("ensemble")


def watch() -> None:
    _launch("watch")


def report() -> None:
    _launch("report")


def export() -> None:
    _launch("export")


def current_help(program: str) -> str:
    """What ``<console script> --help`` of ``program`` prints when its module is imported (slow: torch)."""
    argv, columns = sys.argv, os.environ.get("COLUMNS")
    sys.argv, os.environ["COLUMNS"] = [COMMANDS[program][0], "--help"], HELP_COLUMNS
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
            _target(program)()
    finally:
        sys.argv = argv
        if columns is None:
            os.environ.pop("COLUMNS")
        else:
            os.environ["COLUMNS"] = columns
    return out.getvalue()


def write_help_texts() -> None:
    # JSON strings are Python literals in the quotes ruff format keeps: the file is written formatted
    texts = "".join(f"    {json.dumps(program)}: {json.dumps(current_help(program))},\n" for program in TARGETS)
    HELP_TEXTS.write_text(
        "# ruff: noqa: E501  (each text is one string, as the command prints it)\n"
        '"""Each command\'s top-level ``--help``, written by ``python -m lightning_spectra.runtime.entry_points``."""'
        "\n\n"
        f"HELP = {{\n{texts}}}\n"
    )


if __name__ == "__main__":
    write_help_texts()
