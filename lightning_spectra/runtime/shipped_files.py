"""The configs and sweep files shipped inside the package, found by name from any folder.

``--config cnn`` is the package's ``configs/cnn.yaml``; ``paper/cnn`` and ``examples/files_csv`` name the files
of its sub-folders; ``--sweep cnn`` is the package's ``sweep_files/cnn.yaml``. A path that exists is always
used as it is, so a user's own file wins over a shipped one of the same name. The repository paths of the
shipped files (``configs/paper/cnn.yaml``, ``sweeps/cnn.yaml``) name them too, so the commands in the docs
work outside the repository. A config that builds on others (``base:``,
:mod:`lightning_spectra.runtime.composed_configs`) reaches the parser composed. Import-light: the sweep command
reads its file before anything imports torch.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from lightning_spectra.errors import SpectraConfigError

PACKAGE = Path(__file__).parents[1]
# jsonargparse also takes YAML text for --config ('{trainer: {max_epochs: 1}}'): only what could be a file
# name is looked up.
_FILE_NAME = re.compile(r"[\w.~/\\-]+")


@dataclass(frozen=True)
class Shelf:
    """A folder of shipped YAML files, each named by its path below the folder without ``.yaml``."""

    folder: Path
    repository_folder: str  # where the files appear in the repository, e.g. configs/paper/cnn.yaml
    kind: str

    def names(self) -> list[str]:
        return sorted(p.relative_to(self.folder).with_suffix("").as_posix() for p in self.folder.rglob("*.yaml"))

    def find(self, text: str | Path, base: Path | None = None) -> Path | None:
        """``text`` as a path (relative to ``base``, default the working folder) if that file exists, else the
        shipped file it names, else ``None``."""
        path = (base or Path()) / Path(text).expanduser()
        if path.is_file():
            return path
        name = self._name(text)
        return self.folder / f"{name}.yaml" if name in self.names() else None

    def not_found(self, text: str | Path) -> str:
        """The one line for a name that is neither a file nor shipped: every known name, closest first (an
        absolute path names a file, never a shipped one: it is only said to be missing)."""
        if Path(text).expanduser().is_absolute():
            return f"{text}: no such {self.kind} file"
        name = self._name(text)
        known = ", ".join(sorted(self.names(), key=lambda k: (-difflib.SequenceMatcher(None, name, k).ratio(), k)))
        return f"{self.kind} {text} not found: no such file, and no shipped {self.kind} of that name (known: {known})"

    def _name(self, text: str | Path) -> str:
        """``configs/paper/cnn.yaml`` -> ``paper/cnn``."""
        name = str(text).replace("\\", "/").removeprefix("./").removeprefix(f"{self.repository_folder}/")
        return name.removesuffix(".yaml").removesuffix(".yml")

    def get(self, text: str | Path, base: Path | None = None) -> Path:
        """:meth:`find`, or a :class:`SpectraConfigError` with :meth:`not_found`'s line."""
        found = self.find(text, base)
        if found is None:
            raise SpectraConfigError(self.not_found(text))
        return found


CONFIGS = Shelf(PACKAGE / "configs", "configs", "config")
SWEEPS = Shelf(PACKAGE / "sweep_files", "sweeps", "sweep")


def config_file(text: str | Path) -> Path:
    """The training config ``text`` names: a file path, or a shipped config (``cnn``, ``paper/cnn``)."""
    return CONFIGS.get(text)


def config_args(args: Sequence[str]) -> list[str]:
    """Command-line arguments with each ``--config NAME`` / ``-c NAME`` / ``--config=NAME`` naming a shipped
    config replaced by its path, and a config file with ``base:`` by its composed YAML text (jsonargparse reads
    inline YAML as it reads a file); other paths that exist and inline YAML are left as they are."""
    out = list(args)
    for i, arg in enumerate(out):
        if arg in ("--config", "-c") and i + 1 < len(out):
            out[i + 1] = _config_arg(out[i + 1])
        elif arg.startswith("--config="):
            out[i] = "--config=" + _config_arg(arg.removeprefix("--config="))
    return out


def _config_arg(value: str) -> str:
    from lightning_spectra.runtime.composed_configs import composed_text, has_base

    if not _FILE_NAME.fullmatch(value):
        return value
    path = config_file(value)
    # the parser never sees `base`: the composition is the config, and the run's config.yaml saves all of it
    return composed_text(path) if has_base(path) else str(path)
