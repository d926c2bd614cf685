"""Rules → placement: Fargate unless a blocking rule applies or the profile forces a node group."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from composer import rules
from composer.core.errors import Problem, fail
from composer.core.model import NodeClass, Placement, Reason, Workload
from composer.core.parallel import WorkerDied, map_chunks
from composer.core.sizing import is_gpu, is_neuron
from composer.files import schema
from composer.files.yamlio import position
from composer.load.profiles import find_profiles, load_all
from composer.rules._selectors import allowed, os_allowed

FORCED = Reason(
    "PL001", "forced-nodegroup", "block", "profile sets placement: nodegroup", "placement", "", 0, 0, "profile"
)


def node_class(w: Workload) -> NodeClass:
    """Which kind of node a node-group workload needs."""
    os_values, _ = os_allowed(w)
    if os_values is not None and "linux" not in os_values:
        return "windows"
    extended = {r for c in w.all_containers for r in (*c.requests, *c.limits)}
    if any(is_neuron(r) for r in extended):
        return "neuron"
    if any(is_gpu(r) for r in extended):
        return "gpu"
    arch, _ = allowed(w, "kubernetes.io/arch", "beta.kubernetes.io/arch")
    if arch is not None and "amd64" not in arch:
        return "arm64"
    return "general"


def on_spot(w: Workload, blocking: list[Reason]) -> bool:
    """A node-group workload goes to Spot capacity when its profile says it tolerates interruption
    (Jobs and CronJobs only so, never by derivation: composer.place.spot advises against it), or when it
    requires Spot itself (FG023)."""
    return w.interruptible is True or any(r.rule == "FG023" for r in blocking)


def classify(w: Workload) -> tuple[Placement, list[Problem]]:
    """Place one workload. A forced ``placement: fargate`` that a rule blocks is a problem."""
    reasons = rules.evaluate(w)
    blocking = [r for r in reasons if r.severity == "block"]
    problems: list[Problem] = []
    size = w.fargate_size
    if w.placement == "fargate" and blocking:
        line, col = position(w.source, "placement")
        ids = ", ".join(f"{r.rule} {r.name}" for r in blocking)
        problems.append(
            Problem(
                f"placement: fargate, but Fargate cannot run this workload: {ids}",
                w.source.path,
                line,
                col,
                hint=f"{blocking[0].message}; remove placement or set it to nodegroup",
                check="forced-placement",
            )
        )
    if w.placement == "nodegroup":
        line, col = position(w.source, "placement")
        forced = dataclasses.replace(FORCED, line=line, col=col)
        return Placement(
            w, "nodegroup", (forced, *blocking), size, node_class(w), forced=True, spot=on_spot(w, blocking)
        ), problems
    if blocking:  # advice about Fargate is noise for a workload that will not run there
        return Placement(w, "nodegroup", tuple(blocking), size, node_class(w), spot=on_spot(w, blocking)), problems
    return Placement(w, "fargate", tuple(reasons), size, None, forced=w.placement == "fargate"), problems


def classify_all(workloads: list[Workload]) -> tuple[list[Placement], list[Problem]]:
    placements, problems = [], []
    for w in workloads:
        placement, found = classify(w)
        placements.append(placement)
        problems.extend(found)
    return placements, problems


def place_profiles(paths: list[Path], jobs: int = 0, root: Path | None = None) -> tuple[list[Placement], list[Problem]]:
    """Load, schema-check, build and classify every profile under ``paths``.

    These stages are independent per file, so a large estate runs them in parallel processes
    (``composer.core.parallel``); cross-profile checks come after, on the results.
    """
    files = find_profiles(paths, root)
    schema.compiled("profile")  # once, before any worker is forked
    placements, problems = [], []
    try:
        results = map_chunks(_place_files, files, jobs)
    except WorkerDied as died:
        raise fail(
            f"reading this file crashed the process that read it ({died.status})",
            str(died.item),
            hint="simplify the file (deep nesting, very long lines) and report it as a bug",
        ) from None
    for found_placements, found_problems in results:
        placements += found_placements
        problems += found_problems
    return placements, problems


def _place_files(files: list[Path]) -> tuple[list[Placement], list[Problem]]:
    workloads, problems = load_all(files)
    placements, found = classify_all(workloads)
    return placements, problems + found
