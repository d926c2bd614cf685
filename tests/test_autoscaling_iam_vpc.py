"""The generators of issue 13: IRSA service accounts, the VPC section, Cluster Autoscaler, log-router ordering."""

from __future__ import annotations

from pathlib import Path

import pytest

from composer.core.errors import ComposerError
from composer.emit.plan import compose
from composer.place import autoscaler, vpc
from composer.place.checks import check_workloads
from composer.place.classify import classify, classify_all
from tests.conftest import REPO, settings, workload

RELEASE = {"chart": "acme/api", "repository": REPO, "podLabelsValue": "podLabels"}
POLICY = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"


def composed(workloads, **overrides):
    cluster = settings(**overrides)
    placements, problems = classify_all(workloads)
    assert not problems
    if autoscaler.wanted(cluster, placements):
        placements.append(classify(autoscaler.workload(cluster))[0])
    routing, groups, config, releases, problems = compose(cluster, placements, Path("."))
    return config, {f"{r['namespace']}/{r['name']}": r for r in releases["releases"]}, problems


def irsa(name="api", namespace="shop", **account):
    return workload(
        name,
        namespace,
        release=RELEASE,
        awsCredentials="irsa",
        serviceAccount={"name": name, **(account or {"attachPolicyARNs": [POLICY]})},
    )


def test_irsa_workloads_get_service_accounts_and_their_releases_use_them():
    config, releases, problems = composed(
        [
            irsa(),
            irsa("worker", "jobs", wellKnownPolicies={"autoScaler": True}),
            irsa("legacy", "shop", attachRoleARN="arn:aws:iam::123456789012:role/legacy"),
        ]
    )
    assert not problems
    assert config["iam"] == {
        "withOIDC": True,
        "serviceAccounts": [
            {"metadata": {"name": "worker", "namespace": "jobs"}, "wellKnownPolicies": {"autoScaler": True}},
            {"metadata": {"name": "api", "namespace": "shop"}, "attachPolicyARNs": [POLICY]},
            {
                "metadata": {"name": "legacy", "namespace": "shop"},
                "attachRoleARN": "arn:aws:iam::123456789012:role/legacy",
            },
        ],
    }
    assert {"serviceAccount": {"create": False, "name": "api"}} in releases["shop/api"]["values"]
    # a chart that keeps its account under another key
    config, releases, _ = composed(
        [
            workload(
                "api",
                "shop",
                release={**RELEASE, "serviceAccountValue": "rbac.serviceAccount"},
                awsCredentials="irsa",
                serviceAccount={"name": "api", "attachPolicyARNs": [POLICY]},
            )
        ]
    )
    assert {"rbac": {"serviceAccount": {"create": False, "name": "api"}}} in releases["shop/api"]["values"]


def test_a_chart_without_a_service_account_value_is_an_error_with_the_fix():
    w = workload(
        "api",
        "shop",
        release={**RELEASE, "serviceAccountValue": False},
        awsCredentials="irsa",
        serviceAccount={"name": "api", "attachPolicyARNs": [POLICY]},
    )
    _, _, problems = composed([w])
    assert [p.check for p in problems] == ["iam"] and "serviceAccountValue is false" in problems[0].message


@pytest.mark.parametrize(
    "fields,message",
    [
        ({"awsCredentials": "irsa"}, "no workload.serviceAccount says which role"),
        (
            {"awsCredentials": "none", "serviceAccount": {"name": "a", "attachPolicyARNs": [POLICY]}},
            "needs awsCredentials: irsa",
        ),
        ({"awsCredentials": "irsa", "serviceAccount": {"name": "a"}}, "has no permissions"),
        # every well-known policy false grants nothing: eksctl's loader refuses the account (found by the fuzz
        # run's end-of-session eksctl check)
        (
            {"awsCredentials": "irsa", "serviceAccount": {"name": "a", "wellKnownPolicies": {"autoScaler": False}}},
            "has no permissions",
        ),
        (
            {
                "awsCredentials": "irsa",
                "serviceAccount": {
                    "name": "a",
                    "attachPolicyARNs": [POLICY],
                    "attachRoleARN": "arn:aws:iam::123456789012:role/r",
                },
            },
            "attachRoleARN uses an existing role",
        ),
    ],
)
def test_iam_mistakes_are_caught(fields, message):
    problems = check_workloads([workload("api", "shop", **fields)])
    assert [p.check for p in problems] == ["iam"] and message in problems[0].message


def test_one_account_two_roles_is_refused():
    a = irsa("api", "shop")
    b = workload(
        "web", "shop", awsCredentials="irsa", serviceAccount={"name": "api", "wellKnownPolicies": {"externalDNS": True}}
    )
    problems = check_workloads([a, b])
    assert any("also defined, differently" in p.message for p in problems)
    assert not check_workloads(
        [
            a,
            workload(
                "web", "shop", awsCredentials="irsa", serviceAccount={"name": "api", "attachPolicyARNs": [POLICY]}
            ),
        ]
    )


def test_vpc_eksctl_creates_or_the_users():
    config, _, _ = composed([irsa()], vpc={"cidr": "10.20.0.0/16"})
    assert config["vpc"] == {"cidr": "10.20.0.0/16"} and config["availabilityZones"] == ["us-east-1a", "us-east-1b"]
    config, _, _ = composed([irsa()])
    assert config["vpc"] == {"cidr": vpc.EKSCTL_DEFAULT_CIDR}
    brought = {
        "id": "vpc-0abc",
        "subnets": {
            "private": {
                "us-east-1b": {"id": "subnet-0b", "cidr": "10.1.32.0/19"},
                "us-east-1a": {"id": "subnet-0a", "cidr": "10.1.0.0/19"},
            },
            "public": {"us-east-1a": {"id": "subnet-1a"}},
        },
    }
    config, _, _ = composed([irsa()], vpc=brought, fargate={"subnets": ["subnet-0b"]})
    assert "availabilityZones" not in config  # eksctl refuses both
    assert config["vpc"] == {
        "id": "vpc-0abc",
        "subnets": {
            "private": {"us-east-1a": {"id": "subnet-0a"}, "us-east-1b": {"id": "subnet-0b"}},
            "public": {"us-east-1a": {"id": "subnet-1a"}},
        },
    }
    assert all(p["subnets"] == ["subnet-0b"] for p in config["fargateProfiles"])
    subnets, note = vpc.private_subnets(settings(vpc=brought, fargate={"subnets": ["subnet-0b"]}))
    assert [s.cidr for s in subnets] == ["10.1.32.0/19"] and not note
    from dataclasses import replace

    subnets, note = vpc.private_subnets(replace(settings(), availability_zones=()))
    assert len(subnets) == 3 and "eksctl picks 3 zones" in note


NODE_GROUP_ONLY = workload(
    "pg",
    "data",
    release={"chart": "acme/pg", "repository": REPO},
    kind="StatefulSet",
    volumes=[{"name": "d", "type": "persistentVolumeClaim", "storageClass": "gp3"}],
)


def test_cluster_autoscaler_when_there_are_node_groups():
    config, releases, problems = composed(
        [irsa(), NODE_GROUP_ONLY],
        autoscaling={"autoscaler": "cluster-autoscaler"},
        metadata={"name": "shop", "region": "eu-west-1", "version": "1.32"},
    )
    assert not problems
    ca = releases["kube-system/cluster-autoscaler"]
    assert ca["chart"] == "autoscaler/cluster-autoscaler" and ca["version"] == "9.46.6"  # its last chart for 1.32
    assert {
        "autoDiscovery": {"clusterName": "shop"},
        "awsRegion": "eu-west-1",
        "image": {"tag": "v1.32.0"},
        # the requests the plan sizes it by (0.25 vCPU / 1 GB on Fargate), set through the chart
        "resources": {"requests": {"cpu": "100m", "memory": "600Mi"}},
    } in ca["values"]
    from composer.place.autoscaler import workload as autoscaler_workload

    size = autoscaler_workload(settings(metadata={"name": "shop", "region": "eu-west-1"})).fargate_size
    assert (size.vcpu, size.memory_gib, size.defaulted) == (0.25, 1, False)
    assert {"rbac": {"serviceAccount": {"create": False, "name": "cluster-autoscaler"}}} in ca["values"]
    assert ca["labels"]["placement"] == "fargate"  # region given, IRSA: nothing keeps it off Fargate
    assert {
        "metadata": {"name": "cluster-autoscaler", "namespace": "kube-system"},
        "wellKnownPolicies": {"autoScaler": True},
    } in config["iam"]["serviceAccounts"]
    assert all(g["propagateASGTags"] for g in config["managedNodeGroups"])  # scale-up from zero needs the tags
    assert any(s["namespace"] == "kube-system" for p in config["fargateProfiles"] for s in p["selectors"])
    # routed and pinned through additionalLabels, which the chart keeps out of its (immutable) selector
    [labels] = [v["additionalLabels"] for v in ca["values"] if "additionalLabels" in v]
    home = next(
        p["name"] for p in config["fargateProfiles"] if any(s["namespace"] == "kube-system" for s in p["selectors"])
    )
    assert labels == {"composer.io/compute": "fargate", "eks.amazonaws.com/fargate-profile": home}
    assert not any("podLabels" in v for v in ca["values"])


def test_the_autoscaler_chart_and_image_follow_the_kubernetes_minor():
    assert autoscaler.chart_and_image("1.33") == ("9.51.0", "v1.33.0")
    assert autoscaler.chart_and_image("1.34") == ("9.53.0", "v1.34.2")  # the patch release that chart ships
    assert autoscaler.chart_and_image("1.37") == ("9.59.0", "v1.37.0")  # newer than the table: its own minor
    assert autoscaler.chart_and_image("1.28") == ("9.36.0", "v1.28.0")
    versions = [
        tuple(map(int, chart.split(".")))
        for chart, _ in (autoscaler.CHARTS[minor] for minor in sorted(autoscaler.CHARTS))
    ]
    assert versions == sorted(versions)  # newer minors never get an older chart


def test_no_autoscaler_without_node_groups_or_when_turned_off():
    _, releases, _ = composed([irsa()], autoscaling={"autoscaler": "cluster-autoscaler"})
    assert "kube-system/cluster-autoscaler" not in releases
    config, releases, _ = composed([irsa(), NODE_GROUP_ONLY], autoscaling={"autoscaler": "none"})
    assert "kube-system/cluster-autoscaler" not in releases
    assert not any("propagateASGTags" in g for g in config["managedNodeGroups"])


def test_autoscaled_cost_frees_job_only_groups_between_runs():
    from composer.place.cost import costs

    render = workload(
        "render",
        "media",
        kind="Job",
        runsPerDay=4,
        runMinutes=45,
        containers=[{"name": "r", "resources": {"requests": {"cpu": "16", "memory": "200Gi"}}}],
    )
    api = workload("api", "shop", services=[{"type": "NodePort"}])
    for autoscaling, scaled in (("cluster-autoscaler", True), ("none", False)):
        cluster = settings(autoscaling={"autoscaler": autoscaling}, nodeGroups={"general": {"minSize": 0}})
        placements, _ = classify_all([render, api])
        _, groups, _, _, _ = compose(cluster, placements, Path("."))
        report = costs(placements, groups, cluster)
        large = next(g for g in report.groups if "large" in g.name)
        general = next(g for g in report.groups if "large" not in g.name)
        assert general.autoscaled == general.monthly  # an always-on workload keeps its nodes
        if scaled:
            assert large.busy_hours == 3.0 and large.autoscaled == pytest.approx(large.monthly * 3 / 24)
        else:
            assert large.autoscaled == large.monthly


def test_fargate_releases_wait_for_the_log_router():
    _, releases, _ = composed(
        [irsa(), NODE_GROUP_ONLY],
        logging={"fargate": {"cloudwatch": {"logGroup": "/eks/x"}}},
        autoscaling={"autoscaler": "none"},
    )
    assert releases["shop/api"]["needs"] == ["kube-system/aws-observability"]
    assert "needs" not in releases["data/pg"]  # nodes' logs do not go through the Fargate router
    _, releases, _ = composed([irsa()])
    assert "needs" not in releases["shop/api"]


def test_access_entries_by_default_and_the_aws_auth_trap_explained_otherwise():
    from composer.emit import access

    config, _, _ = composed([irsa()], access={"authenticationMode": "API"})
    assert config["accessConfig"] == {"authenticationMode": "API"}
    placements, _ = classify_all([irsa()])
    assert access.advice(placements, settings(access={"authenticationMode": "API"})) == []
    [advice] = access.advice(placements, settings(access={"authenticationMode": "CONFIG_MAP"}))
    assert advice.rule == "FA204" and "aws-auth" in advice.message and "mapRoles" in advice.message
    # the check apply runs after creating a Fargate profile
    role = "arn:aws:iam::123456789012:role/fargate-pods"
    entries = '[{"principalARN": "%s"}, {"principalARN": "arn:aws:iam::123456789012:role/nodes"}]'
    assert access.missing_entry(entries % role, role, "c", "us-east-1") is None
    assert "no access entry grants " + role in access.missing_entry(entries % "x", role, "c", "us-east-1")
    eksctl_role = "arn:aws:iam::123456789012:role/eksctl-c-cluster-FargatePodExecutionRole-ABC"
    assert access.missing_entry(entries % eksctl_role, "", "c", "us-east-1") is None
    assert "printed no JSON" in access.missing_entry("Error: nope", role, "c", "us-east-1")


def test_fargate_workloads_that_need_node_workloads_get_the_security_group_advice():
    from composer.place.vpc import security_group_advice

    api = workload("api", "shop", release={**RELEASE, "needs": ["data/pg"]})
    placements, _ = classify_all([api, NODE_GROUP_ONLY])
    [advice] = security_group_advice(placements)
    assert advice.rule == "FA205" and advice.key == "shop/api" and "cluster security group" in advice.message
    alone, _ = classify_all([workload("api", "shop", release=RELEASE), NODE_GROUP_ONLY])
    assert security_group_advice(alone) == []


def test_nat_gateways_and_api_endpoints_are_settings_with_advice_on_the_defaults():
    """eksctl's defaults, one NAT gateway and a public-only API endpoint, get advice (FA208, FA209); the
    settings reach the ClusterConfig (which eksctl's loader checks at the end of the session); a brought VPC
    takes no NAT setting."""
    from composer.place.vpc import network_advice, section

    defaults = settings()
    assert [a.rule for a in network_advice(defaults, 3)] == ["FA208", "FA209"]
    assert [a.rule for a in network_advice(defaults, 1)] == ["FA209"]  # (one zone: nothing to fail over to)
    good = settings(
        vpc={"cidr": "10.20.0.0/16", "nat": {"gateway": "HighlyAvailable"}, "clusterEndpoints": {"privateAccess": True}}
    )
    assert network_advice(good, 3) == []
    assert section(good) == {
        "cidr": "10.20.0.0/16",
        "nat": {"gateway": "HighlyAvailable"},
        "clusterEndpoints": {"privateAccess": True},
    }
    config, _, problems = composed([irsa()], vpc={"cidr": "10.20.0.0/16", "nat": {"gateway": "Single"}})
    assert not problems and config["vpc"]["nat"] == {"gateway": "Single"}
    with pytest.raises(ComposerError, match="vpc.nat is for the VPC eksctl creates"):
        settings(
            vpc={
                "id": "vpc-0abc",
                "subnets": {"private": {"us-east-1a": {"id": "subnet-1"}, "us-east-1b": {"id": "subnet-2"}}},
                "nat": {"gateway": "HighlyAvailable"},
            }
        )


def test_pod_identity_needs_its_account_and_node_workloads_on_irsa_are_offered_it(tmp_path):
    """awsCredentials: podIdentity without a serviceAccount is an error; with one, the ClusterConfig gets
    the association and the agent add-on, the chart makes the account; FA210 names a node-group workload
    still on IRSA, never a Fargate one."""
    import pytest

    from composer.core.errors import ComposerError
    from composer.emit.plan import build_plan
    from tests.conftest import profile_doc, write_estate

    release = {"chart": "acme/web", "repository": "https://charts.acme.example"}
    account = {"name": "web", "attachPolicyARNs": ["arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"]}
    bare = profile_doc("web", "shop", release=release, awsCredentials="podIdentity")
    root = write_estate(tmp_path / "bare", [bare])
    with pytest.raises(ComposerError) as caught:
        build_plan(root / "composer.yaml", [root / "profiles"])
    assert "awsCredentials: podIdentity, but no workload.serviceAccount" in str(caught.value)
    web = profile_doc("web", "shop", release=release, awsCredentials="podIdentity", serviceAccount=account)
    old = profile_doc(
        "legacy",
        "shop",
        release=release,
        awsCredentials="irsa",
        serviceAccount={**account, "name": "legacy"},
        placement="nodegroup",
    )
    lambda_like = profile_doc(
        "fn", "fn", release=release, awsCredentials="irsa", serviceAccount={**account, "name": "fn"}
    )
    root = write_estate(tmp_path / "ok", [web, old, lambda_like])
    plan = build_plan(root / "composer.yaml", [root / "profiles"])
    assert plan.cluster["iam"]["podIdentityAssociations"] == [
        {"namespace": "shop", "serviceAccountName": "web", "permissionPolicyARNs": account["attachPolicyARNs"]}
    ]
    assert {"name": "eks-pod-identity-agent"} in plan.cluster["addons"]
    values = next(r for r in plan.helmfile["releases"] if r["name"] == "web")["values"]
    assert {"serviceAccount": {"create": True, "name": "web"}} in values
    advice = [a for a in plan.advice if a.rule == "FA210"]
    assert len(advice) == 1 and "shop/legacy" in advice[0].message and "fn/fn" not in advice[0].message
