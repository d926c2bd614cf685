"""Spot as a third placement, beside Fargate and on-demand node groups.

EKS has no Fargate Spot, so Spot means managed node groups with ``spot: true``. A common split runs
interruption-tolerant services (stateless, several replicas, replaced anyway) on Spot and periodic
Jobs on Fargate, because a Spot reclaim ends whatever runs on the node and a Job would lose its run.
compose places that way:

* Fargate stays the first choice where the rules allow it;
* a node-group workload whose profile says ``interruptible: true`` (``compose scan`` says so for a
  Deployment with two or more replicas and a PodDisruptionBudget) goes to the Spot group of its node
  class, as does one that requires Spot itself (FG023); everything else to on-demand groups;
* a Job or CronJob goes to Spot only when its profile says ``interruptible: true``, and then with
  advice naming the risk (FA206);
* an always-on service Fargate could run goes to Spot when ``fargate.preferSpotFor`` lists it
  (PL002); the cost section names such services when Spot is clearly cheaper (FA207).

Spot groups draw on several instance types of the same size (``instanceTypes``), carry a taint only
Spot workloads tolerate, and are selected by EKS's ``eks.amazonaws.com/capacityType: SPOT`` label.
https://docs.aws.amazon.com/eks/latest/userguide/managed-node-groups.html#managed-node-group-capacity-types
"""

from __future__ import annotations

import dataclasses

from composer.core.errors import Problem
from composer.core.model import Advice, Placement, Reason
from composer.files.yamlio import position
from composer.place.classify import node_class

URL = "https://docs.aws.amazon.com/eks/latest/userguide/managed-node-groups.html#managed-node-group-capacity-types"
PREFERRED = Reason(
    "PL002",
    "prefer-spot",
    "block",
    "fargate.preferSpotFor lists it: Spot nodes instead of Fargate",
    "metadata.name",
    URL,
    0,
    0,
    "profile",
)
JOBS = ("Job", "CronJob")


def prefer_spot(placements: list[Placement], listed: tuple[str, ...], where) -> tuple[list[Placement], list[Problem]]:
    """Move the Fargate workloads ``fargate.preferSpotFor`` lists to Spot nodes. ``where(index)``: the
    (path, line, col) of the list entry, for problems."""
    by_key = {p.workload.key: i for i, p in enumerate(placements)}
    out, problems = list(placements), []
    for index, key in enumerate(listed):
        i = by_key.get(key)
        if i is None:
            problems.append(
                Problem(
                    f"fargate.preferSpotFor names {key}, which no profile defines",
                    *where(index),
                    hint="write namespace/name of a workload profile",
                    check="spot",
                )
            )
            continue
        p = out[i]
        if p.target != "fargate":
            continue  # on nodes anyway: its own profile decides Spot or on-demand
        if p.workload.kind in JOBS:
            problems.append(
                Problem(
                    f"fargate.preferSpotFor names {key}, a {p.workload.kind}: a Spot reclaim ends a "
                    "running Job, and Fargate never does",
                    *where(index),
                    hint="keep Jobs on Fargate; list always-on services only",
                    check="spot",
                )
            )
            continue
        line, col = position(p.workload.source, "metadata.name")
        reason = dataclasses.replace(PREFERRED, line=line, col=col)
        out[i] = dataclasses.replace(
            p, target="nodegroup", reasons=(reason,), node_class=node_class(p.workload), spot=True
        )
    return out, problems


def advice(placements: list[Placement]) -> list[Advice]:
    """FA206: Jobs on Spot because their profile insists."""
    return [
        Advice(
            "FA206",
            p.workload.key,
            f"a {p.workload.kind} on Spot (interruptible: true): a Spot reclaim gives two minutes' notice and "
            "ends the run; make it restartable, or run it on Fargate or on-demand nodes",
        )
        for p in sorted(placements, key=lambda p: p.workload.key)
        if p.target == "nodegroup" and p.spot and p.workload.kind in JOBS
    ]
