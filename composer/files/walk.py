"""YAML files under a folder: sorted, hidden entries skipped, symlinked folders not followed, and any
folder that cannot be read is an error, never silently skipped (a lost team folder would otherwise
drop its workloads from the plan, and ``apply --prune`` would delete their node groups)."""

from __future__ import annotations

import os
from pathlib import Path

from composer.core.errors import fail

SUFFIXES = (".yaml", ".yml")


def yaml_files(folder: Path) -> list[Path]:
    def unreadable(error: OSError) -> None:
        raise fail(
            f"cannot read folder: {error.strerror or error}",
            str(error.filename or folder),
            hint="fix its permissions, or pass only the folders you mean",
        )

    found: list[Path] = []
    for root, dirs, files in os.walk(folder, followlinks=False, onerror=unreadable):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found.extend(Path(root) / f for f in sorted(files) if f.endswith(SUFFIXES) and not f.startswith("."))
    return found
