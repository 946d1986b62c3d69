"""The package's commands, and how to name one in a message so that the user can copy it.

Three ways start the same programs: the console scripts (``lightning-spectra fit ...``), the repository's
scripts (``python train.py fit ...``) and the modules (``python -m lightning_spectra.cli fit ...``). A message
that tells the user what to run next names the command in the way they started this process.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

#: program -> (console script, repository script or None, module)
COMMANDS = {
    "train": ("lightning-spectra", "train.py", "lightning_spectra.cli"),
    "sweep": ("lightning-spectra-sweep", "sweep.py", "lightning_spectra.sweeps"),
    "report": ("lightning-spectra-report", "report.py", "lightning_spectra.apps.paper_report"),
    "cv": ("lightning-spectra-cv", None, "lightning_spectra.apps.cross_validation"),
    "ensemble": ("lightning-spectra-ensemble", None, "lightning_spectra.apps.ensemble"),
    "watch": ("lightning-spectra-watch", None, "lightning_spectra.apps.watch"),
    "export": ("lightning-spectra-export", None, "lightning_spectra.apps.export"),
}
_REPOSITORY_SCRIPTS = {script for _, script, _ in COMMANDS.values() if script}
_PACKAGE = Path(__file__).resolve().parents[1]


def command(program: str = "train") -> str:
    """The command line that starts ``program`` (a key of :data:`COMMANDS`), in the style of ``sys.argv[0]``:
    ``python train.py`` after a repository script, ``python -m <module>`` after a module of the package, else
    the console script (also in a notebook or any other caller)."""
    console, script, module = COMMANDS[program]
    started = Path(sys.argv[0] if sys.argv and sys.argv[0] else "python")
    if started.name in _REPOSITORY_SCRIPTS and script:
        return f"python {script}"
    if started.suffix == ".py" and _PACKAGE in started.resolve().parents:
        return f"python -m {module}"
    return console


def split_passthrough(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """A campaign command's own options, and those after ``--`` that go to every run's ``fit``."""
    argv = list(argv)
    if "--" not in argv:
        return argv, []
    split = argv.index("--")
    return argv[:split], argv[split + 1 :]
