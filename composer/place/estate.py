"""The first half of ``plan`` and ``validate``: composer.yaml and every profile, placed and cross-checked."""

from __future__ import annotations

from pathlib import Path

from composer.core.errors import ComposerError, Problem
from composer.core.model import ClusterSettings, Placement
from composer.files.yamlio import position
from composer.load.settings import load_settings
from composer.place import autoscaler, members, spot
from composer.place.checks import check_workloads
from composer.place.classify import classify, place_profiles


def load_estate(
    config: Path, profile_paths: list[Path]
) -> tuple[ClusterSettings | None, list[Placement], list[Problem]]:
    """(settings or None when composer.yaml is broken, placements of the profiles that loaded, every problem)."""
    problems: list[Problem] = []
    settings = None
    try:
        settings = load_settings(config)
    except ComposerError as exc:
        problems += exc.problems
    placements, found = place_profiles(profile_paths, root=config.parent)
    problems += found
    if settings is not None and settings.prefer_spot_for:
        where = lambda i: (settings.source.path, *position(settings.source, f"fargate.preferSpotFor[{i}]"))  # noqa: E731
        placements, found = spot.prefer_spot(placements, settings.prefer_spot_for, where)
        problems += found
    if settings is not None:
        placements = members.settle(placements, settings.routing_label)
    problems += members.check(placements)
    if settings is not None and autoscaler.wanted(settings, placements):
        generated, found = classify(autoscaler.workload(settings))
        placements.append(generated)
        problems += found
    problems += check_workloads([p.workload for p in placements], config.parent)
    return settings, placements, problems
