"""``compose validate``: every problem in the profiles and composer.yaml, in one run."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from composer.errors import Problem
from composer.estate import load_estate
from composer.profiles import discover
from composer.routing import route

if TYPE_CHECKING:
    from composer.plan import FileChange


def validate(config: Path, profile_paths: list[Path], *, check_generated: bool = False,
             out_dir: Path | None = None) -> tuple[list[Problem], int, list[FileChange]]:
    """(problems, number of files checked, stale generated files).

    Semantic checks run on the profiles that loaded. With ``check_generated`` and no problems, the
    generated files on disk that differ from what the profiles produce (new or changed) are
    listed, from the same load: nothing is read twice.
    """
    settings, placements, problems = load_estate(config, profile_paths)
    if settings is not None and not problems:
        from composer.plan import compose

        # the whole composition, so validate refuses exactly what plan would (routing, sizing, releases)
        problems += compose(settings, placements, out_dir if out_dir is not None else settings.output_dir)[4]
    elif settings is not None:
        problems += route(placements, settings)[1]
    stale: list[FileChange] = []
    if check_generated and settings is not None and not problems:
        from composer.plan import plan_for

        stale = [c for c in plan_for(settings, placements, out_dir).changes if c.status != "unchanged"]
    return problems, len(discover(profile_paths)) + 1, stale
