"""YAML files under a folder, sorted, hidden entries skipped; any folder that cannot be read is an error,
never silently skipped (a lost team folder would otherwise drop its workloads from the plan, and apply
would delete what they own).

Symbolic links are followed while they stay inside the estate (``confine``: the folder that holds
composer.yaml, or the folder searched when it lies elsewhere); a link that leads out of it, or nowhere,
is an error naming the link. Each real folder is read once, so a link loop ends.
"""

from __future__ import annotations

import os
from pathlib import Path

from composer.core.errors import fail

SUFFIXES = (".yaml", ".yml")


def yaml_files(folder: Path, confine: Path | None = None) -> list[Path]:
    real = folder.resolve()
    boundary = confine.resolve() if confine is not None and real.is_relative_to(confine.resolve()) else real
    found: list[Path] = []
    seen: set[Path] = set()

    def visit(directory: Path) -> None:
        if directory.resolve() in seen:
            return
        seen.add(directory.resolve())
        try:
            entries = sorted((e for e in os.scandir(directory) if not e.name.startswith(".")), key=lambda e: e.name)
        except OSError as error:
            raise fail(
                f"cannot read folder: {error.strerror or error}",
                str(error.filename or directory),
                hint="fix its permissions, or pass only the folders you mean",
            ) from None
        folders = []
        for entry in entries:
            path = Path(entry.path)
            if entry.is_symlink():
                _check_link(path, boundary)
            if entry.is_dir():
                folders.append(path)
            elif entry.name.endswith(SUFFIXES) and entry.is_file():
                found.append(path)
        for sub in folders:
            visit(sub)

    visit(folder)
    return found


def _check_link(link: Path, boundary: Path) -> None:
    target = link.resolve()
    if not target.exists():
        raise fail(
            f"symbolic link to {target}, which does not exist",
            str(link),
            hint="fix or remove the link: its files would not be read",
        )
    if not target.is_relative_to(boundary):
        raise fail(
            f"symbolic link leads outside the estate ({boundary}) to {target}",
            str(link),
            hint="move that folder into the estate, or pass it as an argument of its own",
        )
