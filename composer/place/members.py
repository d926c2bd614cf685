"""Several workloads of one Helm release: a profile with ``release.partOf`` is one of them.

A chart is one release with several workloads (a controller, its webhook, hook Jobs): each is placed on
its own, since the rules read its own pod, and the helmfile has one release, its owner's (the profile
``partOf`` names, in the same namespace), carrying each member's values at the member's own keys.

A member the rules would put on Fargate, in a namespace that also holds node-group workloads, needs the
Fargate routing label on its pods. When its profile names no ``release.podLabelsValue`` (a chart's
secondary workloads often have none), nothing gives it that label: its pods run on a general node, and
the plan says so (PL003) instead of refusing the release.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict

from composer.core.errors import Problem
from composer.core.model import DEFAULT_ROUTING_LABEL, Placement, Reason
from composer.files.yamlio import position
from composer.place.checks import problem_at
from composer.place.routing import labellable

UNLABELLED = Reason(
    "PL003",
    "release-member-on-nodes",
    "block",
    "part of another profile's release with no release.podLabelsValue: in a namespace that also holds node-group "
    "workloads its pods cannot carry the Fargate routing label, so they run on the general node group (name the "
    "chart value for this workload's pod labels to run it on Fargate)",
    "release.podLabelsValue",
    "",
    0,
    0,
    "profile",
)


def owner_of(p: Placement) -> str:
    """namespace/name of the profile whose release ``p`` belongs to ("" for none, itself for an owner)."""
    r = p.workload.release
    if r is None:
        return ""
    return f"{p.workload.namespace}/{r.part_of}" if r.part_of else p.workload.key


def check(placements: list[Placement]) -> list[Problem]:
    """Each ``partOf`` names a profile in the same namespace that is not itself a member."""
    by_key = {p.workload.key: p for p in placements}
    problems = []
    for p in placements:
        r = p.workload.release
        if r is None or not r.part_of:
            continue
        owner = by_key.get(f"{p.workload.namespace}/{r.part_of}")
        why = (
            f"no profile {p.workload.namespace}/{r.part_of} in this estate"
            if owner is None
            else f"{owner.workload.key} is itself part of another release"
            if owner.workload.release is not None and owner.workload.release.part_of
            else ""
        )
        if why:
            problems.append(
                problem_at(
                    p.workload,
                    "release.partOf",
                    f"release.partOf: {why}",
                    "name the metadata.name of the profile with the release's chart, in the same namespace",
                    "release",
                )
            )
    return problems


def settle(placements: list[Placement], routing_label: tuple[str, str] = DEFAULT_ROUTING_LABEL) -> list[Placement]:
    """Members that cannot be routed to Fargate (see the module doc) placed on the general node group, until
    no more move (a move can make a namespace mixed)."""
    if not any(p.workload.release and p.workload.release.part_of for p in placements):
        return placements
    key, value = routing_label
    while True:
        by_namespace: dict[str, list[Placement]] = defaultdict(list)
        for p in placements:
            by_namespace[p.workload.namespace].append(p)
        stranded = {
            p.workload.key
            for namespace, found in by_namespace.items()
            if namespace == "kube-system" or any(q.target == "nodegroup" for q in found)
            for p in found
            if p.target == "fargate"
            and p.workload.release is not None
            and p.workload.release.part_of
            and not labellable(p, key, value)
        }
        if not stranded:
            return placements
        placements = [_on_nodes(p) if p.workload.key in stranded else p for p in placements]


def _on_nodes(p: Placement) -> Placement:
    line, col = position(p.workload.source, "release")
    reason = dataclasses.replace(UNLABELLED, line=line, col=col)
    from composer.place.classify import node_class

    # (advice about Fargate is noise for a workload that will not run there)
    return dataclasses.replace(p, target="nodegroup", reasons=(reason,), node_class=node_class(p.workload))
