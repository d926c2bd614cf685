"""A simulated EKS for the day-2 scenario tests: what AWS runs around a real Kubernetes control plane.

Real: etcd, kube-apiserver and kube-controller-manager (the Deployment, ReplicaSet, disruption-budget,
garbage-collection and service-account controllers), so rollouts, ReplicaSets, PodDisruptionBudgets and
evictions behave as Kubernetes makes them behave. Modelled here, from the AWS documentation:

- **The Fargate admission webhook** (a real mutating webhook the API server calls for every new pod). A
  pod goes to Fargate only if, when it is created, a Fargate profile selects it: its namespace matches a
  selector's and it has all of that selector's labels. Among several matching profiles EKS picks one at
  random, unless the pod's ``eks.amazonaws.com/fargate-profile`` label names one, which must then select
  the pod too (EKS user guide, "Define which Pods use AWS Fargate",
  https://docs.aws.amazon.com/eks/latest/userguide/fargate-profile.html). The webhook sets
  ``schedulerName: fargate-scheduler`` and the profile label, as EKS does; the decision is never
  revisited (a pod that started elsewhere stays there).
- **Schedulers and kubelets**: a Fargate pod gets a node of its own and is Running and Ready after
  ``fargate_start`` seconds (on EKS about a minute, since each pod gets its own compute environment:
  https://docs.aws.amazon.com/eks/latest/userguide/fargate.html); any other pod is bound to a schedulable
  Node whose labels satisfy its nodeSelector and whose taints it tolerates, and is Ready after
  ``node_start`` seconds, or stays Pending. A terminating pod's containers stop at once.
- Profile and node-group life cycle (pods deleted with a deleted profile, node groups as Node objects,
  drains, managed node group updates) is the fake eksctl's part: ``tests/fakebin/eksctl`` with
  ``FAKE_EKS_SIM=1``.

An availability monitor samples every ``TICK`` seconds (as often as the kubelets act, so no pod can be
deleted and replaced between two samples unseen): for each Deployment with at least two
replicas (once it has been fully available), the ready pods it has, against the floor it promises:
its PodDisruptionBudget's minAvailable, else replicas − maxUnavailable.
"""

from __future__ import annotations

import base64
import fnmatch
import http.server
import json
import math
import random
import ssl
import threading
import time
import urllib.error
from dataclasses import dataclass, field
from pathlib import Path

from tests import real

PIN = "eks.amazonaws.com/fargate-profile"
TICK = 0.25  # seconds between two passes of the kubelets, and between two availability samples
FARGATE_SCHEDULER = "fargate-scheduler"
CONTROLLERS = (
    "deployment-controller",
    "replicaset-controller",
    "disruption-controller",
    "garbage-collector-controller",
    "serviceaccount-controller",
)


def selects(selector: dict, namespace: str, labels: dict) -> bool:
    """A Fargate profile selector selects a pod (namespace and label values may use * and ?)."""
    if not fnmatch.fnmatchcase(namespace, selector.get("namespace", "")):
        return False
    return all(k in labels and fnmatch.fnmatchcase(labels[k], v) for k, v in (selector.get("labels") or {}).items())


def fargate_profile_for(profiles: dict, namespace: str, labels: dict, rng: random.Random) -> str | None:
    """The profile EKS runs a new pod on, or None (not Fargate)."""
    matches = sorted(n for n, p in profiles.items() if any(selects(s, namespace, labels) for s in p["selectors"]))
    pinned = labels.get(PIN)
    if pinned is not None:
        return pinned if pinned in matches else None
    return rng.choice(matches) if matches else None


def tolerates(tolerations: list, taint: dict) -> bool:
    for t in tolerations or ():
        if t.get("effect") and t["effect"] != taint.get("effect"):
            continue
        if t.get("operator") == "Exists" and (not t.get("key") or t["key"] == taint["key"]):
            return True
        if t.get("key") == taint["key"] and t.get("value", "") == taint.get("value", ""):
            return True
    return False


def node_accepts(node: dict, spec: dict) -> bool:
    labels = node["metadata"].get("labels") or {}
    if node["spec"].get("unschedulable"):
        return False
    if any(labels.get(k) != v for k, v in (spec.get("nodeSelector") or {}).items()):
        return False
    for term in _required_terms(spec):
        if not all(_expression(labels, e) for e in term.get("matchExpressions") or ()):
            return False
    taints = [t for t in node["spec"].get("taints") or () if t.get("effect") in ("NoSchedule", "NoExecute")]
    return all(tolerates(spec.get("tolerations"), t) for t in taints)


def _required_terms(spec: dict) -> list[dict]:
    affinity = ((spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    ) or {}
    terms = affinity.get("nodeSelectorTerms") or []
    return terms[:1] if terms else []  # (terms are ORed; the charts here write one)


def _expression(labels: dict, e: dict) -> bool:
    have, op, values = labels.get(e["key"]), e["operator"], e.get("values") or []
    return {
        "In": have in values,
        "NotIn": have not in values,
        "Exists": e["key"] in labels,
        "DoesNotExist": e["key"] not in labels,
    }.get(op, False)


def ready(pod: dict) -> bool:
    if pod["metadata"].get("deletionTimestamp"):
        return False
    conditions = (pod.get("status") or {}).get("conditions") or ()
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def max_unavailable(dep: dict) -> int:
    """What a RollingUpdate Deployment may have unavailable (Kubernetes: a percentage rounds down, and
    maxSurge and maxUnavailable are not both zero)."""
    replicas = dep["spec"].get("replicas", 1)
    strategy = dep["spec"].get("strategy") or {}
    if strategy.get("type") == "Recreate":
        return replicas
    rolling = strategy.get("rollingUpdate") or {}

    def resolve(value, round_up: bool) -> int:
        if isinstance(value, str) and value.endswith("%"):
            exact = replicas * int(value[:-1]) / 100
            return math.ceil(exact) if round_up else math.floor(exact)
        return int(value)

    unavailable = resolve(rolling.get("maxUnavailable", "25%"), False)
    surge = resolve(rolling.get("maxSurge", "25%"), True)
    return 1 if unavailable == 0 and surge == 0 else unavailable


@dataclass
class Dip:
    scenario: str
    deployment: str
    ready: int
    floor: int
    at: float


@dataclass
class Availability:
    """Per scenario and Deployment: the fewest ready pods seen and the floor; every sample below it."""

    lowest: dict[tuple[str, str], int] = field(default_factory=dict)
    floors: dict[tuple[str, str], int] = field(default_factory=dict)
    dips: list[Dip] = field(default_factory=list)
    samples: int = 0

    def minimum(self, scenario: str) -> dict[str, tuple[int, int]]:
        """{namespace/deployment: (fewest ready, floor)} seen during ``scenario``."""
        return {d: (n, self.floors[(s, d)]) for (s, d), n in sorted(self.lowest.items()) if s == scenario}


class SimEks:
    """The real control plane, the modelled EKS around it, and the availability monitor."""

    def __init__(self, home: Path, cloud: Path, fargate_start: float = 1.0, node_start: float = 0.3):
        self.home, self.cloud = home, cloud
        self.fargate_start, self.node_start = fargate_start, node_start
        self.server = real.ApiServer(home / "kube")
        self.rng = random.Random(7)
        self.scenario = "start"
        self.availability = Availability()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._bound: dict[str, float] = {}  # pod uid → when it was bound to a node
        self._established: set[str] = set()  # Deployments seen fully available
        self._fargate_nodes = 0
        self.errors: list[str] = []

    # ------------------------------------------------------------ life cycle

    def __enter__(self) -> "SimEks":
        (self.home / "kube").mkdir(parents=True, exist_ok=True)
        self.server.start()
        self.server.start_controllers(*CONTROLLERS, extra=("--concurrent-deployment-syncs=10",))
        self._start_webhook()
        for target in (self._kubelets, self._monitor):
            thread = threading.Thread(target=self._loop, args=(target,), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)
        if getattr(self, "_webhook", None):
            self._webhook.shutdown()
        self.server.stop()

    def env(self) -> dict[str, str]:
        """What the fake eksctl needs to act on this cluster's Nodes and pods as EKS would."""
        return {"FAKE_KUBECONFIG": str(self.server.kubeconfig), "FAKE_EKS_SIM": "1"}

    def _start_webhook(self) -> None:
        cert, key = real.self_signed(self.home / "webhook", "127.0.0.1", "subjectAltName=IP:127.0.0.1")
        sim = self

        class Webhook(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                review = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                body = json.dumps(sim.admit(review)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._webhook = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Webhook)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self._webhook.socket = context.wrap_socket(self._webhook.socket, server_side=True)
        threading.Thread(target=self._webhook.serve_forever, daemon=True).start()
        port = self._webhook.server_address[1]
        self.server.request(
            "POST",
            "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations",
            {
                "apiVersion": "admissionregistration.k8s.io/v1",
                "kind": "MutatingWebhookConfiguration",
                "metadata": {"name": "sim-eks-fargate"},
                "webhooks": [
                    {
                        "name": "fargate.sim-eks.test",
                        "clientConfig": {
                            "url": f"https://127.0.0.1:{port}/mutate",
                            "caBundle": base64.b64encode(cert.read_bytes()).decode(),
                        },
                        "rules": [
                            {"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}
                        ],
                        "sideEffects": "None",
                        "admissionReviewVersions": ["v1"],
                        "failurePolicy": "Fail",
                        "timeoutSeconds": 10,
                    }
                ],
            },
        )

    def admit(self, review: dict) -> dict:
        """The Fargate webhook's answer to a new pod (see the module docstring)."""
        request = review["request"]
        pod = request["object"]
        labels = (pod.get("metadata") or {}).get("labels") or {}
        profiles = self.profiles()
        chosen = fargate_profile_for(profiles, request.get("namespace", ""), labels, self.rng)
        answer = {"uid": request["uid"], "allowed": True}
        if chosen is not None:
            patch = [{"op": "add", "path": "/spec/schedulerName", "value": FARGATE_SCHEDULER}]
            if not (pod.get("metadata") or {}).get("labels"):
                patch.append({"op": "add", "path": "/metadata/labels", "value": {}})
            patch.append({"op": "add", "path": "/metadata/labels/" + PIN.replace("/", "~1"), "value": chosen})
            answer.update(patchType="JSONPatch", patch=base64.b64encode(json.dumps(patch).encode()).decode())
        return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": answer}

    def profiles(self) -> dict:
        path = self.cloud / "cluster.json"
        for _ in range(5):  # (the fake eksctl replaces the file whole; a read may meet it mid-write)
            try:
                return json.loads(path.read_text()).get("fargate", {}) if path.exists() else {}
            except ValueError:
                time.sleep(0.02)
        return {}

    # ------------------------------------------------------------ the loops

    def _loop(self, step) -> None:
        while not self._stop.wait(TICK):
            try:
                step()
            except (urllib.error.URLError, OSError, KeyError, ValueError) as error:
                if not self._stop.is_set():
                    self.errors.append(f"{step.__name__}: {error}")

    def _kubelets(self) -> None:
        """The schedulers and kubelets: bind pending pods, start bound ones, finish terminating ones."""
        s = self.server
        pods = s.get("/api/v1/pods")["items"]
        nodes = s.get("/api/v1/nodes")["items"]
        for node in nodes:
            self._node_ready(node)
        now = time.monotonic()
        for pod in pods:
            meta, spec = pod["metadata"], pod["spec"]
            where = f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}"
            if meta.get("deletionTimestamp"):
                self._quietly("DELETE", f"{where}?gracePeriodSeconds=0")
                continue
            if not spec.get("nodeName"):
                if spec.get("schedulerName") == FARGATE_SCHEDULER:
                    self._fargate_nodes += 1
                    node = f"fargate-ip-10-0-{self._fargate_nodes // 250}-{self._fargate_nodes % 250}.ec2.internal"
                else:
                    fits = [n for n in nodes if node_accepts(n, spec)]
                    if not fits:
                        continue  # Pending, as the scheduler leaves a pod nothing accepts
                    on = {n["metadata"]["name"]: 0 for n in fits}
                    for other in pods:
                        if other["spec"].get("nodeName") in on:
                            on[other["spec"]["nodeName"]] += 1
                    node = min(on, key=lambda n: (on[n], n))
                binding = {
                    "apiVersion": "v1",
                    "kind": "Binding",
                    "metadata": {"name": meta["name"]},
                    "target": {"apiVersion": "v1", "kind": "Node", "name": node},
                }
                if self._quietly("POST", f"{where}/binding", binding):
                    self._bound[meta["uid"]] = now
                    spec["nodeName"] = node
                continue
            bound = self._bound.setdefault(meta["uid"], now)
            delay = self.fargate_start if spec.get("schedulerName") == FARGATE_SCHEDULER else self.node_start
            if not ready(pod) and now - bound >= delay:
                stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
                conditions = [
                    {"type": kind, "status": "True", "lastTransitionTime": stamp}
                    for kind in ("PodScheduled", "Initialized", "ContainersReady", "Ready")
                ]
                status = {"status": {"phase": "Running", "startTime": stamp, "conditions": conditions}}
                self._quietly("PATCH", f"{where}/status", status, "application/merge-patch+json")

    def _node_ready(self, node: dict) -> None:
        """A new node's kubelet reports Ready, and the not-ready taint the API server gave it at
        registration is lifted (the node lifecycle controller's part, not run here)."""
        taints = node["spec"].get("taints") or []
        kept = [t for t in taints if t.get("key") != "node.kubernetes.io/not-ready"]
        if kept == taints:
            return
        path = f"/api/v1/nodes/{node['metadata']['name']}"
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        ok = {"type": "Ready", "status": "True", "reason": "KubeletReady", "lastHeartbeatTime": stamp}
        self._quietly("PATCH", f"{path}/status", {"status": {"conditions": [ok]}}, "application/merge-patch+json")
        if self._quietly("PATCH", path, {"spec": {"taints": kept or None}}, "application/merge-patch+json"):
            node["spec"]["taints"] = kept

    def _quietly(self, method: str, path: str, body: dict | None = None, kind: str = "application/json") -> bool:
        try:
            self.server.request(method, path, body, kind)
            return True
        except urllib.error.HTTPError as error:
            if error.code not in (404, 409):  # (gone meanwhile, or bound by an earlier pass)
                self.errors.append(f"{method} {path}: {error.code} {error.read()[:300]!r}")
            return False

    def _monitor(self) -> None:
        s = self.server
        deployments = s.get("/apis/apps/v1/deployments")["items"]
        pods = s.get("/api/v1/pods")["items"]
        budgets = s.get("/apis/policy/v1/poddisruptionbudgets")["items"]
        # (a Deployment deleted meanwhile, e.g. by helm uninstall, is not an outage: only those still there
        # after the pods were read, and not being deleted, are counted)
        still = {d["metadata"]["uid"] for d in s.get("/apis/apps/v1/deployments")["items"]}
        deployments = [
            d for d in deployments if d["metadata"]["uid"] in still and not d["metadata"].get("deletionTimestamp")
        ]
        now = time.monotonic()
        a = self.availability
        a.samples += 1
        for dep in deployments:
            replicas = dep["spec"].get("replicas", 1)
            ns, name = dep["metadata"]["namespace"], dep["metadata"]["name"]
            key = f"{ns}/{name}"
            if replicas < 2:
                continue
            wanted = dep["spec"]["selector"].get("matchLabels") or {}
            mine = [
                p
                for p in pods
                if p["metadata"]["namespace"] == ns
                and all((p["metadata"].get("labels") or {}).get(k) == v for k, v in wanted.items())
            ]
            count = sum(1 for p in mine if ready(p))
            if key not in self._established:
                if count < replicas:
                    continue
                self._established.add(key)
            floor = replicas - max_unavailable(dep)
            template = dep["spec"]["template"]["metadata"].get("labels") or {}
            for pdb in budgets:
                chosen = pdb["spec"].get("selector", {}).get("matchLabels") or {}
                if (
                    pdb["metadata"]["namespace"] == ns
                    and chosen
                    and all(template.get(k) == v for k, v in chosen.items())
                ):
                    floor = int(pdb["spec"].get("minAvailable", floor))
            slot = (self.scenario, key)
            a.floors[slot] = floor
            a.lowest[slot] = min(a.lowest.get(slot, count), count)
            if count < floor:
                a.dips.append(Dip(self.scenario, key, count, floor, now))

    # ------------------------------------------------------------ reading the cluster

    def pods(self, namespace: str) -> list[dict]:
        return self.server.get(f"/api/v1/namespaces/{namespace}/pods")["items"]

    def settle(self, seconds: float = 60) -> None:
        """Wait until no pod is pending, starting or terminating (every Deployment's pods run)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            pods = self.server.get("/api/v1/pods")["items"]
            deps = self.server.get("/apis/apps/v1/deployments")["items"]
            # (as kubectl rollout status: a status is about the spec only once observedGeneration has
            # caught up with it; a rollout restart just issued otherwise reads as done)
            done = all(ready(p) for p in pods) and all(
                (d.get("status") or {}).get("observedGeneration") == d["metadata"].get("generation")
                and (d.get("status") or {}).get(kind, 0)
                == d["spec"].get("replicas", 1)
                == (d.get("status") or {}).get("replicas")
                for d in deps
                for kind in ("readyReplicas", "updatedReplicas")
            )
            if done:
                return
            time.sleep(0.2)
        raise AssertionError(f"the simulated cluster did not settle in {seconds}s: {self.describe()}")

    def describe(self) -> str:
        lines = []
        for pod in self.server.get("/api/v1/pods")["items"]:
            m, sp = pod["metadata"], pod["spec"]
            lines.append(
                f"{m['namespace']}/{m['name']} node={sp.get('nodeName')} scheduler={sp.get('schedulerName')} "
                f"ready={ready(pod)} deleting={bool(m.get('deletionTimestamp'))} "
                f"selector={sp.get('nodeSelector')} tolerations={sp.get('tolerations')}"
            )
        for node in self.server.get("/api/v1/nodes")["items"]:
            m, sp = node["metadata"], node["spec"]
            lines.append(
                f"node {m['name']} labels={m.get('labels')} taints={sp.get('taints')} off={sp.get('unschedulable')}"
            )
        return "\n".join(lines + self.errors[-5:])
