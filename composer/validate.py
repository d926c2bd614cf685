"""``compose validate``: every problem in the profiles and composer.yaml, in one run."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from composer.checks import check_workloads
from composer.classify import place_profiles
from composer.errors import ComposerError, Problem
from composer.profiles import discover
from composer.routing import route
from composer.settings import load_settings

if TYPE_CHECKING:
    from composer.plan import FileChange


def validate(config: Path, profile_paths: list[Path]) -> tuple[list[Problem], int]:
    """(problems, number of files checked). Semantic checks run on the profiles that loaded."""
    problems: list[Problem] = []
    settings = None
    try:
        settings = load_settings(config)
    except ComposerError as exc:
        problems += exc.problems
    placements, found = place_profiles(profile_paths)
    problems += found
    problems += check_workloads([p.workload for p in placements])
    if settings is not None:
        problems += route(placements, settings)[1]
    return problems, len(discover(profile_paths)) + 1


def stale_files(config: Path, profile_paths: list[Path], out_dir: Path | None) -> list[FileChange]:
    """Generated files on disk that differ from what the profiles produce (new, or changed)."""
    from composer.plan import build_plan

    plan = build_plan(config, profile_paths, out_dir)
    return [change for change in plan.changes if change.status != "unchanged"]
