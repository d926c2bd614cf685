"""ClusterConfig, helmfile.yaml, node groups and cross-profile checks."""

from __future__ import annotations

import json
from pathlib import Path

from composer.emit.plan import compose
from composer.place.checks import check_workloads
from composer.place.classify import classify_all
from composer.place.nodegroups import plan_node_groups, slot
from composer.place.routing import Selector, profile_name
from tests.conftest import REFERENCE, REPO, needs_reference, profile_doc, settings, workload, write_estate


def composed(workloads, out=Path("."), **overrides):
    placements, problems = classify_all(workloads)
    assert not problems
    return compose(settings(**overrides), placements, out)


def upstream_errors(doc: dict, schema_file: str) -> list[str]:
    from jsonschema import Draft7Validator

    schema = json.loads((REFERENCE / schema_file).read_text())
    return [e.message for e in Draft7Validator(schema).iter_errors(doc)]


MIXED = [
    workload(
        "checkout",
        "shop",
        release={"chart": "acme/api", "repository": REPO, "podLabelsValue": "podLabels", "needs": ["data/postgres"]},
    ),
    workload(
        "postgres",
        "data",
        kind="StatefulSet",
        release={
            "chart": "bitnami/postgresql",
            "version": "16.2.1",
            "repository": "https://charts.bitnami.com/bitnami",
        },
        volumes=[{"name": "d", "type": "persistentVolumeClaim", "storageClass": "gp3"}],
    ),
    workload("admin", "shop", release={"chart": "acme/api", "repository": REPO}, services=[{"type": "NodePort"}]),
    workload(
        "vllm",
        "ml",
        containers=[
            {"name": "v", "resources": {"requests": {"cpu": "3", "memory": "12Gi"}, "limits": {"nvidia.com/gpu": 1}}}
        ],
        replicas=3,
    ),
]


def test_cluster_config_shape():
    routing, groups, config, _, problems = composed(MIXED)
    assert not problems
    from composer.files import schema

    assert schema.validate("clusterconfig", config, "cluster.yaml") == []
    broken = {**config, "managedNodeGroups": [{**config["managedNodeGroups"][0], "privateNetworking": False}]}
    assert schema.validate("clusterconfig", broken, "cluster.yaml")
    assert config["apiVersion"] == "eksctl.io/v1alpha5" and config["kind"] == "ClusterConfig"
    assert config["iam"] == {"withOIDC": True}
    assert config["fargateProfiles"] == [
        {
            "name": profile_name(settings(), (Selector("shop", (("composer.io/compute", "fargate"),)),)),
            "selectors": [{"namespace": "shop", "labels": {"composer.io/compute": "fargate"}}],
            "tags": {"composer.io/managed-by": "fargate-composer", "composer.io/estate": "default"},
        }
    ]
    # eksctl adds the default add-ons a config does not list unless told not to: compose lists its own
    assert config["addonsConfig"] == {"disableDefaultAddons": True}
    assert [a["name"] for a in config["addons"]] == ["vpc-cni", "kube-proxy", "coredns", "metrics-server"]
    names = {slot(g["name"]): g for g in config["managedNodeGroups"]}  # by role; names end in a content hash
    assert set(names) == {"ng-general", "ng-gpu"}
    assert all(g["privateNetworking"] for g in names.values())
    assert names["ng-gpu"]["taints"][0]["key"] == "nvidia.com/gpu"
    assert names["ng-gpu"]["labels"] == {"composer.io/node-class": "gpu", "composer.io/estate": "default"}
    assert names["ng-gpu"]["desiredCapacity"] == 3  # one GPU per g5.xlarge, three replicas


@needs_reference
def test_cluster_config_is_valid_for_eksctl_upstream_schema():
    for workloads in (MIXED, [workload("api", "shop")], [workload("ds", "logging", kind="DaemonSet")]):
        config = composed(workloads)[2]
        assert upstream_errors(config, "eksctl-clusterconfig.schema.json") == []


@needs_reference
def test_helmfile_is_valid_for_upstream_schema():
    assert upstream_errors(composed(MIXED)[3], "helmfile.schema.json") == []


def test_helmfile_releases(tmp_path):
    values = tmp_path / "values" / "checkout.yaml"
    values.parent.mkdir()
    values.write_text("replicaCount: 3\n")
    checkout = workload(
        "checkout",
        "shop",
        release={
            "chart": "acme/api",
            "repository": REPO,
            "values": [str(values)],
            "podLabelsValue": "server.podLabels",
        },
    )
    routing, _, _, doc, _ = composed([checkout, *MIXED[1:]], out=tmp_path / "generated")
    assert doc["repositories"] == [
        {"name": "acme", "url": REPO},
        {"name": "bitnami", "url": "https://charts.bitnami.com/bitnami"},
    ]
    release = next(r for r in doc["releases"] if r["name"] == "checkout")
    (profile,) = [p.name for p in routing.profiles if any(s.namespace == "shop" for s in p.selectors)]
    assert release["values"] == [
        "../values/checkout.yaml",
        # the routing label, and the profile that routes it (pinned, so a replace rolls it over)
        {"server": {"podLabels": {"composer.io/compute": "fargate", "eks.amazonaws.com/fargate-profile": profile}}},
    ]
    ours = {"composer.io/managed-by": "fargate-composer"}  # stored with the release by helm (syncReleaseLabels)
    assert (
        release["labels"] == {"placement": "fargate", **ours} and release["wait"] is True and release["timeout"] == 600
    )
    assert doc["helmDefaults"] == {"syncReleaseLabels": True}
    pg = next(r for r in doc["releases"] if r["name"] == "postgres")
    assert pg["labels"] == {"placement": "nodegroup", "node-class": "general", **ours} and pg["wait"] is True
    assert pg["timeout"] == 600  # (helm.nodeTimeout's default: apply removes old groups only after this wait)
    assert pg["values"] == [{"nodeSelector": {"composer.io/node-class": "general"}}]  # general: no taint to tolerate
    assert all(r["name"] != "vllm" for r in doc["releases"])  # no release section → not in helmfile


def test_node_group_releases_are_held_to_their_node_class():
    arm = workload(
        "embed",
        "ml",
        release={
            "chart": "acme/embed",
            "repository": REPO,
            "nodeSelectorValue": "worker.nodeSelector",
            "tolerationsValue": "worker.tolerations",
        },
        nodeSelector={"kubernetes.io/arch": "arm64"},
    )
    agent = workload(
        "agent",
        "logging",
        kind="DaemonSet",
        release={"chart": "acme/agent", "repository": REPO},
        volumes=[{"name": "logs", "type": "hostPath"}],
    )
    win = workload(
        "report",
        "legacy",
        release={"chart": "acme/report", "repository": REPO},
        nodeSelector={"kubernetes.io/os": "windows"},
    )
    _, groups, config, doc, problems = composed([arm, agent, win, *MIXED[1:3]])
    assert not problems
    releases = {r["name"]: r for r in doc["releases"]}
    assert releases["embed"]["values"] == [
        {"worker": {"nodeSelector": {"composer.io/node-class": "arm64"}}},
        {
            "worker": {
                "tolerations": [
                    {"key": "kubernetes.io/arch", "operator": "Equal", "value": "arm64", "effect": "NoSchedule"}
                ]
            }
        },
    ]
    assert releases["report"]["values"][1]["tolerations"][0]["key"] == "os"  # AWS's Windows taint
    # a general DaemonSet (a log collector) runs on every Linux node class, GPU, Neuron and Spot ones too
    assert releases["agent"]["values"] == [
        {"nodeSelector": {"kubernetes.io/os": "linux"}},
        {
            "tolerations": [
                {"key": "kubernetes.io/arch", "operator": "Equal", "value": "arm64", "effect": "NoSchedule"},
                {"key": "nvidia.com/gpu", "operator": "Equal", "value": "true", "effect": "NoSchedule"},
                {"key": "aws.amazon.com/neuron", "operator": "Equal", "value": "true", "effect": "NoSchedule"},
                {"key": "composer.io/capacity-type", "operator": "Equal", "value": "spot", "effect": "NoSchedule"},
            ]
        },
    ]
    taints = {slot(g["name"]): g.get("taints") for g in config["managedNodeGroups"]}
    assert taints["ng-general"] is None and taints["ng-arm64"] and taints["ng-windows"]


def test_a_release_that_cannot_take_its_node_class_is_an_error():
    arm = workload(
        "embed",
        "ml",
        release={"chart": "acme/embed", "repository": REPO, "tolerationsValue": False},
        nodeSelector={"kubernetes.io/arch": "arm64"},
    )
    placements, _ = classify_all([arm, *MIXED[1:3]])
    problems = compose(settings(), placements, Path("."))[4]
    assert len(problems) == 1 and "needs 'arm64' nodes, but release.tolerationsValue is false" in problems[0].message


def test_conflicting_and_missing_repositories():
    a = workload("a", "x", release={"chart": "acme/api", "repository": REPO})
    b = workload("b", "x", release={"chart": "acme/api", "repository": "https://elsewhere.example"})
    c = workload("c", "x", release={"chart": "nobody/api"})
    problems = composed([a, b, c])[4]
    assert {p.check for p in problems} == {"repository"} and len(problems) == 2


def test_local_and_oci_charts_need_no_repository():
    ws = [
        workload("a", "x", release={"chart": "./charts/api"}),
        workload("b", "x", release={"chart": "oci://registry.example/charts/api"}),
    ]
    _, _, _, doc, problems = composed(ws)
    assert not problems and "repositories" not in doc


def test_checks_duplicates_needs_and_cycles(tmp_path):
    rel = lambda *needs: {"chart": "acme/x", "repository": REPO, "needs": list(needs)}  # noqa: E731
    problems = check_workloads(
        [
            workload("a", "ns", release=rel("b")),
            workload("b", "ns", release=rel("other/c")),
            workload("c", "other", release=rel("ns/a")),  # a → b → c → a
            workload("a", "ns"),  # duplicate
            workload("d", "ns", release=rel("ghost")),
            workload("e", "ns", release={"chart": "acme/x", "values": [str(tmp_path / "missing.yaml")]}),
        ]
    )
    checks = sorted(p.check for p in problems)
    assert checks == ["duplicate-release", "needs", "needs-cycle", "values"]
    cycle = next(p for p in problems if p.check == "needs-cycle")
    assert "ns/a -> ns/b -> other/c -> ns/a" in cycle.message


def test_needs_on_a_profile_without_release():
    problems = check_workloads([workload("a", "ns", release={"chart": "acme/x", "needs": ["b"]}), workload("b", "ns")])
    assert len(problems) == 1 and "no release section" in problems[0].message


def test_node_groups_split_large_pods_and_respect_daemonsets():
    ws = [
        workload("api", "x", hostNetwork=True, replicas=12),
        workload(
            "big",
            "x",
            kind="Job",
            hostNetwork=True,
            containers=[{"name": "b", "resources": {"requests": {"cpu": "16", "memory": "200Gi"}}}],
        ),
        workload(
            "agent",
            "y",
            kind="DaemonSet",
            containers=[{"name": "a", "resources": {"requests": {"cpu": "1", "memory": "1Gi"}}}],
        ),
    ]
    placements, _ = classify_all(ws)
    groups, problems = plan_node_groups(placements, settings(), need_general=True)
    assert not problems
    by_name = {slot(g.name): g for g in groups}
    assert by_name["ng-general-large"].instance_type == "r6i.8xlarge" and by_name["ng-general-large"].min_size == 0
    general = by_name["ng-general"]
    # m6i.xlarge: 3.92 vCPU allocatable, minus the 1 vCPU daemon = 2.92 → 5 pods of 0.5 vCPU per node;
    # 12 pods → 3 nodes, max = ceil(3 × 1.5) = 5 with the default 50% headroom.
    assert (general.min_size, general.desired, general.max_size) == (2, 3, 5)


def test_a_general_daemonset_is_sized_into_the_gpu_nodes_it_runs_on():
    gpu_pod = {"name": "m", "resources": {"requests": {"cpu": "3", "memory": "8Gi"}, "limits": {"nvidia.com/gpu": "1"}}}
    model = workload("model", "ml", containers=[gpu_pod], replicas=2)
    agent = {"name": "a", "resources": {"requests": {"cpu": "1", "memory": "1Gi"}}}
    alone = {slot(g.name): g for g in plan_node_groups(classify_all([model])[0], settings(), True)[0]}
    placements, _ = classify_all([model, workload("agent", "y", kind="DaemonSet", containers=[agent])])
    both = {slot(g.name): g for g in plan_node_groups(placements, settings(), True)[0]}
    # g5.xlarge: 3.92 vCPU allocatable holds one 3-vCPU model pod; with the agent's 1 vCPU on every GPU
    # node only 2.92 remain, so the model pods need g5.2xlarge nodes, and no g5.xlarge idles beside them
    assert (alone["ng-gpu"].instance_type, alone["ng-gpu"].desired, alone["ng-gpu"].workloads) == (
        "g5.xlarge",
        2,
        ("ml/model",),
    )
    assert set(both) == {"ng-general", "ng-gpu-large"}
    assert (both["ng-gpu-large"].instance_type, both["ng-gpu-large"].desired) == ("g5.2xlarge", 2)


def test_unknown_instance_type_without_sizes_is_an_error():
    placements, _ = classify_all([workload("a", "x", hostNetwork=True)])
    _, problems = plan_node_groups(placements, settings(nodeGroups={"general": {"instanceType": "x9z.huge"}}), True)
    assert len(problems) == 1 and "not in the sizing catalogue" in problems[0].message


def test_pod_larger_than_any_instance_is_an_error():
    placements, _ = classify_all(
        [
            workload(
                "a",
                "x",
                hostNetwork=True,
                containers=[{"name": "a", "resources": {"requests": {"cpu": "100", "memory": "1Gi"}}}],
            )
        ]
    )
    _, problems = plan_node_groups(placements, settings(), True)
    assert len(problems) == 1 and "more than any" in problems[0].message


def test_release_members_join_their_owners_release_and_bad_links_are_errors(tmp_path):
    """release.partOf: one helmfile release with each workload's values at its own keys; a member that
    cannot carry the routing label in a mixed namespace goes to the general nodes (PL003); a partOf that
    names nobody, a member with a chart, and two workloads of one release on one value key are errors."""
    import pytest

    from composer.core.errors import ComposerError
    from composer.emit.plan import build_plan

    owner = profile_doc("web", "shop", release={"chart": "acme/web", "repository": REPO, "podLabelsValue": "podLabels"})
    hook = profile_doc("web-migrate", "shop", kind="Job", release={"partOf": "web"})
    worker = profile_doc("web-worker", "shop", release={"partOf": "web", "podLabelsValue": "worker.podLabels"})
    db = profile_doc("db", "shop", placement="nodegroup")
    root = write_estate(tmp_path / "ok", [owner, hook, worker, db])
    plan = build_plan(root / "composer.yaml", [root / "profiles"], root / "generated")
    placed = {p.workload.name: (p.target, [r.rule for r in p.reasons]) for p in plan.placements}
    assert placed["web-migrate"] == ("nodegroup", ["PL003"]) and placed["web-worker"][0] == "fargate"
    web = next(r for r in plan.helmfile["releases"] if r["name"] == "web")
    labels = {"composer.io/compute": "fargate", "eks.amazonaws.com/fargate-profile": plan.routing.profiles[0].name}
    assert {"worker": {"podLabels": labels}} in web["values"] and {"podLabels": labels} in web["values"]
    assert not [r for r in plan.helmfile["releases"] if r["name"].startswith("web-")]  # members: no release
    for docs, wanted in [
        ([owner, profile_doc("x", "shop", release={"partOf": "nobody"})], "release.partOf: no profile shop/nobody"),
        (
            [owner, profile_doc("x", "shop", release={"partOf": "web", "chart": "acme/x"})],
            "release.chart belongs there",
        ),
        (
            [owner, db, profile_doc("x", "shop", release={"partOf": "web", "podLabelsValue": "podLabels"})],
            "release.podLabelsValue 'podLabels' is also shop/web's",
        ),
    ]:
        root = write_estate(tmp_path / str(len(wanted)), docs)
        with pytest.raises(ComposerError) as caught:
            build_plan(root / "composer.yaml", [root / "profiles"], root / "generated")
        assert wanted in str(caught.value), str(caught.value)
