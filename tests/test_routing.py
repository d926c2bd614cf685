"""Routing namespaces/labels to Fargate profile selectors, within the AWS limits."""

from __future__ import annotations

from composer.classify import classify_all
from composer.routing import COREDNS_LABEL, Selector, route
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
    routing, problems = routed([workload("metrics-server", "kube-system", release={**CHART, "podLabelsValue": "podLabels"})])
    assert not problems
    assert Selector("kube-system") not in selectors(routing)
    assert Selector("kube-system", (LABEL,)) in selectors(routing)


def test_coredns_on_fargate_only_without_general_node_group():
    fargate_only, _ = routed([workload("api", "shop")])
    assert fargate_only.coredns_on_fargate
    assert Selector("kube-system", (COREDNS_LABEL,)) in selectors(fargate_only)
    mixed, _ = routed([workload("api", "shop"), workload("pg", "data", volumes=[{"name": "d", "type": "awsElasticBlockStore"}])])
    assert not mixed.coredns_on_fargate
    assert all(s.namespace != "kube-system" for s in selectors(mixed))
    forced, _ = routed([workload("api", "shop"), workload("pg", "data", hostNetwork=True)], fargate={"coreDNS": "fargate"})
    assert forced.coredns_on_fargate


def test_selectors_packed_five_per_profile_in_stable_order():
    ws = [workload("app", f"team-{i:02d}") for i in range(12)]
    routing, problems = routed(ws)
    assert not problems
    assert [len(p.selectors) for p in routing.profiles] == [5, 5, 3]  # 12 namespaces + CoreDNS selector
    assert [p.name for p in routing.profiles] == ["fp-1", "fp-2", "fp-3"]
    flat = selectors(routing)
    assert flat == sorted(flat)
    again, _ = routed(list(reversed(ws)))
    assert again.profiles == routing.profiles


def test_configurable_selector_limit_and_prefix():
    routing, _ = routed([workload("app", f"ns-{i}") for i in range(4)],
                        fargate={"selectorsPerProfile": 2, "profileNamePrefix": "apps"})
    assert [p.name for p in routing.profiles] == ["apps-1", "apps-2", "apps-3"]


def test_too_many_profiles_is_an_error():
    _, problems = routed([workload("app", f"ns-{i:02d}") for i in range(51)])
    assert len(problems) == 1 and "11 profiles" in problems[0].message and "10 allowed" in problems[0].message
