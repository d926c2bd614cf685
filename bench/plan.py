"""Benchmark `compose plan` / `compose validate`: the example estate and N generated profiles.

    python bench/plan.py            # N = 1000
    python bench/plan.py 1000 5000  # several sizes, to check linear scaling

Prints the median wall time of several runs of the real CLI (a subprocess per run, as users run it).
Not a test: numbers depend on the machine.
"""

from __future__ import annotations

import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
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
        "fargate: {selectorsPerProfile: 5, profilesPerCluster: 1000}\n")
    for i in range(n):
        extra = KINDS[1] if i % 100 == 0 else rng.choice([k for k in KINDS if k != KINDS[1]])  # DaemonSets are rare
        kind = "DaemonSet" if extra == "kind_override: DaemonSet" else rng.choice(["Deployment", "Job", "CronJob"])
        body = "" if extra.startswith("kind_override") else f"  {extra}\n"
        if "containers" not in body:
            body += "  containers: [{name: app, resources: {requests: {cpu: 250m, memory: 512Mi}}}]\n"
        ns = f"team-{i % 150:03d}"
        (folder / "profiles" / f"w{i:05d}.yaml").write_text(
            f"apiVersion: composer/v1alpha1\nkind: WorkloadProfile\nmetadata: {{name: w{i:05d}, namespace: {ns}}}\n"
            f"release: {{chart: acme/app, version: '1.0.0', repository: https://charts.acme.example, podLabelsValue: podLabels}}\n"
            f"workload:\n  kind: {kind}\n  replicas: {rng.randint(1, 4)}\n  ttlSecondsAfterFinished: 60\n{body}")


def timed(args: list[str], cwd: Path, runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        result = subprocess.run([sys.executable, "-m", "composer", *args], cwd=cwd, capture_output=True, text=True)
        samples.append(time.perf_counter() - start)
        if result.returncode not in (0, 2):
            raise SystemExit(f"compose {' '.join(args)} failed:\n{result.stderr[-2000:]}")
    return statistics.median(samples)


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [1000]
    print(f"compose --help            {timed(['--help'], ROOT, 7) * 1000:7.0f} ms")
    print(f"plan, example estate (20) {timed(['plan', '--no-diff'], ROOT, 5) * 1000:7.0f} ms")
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            generate(folder, n)
            plan = timed(["plan", "--no-diff", "-o", "json"], folder, 3)
            validate = timed(["validate"], folder, 3)
            print(f"plan, {n:>5} profiles      {plan * 1000:7.0f} ms  ({plan / n * 1e6:.0f} µs/profile)")
            print(f"validate, {n:>5} profiles  {validate * 1000:7.0f} ms  ({validate / n * 1e6:.0f} µs/profile)")


if __name__ == "__main__":
    main()
