"""`compose scan` on real manifests written by others (../shared/corpus/real, see SOURCES.md there).

Each file is scanned on its own. The expectations state what the manifests contain: a DaemonSet
is a DaemonSet, hostNetwork is set on the line that sets it, and so on. Skipped when the corpus
is absent (a user's clone).
"""

from __future__ import annotations

import json

import pytest

from composer.cli.main import main
from tests.conftest import ROOT

CORPUS = ROOT.parent / "shared" / "corpus" / "real"
needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus/real not present")

# file -> {namespace/name: (placement, sorted distinct rule ids)}
EXPECTED = {
    "aws-ebs-web-pod.yaml": {"default/aws-web": ("nodegroup", ["FG014"])},
    "aws-lbc-v2_2_4-full.yaml": {"kube-system/aws-load-balancer-controller": ("nodegroup", ["FG018"])},
    "aws-vpc-cni.yaml": {"kube-system/aws-node": ("nodegroup", ["FG001", "FG002", "FG003", "FG004", "FG015"])},
    # its claim template names class "fast" by the beta annotation (minikube's hostpath provisioner), not EKS's gp2
    "cassandra-statefulset.yaml": {"default/cassandra": ("nodegroup", ["FG003", "FG017"])},
    "cluster-autoscaler-autodiscover.yaml": {"kube-system/cluster-autoscaler": ("nodegroup", ["FG015", "FG018"])},
    "ebs-csi-controller.yaml": {"default/ebs-csi-controller": ("fargate", ["FA103"])},
    "ebs-csi-node-windows.yaml": {"default/ebs-csi-node-windows": ("nodegroup", ["FG001", "FG009", "FG015"])},
    "ebs-csi-node.yaml": {"default/ebs-csi-node": ("nodegroup", ["FG001", "FG002", "FG015"])},
    "echoserver-deployment.yaml": {"echoserver/echoserver": ("fargate", ["FA104"])},
    "eksctl-nvidia-device-plugin-ds.yaml": {
        "kube-system/nvidia-device-plugin-daemonset": ("nodegroup", ["FG001", "FG015"])
    },
    "eksctl-windows-iis-2022.yaml": {"default/windows-server-iis-ltsc2022": ("nodegroup", ["FG009"])},
    "eksws-catalog-cleanup-cronjob.yaml": {"catalog/catalog-cleanup": ("fargate", ["FA101"])},
    "eksws-catalog-mysql-ebs-sts.yaml": {"catalog/catalog-mysql-ebs": ("nodegroup", ["FG017"])},
    "eksws-data-processing-job.yaml": {"catalog/data-processor": ("fargate", ["FA101"])},
    "eksws-efs-populate-job.yaml": {"ui/populate-manifests": ("nodegroup", ["FG017"])},
    "fluent-bit-ds-elasticsearch.yaml": {"logging/fluent-bit": ("nodegroup", ["FG001", "FG015"])},
    "fluentd-ds-elasticsearch.yaml": {"kube-system/fluentd": ("nodegroup", ["FG001", "FG015"])},
    "game-2048-full.yaml": {"game-2048/deployment-2048": ("fargate", ["FA104"])},
    "guestbook-all-in-one.yaml": {
        "default/redis-master": ("fargate", []),
        "default/redis-replica": ("fargate", []),
        "default/frontend": ("nodegroup", ["FG011"]),
    },
    "guestbook-redis-master-deployment.yaml": {"default/redis-master": ("fargate", [])},
    "ingress-nginx-aws.yaml": {
        # one release: the controller owns it (named after the release), the admission Jobs join it and,
        # with no pod-label value known in a namespace with node workloads, run on nodes (PL003)
        "ingress-nginx/ingress-nginx": ("nodegroup", ["FG012"]),
        "ingress-nginx/ingress-nginx-admission-create": ("nodegroup", ["PL003"]),
        "ingress-nginx/ingress-nginx-admission-patch": ("nodegroup", ["PL003"]),
    },
    "ingress-nginx-baremetal.yaml": {
        # one release: the controller owns it (named after the release), the admission Jobs join it and,
        # with no pod-label value known in a namespace with node workloads, run on nodes (PL003)
        "ingress-nginx/ingress-nginx": ("nodegroup", ["FG011"]),
        "ingress-nginx/ingress-nginx-admission-create": ("nodegroup", ["PL003"]),
        "ingress-nginx/ingress-nginx-admission-patch": ("nodegroup", ["PL003"]),
    },
    "karpenter-arm64.yaml": {"default/arm64": ("nodegroup", ["FG008"])},
    "karpenter-neuron.yaml": {"default/neuron": ("nodegroup", ["FG007"])},
    "karpenter-prefer-arm.yaml": {"default/prefer-arm": ("fargate", [])},
    "kube-prometheus-blackbox-exporter.yaml": {"monitoring/blackbox-exporter": ("fargate", [])},
    "kube-prometheus-kube-state-metrics.yaml": {"monitoring/kube-state-metrics": ("fargate", [])},
    "kube-prometheus-node-exporter-ds.yaml": {
        "monitoring/node-exporter": ("nodegroup", ["FG001", "FG003", "FG004", "FG005", "FG006", "FG015"])
    },
    "newrelic-infra-daemonset.yaml": {
        "default/newrelic-infra-agent": ("nodegroup", ["FG001", "FG002", "FG004", "FG006", "FG015"])
    },
    "nvidia-gpu-job.yaml": {"default/j-e2e-1": ("nodegroup", ["FG007"])},
    "online-boutique-release.yaml": {
        "default/frontend": ("nodegroup", ["FG012"]),
        "default/adservice": ("fargate", []),
        "default/currencyservice": ("fargate", []),
        "default/cartservice": ("fargate", []),
        "default/redis-cart": ("fargate", []),
        "default/loadgenerator": ("fargate", []),
        "default/recommendationservice": ("fargate", []),
        "default/checkoutservice": ("fargate", []),
        "default/emailservice": ("fargate", []),
        "default/paymentservice": ("fargate", []),
        "default/shippingservice": ("fargate", []),
        "default/productcatalogservice": ("fargate", []),
    },
    "tailscale-sidecar-privileged.yaml": {"default/nginx": ("nodegroup", ["FG002"])},
    "tailscale-userspace-sidecar.yaml": {"default/nginx": ("fargate", ["FA104"])},
    "vllm-gpu-deployment.yaml": {"default/vllm-gemma-deployment": ("nodegroup", ["FG007"])},
}


def scan_file(name, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert main(["scan", "--dry-run", "--format", "json", str(CORPUS / name)]) == 0
    return json.loads(capsys.readouterr().out)


@needs_corpus
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_file(name, capsys, monkeypatch, tmp_path):
    data = scan_file(name, capsys, monkeypatch, tmp_path)
    got = {
        f"{w['namespace']}/{w['name']}": (w["placement"], sorted({r["rule"] for r in w["reasons"]}))
        for w in data["workloads"]
    }
    assert got == EXPECTED[name]
    for w in data["workloads"]:  # every reason that comes from a scanned field points into the file
        assert w["source"].startswith(str(CORPUS / name) + ":")
        for r in w["reasons"]:
            if r["manifest"]:
                assert r["manifest"].startswith(str(CORPUS / name) + ":")


@needs_corpus
def test_every_corpus_file_is_covered():
    assert sorted(p.name for p in CORPUS.glob("*.yaml")) == sorted(EXPECTED)


@needs_corpus
@pytest.mark.parametrize(
    "name,workload,rule,line",
    [
        ("kube-prometheus-node-exporter-ds.yaml", "node-exporter", "FG004", 100),  # hostNetwork: true
        ("kube-prometheus-node-exporter-ds.yaml", "node-exporter", "FG006", 101),  # hostPID: true
        (
            "aws-lbc-v2_2_4-full.yaml",
            "aws-load-balancer-controller",
            "FG018",
            797,
        ),  # the controller image, no region/VPC flags
        ("nvidia-gpu-job.yaml", "j-e2e-1", "FG007", None),
        ("tailscale-sidecar-privileged.yaml", "nginx", "FG002", 38),  # privileged: true
        ("cassandra-statefulset.yaml", "cassandra", "FG003", None),
    ],
)
def test_reasons_point_at_the_manifest_line(name, workload, rule, line, capsys, monkeypatch, tmp_path):
    data = scan_file(name, capsys, monkeypatch, tmp_path)
    w = next(w for w in data["workloads"] if w["name"] == workload)
    reason = next(r for r in w["reasons"] if r["rule"] == rule)
    if line is not None:
        assert reason["manifest"] == f"{CORPUS / name}:{line}"


@needs_corpus
def test_whole_corpus_in_one_scan_counts_what_it_skips(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert main(["scan", "--dry-run", "--format", "json", str(CORPUS)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["files"] == len(EXPECTED)
    # an object several files define (kind, namespace, name) is kept once, the last, as kubectl apply -f
    # of the folder would leave it, and each dropped one is named in a note
    twice = [n for n in data["notes"] if "is defined twice" in n]
    assert len(data["workloads"]) + len(twice) >= sum(len(v) for v in EXPECTED.values()) - 1
    assert data["skipped"]["CustomResourceDefinition"] >= 1 and data["skipped"]["ClusterRole"] >= 1
