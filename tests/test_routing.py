"""Routing namespaces/labels to Fargate profile selectors, within the AWS limits."""

from __future__ import annotations

import re

import pytest

from composer.place.classify import classify_all
from composer.place.routing import COREDNS_LABEL, Selector, route
from tests.conftest import settings, workload

LABEL = ("composer.io/compute", "fargate")
CHART = {"chart": "acme/app", "repository": "https://charts.acme.example"}


def routed(workloads, **overrides):
    placements, problems = classify_all(workloads)
    assert not problems
    return route(placements, settings(**overrides))


def selectors(routing):
    return [s for p in routing.profiles for s in p.selectors]


def test_fargate_only_namespace_gets_namespace_selector():
    routing, problems = routed([workload("api", "shop"), workload("web", "shop")])
    assert not problems
    assert Selector("shop") in selectors(routing) and not routing.labelled


def test_node_group_only_namespace_gets_no_selector():
    routing, _ = routed([workload("fluent-bit", "logging", kind="DaemonSet"), workload("api", "shop")])
    assert all(s.namespace != "logging" for s in selectors(routing))


def test_mixed_namespace_gets_label_selector_and_labels_the_fargate_release():
    jobs = workload("build-jobs", "ci", release={**CHART, "podLabelsValue": "podLabels"})
    runner = workload("runner", "ci", placement="nodegroup", release=CHART)
    routing, problems = routed([jobs, runner])
    assert not problems
    assert Selector("ci", (LABEL,)) in selectors(routing)
    assert Selector("ci") not in selectors(routing)
    assert routing.labelled == {"ci/build-jobs"}


def test_mixed_namespace_without_pod_labels_value_is_an_error_suggesting_a_split():
    routing, problems = routed([workload("jobs", "ci", release=CHART), workload("runner", "ci", placement="nodegroup")])
    assert len(problems) == 1
    assert "runner" in problems[0].message and "namespace of its own" in problems[0].hint


def test_pods_that_already_carry_the_label_need_no_injection():
    jobs = workload("jobs", "ci", podLabels={"composer.io/compute": "fargate"})
    routing, problems = routed([jobs, workload("runner", "ci", placement="nodegroup")])
    assert not problems and not routing.labelled


def test_node_group_pods_carrying_the_label_are_an_error():
    jobs = workload("jobs", "ci", podLabels={"composer.io/compute": "fargate"})
    runner = workload("runner", "ci", placement="nodegroup", podLabels={"composer.io/compute": "fargate"})
    _, problems = routed([jobs, runner])
    assert len(problems) == 1 and "would take them" in problems[0].message


def test_kube_system_is_never_selected_by_namespace_alone():
    routing, problems = routed(
        [workload("metrics-server", "kube-system", release={**CHART, "podLabelsValue": "podLabels"})]
    )
    assert not problems
    assert Selector("kube-system") not in selectors(routing)
    assert Selector("kube-system", (LABEL,)) in selectors(routing)


def test_coredns_on_fargate_only_without_general_node_group():
    fargate_only, _ = routed([workload("api", "shop")])
    assert fargate_only.coredns_on_fargate
    assert Selector("kube-system", (COREDNS_LABEL,)) in selectors(fargate_only)
    mixed, _ = routed(
        [workload("api", "shop"), workload("pg", "data", volumes=[{"name": "d", "type": "awsElasticBlockStore"}])]
    )
    assert not mixed.coredns_on_fargate
    assert all(s.namespace != "kube-system" for s in selectors(mixed))
    forced, _ = routed(
        [workload("api", "shop"), workload("pg", "data", hostNetwork=True)], fargate={"coreDNS": "fargate"}
    )
    assert forced.coredns_on_fargate


def test_selectors_packed_five_per_profile_named_by_content_and_independent_of_order():
    ws = [workload("app", f"team-{i:02d}") for i in range(12)]
    routing, problems = routed(ws)
    assert not problems
    assert sum(len(p.selectors) for p in routing.profiles) == 13  # 12 namespaces + CoreDNS selector
    assert all(1 <= len(p.selectors) <= 5 for p in routing.profiles) and len(routing.profiles) <= 4
    assert all(re.fullmatch(r"fp-[0-9a-f]{8}", p.name) for p in routing.profiles)
    assert all(list(p.selectors) == sorted(p.selectors) for p in routing.profiles)
    again, _ = routed(list(reversed(ws)))
    assert again.profiles == routing.profiles


def test_any_change_eks_cannot_apply_in_place_gives_a_new_name():
    base, _ = routed([workload("app", "shop")])
    role, _ = routed([workload("app", "shop")], fargate={"podExecutionRoleARN": "arn:aws:iam::123456789012:role/x"})
    vpc = {
        "id": "vpc-0abc",
        "subnets": {"private": {"us-east-1a": {"id": "subnet-0abc"}, "us-east-1b": {"id": "subnet-0def"}}},
    }
    subnets, _ = routed([workload("app", "shop")], fargate={"subnets": ["subnet-0abc", "subnet-0def"]}, vpc=vpc)
    more, _ = routed([workload("app", "shop"), workload("app", "shop2")])
    names = [{p.name for p in r.profiles} for r in (base, role, subnets)]
    assert names[0].isdisjoint(names[1]) and names[0].isdisjoint(names[2]) and names[1].isdisjoint(names[2])
    assert len({p.name for p in base.profiles} - {p.name for p in more.profiles}) <= 1


@pytest.mark.parametrize("count", range(1, 19))
def test_adding_one_namespace_changes_one_profile_unless_a_full_one_spills(count):
    before, _ = routed(
        [workload("app", f"ns-{i:02d}") for i in range(count)] + [workload("db", "nodes", hostNetwork=True)]
    )
    after, _ = routed(
        [workload("app", f"ns-{i:02d}") for i in range(count)]
        + [workload("db", "nodes", hostNetwork=True), workload("app", "added")]
    )
    old, new = {p.name for p in before.profiles}, {p.name for p in after.profiles}
    full = any(len(p.selectors) == 5 for p in before.profiles)
    assert len(old - new) <= (2 if full else 1) and len(new - old) <= (2 if full else 1)


def test_configurable_selector_limit_and_prefix():
    routing, _ = routed(
        [workload("app", f"ns-{i}") for i in range(4)], fargate={"selectorsPerProfile": 2, "profileNamePrefix": "apps"}
    )
    assert all(p.name.startswith("apps-") and len(p.selectors) <= 2 for p in routing.profiles)
    assert sum(len(p.selectors) for p in routing.profiles) == 5


def test_too_many_profiles_is_an_error():
    _, problems = routed([workload("app", f"ns-{i:02d}") for i in range(51)])
    assert len(problems) == 1 and "11 profiles" in problems[0].message and "10 allowed" in problems[0].message


def _ns(*names):
    return [Selector(n) for n in names]


def test_packing_onto_the_prior_layout_keeps_every_profile_whose_selectors_still_hold():
    from composer.place.routing import pack_onto

    prior = (tuple(_ns("a", "b")), tuple(_ns("c")), tuple(_ns("d", "e", "f")))
    # one namespace more: a new group, nothing else touched
    chunks, repacked = pack_onto(prior, sorted(_ns("a", "b", "c", "d", "e", "f", "g")), 5, 10)
    assert chunks == [tuple(_ns("a", "b")), tuple(_ns("c")), tuple(_ns("d", "e", "f")), tuple(_ns("g"))]
    assert not repacked
    # one namespace less: only its group is rebuilt, and a new one joins that replacement
    chunks, _ = pack_onto(prior, sorted(_ns("a", "b", "c", "d", "f", "h")), 5, 10)
    assert chunks == [tuple(_ns("a", "b")), tuple(_ns("c")), tuple(_ns("d", "f", "h"))]
    # a group that lost everything is gone
    chunks, _ = pack_onto(prior, sorted(_ns("a", "b", "d", "e", "f")), 5, 10)
    assert chunks == [tuple(_ns("a", "b")), tuple(_ns("d", "e", "f"))]


def test_packing_onto_the_prior_layout_repacks_only_when_the_limit_forces_it():
    from composer.place.routing import pack, pack_onto

    prior = tuple((s,) for s in _ns("a", "b", "c"))
    chunks, repacked = pack_onto(prior, sorted(_ns("a", "b", "c", "d")), 5, 3)
    assert repacked and chunks == pack(sorted(_ns("a", "b", "c", "d")), 5)
    assert pack_onto((), sorted(_ns("a", "b")), 5, 10) == (pack(sorted(_ns("a", "b")), 5), False)


def test_routing_keeps_the_prior_layout_and_names():
    first, _ = routed([workload("api", "shop"), workload("job", "batch")])
    prior = tuple(p.selectors for p in first.profiles)
    again, _ = route(
        classify_all([workload("api", "shop"), workload("job", "batch"), workload("x", "new")])[0], settings(), prior
    )
    assert {p.name for p in first.profiles} < {p.name for p in again.profiles}
    assert len(again.profiles) == len(first.profiles) + 1


def test_a_labelled_namespace_stays_labelled_when_its_last_node_workload_leaves():
    """Moving the node-group workload of a mixed namespace to Fargate keeps the label selector (the workload
    gains the label, a rolling update) instead of a namespace-only selector, which would replace the profile
    and delete every pod it placed; without a way to label a Fargate workload it falls back to the namespace."""
    jobs = workload("build-jobs", "ci", release={**CHART, "podLabelsValue": "podLabels"})
    runner = workload("runner", "ci", placement="nodegroup", release={**CHART, "podLabelsValue": "podLabels"})
    first, _ = routed([jobs, runner])
    prior = tuple(p.selectors for p in first.profiles)
    moved = workload("runner", "ci", release={**CHART, "podLabelsValue": "podLabels"})
    again, problems = route(classify_all([jobs, moved])[0], settings(), prior)
    assert not problems and {p.name for p in first.profiles} <= {p.name for p in again.profiles}  # (+ CoreDNS's)
    assert again.labelled == {"ci/build-jobs", "ci/runner"}
    fresh, _ = route(classify_all([jobs, moved])[0], settings())  # (a first plan: the namespace alone)
    assert Selector("ci") in selectors(fresh)
    unlabelled = workload("runner", "ci", release=CHART)
    fallback, problems = route(classify_all([jobs, unlabelled])[0], settings(), prior)
    assert not problems and Selector("ci") in selectors(fallback)
