"""Every rule, positive and negative, on realistic workloads."""

from __future__ import annotations

import pytest

from composer import rules
from composer.place.classify import classify
from tests.conftest import workload

GPU = {"name": "vllm", "resources": {"requests": {"cpu": "4", "memory": "16Gi"}, "limits": {"nvidia.com/gpu": 1}}}
NEURON = {"name": "infer", "resources": {"limits": {"aws.amazon.com/neuron": 1}}}
ARM_AFFINITY = {
    "nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [
                {"matchExpressions": [{"key": "kubernetes.io/arch", "operator": "In", "values": ["arm64"]}]}
            ]
        }
    }
}
MULTI_ARCH_AFFINITY = {
    "nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [
                {"matchExpressions": [{"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64", "arm64"]}]}
            ]
        }
    }
}

# rule id → (workloads that must trigger it, similar workloads that must not)
CASES = {
    "FG001": ([dict(name="fluent-bit", kind="DaemonSet")], [dict(name="fluent-bit-aggregator", kind="Deployment")]),
    "FG002": ([dict(name="dind", privileged=True)], [dict(name="kaniko", privileged=False)]),
    "FG003": (
        [
            dict(name="istio-init", capabilities=["NET_ADMIN", "NET_RAW"]),
            dict(name="app", capabilities=["CHOWN"]),
            dict(name="mixed", capabilities=["NET_BIND_SERVICE", "SYS_ADMIN"]),
        ],
        [
            dict(name="app", capabilities=[]),
            # EKS's CoreDNS (which AWS runs on Fargate) and ingress-nginx's controller add only this one
            dict(name="coredns", capabilities=["NET_BIND_SERVICE"]),
            dict(name="prefixed", capabilities=["CAP_NET_BIND_SERVICE"]),
        ],
    ),
    "FG004": ([dict(name="node-local-dns", hostNetwork=True)], [dict(name="coredns", hostNetwork=False)]),
    "FG005": ([dict(name="exporter", hostPorts=[9100])], [dict(name="exporter")]),
    "FG006": ([dict(name="profiler", hostPID=True), dict(name="shm", hostIPC=True)], [dict(name="web")]),
    "FG007": (
        [
            dict(name="vllm", containers=[GPU]),
            dict(name="neuron", containers=[NEURON]),
            dict(name="dpdk", containers=[{"name": "a", "resources": {"limits": {"hugepages-2Mi": "512Mi"}}}]),
            dict(name="mig", containers=[{"name": "a", "resources": {"limits": {"nvidia.com/mig-1g.12gb": 1}}}]),
        ],
        [dict(name="cpu-infer")],
    ),
    "FG008": (
        [
            dict(name="graviton", nodeSelector={"kubernetes.io/arch": "arm64"}),
            dict(name="graviton2", affinity=ARM_AFFINITY),
        ],
        [
            dict(name="x86", nodeSelector={"kubernetes.io/arch": "amd64"}),
            dict(name="multi", affinity=MULTI_ARCH_AFFINITY),
        ],
    ),
    "FG009": (
        [
            dict(name="iis", nodeSelector={"kubernetes.io/os": "windows"}),
            dict(name="old-iis", nodeSelector={"beta.kubernetes.io/os": "windows"}),
            dict(name="ltsc", nodeSelector={"node.kubernetes.io/windows-build": "10.0.20348"}),
        ],
        [dict(name="nginx", nodeSelector={"kubernetes.io/os": "linux"})],
    ),
    "FG010": (
        [dict(name="pinned", nodeSelector={"eks.amazonaws.com/compute-type": "ec2"})],
        [dict(name="on-fargate", nodeSelector={"eks.amazonaws.com/compute-type": "fargate"})],
    ),
    "FG011": (
        [
            dict(name="legacy", services=[{"type": "NodePort"}]),
            dict(
                name="alb-instance",
                services=[{"type": "NodePort"}],
                ingresses=[{"className": "alb", "targetType": "instance"}],
            ),
            dict(name="nginx-ingress", services=[{"type": "NodePort"}], ingresses=[{"className": "nginx"}]),
        ],
        [
            dict(name="api", services=[{"type": "ClusterIP"}]),
            # AWS's Fargate 2048 example: NodePort Service behind an ALB Ingress in IP mode
            dict(
                name="game-2048", services=[{"type": "NodePort"}], ingresses=[{"className": "alb", "targetType": "ip"}]
            ),
        ],
    ),
    "FG012": (
        [
            dict(name="in-tree-lb", services=[{"type": "LoadBalancer"}]),
            dict(name="clb", services=[{"type": "LoadBalancer", "loadBalancer": "clb"}]),
            dict(
                name="nlb-instance",
                services=[{"type": "LoadBalancer", "loadBalancer": "nlb", "targetType": "instance"}],
            ),
            dict(name="nlb-default", services=[{"type": "LoadBalancer", "loadBalancer": "nlb"}]),
        ],
        [dict(name="nlb-ip", services=[{"type": "LoadBalancer", "loadBalancer": "nlb", "targetType": "ip"}])],
    ),
    "FG013": (
        [
            dict(name="alb-default", ingresses=[{"className": "alb"}]),
            dict(name="alb-instance", ingresses=[{"className": "alb", "targetType": "instance"}]),
        ],
        [
            dict(name="alb-ip", ingresses=[{"className": "alb", "targetType": "ip"}]),
            dict(name="nginx-ingress", ingresses=[{"className": "nginx"}]),
        ],
    ),
    "FG014": (
        [
            dict(
                name="pg",
                kind="StatefulSet",
                volumes=[{"name": "data", "type": "persistentVolumeClaim", "storageClass": "gp3"}],
            ),
            dict(name="legacy", volumes=[{"name": "data", "type": "awsElasticBlockStore"}]),
            dict(
                name="custom",
                volumes=[
                    {
                        "name": "data",
                        "type": "persistentVolumeClaim",
                        "storageClass": "fast",
                        "provisioner": "ebs.csi.aws.com",
                    }
                ],
            ),
        ],
        [dict(name="cache", volumes=[{"name": "tmp", "type": "emptyDir"}])],
    ),
    "FG015": (
        [dict(name="log-reader", volumes=[{"name": "varlog", "type": "hostPath", "path": "/var/log"}])],
        [dict(name="cfg", volumes=[{"name": "cfg", "type": "configMap"}, {"name": "tok", "type": "projected"}])],
    ),
    "FG016": (
        [dict(name="uploads", volumes=[{"name": "up", "type": "persistentVolumeClaim", "storageClass": "efs-sc"}])],
        [
            dict(
                name="uploads",
                volumes=[
                    {"name": "up", "type": "persistentVolumeClaim", "storageClass": "efs-sc", "provisioning": "static"}
                ],
            ),
            dict(name="shared", volumes=[{"name": "up", "type": "efs"}]),
        ],
    ),
    "FG017": (
        [
            dict(name="train", volumes=[{"name": "ds", "type": "fsxLustre"}]),
            dict(
                name="ceph", volumes=[{"name": "d", "type": "persistentVolumeClaim", "storageClass": "rook-ceph-block"}]
            ),
        ],
        [dict(name="web", volumes=[{"name": "s", "type": "secret"}, {"name": "d", "type": "downwardAPI"}])],
    ),
    "FG018": (
        [dict(name="lbc", usesInstanceMetadata=True), dict(name="legacy-sdk", awsCredentials="nodeRole")],
        [dict(name="lbc", usesInstanceMetadata=False, awsCredentials="irsa")],
    ),
    "FG019": ([dict(name="exporter", awsCredentials="podIdentity")], [dict(name="exporter", awsCredentials="irsa")]),
    "FG020": (
        [
            dict(
                name="big", containers=[{"name": "spark", "resources": {"requests": {"cpu": "16", "memory": "200Gi"}}}]
            ),
            dict(
                name="cpu-heavy", containers=[{"name": "a", "resources": {"requests": {"cpu": "17", "memory": "8Gi"}}}]
            ),
        ],
        [
            dict(
                name="fits", containers=[{"name": "spark", "resources": {"requests": {"cpu": "4", "memory": "32Gi"}}}]
            ),
            dict(name="edge", containers=[{"name": "a", "resources": {"requests": {"cpu": "16", "memory": "119Gi"}}}]),
        ],
    ),
    "FG021": (
        [
            dict(name="render", containers=[{"name": "r", "resources": {"requests": {"ephemeral-storage": "200Gi"}}}]),
            dict(name="scratch", volumes=[{"name": "s", "type": "emptyDir", "sizeLimit": "180Gi"}]),
        ],
        [dict(name="render", containers=[{"name": "r", "resources": {"requests": {"ephemeral-storage": "175Gi"}}}])],
    ),
    # metrics-server's upstream manifest (--secure-port=10250 with containerPort 10250) and a webhook on it
    "FG022": (
        [
            dict(name="metrics-server", containers=[{"name": "metrics-server", "ports": [10250]}]),
            dict(
                name="webhook", initContainers=[{"name": "certs"}], containers=[{"name": "a", "ports": [8080, 10250]}]
            ),
        ],
        [dict(name="metrics-server", containers=[{"name": "metrics-server", "ports": [10251]}])],
    ),
    "FG023": (
        [
            dict(name="batch", nodeSelector={"karpenter.sh/capacity-type": "spot"}),
            dict(name="mng-spot", nodeSelector={"eks.amazonaws.com/capacityType": "SPOT"}),
            dict(
                name="affine",
                affinity={
                    "nodeAffinity": {
                        "requiredDuringSchedulingIgnoredDuringExecution": {
                            "nodeSelectorTerms": [
                                {
                                    "matchExpressions": [
                                        {"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["spot"]}
                                    ]
                                }
                            ]
                        }
                    }
                },
            ),
        ],
        [
            dict(
                name="either",
                affinity={
                    "nodeAffinity": {
                        "requiredDuringSchedulingIgnoredDuringExecution": {
                            "nodeSelectorTerms": [
                                {
                                    "matchExpressions": [
                                        {
                                            "key": "karpenter.sh/capacity-type",
                                            "operator": "In",
                                            "values": ["spot", "on-demand"],
                                        }
                                    ]
                                }
                            ]
                        }
                    }
                },
            ),
            dict(name="on-demand", nodeSelector={"eks.amazonaws.com/capacityType": "ON_DEMAND"}),
        ],
    ),
    "FG024": (
        [dict(name="sandboxed", runtimeClassName="gvisor"), dict(name="kata", runtimeClassName="kata-qemu")],
        [dict(name="plain")],
    ),
    "FG025": (
        [
            dict(name="coredns", podAnnotations={"eks.amazonaws.com/compute-type": "ec2"}),
            dict(name="both", podAnnotations={"eks.amazonaws.com/compute-type": "ec2"}, hostNetwork=True),
        ],
        [
            dict(name="moved", podAnnotations={"eks.amazonaws.com/compute-type": "fargate"}),
            dict(name="other", podAnnotations={"prometheus.io/scrape": "true"}),
        ],
    ),
    # the init containers istio's and linkerd's injectors add in CNI mode, and istio's status annotation
    "FG026": (
        [
            dict(name="reviews", initContainers=[{"name": "istio-validation"}]),
            dict(name="emoji", initContainers=[{"name": "linkerd-network-validator"}]),
            dict(
                name="ratings",
                podAnnotations={
                    "sidecar.istio.io/status": '{"initContainers":["istio-validation"],'
                    '"containers":["istio-proxy"],"volumes":["istio-envoy"]}'
                },
            ),
            dict(name="multus", podAnnotations={"k8s.v1.cni.cncf.io/networks": "istio-cni"}),
        ],
        [
            dict(name="sidecar-mode", podAnnotations={"sidecar.istio.io/status": '{"initContainers":["istio-init"]}'}),
            dict(name="plain", initContainers=[{"name": "migrate"}]),
        ],
    ),
    "FA101": (
        [
            dict(name="cleanup", kind="CronJob", schedule="0 * * * *"),
            dict(name="once", kind="Job"),
            # (a hook Job Helm deletes only before the next one: its finished pod stays until then)
            dict(name="migrate", kind="Job", hookDeletePolicy=["before-hook-creation"]),
        ],
        [
            dict(name="cleanup", kind="CronJob", ttlSecondsAfterFinished=60),
            dict(name="no-history", kind="CronJob", successfulJobsHistoryLimit=0, failedJobsHistoryLimit=0),
            dict(name="admission-patch", kind="Job", hookDeletePolicy=["before-hook-creation", "hook-succeeded"]),
        ],
    ),
    "FG027": (
        [dict(name="secrets", volumes=[{"name": "s", "type": "csi", "driver": "secrets-store.csi.k8s.io"}])],
        [dict(name="efs-inline", volumes=[{"name": "s", "type": "efs", "provisioning": "static"}])],
    ),
    "FG028": (
        [dict(name="nfs-share", volumes=[{"name": "share", "type": "other", "source": "nfs"}])],
        [dict(name="scratch", volumes=[{"name": "tmp", "type": "emptyDir"}])],
    ),
    "FG029": (
        [dict(name="kube2iam", podAnnotations={"iam.amazonaws.com/role": "reports"})],
        [dict(name="irsa", podAnnotations={"prometheus.io/scrape": "true"})],
    ),
    "FG030": (
        [dict(name="inference", resourceClaims=["gpu"])],
        [dict(name="web")],
    ),
    "FA106": ([dict(name="pinned-node", nodeName="ip-10-0-1-7.ec2.internal")], [dict(name="scheduled")]),
    "FA107": (
        [dict(name="gang", schedulerName="volcano")],
        [dict(name="plain"), dict(name="explicit", schedulerName="default-scheduler")],
    ),
    "FA108": (
        [dict(name="audited", localhostProfiles=["seccomp:profiles/audit.json"])],
        [dict(name="default-seccomp")],
    ),
    "FA102": ([dict(name="pci", networkPolicy=True)], [dict(name="pci")]),
    "FA103": (
        [dict(name="spread", affinity={"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{}]}})],
        [dict(name="spread")],
    ),
    "FA104": ([dict(name="tiny", containers=[{"name": "a"}])], [dict(name="sized")]),
    "FA105": (
        [dict(name="autoscaled-api", startupSeconds=20), dict(name="dev-shell", rolloutsPerDay=40)],
        [dict(name="patient-worker", startupSeconds=300, rolloutsPerDay=3), dict(name="plain")],
    ),
}


def test_every_rule_has_cases():
    assert set(CASES) == {r.id for r in rules.RULES}


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_rule_triggers(rule_id):
    for spec in CASES[rule_id][0]:
        found = [r.rule for r in rules.evaluate(workload(**spec))]
        assert rule_id in found, (spec, found)


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_rule_stays_quiet(rule_id):
    for spec in CASES[rule_id][1]:
        found = [r.rule for r in rules.evaluate(workload(**spec))]
        assert rule_id not in found, (spec, found)


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_blocking_rules_move_to_node_group(rule_id):
    placement, problems = classify(workload(**CASES[rule_id][0][0]))
    expected = "nodegroup" if rules.BY_ID[rule_id].severity == "block" else "fargate"
    assert placement.target == expected
    assert not problems


def test_metadata_is_complete():
    ids = [r.id for r in rules.RULES]
    names = [r.name for r in rules.RULES]
    assert len(set(ids)) == len(ids) and len(set(names)) == len(names)
    for r in rules.RULES:
        assert r.url.startswith("https://docs.aws.amazon.com/eks/"), r.id
        assert r.title and r.doc and r.severity in ("block", "advice")


def test_reason_names_field_and_source():
    reason = next(r for r in rules.evaluate(workload(name="x", hostPorts=[9100])) if r.rule == "FG005")
    assert reason.field == "workload.hostPorts" and "9100" in reason.message


def test_forced_fargate_blocked_is_an_error():
    placement, problems = classify(workload(name="ds", kind="DaemonSet", placement="fargate"))
    assert placement.target == "nodegroup"
    assert len(problems) == 1 and "FG001" in problems[0].message and problems[0].check == "forced-placement"


def test_forced_nodegroup_keeps_a_fargate_capable_workload_off_fargate():
    placement, problems = classify(workload(name="runner", placement="nodegroup"))
    assert placement.target == "nodegroup" and placement.forced and not problems
    assert [r.rule for r in placement.reasons] == ["PL001"]


def test_advice_does_not_move_a_workload():
    placement, _ = classify(workload(name="job", kind="Job"))
    assert placement.target == "fargate" and [r.rule for r in placement.reasons] == ["FA101"]


def test_node_classes():
    from composer.place.classify import node_class

    assert node_class(workload(containers=[GPU])) == "gpu"
    assert node_class(workload(containers=[NEURON])) == "neuron"
    assert node_class(workload(nodeSelector={"kubernetes.io/arch": "arm64"})) == "arm64"
    assert node_class(workload(nodeSelector={"kubernetes.io/os": "windows"})) == "windows"
    assert node_class(workload(nodeSelector={"node.kubernetes.io/windows-build": "10.0.17763"})) == "windows"
    assert node_class(workload(nodeSelector={"beta.kubernetes.io/arch": "arm64"})) == "arm64"
    assert node_class(workload(kind="DaemonSet")) == "general"


def test_every_rule_states_its_evidence_and_every_reason_carries_it():
    assert {r.evidence for r in rules.RULES} <= {"documented", "observed", "inferred"}
    assert {r.evidence for r in rules.RULES} == {"documented", "observed", "inferred"}  # all three occur
    placement, _ = classify(workload(volumes=[{"name": "logs", "type": "hostPath"}]))
    (reason,) = [r for r in placement.reasons if r.rule == "FG015"]
    assert reason.evidence == "inferred" and rules.BY_ID["FG015"].evidence == "inferred"
    placement, _ = classify(workload(kind="DaemonSet"))
    assert {r.evidence for r in placement.reasons if r.rule == "FG001"} == {"documented"}


def test_plan_marks_inferred_reasons_and_json_carries_the_evidence(tmp_path, capsys, monkeypatch):
    import json

    from tests.conftest import REPO, profile_doc, run_cli, write_estate

    estate = write_estate(
        tmp_path,
        [
            profile_doc(
                "agent",
                "logs",
                release={"chart": "acme/a", "repository": REPO},
                volumes=[{"name": "logs", "type": "hostPath"}],
            )
        ],
    )
    code, out, _ = run_cli(["plan", "--no-diff"], estate, capsys, monkeypatch)
    assert code == 0 and "FG015 block  (inferred) " in out and "(inferred): follows from what AWS documents" in out
    code, out, _ = run_cli(["plan", "--no-diff", "-o", "json"], estate, capsys, monkeypatch)
    (w,) = json.loads(out)["workloads"]
    assert {r["rule"]: r["evidence"] for r in w["reasons"]}["FG015"] == "inferred"


def test_the_compute_type_annotation_is_reported_even_when_other_rules_block():
    placement, _ = classify(
        workload(
            name="both", podAnnotations={"eks.amazonaws.com/compute-type": "ec2"}, hostNetwork=True, kind="DaemonSet"
        )
    )
    assert {"FG001", "FG004", "FG025"} <= {r.rule for r in placement.reasons}


def test_added_capabilities_say_which_refusals_are_inferred():
    (reason,) = [
        r
        for r in rules.evaluate(workload(capabilities=["NET_BIND_SERVICE", "SYS_TIME", "NET_ADMIN"]))
        if r.rule == "FG003"
    ]
    assert "(SYS_TIME, NET_ADMIN)" in reason.message and "refusal of SYS_TIME is inferred" in reason.message
