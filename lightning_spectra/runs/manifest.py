"""What a command wrote into a folder, so that ``--overwrite`` deletes exactly that and never a user's file.

A folder given to ``ensemble fit`` or ``cv`` may hold the user's own files, some named like the command's
(``member0``, ``predictions.csv``, ``repeat0_fold0``). Deleting by name pattern lost them; the command now
records every path it is about to write (before writing it, so a killed run's files are recorded too) in
``<folder>/lightning_spectra_written.json`` and ``--overwrite`` deletes only those.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable
from pathlib import Path

from lightning_spectra.errors import SpectraConfigError
from lightning_spectra.runs.folder_lock import LOCK_FILE
from lightning_spectra.runtime.atomic_files import atomic_write

MANIFEST = "lightning_spectra_written.json"


def read_manifest(folder: Path) -> dict | None:
    """``{"command": ..., "paths": [...]}`` of ``folder``, or None when no command of ours wrote there."""
    try:
        manifest = json.loads((Path(folder) / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("paths"), list):
        return None
    return manifest


def record_written(folder: Path, command: str, names: Iterable[str]) -> None:
    """Add ``names`` (paths relative to ``folder``) to what ``command`` wrote there; call it before writing."""
    folder = Path(folder)
    manifest = read_manifest(folder) or {"command": command, "paths": []}
    new = [str(name) for name in names if str(name) not in manifest["paths"]]
    if not new and (folder / MANIFEST).exists():
        return
    manifest["paths"] = [*manifest["paths"], *new]
    atomic_write(folder / MANIFEST, lambda tmp: tmp.write_text(json.dumps(manifest, indent=2) + "\n"))


def _inside(folder: Path, name: str) -> Path | None:
    """``folder / name`` when ``name`` is a plain relative path that stays inside ``folder`` (else None: a
    hand-edited manifest never deletes anything outside)."""
    path = Path(name)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        return None
    return folder / path


def delete_written(folder: Path, names: Iterable[str] | None = None) -> list[str]:
    """Delete what the manifest of ``folder`` records (or ``names``, for a folder written before manifests),
    then the manifest; returns the deleted names. Emptied folders the command made go too; a folder that holds
    a user's file is kept with that file."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    names = list(names if names is not None else (manifest or {}).get("paths", []))
    deleted = []
    for name in names:
        path = _inside(folder, name)
        if path is None or not (path.exists() or path.is_symlink()):
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
        deleted.append(name)
        for parent in path.parents:  # figures/ when it held only the command's figures
            if parent == folder or not parent.is_relative_to(folder):
                break
            if parent.is_dir() and not any(parent.iterdir()):
                parent.rmdir()
    (folder / MANIFEST).unlink(missing_ok=True)
    return deleted


def refuse_foreign(folder: Path, option: str, what: str, command: str) -> None:
    """Refuse a non-empty ``folder`` that ``command`` did not write (the user's files, or another command's run:
    a ``cv --overwrite`` would delete an ensemble): the run would mix its files with theirs and a later
    ``--overwrite`` could not tell them apart."""
    folder = Path(folder)
    if not folder.is_dir():
        return
    manifest = read_manifest(folder)
    if manifest is not None and manifest.get("command") != command:
        raise SpectraConfigError(
            f"{option} {folder}: holds the files of another command's run ({manifest.get('command')}, listed in "
            f"{MANIFEST}); give another folder"
        )
    if manifest is not None:
        return
    others = sorted(p.name for p in folder.iterdir() if p.name != LOCK_FILE)  # a run's lock, not a file of theirs
    if others:
        raise SpectraConfigError(
            f"{option} {folder}: holds other files ({others[0]}{', ...' if len(others) > 1 else ''}) and no {what} "
            "of ours; give an empty or new folder"
        )
