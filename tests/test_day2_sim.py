"""Day 2 on a running cluster, in a simulated EKS (tests/simeks.py): `compose apply` changes a live estate
scenario after scenario, and no Deployment ever drops below the ready pods it promises.

The control plane and its controllers are real (kube-apiserver, kube-controller-manager), so are helmfile,
helm and kubectl; eksctl is the fake, which with FAKE_EKS_SIM=1 does to the cluster's Nodes and pods what
EKS does (pods of a deleted Fargate profile deleted at once, drains that honour disruption budgets,
managed node group updates). Throughout each scenario the monitor samples every Deployment of two or more
replicas: its ready pods must never fall below its PodDisruptionBudget's minAvailable (else replicas −
maxUnavailable). After each apply the cluster must equal the plan. The last scenario puts the old order
back by hand (delete the profile, then hope the pods come back) and the monitor must see the outage.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from composer.emit.plan import build_plan
from composer.files.yamlio import dump
from tests import real
from tests.conftest import SETTINGS, profile_doc, write_estate
from tests.simeks import FARGATE_SCHEDULER, PIN, SimEks, ready

WEB = {"chart": "../charts/web", "podLabelsValue": "podLabels"}
ROLE = "arn:aws:iam::123456789012:role/sim-fargate-pods"
# (namespace, name, replicas, minAvailable or None, fields of the workload)
RELEASES = (
    ("shop", "checkout", 3, 2, {}),  # Fargate, in a namespace shared with nodes
    ("shop", "cart", 2, None, {}),  # Fargate, no budget: floor = 2 - 0 (maxUnavailable 25% of 2 rounds to 0)
    ("shop", "admin", 3, 2, {"services": [{"type": "NodePort"}]}),  # nodes (NodePort)
    ("ml", "embed", 2, 1, {"nodeSelector": {"kubernetes.io/arch": "arm64"}}),  # arm64 nodes
)


def release_profile(namespace: str, name: str, replicas: int, budget: int | None, fields: dict) -> dict:
    return profile_doc(name, namespace, release={**WEB, "values": [f"../values/{name}.yaml"]}, **fields)


def settings(**changes) -> dict:
    doc = {
        **SETTINGS,
        "metadata": {**SETTINGS["metadata"], "name": "sim"},
        "fargate": {"podExecutionRoleARN": ROLE},
        "helm": {"fargateTimeout": 120, "nodeTimeout": 120},  # (a stuck rollout fails in 2 minutes)
    }
    doc.update(changes)
    return doc


class Estate:
    """The estate on disk, `compose apply` run as a user runs it, and the simulated cluster."""

    def __init__(self, tmp: Path, sim: SimEks, strict: bool = True, composer_source: Path | None = None):
        """``strict``: an apply that fails or leaves the cluster unlike the plan fails the test (else it is
        recorded in ``outcomes``, for bench/day2.py); ``composer_source``: run compose from that source tree
        (e.g. an older commit) instead of this one."""
        self.root, self.sim, self.strict = tmp / "estate", sim, strict
        self.took: dict[str, float] = {}
        self.outcomes: dict[str, str] = {}
        self.untouched: dict[str, bool] = {}
        self.outputs: dict[str, str] = {}
        self.upgraded: set[str] = set()
        self.composer = settings()
        write_estate(self.root, [release_profile(*r) for r in RELEASES], self.composer)
        shutil.copytree(real.CHARTS, self.root / "charts", ignore=shutil.ignore_patterns("README.md"))
        self.replicas: dict[str, int] = {}
        for namespace, name, replicas, budget, _ in RELEASES:
            self.values(name, replicas, budget)
        fakes = tmp / "fakebin"
        fakes.mkdir()
        # eksctl and the AWS CLI (EKS's APIs) are the fakes; helmfile, helm and kubectl are real
        for name in ("eksctl", "aws", "_fakecloud.py"):
            shutil.copy(Path(__file__).parent / "fakebin" / name, fakes / name)
        self.env = real.tool_env(tmp / "home")
        self.env.update(
            PATH=os.pathsep.join([str(fakes), str(real.BIN), str(Path(sys.executable).parent), self.env["PATH"]]),
            FAKE_CLOUD_DIR=str(sim.cloud),
            NO_COLOR="1",
            **sim.env(),
        )
        self.env.pop("KUBECONFIG", None)
        if composer_source is not None:
            self.env["PYTHONPATH"] = str(composer_source)

    def values(self, name: str, replicas: int, budget: int | None) -> None:
        """values/<name>.yaml for a web release: its replicas and, with ``budget``, a PodDisruptionBudget."""
        (self.root / "values").mkdir(exist_ok=True)
        values = {"replicaCount": replicas, **({"podDisruptionBudget": {"minAvailable": budget}} if budget else {})}
        (self.root / "values" / f"{name}.yaml").write_text(dump(values))
        self.replicas[name] = replicas

    def profile(self, namespace: str, name: str) -> Path:
        return self.root / "profiles" / f"{namespace}-{name}.yaml"

    def settings(self, **changes) -> None:
        self.composer = {**self.composer, **changes}
        (self.root / "composer.yaml").write_text(dump(self.composer))

    def apply(self, scenario: str, *options: str) -> str:
        self.sim.scenario = scenario
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "composer", "apply", "--yes", *options],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        try:
            assert done.returncode == 0, f"{scenario}:\n{done.stdout[-4000:]}\n{done.stderr[-2000:]}"
            self.sim.settle()
            self.assert_as_planned(scenario, done.stdout)
            self.outcomes[scenario] = "as planned"
        except AssertionError as failed:
            if self.strict:
                raise AssertionError(f"{failed}\n{self.sim.describe()}") from None
            self.outcomes[scenario] = f"exit {done.returncode}" if done.returncode else "not as planned"
        self.took[scenario] = time.monotonic() - started
        self.outputs[scenario] = done.stdout
        return done.stdout

    def assert_as_planned(self, scenario: str, report: str) -> None:
        """The cluster equals the plan: its Fargate profiles, node groups and version (anything more only if
        the apply's ``report`` lists it as kept), and every planned Deployment's pods all ready, on Fargate
        (through a planned profile) or on a planned group's nodes."""
        plan = build_plan(self.root / "composer.yaml", sorted((self.root / "profiles").glob("*.yaml")))
        config, cloud = plan.cluster, json.loads((self.sim.cloud / "cluster.json").read_text())
        kept = {line.split()[3].rstrip(":") for line in report.splitlines() if line.strip().startswith("! ")}
        profiles = {p["name"]: p["selectors"] for p in config.get("fargateProfiles", [])}
        have = {n: p["selectors"] for n, p in cloud["fargate"].items() if n not in kept or n in profiles}
        assert have == profiles, (scenario, report)
        groups = {g["name"] for g in config.get("managedNodeGroups", [])}
        assert set(cloud["nodegroups"]) - kept == groups, scenario
        assert cloud["version"] == config["metadata"]["version"], scenario
        nodes = {n["metadata"]["name"]: n for n in self.sim.server.get("/api/v1/nodes")["items"]}
        for p in plan.placements:
            w = p.workload
            pods = [
                pod
                for pod in self.sim.pods(w.namespace)
                if pod["metadata"].get("labels", {}).get("app.kubernetes.io/instance") == w.name
            ]
            replicas = self.replicas[w.name]
            assert len(pods) == replicas and all(ready(pod) for pod in pods), (scenario, w.name, self.sim.describe())
            for pod in pods:
                where = pod["spec"]["nodeName"]
                if p.target == "fargate":
                    assert pod["spec"]["schedulerName"] == FARGATE_SCHEDULER, (scenario, w.name, where)
                    assert pod["metadata"]["labels"][PIN] in profiles, (scenario, w.name)
                else:
                    group = nodes[where]["metadata"]["labels"]["eks.amazonaws.com/nodegroup"]
                    assert group in groups, (scenario, w.name, group)

    def revisions(self) -> dict[str, int]:
        """{namespace/release: latest revision}, from helm's release secrets."""
        found: dict[str, int] = {}
        for item in self.sim.server.get("/api/v1/secrets?labelSelector=owner%3Dhelm")["items"]:
            key = f"{item['metadata']['namespace']}/{item['metadata']['labels']['name']}"
            found[key] = max(found.get(key, 0), int(item["metadata"]["labels"]["version"]))
        return found

    def pod_names(self, namespace: str) -> set[str]:
        return {p["metadata"]["name"] for p in self.sim.pods(namespace)}


def run_scenarios(estate: Estate, sim: SimEks) -> None:
    """The day-2 changes, one apply each, then the old order by hand (see the module docstring)."""
    estate.apply("create the cluster")
    estate.apply(AGAIN)

    # a namespace arrives: one profile added, shop's running pods untouched, no other release upgraded
    shop, revisions = estate.pod_names("shop"), estate.revisions()
    mailer = profile_doc("mailer", "mail", release={**WEB, "values": ["../values/mailer.yaml"]})
    estate.values("mailer", 2, None)
    estate.profile("mail", "mailer").write_text(dump(mailer))
    estate.apply("add a namespace")
    estate.untouched["add a namespace"] = estate.pod_names("shop") == shop
    estate.upgraded = {k for k, v in estate.revisions().items() if revisions.get(k) != v}

    # and leaves again: kept (its release, and the profile its pods run on) until --prune removes both
    estate.profile("mail", "mailer").unlink()
    estate.apply(KEPT)
    estate.apply("remove a namespace", "--prune")
    estate.untouched["remove a namespace"] = estate.pod_names("shop") == shop

    # every Fargate profile is replaced: their pods roll onto the successors
    estate.settings(fargate={"podExecutionRoleARN": ROLE + "-v2"})
    estate.apply("change the pod execution role")

    # a workload moves from nodes to Fargate and back
    admin = release_profile(*RELEASES[2])
    estate.profile("shop", "admin").write_text(dump({**admin, "workload": {**admin["workload"], "services": []}}))
    estate.apply("move shop/admin EC2 → Fargate", "--prune")  # (its node group is no longer wanted)
    estate.profile("shop", "admin").write_text(dump(admin))
    estate.apply("move shop/admin Fargate → EC2")

    # a node group is replaced (another instance type): its pods move to the new group, then it is drained
    estate.settings(nodeGroups={"general": {"instanceType": "m6i.2xlarge"}})
    estate.apply("replace a node group")

    # EKS publishes a newer AMI release for 1.33 x86_64: --upgrade-nodes rolls those groups onto it, node
    # by node (the arm64 groups have none newer and stay)
    (sim.cloud / "amis.json").write_text(json.dumps({"1.33/AL2023_x86_64_STANDARD": "1.33.5-20261201"}))
    estate.apply("newer AMI release (--upgrade-nodes)", "--upgrade-nodes")
    groups = json.loads((sim.cloud / "cluster.json").read_text())["nodegroups"].values()
    rolled = {g["Name"] for g in groups if g["_release"] == "1.33.5-20261201"}
    x86 = {g["Name"] for g in groups if g["_labels"].get("composer.io/node-class") != "arm64"}
    assert rolled and rolled == x86, groups

    # Kubernetes 1.33 → 1.34: control plane, add-ons, node groups rolled, Fargate pods restarted
    estate.settings(metadata={**estate.composer["metadata"], "version": "1.34"})
    estate.apply("upgrade 1.33 → 1.34")

    # the oracle can fail: the old order (delete the profile, let the pods come back) by hand
    sim.scenario = BY_HAND
    cloud = json.loads((sim.cloud / "cluster.json").read_text())
    shop_profiles = [n for n, p in cloud["fargate"].items() if "shop" in {s["namespace"] for s in p["selectors"]}]
    argv = ["eksctl", "delete", "fargateprofile", "--cluster", "sim", "--region", "us-east-1", "--wait"]
    for name in shop_profiles:
        subprocess.run([*argv, "--name", name], env=estate.env, check=True, capture_output=True)
    time.sleep(1.0)  # (a few samples of what follows: the pods are gone, nothing brings them back)


def figures(estate: Estate, sim: SimEks) -> list[str]:
    """One line per scenario: how long it took, how it ended, the fewest ready pods / floor per Deployment."""
    lines = [f"availability over {sim.availability.samples} samples (fewest ready / floor):"]
    for scenario in dict.fromkeys(s for s, _ in sim.availability.lowest):
        took = f" ({estate.took[scenario]:.1f} s, {estate.outcomes[scenario]})" if scenario in estate.took else ""
        deps = sim.availability.minimum(scenario)
        lines.append(f"  {scenario}{took}: " + ", ".join(f"{d} {n}/{f}" for d, (n, f) in deps.items()))
    return lines


BY_HAND = "delete-then-hope (by hand)"
AGAIN = "apply again, nothing changed"
KEPT = "remove a namespace, without --prune"


@real.needs("helmfile", "helm", "kubectl", "kube-apiserver", "kube-controller-manager", "etcd")
def test_day_two_changes_keep_every_deployment_available(tmp_path, capsys):
    with SimEks(tmp_path / "sim", tmp_path / "cloud") as sim:
        estate = Estate(tmp_path, sim)
        run_scenarios(estate, sim)
    with capsys.disabled():
        print("\n  " + "\n  ".join(figures(estate, sim)))
    assert estate.untouched == {"add a namespace": True, "remove a namespace": True}  # shop's pods, by name
    assert estate.upgraded == {"mail/mailer"}  # helm upgraded no other release
    assert "Tools: eksctl 0.230.0, helmfile 1.8.0, helm 3.22.0" in estate.outputs["create the cluster"]
    again = estate.outputs[AGAIN]
    assert "Cluster changes: 0 to create, 0 to replace, 0 to resize, 0 to delete." in again
    assert "Apply complete: 2 step(s), 0 changed something" in again  # (helmfile: no changes)
    # what the replaced profile's line says it does to running pods, read by real kubectl from the API server
    role = " ".join(estate.outputs["change the pod execution role"].split())
    assert "rolls 3 pod(s) of shop/deployment/checkout onto the new profile (maxUnavailable 0)" in role
    assert "rolls 2 pod(s) of shop/deployment/cart onto the new profile (maxUnavailable 0)" in role
    kept = estate.outputs[KEPT]
    assert "! Helm release mail/mailer — no longer wanted, kept (--prune deletes it)" in kept
    assert "! Fargate profile" in kept and "releases kept in mail still run there" in kept
    outages = [d for d in sim.availability.dips if d.scenario != BY_HAND]
    assert outages == [], outages
    caught = {d.deployment for d in sim.availability.dips if d.scenario == BY_HAND}
    assert {"shop/checkout", "shop/cart"} <= caught
