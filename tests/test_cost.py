"""Cost: worked examples from the documented price tables, break-even, node-group bills, cost advice."""

from __future__ import annotations

import json

import pytest

from composer.cli.main import main
from composer.place.classify import classify_all
from composer.place.cost import costs, fargate_hourly, node_share_hourly, subnet_ips
from composer.place.nodegroups import plan_node_groups
from composer.place.prices import price_table
from tests.conftest import profile_doc, settings, workload, write_estate

TOKYO = {
    "apiVersion": "composer/v1alpha1",
    "kind": "ClusterSettings",
    "metadata": {"name": "batch", "region": "ap-northeast-1"},
}


def job(cpu: str, memory: str, **extra):
    return workload(
        "report",
        "batch",
        kind="CronJob",
        ttlSecondsAfterFinished=60,
        replicas=1,
        containers=[{"name": "r", "resources": {"requests": {"cpu": cpu, "memory": memory}}}],
        **extra,
    )


def report_for(workloads, **overrides):
    s = settings(**overrides)
    placements, _ = classify_all(workloads)
    groups, problems = plan_node_groups(placements, s, need_general=True)
    assert not problems
    return costs(placements, groups, s), placements


# The Tokyo team's table (field notes): 1 vCPU/2 GB is $0.06162 on Fargate vs t2.small $0.0304;
# 2 vCPU/4 GB is $0.12324 vs t4g.medium $0.0432; "Fargate wins under roughly 8–12 hours a day".
# Fargate adds 256 MB to the pod, so pods requesting 1.75 GiB / 3.75 GiB are billed as 2 GB / 4 GB.
@pytest.mark.parametrize(
    "cpu,memory,instance,fargate,node,break_even",
    [
        ("1", "1792Mi", "t2.small", 0.06162, 0.0304, 11.84),
        ("2", "3840Mi", "t4g.medium", 0.12324, 0.0432, 8.41),
    ],
)
def test_the_seed_cost_table_and_its_break_even(cpu, memory, instance, fargate, node, break_even):
    prices = price_table("ap-northeast-1")
    (placement,), _ = classify_all([job(cpu, memory)])
    assert placement.fargate_size.label() == f"{cpu} vCPU / {2 if cpu == '1' else 4} GB"
    assert fargate_hourly(placement, prices) == pytest.approx(fargate, abs=1e-6)
    assert node_share_hourly(placement, instance, prices) == pytest.approx(node, abs=1e-6)
    report, _ = report_for(
        [job(cpu, memory, runsPerDay=4, runMinutes=60)],
        metadata=TOKYO["metadata"],
        nodeGroups={"general": {"instanceType": instance}},
    )
    (cost,) = report.workloads
    assert cost.placement == "fargate" and cost.hours_per_day == 4
    assert cost.break_even_hours == pytest.approx(break_even, abs=0.01)
    assert cost.monthly == pytest.approx(fargate * 4 * 730 / 24, rel=1e-9)  # 4 hours a day
    assert cost.other_monthly == pytest.approx(node * 730, rel=1e-9)  # capacity kept all month


def test_us_east_1_smallest_size_and_billed_ephemeral_storage():
    prices = price_table("us-east-1")
    (small,), _ = classify_all([workload("tiny", containers=[{"name": "a"}])])
    assert fargate_hourly(small, prices) == pytest.approx(0.25 * 0.04048 + 0.5 * 0.004445)
    (big_disk,), _ = classify_all(
        [
            workload(
                "scratch",
                containers=[
                    {
                        "name": "a",
                        "resources": {"requests": {"cpu": "1", "memory": "2Gi", "ephemeral-storage": "100Gi"}},
                    }
                ],
            )
        ]
    )
    # 100 GiB requested → 115 GiB provisioned (+10% + 5 GiB); 95 GiB above the included 20 are billed
    assert float(big_disk.fargate_size.ephemeral_gib) == 115
    assert fargate_hourly(big_disk, prices) == pytest.approx(1 * 0.04048 + 3 * 0.004445 + 95 * 0.000111)


def test_node_group_bill_totals_and_blocked_alternatives():
    report, placements = report_for(
        [
            workload("api", "web", replicas=2),
            workload(
                "db",
                "data",
                kind="StatefulSet",
                volumes=[{"name": "d", "type": "persistentVolumeClaim", "storageClass": "gp3"}],
            ),
        ]
    )
    db = next(c for c in report.workloads if c.key == "data/db")
    assert db.placement == "nodegroup" and db.other is None and db.other_monthly is None  # EBS: Fargate not allowed
    (group,) = report.groups
    assert group.monthly == pytest.approx(group.desired * 0.192 * 730)  # m6i.xlarge in us-east-1
    assert report.total_monthly == pytest.approx(report.fargate_monthly + report.nodegroups_monthly)
    api = next(c for c in report.workloads if c.key == "web/api")
    assert api.placement == "fargate" and api.other == "nodegroup" and api.monthly > 0


def test_prices_can_be_overridden_and_missing_ones_are_named():
    prices = {"fargate": {"vcpuHour": 0.1, "gbHour": 0.01}, "ec2": {"m6i.xlarge": 1.0}}
    report, _ = report_for([workload("api", "web", placement="nodegroup")], prices=prices)
    (cost,) = report.workloads
    assert cost.other_monthly == pytest.approx((0.5 * 0.1 + 2 * 0.01) * 2 * 730)  # 0.5 vCPU / 1 GiB → 0.5/2 GB size
    assert "overridden" in report.prices.source
    frankfurt = dict(TOKYO["metadata"], region="eu-central-1")
    report, _ = report_for([workload("api", "web"), workload("worker", "web")], metadata=frankfurt)
    assert any("Fargate prices for eu-central-1" in m for m in report.missing)
    assert [m for m in report.missing if "EC2 m6i.xlarge in eu-central-1" in m] != []
    assert len(report.missing) == len(set(report.missing))  # each missing price named once


def test_fa201_always_on_workloads_clearly_cheaper_on_nodes():
    # 4.1 vCPU rounds up to 8 vCPU on Fargate: the rounding alone doubles the bill
    heavy = workload(
        "indexer", "search", containers=[{"name": "i", "resources": {"requests": {"cpu": "4100m", "memory": "8Gi"}}}]
    )
    light = workload("api", "web")
    report, _ = report_for([heavy, light])
    assert [a.key for a in report.advice if a.rule == "FA201"] == ["search/indexer"]
    forced = workload(
        "indexer",
        "search",
        placement="fargate",
        containers=[{"name": "i", "resources": {"requests": {"cpu": "4100m", "memory": "8Gi"}}}],
    )
    nightly = job("4100m", "8Gi", runsPerDay=1, runMinutes=30)
    report, _ = report_for([forced, nightly])
    assert not [a for a in report.advice if a.rule == "FA201"]  # asked for Fargate; jobs are not always on


def test_fa202_counts_the_private_subnets_the_cluster_config_makes_or_names():
    assert subnet_ips(("10.0.0.0/24", "10.0.1.0/24")) == 2 * 251
    many = [workload(f"w{i}", "web", replicas=50) for i in range(5)]  # 250 pods, 313 with the rollout surge
    # eksctl cuts a /24 for two zones into /27s: two private subnets of 27 usable IPs
    report, _ = report_for(many, vpc={"cidr": "10.0.0.0/24"})
    assert report.advice[-1].rule == "FA202" and "313 Fargate pods" in report.advice[-1].message
    assert report.advice[-1].key == "vpc.cidr" and "54 usable IPs" in report.advice[-1].message
    brought = {
        "id": "vpc-0abc",
        "subnets": {
            "private": {
                "us-east-1a": {"id": "subnet-0a", "cidr": "10.0.0.0/24"},
                "us-east-1b": {"id": "subnet-0b", "cidr": "10.0.1.0/25"},
            }
        },
    }
    report, _ = report_for(many, vpc=brought)  # 251 + 123 IPs
    assert "% of the private subnets" in report.advice[-1].message  # fits, but above 80%
    # Fargate on one of them only: 251 IPs, too few
    report, _ = report_for(many, vpc=brought, fargate={"subnets": ["subnet-0a"]})
    assert "251 usable IPs" in report.advice[-1].message
    # eksctl's default VPC (192.168.0.0/16: /19 subnets) has room; a brought subnet without its cidr cannot be counted
    for network in (
        {},
        {
            "vpc": {
                "id": "vpc-0abc",
                "subnets": {"private": {"us-east-1a": {"id": "subnet-0a"}, "us-east-1b": {"id": "subnet-0b"}}},
            }
        },
    ):
        report, _ = report_for(many, **network)
        assert not [a for a in report.advice if a.rule == "FA202"]


def test_the_subnets_are_split_as_eksctl_splits_them():
    """pkg/vpc SetSubnets: up to 4 zones → 8 parts (prefix + 3), publics first, then privates; 5–8 → 16 parts."""
    from composer.place.vpc import eksctl_split

    public, private = eksctl_split("10.20.0.0/16", 3)
    assert public == ["10.20.0.0/19", "10.20.32.0/19", "10.20.64.0/19"]
    assert private == ["10.20.96.0/19", "10.20.128.0/19", "10.20.160.0/19"]
    public, private = eksctl_split("192.168.0.0/16", 5)
    assert public[0] == "192.168.0.0/20" and private == [f"192.168.{16 * i}.0/20" for i in range(5, 10)]
    assert eksctl_split("10.0.0.0/24", 1) == (["10.0.0.0/27"], ["10.0.0.32/27"])


def test_plan_shows_the_cost_section_and_json_carries_it(tmp_path, capsys, monkeypatch):
    root = write_estate(
        tmp_path,
        [
            profile_doc("api", "web", release={"chart": "acme/api", "repository": "https://c.example"}),
            profile_doc("report", "batch", kind="CronJob", ttlSecondsAfterFinished=60, runsPerDay=2, runMinutes=15),
        ],
    )
    monkeypatch.chdir(root)
    monkeypatch.setenv("COLUMNS", "160")
    assert main(["plan", "--no-diff"]) == 0
    out = capsys.readouterr().out
    assert "Cost, USD/month on demand" in out and "a month" in out and "batch/report" in out
    assert main(["plan", "-o", "json"]) == 0
    cost = json.loads(capsys.readouterr().out)["cost"]
    report = next(w for w in cost["workloads"] if w["workload"] == "batch/report")
    assert report["hours_per_day"] == 0.5 and report["break_even_hours_per_day"] > 0.5
    assert cost["total_monthly"] == pytest.approx(cost["fargate_monthly"] + cost["node_groups_monthly"], abs=0.02)


# ---------------------------------------------------------------- Fargate's log router


def test_logging_generates_the_aws_observability_chart_and_release(tmp_path):
    from composer.emit import log_router
    from composer.emit.plan import build_plan
    from composer.files import yamlio

    composer = {
        "apiVersion": "composer/v1alpha1",
        "kind": "ClusterSettings",
        "metadata": {"name": "shop", "region": "eu-west-1"},
        "logging": {"fargate": {"cloudwatch": {"logGroup": "/eks/shop/fargate"}}},
    }
    root = write_estate(
        tmp_path,
        [
            profile_doc("api", "web", release={"chart": "acme/api", "repository": "https://c.example"}),
            profile_doc("agent", "logs", kind="DaemonSet"),
        ],
        composer,
    )
    plan = build_plan(root / "composer.yaml", [root / "profiles"])
    files = {name: yamlio.load(text, name) for name, text in plan.files.items() if name.startswith("charts/")}
    namespace = files["charts/aws-observability/templates/namespace.yaml"]
    assert namespace["metadata"] == {
        "name": "aws-observability",
        "labels": {"aws-observability": "enabled"},
        "annotations": {"helm.sh/resource-policy": "keep"},  # uninstalling the release leaves the namespace
    }
    configmap = files["charts/aws-observability/templates/aws-logging.yaml"]
    assert (configmap["metadata"]["name"], configmap["metadata"]["namespace"]) == ("aws-logging", "aws-observability")
    output = configmap["data"]["output.conf"]
    assert (
        "Name cloudwatch_logs" in output
        and "region eu-west-1" in output
        and "log_group_name /eks/shop/fargate" in output
    )
    assert sum(len(k) + len(v) for k, v in configmap["data"].items()) < log_router.MAX_CONFIGMAP_CHARS
    router = plan.helmfile["releases"][0]
    assert router["chart"] == "./charts/aws-observability" and router["namespace"] == "kube-system"
    logging = [a for a in plan.advice if a.rule not in ("FA208", "FA209")]  # (eksctl's network defaults)
    assert [a.rule for a in logging] == ["FA203"] and "CloudWatch Logs permissions" in logging[0].message


def test_fa203_daemonset_agents_do_not_see_fargate_pods():
    from composer.emit import log_router

    s = settings()
    placements, _ = classify_all([workload("api", "web"), workload("agent", "logs", kind="DaemonSet")])
    (advice,) = log_router.advice(placements, s)
    assert "1 DaemonSet(s) run on nodes only" in advice.message and "1 Fargate workload(s)" in advice.message
    placements, _ = classify_all([workload("api", "web")])
    assert log_router.advice(placements, s) == []  # no node agents to miss anything
    placements, _ = classify_all([workload("agent", "logs", kind="DaemonSet"), workload("db", "d", hostNetwork=True)])
    assert log_router.advice(placements, s) == []  # nothing on Fargate


def test_cost_command_prints_the_cost_table_only(tmp_path, capsys, monkeypatch):
    root = write_estate(tmp_path, [profile_doc("api", "web")])
    monkeypatch.chdir(root)
    monkeypatch.setenv("COLUMNS", "160")
    assert main(["cost"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Cost, USD/month on demand") and "Files" not in out and "web/api" in out
    assert main(["cost", "-o", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["currency"] == "USD" and data["workloads"][0]["workload"] == "web/api"


def test_the_cost_table_stays_readable_on_an_80_column_terminal(monkeypatch, capsys):
    from composer.cli.main import main
    from tests.conftest import ROOT

    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["cost"]) == 0
    out = capsys.readouterr().out
    assert "…" not in out and "┃" not in out
    assert (
        "  analytics/spark-aggregate-32g: Fargate $355.57, on nodes $280.32, 24.0* h/day, break-even 18.9 h/day" in out
    )
    assert "  data/postgres: nodes $70.08, no other placement allowed, 24.0 h/day" in out


def test_windows_nodes_are_priced_at_the_windows_rate_or_named_unpriced():
    """The bundled table has Linux rates: a Windows group is priced from prices.windows only, never at the
    Linux rate (which would understate its bill by the license)."""
    iis = workload("iis", "web", nodeSelector={"kubernetes.io/os": "windows"})
    report, _ = report_for([iis])
    (group,) = [g for g in report.groups if "windows" in g.name]
    assert group.monthly is None and any("with Windows in us-east-1" in m for m in report.missing)
    report, _ = report_for([iis], prices={"windows": {"m6i.xlarge": 0.376}})
    (group,) = [g for g in report.groups if "windows" in g.name]
    assert group.monthly == pytest.approx(0.376 * group.desired * 730)
    assert not [m for m in report.missing if "Windows" in m]
