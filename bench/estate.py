"""A generated estate of N workload profiles, for the benchmarks (deterministic: seeded)."""

from __future__ import annotations

import random
from pathlib import Path

KINDS = [
    "containers: [{name: app, resources: {requests: {cpu: 500m, memory: 1Gi}}}]",
    "kind_override: DaemonSet",
    "volumes: [{name: d, type: persistentVolumeClaim, storageClass: gp3}]",
    "services: [{type: LoadBalancer, loadBalancer: nlb, targetType: ip}]",
    "hostNetwork: true",
    "containers: [{name: a, resources: {requests: {cpu: '4', memory: 32Gi}}}]",
]


def generate(folder: Path, n: int) -> None:
    rng = random.Random(42)
    (folder / "profiles").mkdir(parents=True)
    (folder / "composer.yaml").write_text(
        "apiVersion: composer/v1alpha1\nkind: ClusterSettings\nmetadata: {name: bench, region: us-east-1}\n"
        "fargate: {selectorsPerProfile: 5, profilesPerCluster: 1000}\n"
    )
    for i in range(n):
        extra = KINDS[1] if i % 100 == 0 else rng.choice([k for k in KINDS if k != KINDS[1]])  # DaemonSets are rare
        kind = "DaemonSet" if extra == "kind_override: DaemonSet" else rng.choice(["Deployment", "Job", "CronJob"])
        body = "" if extra.startswith("kind_override") else f"  {extra}\n"
        if "containers" not in body:
            body += "  containers: [{name: app, resources: {requests: {cpu: 250m, memory: 512Mi}}}]\n"
        ns = f"team-{i % 150:03d}"
        (folder / "profiles" / f"w{i:05d}.yaml").write_text(
            f"apiVersion: composer/v1alpha1\nkind: WorkloadProfile\nmetadata:\n  name: w{i:05d}\n  namespace: {ns}\n"
            f"release:\n  chart: acme/app\n  version: '1.0.0'\n  repository: https://charts.acme.example\n"
            f"  podLabelsValue: podLabels\n"
            f"workload:\n  kind: {kind}\n  replicas: {rng.randint(1, 4)}\n  ttlSecondsAfterFinished: 60\n{body}"
        )


def generate_manifests(folder: Path, n: int) -> None:
    """N small Kubernetes manifests for `compose scan`, one Deployment or Job per file (some with a
    hostPath or a big request, so that both placements occur)."""
    rng = random.Random(7)
    (folder / "manifests").mkdir(parents=True)
    for i in range(n):
        ns = f"team-{i % 150:03d}"
        cpu = rng.choice(["250m", "500m", "1", "8"])
        volume = "      volumes: [{name: host, hostPath: {path: /var/run}}]\n" if i % 10 == 0 else ""
        pod = (
            f"      containers:\n        - name: app\n          image: registry.example/app:{i % 7}\n"
            f"          resources: {{requests: {{cpu: '{cpu}', memory: 512Mi}}}}\n{volume}"
        )
        if i % 3 == 0:
            doc = (
                f"apiVersion: batch/v1\nkind: Job\nmetadata: {{name: job-{i:05d}, namespace: {ns}}}\n"
                f"spec:\n  template:\n    spec:\n      restartPolicy: Never\n{pod}"
            )
        else:
            doc = (
                f"apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: app-{i:05d}, namespace: {ns}}}\n"
                f"spec:\n  replicas: {rng.randint(1, 4)}\n  selector: {{matchLabels: {{app: app-{i:05d}}}}}\n"
                f"  template:\n    metadata: {{labels: {{app: app-{i:05d}}}}}\n    spec:\n{pod}"
            )
        (folder / "manifests" / f"m{i:05d}.yaml").write_text(doc)
