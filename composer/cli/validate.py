"""``compose validate``: every problem in the profiles and composer.yaml, in one run."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from composer.core.errors import ComposerError, Problem
from composer.load.profiles import discover
from composer.place.estate import load_estate
from composer.place.routing import route

if TYPE_CHECKING:
    from composer.emit.plan import Plan


def validate(
    config: Path, profile_paths: list[Path], *, need_plan: bool = False, out_dir: Path | None = None
) -> tuple[list[Problem], int, Plan | None]:
    """(problems, number of files checked, the plan when ``need_plan`` and it could be made).

    Semantic checks run on the profiles that loaded; when all loaded, the whole composition runs, so
    validate refuses exactly what plan would (routing, sizing, releases). With ``need_plan`` (for
    --check-generated and --render) that composition is the plan itself, from the same load: nothing
    is read or composed twice.
    """
    settings, placements, problems = load_estate(config, profile_paths)
    plan = None
    if settings is not None and not problems:
        from composer.emit.plan import compose, plan_for, prior_layout

        if need_plan:
            try:
                plan = plan_for(settings, placements, out_dir)
            except ComposerError as exc:
                problems += exc.problems
        else:
            out = out_dir if out_dir is not None else settings.output_dir
            problems += compose(settings, placements, out, prior_layout(out))[4]
    elif settings is not None:
        problems += route(placements, settings)[1]
    return problems, len(discover(profile_paths, config.parent)) + 1, plan
