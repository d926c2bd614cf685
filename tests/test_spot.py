"""Spot as a third placement: who goes there, the groups, the pins, the prices (issue 16)."""

from __future__ import annotations

from pathlib import Path

import pytest

from composer.emit.plan import compose
from composer.place import spot
from composer.place.classify import classify_all
from composer.place.cost import costs
from composer.place.nodegroups import SPOT_TAINT, spot_types
from tests.conftest import REPO, settings, workload

RELEASE = {"chart": "acme/api", "repository": REPO}
HUGE = [{"name": "big", "resources": {"requests": {"cpu": "16", "memory": "200Gi"}}}]


def planned(workloads, prefer=(), **overrides):
    cluster = settings(**overrides)
    placements, problems = classify_all(workloads)
    assert not problems
    if prefer:
        placements, problems = spot.prefer_spot(placements, prefer, lambda i: ("composer.yaml", 1, 1))
        assert not problems
    routing, groups, config, releases, problems = compose(cluster, placements, Path("."))
    assert not problems
    return (
        {p.workload.key: p for p in placements},
        {g["name"].rsplit("-", 1)[0]: g for g in config.get("managedNodeGroups", [])},
        {f"{r['namespace']}/{r['name']}": r for r in releases["releases"]},
        groups,
        cluster,
        placements,
    )


def test_an_interruptible_service_on_nodes_goes_to_a_diversified_spot_group_and_is_pinned_there():
    admin = workload("admin", "shop", release=RELEASE, services=[{"type": "NodePort"}], interruptible=True)
    legacy = workload("legacy", "shop", release=RELEASE, services=[{"type": "NodePort"}])
    placements, groups, releases, *_ = planned([admin, legacy])
    assert placements["shop/admin"].spot and not placements["shop/legacy"].spot
    group = groups["ng-general-spot"]
    assert group["spot"] is True and "instanceType" not in group
    assert group["instanceTypes"] == ["m6i.xlarge", "m6a.xlarge", "m5.xlarge", "m5a.xlarge", "m7i.xlarge"]
    assert SPOT_TAINT in group["taints"] and group["minSize"] == 0
    assert "spot" not in groups["ng-general"] and "taints" not in groups["ng-general"]
    values = releases["shop/admin"]["values"]
    assert {"nodeSelector": {"composer.io/node-class": "general", "eks.amazonaws.com/capacityType": "SPOT"}} in values
    assert {
        "tolerations": [
            {"key": "composer.io/capacity-type", "operator": "Equal", "value": "spot", "effect": "NoSchedule"}
        ]
    } in values
    assert releases["shop/admin"]["labels"]["capacity"] == "spot"
    assert {"nodeSelector": {"composer.io/node-class": "general"}} in releases["shop/legacy"]["values"]  # on-demand


def test_jobs_stay_off_spot_unless_the_profile_insists_and_then_get_advice():
    # Fargate first: an interruptible CronJob that Fargate can run stays on Fargate
    cron = workload("report", "batch", kind="CronJob", schedule="0 3 * * *", interruptible=True)
    placements, *_ = planned([cron])
    assert placements["batch/report"].target == "fargate"
    # too big for Fargate: on-demand nodes, unless interruptible: true, then Spot with FA206
    for insist in (False, True):
        job = workload(
            "crunch",
            "batch",
            kind="CronJob",
            schedule="0 3 * * *",
            containers=HUGE,
            **({"interruptible": True} if insist else {}),
        )
        placements, *_ = planned([job])
        assert placements["batch/crunch"].spot is insist
        advice = spot.advice(list(placements.values()))
        assert [a.rule for a in advice] == (["FA206"] if insist else [])
    assert "ends the run" in advice[0].message


def test_a_workload_that_requires_spot_gets_spot_capacity():
    batch = workload("batch", "ml", nodeSelector={"eks.amazonaws.com/capacityType": "SPOT"})
    placements, groups, *_ = planned([batch])
    assert placements["ml/batch"].spot and "ng-general-spot" in groups


def test_prefer_spot_for_moves_an_always_on_fargate_service_and_refuses_jobs_and_unknown_names():
    api = workload("api", "shop", release=RELEASE)
    placements, groups, releases, *_ = planned([api], prefer=("shop/api",))
    p = placements["shop/api"]
    assert (p.target, p.spot, [r.rule for r in p.reasons]) == ("nodegroup", True, ["PL002"])
    assert "ng-general-spot" in groups and releases["shop/api"]["timeout"] == 600  # (the node-group timeout)
    cron = workload("report", "batch", kind="CronJob", schedule="0 3 * * *")
    placed, _ = classify_all([cron])
    _, problems = spot.prefer_spot(placed, ("batch/report", "shop/nope"), lambda i: ("composer.yaml", 9 + i, 3))
    assert [p.line for p in problems] == [9, 10]
    assert "a Spot reclaim ends a running Job" in problems[0].message and "no profile defines" in problems[1].message


def test_daemonsets_tolerate_the_spot_taint_so_node_agents_run_there_too():
    agent = workload("agent", "logging", kind="DaemonSet", release=RELEASE)
    admin = workload("admin", "shop", release=RELEASE, services=[{"type": "NodePort"}], interruptible=True)
    _, _, releases, *_ = planned([agent, admin])
    tolerations = next(v["tolerations"] for v in releases["logging/agent"]["values"] if "tolerations" in v)
    assert {
        "key": "composer.io/capacity-type",
        "operator": "Equal",
        "value": "spot",
        "effect": "NoSchedule",
    } in tolerations


def test_spot_is_priced_side_by_side_with_on_demand_and_the_discount_is_overridable():
    admin = workload("admin", "shop", services=[{"type": "NodePort"}], interruptible=True, replicas=4)
    api = workload(
        "api", "web", replicas=4, containers=[{"name": "a", "resources": {"requests": {"cpu": "2", "memory": "4Gi"}}}]
    )
    for prices, discount in (({}, 0.55), ({"spotDiscount": 0.7}, 0.7), ({"spot": {"m6i.xlarge": 0.05}}, None)):
        placements, _, _, groups, cluster, placed = planned(
            [admin, api], prices=prices, autoscaling={"autoscaler": "none"}
        )
        report = costs(placed, groups, cluster)
        spot_group = next(g for g in report.groups if g.spot)
        on_demand = 0.192 * spot_group.desired * 730
        expected = 0.05 * spot_group.desired * 730 if discount is None else on_demand * (1 - discount)
        assert spot_group.monthly == pytest.approx(expected)
        row = next(c for c in report.workloads if c.key == "shop/admin")
        assert row.placement == "spot" and row.other == "nodegroup" and row.monthly < row.other_monthly
    assert "composer.yaml prices.spot" in report.prices.spot_source
    # FA207: an always-on Fargate service that Spot nodes would run for much less
    assert [a.key for a in report.advice if a.rule == "FA207"] == ["web/api"]
    placements, _, _, groups, cluster, placed = planned([admin, api], prefer=("web/api",))
    assert not [a for a in costs(placed, groups, cluster).advice if a.rule == "FA207"]


def test_spot_types_are_the_same_size():
    from composer.place.nodegroups import CATALOGUE

    assert spot_types("r6i.8xlarge") == ("r6i.8xlarge", "r6a.8xlarge", "r5.8xlarge", "r5a.8xlarge", "r7i.8xlarge")
    assert spot_types("m7g.xlarge") == ("m7g.xlarge", "m6g.xlarge")
    assert spot_types("g5.xlarge") == ("g5.xlarge",)  # another GPU is not the same node
    assert all(spot_types(name)[0] == name for name in CATALOGUE)
