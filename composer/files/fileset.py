"""The generated files as one set: either all of a write lands or none of it replaces anything.

Every file is first written in full to a temporary beside its target and synced; only then are the
temporaries renamed over their targets, one quick ``os.replace`` each. A failure while staging (a full
disk, an unwritable folder) replaces nothing and leaves no temporaries. During the renames a marker
file names the set being written; if compose is killed in that short window, the marker stays, the
next plan reports the torn set and the next write completes it and removes the marker. Temporaries a
kill left behind are removed by the next write (only ours: ``.<file name>.compose-<8 hex digits>.tmp``;
a user's own ``.<file name>.<anything>.tmp`` is left alone).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from composer.files import yamlio

MARKER = ".compose-writing"


def write_set(out_dir: Path, files: dict[str, str], sync_each: bool = True) -> None:
    """Write ``files`` ({relative name: text}) under ``out_dir`` as one set. Raises OSError with
    nothing replaced when any file cannot be staged. ``sync_each`` false: one ``os.sync`` for all the
    staged files instead of one per file (thousands of scanned profiles)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    remove_strays(out_dir, files)
    staged: list[tuple[str, Path]] = []
    try:
        for name, text in files.items():
            staged.append((yamlio.stage(out_dir / name, text, sync=sync_each), out_dir / name))
        if not sync_each:
            os.sync()
        marker = out_dir / MARKER
        marker.write_text("".join(f"{name}\n" for name in files), encoding="utf-8")
        for tmp, target in staged:
            os.replace(tmp, target)
        staged = []
        yamlio.sync_folders({(out_dir / name).parent for name in files})
        marker.unlink()
    finally:
        for tmp, _ in staged:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def torn(out_dir: Path) -> bool:
    """An earlier write was stopped between its first and last rename."""
    return (out_dir / MARKER).is_file()


def remove_strays(out_dir: Path, names) -> None:
    """Remove temporaries that a killed write of these files left behind (one listing per folder)."""
    by_folder: dict[Path, set[str]] = {}
    for name in names:
        target = out_dir / name
        by_folder.setdefault(target.parent, set()).add(target.name)
    ours = re.compile(r"\.(.+)\." + re.escape(yamlio.TMP_TAG) + r"[0-9a-f]{8}\.tmp")
    for folder, targets in by_folder.items():
        try:
            entries = os.listdir(folder)
        except OSError:
            continue
        for entry in entries:
            found = ours.fullmatch(entry)
            if found and found.group(1) in targets:
                try:
                    os.unlink(folder / entry)
                except OSError:
                    pass
