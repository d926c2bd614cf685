"""The generated helmfile.yaml with the real helmfile and helm, and pods that land where the plan says.

The estate's releases use the small charts in tests/realtools/charts. Placement is checked the way
EKS decides it: a Fargate profile selects a pod when the pod's namespace matches a selector's and the
pod has every label of that selector (https://docs.aws.amazon.com/eks/latest/userguide/fargate-profile.html).
It is applied to what real helm rendered and, separately, to what real helmfile installed into a
real kube-apiserver.
"""

from __future__ import annotations

import fnmatch
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from composer.emit.plan import Plan, build_plan, write
from composer.place.routing import Selector
from tests import real
from tests.conftest import SETTINGS, profile_doc, write_estate

HUGE = [{"name": "spark", "resources": {"requests": {"cpu": "16", "memory": "200Gi"}}}]
GPU = [{"name": "model", "resources": {"requests": {"cpu": "2", "memory": "8Gi"}, "limits": {"nvidia.com/gpu": "1"}}}]
POD_KINDS = {
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}


def estate_profiles(web_labels: str = "podLabels") -> list[dict]:
    web = {"chart": "../charts/web", "podLabelsValue": web_labels}
    batch = {"chart": "../charts/batch", "podLabelsValue": "job.podLabels"}
    return [
        profile_doc("checkout", "shop", release=web),  # Fargate, mixed namespace
        profile_doc("admin", "shop", release=web, services=[{"type": "NodePort"}]),  # nodes
        profile_doc(
            "report",
            "batch",
            kind="CronJob",
            schedule="0 3 * * *",
            release={**batch, "values": ["../values/report.yaml"]},
        ),  # Fargate, whole namespace
        profile_doc("etl", "analytics", kind="Job", release=batch),  # Fargate, mixed namespace
        profile_doc("spark", "analytics", kind="Job", release=batch, containers=HUGE),  # nodes: too big
        profile_doc(
            "agent",
            "logging",
            kind="DaemonSet",
            release={"chart": "../charts/agent"},
            volumes=[{"name": "logs", "type": "hostPath"}],
            tolerations=[{"operator": "Exists"}],  # the chart's own (kept beside the node classes')
        ),  # nodes
        profile_doc("embed", "ml", release=web, nodeSelector={"kubernetes.io/arch": "arm64"}),  # arm64 nodes
        profile_doc("infer", "ml", release=web, containers=GPU),  # GPU nodes (agent too)
    ]


def make_estate(root: Path, profiles: list[dict] | None = None, **settings) -> Path:
    write_estate(
        root,
        profiles or estate_profiles(),
        {**SETTINGS, "metadata": {**SETTINGS["metadata"], "name": "real"}, **settings},
    )
    shutil.copytree(real.CHARTS, root / "charts", ignore=shutil.ignore_patterns("README.md"))
    (root / "values").mkdir(exist_ok=True)
    (root / "values" / "report.yaml").write_text('schedule: "0 3 * * *"\n')
    return root


def planned(root: Path) -> Plan:
    plan = build_plan(root / "composer.yaml", sorted((root / "profiles").glob("*.yaml")))
    write(plan)
    return plan


# ---------------------------------------------------------------- the placement oracle


def selectors_matching(cluster: dict, namespace: str, labels: dict) -> set[Selector]:
    """EKS's rule: same namespace (wildcards * and ?) and every selector label on the pod."""
    found = set()
    for profile in cluster.get("fargateProfiles") or []:
        for s in profile["selectors"]:
            wanted = s.get("labels") or {}
            if fnmatch.fnmatchcase(namespace, s["namespace"]) and all(
                k in labels and fnmatch.fnmatchcase(str(labels[k]), str(v)) for k, v in wanted.items()
            ):
                found.add(Selector(s["namespace"], tuple(sorted(wanted.items()))))
    return found


def pod_templates(objects: list[dict]) -> dict[str, tuple[str, dict, dict]]:
    """{namespace/name: (kind, pod template labels, pod template)} of the workload objects among ``objects``."""
    out = {}
    for obj in objects:
        if not isinstance(obj, dict) or obj.get("kind") not in POD_KINDS:
            continue
        template = obj
        for step in POD_KINDS[obj["kind"]]:
            template = template[step]
        meta = obj["metadata"]
        out[f"{meta['namespace']}/{meta['name']}"] = (
            obj["kind"],
            dict(template["metadata"].get("labels") or {}),
            template,
        )
    return out


def accepting_groups(cluster: dict, template: dict) -> set[str]:
    """The node groups whose nodes would take this pod: its nodeSelector is among the group's labels
    (plus the kubernetes.io/os and arch labels every node has) and it tolerates every taint."""
    spec = template.get("spec") or {}
    wanted = spec.get("nodeSelector") or {}
    tolerated = spec.get("tolerations") or []

    def tolerates(taint: dict) -> bool:
        return any(
            t.get("operator") == "Exists"
            and not t.get("key")
            or (
                t.get("key") == taint["key"]
                and (t.get("operator") == "Exists" or t.get("value") == taint.get("value"))
                and t.get("effect", taint["effect"]) == taint["effect"]
            )
            for t in tolerated
        )

    accepted = set()
    for g in cluster.get("managedNodeGroups") or []:
        windows = g.get("amiFamily", "").startswith("Windows")
        labels = {
            **(g.get("labels") or {}),
            "kubernetes.io/os": "windows" if windows else "linux",
            "kubernetes.io/arch": "arm64" if g["instanceType"].split(".")[0].endswith("g") else "amd64",
        }
        if all(labels.get(k) == v for k, v in wanted.items()) and all(tolerates(t) for t in g.get("taints") or []):
            accepted.add(g["name"])
    return accepted


def misplaced(plan: Plan, objects: list[dict]) -> list[str]:
    """Every workload whose pods EKS would place other than the plan says (empty: all land right)."""
    pods = pod_templates(objects)
    key, value = plan.settings.routing_label
    groups = {g["name"]: g["labels"]["composer.io/node-class"] for g in plan.cluster.get("managedNodeGroups") or []}
    wrong = []
    for p in plan.placements:
        w = p.workload
        if w.key not in pods:
            wrong.append(f"{w.key}: no workload object rendered")
            continue
        kind, labels, template = pods[w.key]
        matched = selectors_matching(plan.cluster, w.namespace, labels)
        if p.target == "fargate":
            intended = {Selector(w.namespace, ((key, value),) if w.key in plan.routing.labelled else ())}
            if matched != intended:
                wrong.append(f"{w.key}: planned for Fargate via {intended}, but EKS would match {matched or 'nothing'}")
            continue
        if matched:
            wrong.append(f"{w.key}: planned for nodes ({p.node_class}), but Fargate selectors {matched} match its pods")
        classes = {groups[g] for g in accepting_groups(plan.cluster, template)}
        everywhere = (
            {"general", "arm64", "gpu", "neuron"} & set(groups.values())
            if kind == "DaemonSet" and p.node_class == "general"
            else None
        )
        if classes != (everywhere or {p.node_class}):
            wrong.append(
                f"{w.key}: planned for {p.node_class} nodes, but its pods would land on {sorted(classes) or 'none'}"
            )
    return wrong


# ---------------------------------------------------------------- real helmfile and helm


def helmfile(plan: Plan, tmp: Path, *args: str, kubeconfig: Path | None = None) -> str:
    env = real.tool_env(tmp / "home")
    if kubeconfig is not None:
        env["KUBECONFIG"] = str(kubeconfig)
    done = real.run(["helmfile", "--file", str(plan.out_dir / "helmfile.yaml"), *args], env)
    assert done.returncode == 0, f"helmfile {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    return done.stdout


def documents(text: str) -> list:
    return [d for d in YAML(typ="safe").load_all(text) if d is not None]


@real.needs("helmfile", "helm")
def test_helmfile_accepts_the_generated_file_and_renders_it_unchanged(tmp_path):
    plan = planned(make_estate(tmp_path))
    (state,) = documents(helmfile(plan, tmp_path, "build"))
    ours = {r["name"]: r for r in plan.helmfile["releases"]}
    rendered = {r["name"]: r for r in state["releases"]}
    assert set(rendered) == set(ours)
    for name, release in ours.items():  # helmfile adds defaults; what we wrote comes back unchanged
        for field, value in release.items():
            got = rendered[name][field]
            if field == "labels":  # helmfile adds its own name, namespace and chart labels
                got = {k: v for k, v in got.items() if k in value}
            assert got == value, (name, field)
    helmfile(plan, tmp_path, "lint", "--skip-deps")


@real.needs("helmfile", "helm")
def test_rendered_pods_land_where_the_plan_says(tmp_path):
    plan = planned(make_estate(tmp_path))
    objects = documents(helmfile(plan, tmp_path, "template", "--skip-deps"))
    assert {p.target for p in plan.placements} == {"fargate", "nodegroup"}
    assert misplaced(plan, objects) == []


@real.needs("helmfile", "helm")
def test_a_wrong_pod_labels_value_is_caught(tmp_path):
    """The oracle can fail: with a podLabelsValue the chart does not read, the routing label never
    reaches the pods and EKS would leave shop/checkout Pending (no Fargate selector, no node)."""
    plan = planned(make_estate(tmp_path, estate_profiles(web_labels="labels")))
    wrong = misplaced(plan, documents(helmfile(plan, tmp_path, "template", "--skip-deps")))
    assert [w.split(":")[0] for w in wrong] == ["shop/checkout"]


@real.needs("helmfile", "helm")
def test_the_example_estate_helmfile_builds(tmp_path):
    from tests.conftest import ROOT

    plan = build_plan(ROOT / "composer.yaml", sorted((ROOT / "profiles").rglob("*.yaml")), tmp_path / "generated")
    write(plan)
    (state,) = documents(helmfile(plan, tmp_path, "build"))
    assert [r["name"] for r in state["releases"]] == [r["name"] for r in plan.helmfile["releases"]]
    assert state["repositories"] == plan.helmfile["repositories"]


# ---------------------------------------------------------------- into a real API server


@pytest.fixture
def apiserver(tmp_path):
    server = real.ApiServer(tmp_path / "kube")
    (tmp_path / "kube").mkdir()
    try:
        yield server.start()
    finally:
        server.stop()


def read_back(server: real.ApiServer, namespaces: set[str]) -> list[dict]:
    paths = {
        "Deployment": "/apis/apps/v1/namespaces/{}/deployments",
        "DaemonSet": "/apis/apps/v1/namespaces/{}/daemonsets",
        "StatefulSet": "/apis/apps/v1/namespaces/{}/statefulsets",
        "Job": "/apis/batch/v1/namespaces/{}/jobs",
        "CronJob": "/apis/batch/v1/namespaces/{}/cronjobs",
    }
    objects = []
    for namespace in sorted(namespaces):
        for kind, path in paths.items():
            for item in server.get(path.format(namespace))["items"]:
                objects.append({**item, "kind": kind})
    return objects


def schedulable(cluster: dict):
    """Would EKS run this pod template: a Fargate profile selects it, or some node group takes it."""

    def check(namespace: str, template: dict) -> bool:
        labels = (template.get("metadata") or {}).get("labels") or {}
        return bool(selectors_matching(cluster, namespace, labels) or accepting_groups(cluster, template))

    return check


@real.needs("helm")
def test_preflight_finds_the_real_helm_diff_plugin_and_misses_it_without(tmp_path):
    """compose's preflight reads real helm's `helm plugin list` as helm prints it."""
    import subprocess

    from composer.cluster.tools import _helm_diff

    def runner_for(env):
        def runner(argv, on_line, timeout=None):
            done = subprocess.run([real.find(argv[0]), *argv[1:]], capture_output=True, text=True, env=env, timeout=60)
            for line in done.stdout.splitlines():
                on_line("out", line)
            return done.returncode

        return runner

    with_diff = real.tool_env(tmp_path / "a")
    assert _helm_diff(runner_for(with_diff), 60) == []
    without = {**with_diff, "HELM_PLUGINS": str(tmp_path / "no-plugins")}
    assert "helm's diff plugin is not installed" in _helm_diff(runner_for(without), 60)[0]


@real.needs("helmfile", "helm")
def test_a_node_group_release_whose_chart_ignores_the_node_selector_is_caught(tmp_path):
    """The oracle can fail: with nodeSelectorValue naming a value the chart does not read, the arm64
    workload's pods carry no node-class selector and would be refused by every tainted group."""
    profiles = estate_profiles()
    for doc in profiles:
        if doc["metadata"]["name"] == "embed":
            doc["release"] = {**doc["release"], "nodeSelectorValue": "scheduling.nodeSelector"}
    plan = planned(make_estate(tmp_path, profiles))
    wrong = misplaced(plan, documents(helmfile(plan, tmp_path, "template", "--skip-deps")))
    assert [w.split(":")[0] for w in wrong] == ["ml/embed"]


# ---------------------------------------------------------------- compose apply with the real helmfile and helm


def _applying(tmp_path: Path, apiserver: real.ApiServer):
    """(estate root, its plan, apply(*options)): `compose apply --yes` run as a user runs it, with the fake
    eksctl (no AWS here) and the real helmfile, helm and kubectl on PATH, into ``apiserver``."""
    import os
    import subprocess
    import sys

    root = make_estate(tmp_path / "estate")
    fakes = tmp_path / "fakebin"
    fakes.mkdir()
    for name in ("eksctl", "_fakecloud.py"):  # the fake eksctl only: helmfile, helm and kubectl are real
        shutil.copy(Path(__file__).parent / "fakebin" / name, fakes / name)
    env = real.tool_env(tmp_path / "home")
    env.update(
        PATH=os.pathsep.join([str(fakes), str(real.BIN), str(Path(sys.executable).parent), env["PATH"]]),
        FAKE_CLOUD_DIR=str(tmp_path / "cloud"),
        FAKE_KUBECONFIG=str(apiserver.kubeconfig),
        NO_COLOR="1",
    )
    env.pop("KUBECONFIG", None)  # helmfile must use the kubeconfig apply has eksctl write for this cluster
    plan = build_plan(root / "composer.yaml", sorted((root / "profiles").glob("*.yaml")))

    def apply(*options: str):
        return subprocess.run(
            [sys.executable, "-m", "composer", "apply", "--yes", *options],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )

    return root, plan, apply


# ---------------------------------------------------------------- compose validate --render (real helm)


@real.needs("helm")
def test_validate_render_passes_charts_that_read_the_values_compose_writes(tmp_path, capsys, monkeypatch):
    import os

    from tests.conftest import run_cli

    root = make_estate(tmp_path)
    monkeypatch.setenv("PATH", f"{real.BIN}{os.pathsep}{os.environ['PATH']}")
    code, out, err = run_cli(["validate", "--render"], root, capsys, monkeypatch)
    assert code == 0 and "file(s) valid" in out and "note:" not in err, err


@real.needs("helm")
@pytest.mark.parametrize(
    "field,value,culprit,message",
    [
        (
            "podLabelsValue",
            "labels",
            "shop/checkout",
            "renders without the Fargate routing label composer.io/compute=fargate",
        ),
        (
            "nodeSelectorValue",
            "scheduling.nodeSelector",
            "ml/embed",
            "renders without nodeSelector composer.io/node-class=arm64",
        ),
        (
            "tolerationsValue",
            "scheduling.tolerations",
            "ml/embed",
            "renders without the toleration for kubernetes.io/arch=arm64",
        ),
        (
            "serviceAccountValue",
            "rbac.serviceAccount",
            "shop/checkout",
            "render(s) with service account default, not checkout",
        ),
    ],
)
def test_validate_render_names_the_release_and_the_value_a_chart_does_not_read(
    field, value, culprit, message, tmp_path, capsys, monkeypatch
):
    import os

    from tests.conftest import run_cli

    profiles = estate_profiles()
    for doc in profiles:
        if f"{doc['metadata']['namespace']}/{doc['metadata']['name']}" == culprit:
            doc["release"] = {**doc["release"], field: value}
        if doc["metadata"]["name"] == "checkout":  # an IRSA workload: its pods must run as its account
            doc["workload"].update(
                awsCredentials="irsa",
                serviceAccount={
                    "name": "checkout",
                    "attachPolicyARNs": ["arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"],
                },
            )
    root = make_estate(tmp_path, profiles)
    monkeypatch.setenv("PATH", f"{real.BIN}{os.pathsep}{os.environ['PATH']}")
    code, _, err = run_cli(["validate", "--render"], root, capsys, monkeypatch)
    problems = [line for line in err.splitlines() if "[render]" in line]
    assert code == 1 and len(problems) == 1, err
    assert f"{culprit}: Deployment/" in problems[0] and message in problems[0] and f"'{value}'" in problems[0]


def _pod_of(server: real.ApiServer, namespace: str, deployment: str, scheduler: str) -> None:
    """A running pod of ``deployment`` (through its ReplicaSet, as the controller would make it), placed
    by ``scheduler``: default-scheduler is a pod that started on a node before its Fargate profile existed."""
    apps = f"/apis/apps/v1/namespaces/{namespace}"
    dep = server.get(f"{apps}/deployments/{deployment}")
    rs = next(
        r
        for r in server.get(f"{apps}/replicasets")["items"]
        if any(ref["uid"] == dep["metadata"]["uid"] for ref in r["metadata"].get("ownerReferences") or ())
    )
    try:  # (no controller-manager here to create the namespace's default service account)
        server.request(
            "POST",
            f"/api/v1/namespaces/{namespace}/serviceaccounts",
            {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default"}},
        )
    except OSError:
        pass  # already there
    server.request(
        "POST",
        f"/api/v1/namespaces/{namespace}/pods",
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": f"{rs['metadata']['name']}-x1",
                "labels": dep["spec"]["template"]["metadata"]["labels"],
                "ownerReferences": [
                    {
                        "apiVersion": "apps/v1",
                        "kind": "ReplicaSet",
                        "name": rs["metadata"]["name"],
                        "uid": rs["metadata"]["uid"],
                        "controller": True,
                    }
                ],
            },
            "spec": {
                "schedulerName": scheduler,
                "automountServiceAccountToken": False,
                "containers": [{"name": "web", "image": "nginx"}],
            },
        },
    )


def _restarted(server: real.ApiServer, namespace: str, deployment: str) -> bool:
    dep = server.get(f"/apis/apps/v1/namespaces/{namespace}/deployments/{deployment}")
    return "kubectl.kubernetes.io/restartedAt" in (dep["spec"]["template"]["metadata"].get("annotations") or {})


@real.needs("helmfile", "helm", "kubectl", "kube-apiserver", "etcd")
def test_installed_pods_land_where_the_plan_says_and_those_left_on_nodes_are_restarted(tmp_path, apiserver):
    """`compose apply` installs the estate with the real helmfile into a real API server, and every
    workload's pods land where the plan says (EKS's rule, on what the server holds). Then a Fargate
    workload whose pod runs on a node (it started before its profile existed) is found by real kubectl's
    field selector and owner lookup and restarted with `kubectl rollout restart`, seen on the server as
    the restartedAt annotation; a node-group workload in the same namespace is left alone. (That a second
    apply changes nothing else is checked in tests/test_day2_sim.py.)"""
    root, plan, apply = _applying(tmp_path, apiserver)
    namespaces = {p.workload.namespace for p in plan.placements}

    with real.Scheduler(apiserver, namespaces, schedulable(plan.cluster)):
        first = apply()
        assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-2000:]
        assert misplaced(plan, read_back(apiserver, namespaces)) == []
        _pod_of(apiserver, "shop", "checkout", "default-scheduler")  # Fargate workload, on a node
        _pod_of(apiserver, "shop", "admin", "default-scheduler")  # node-group workload, rightly on a node
        second = apply()
        restarted = _restarted(apiserver, "shop", "checkout"), _restarted(apiserver, "shop", "admin")
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-2000:]
    assert "<> workload shop/deployment/checkout: 1 pod(s) on EC2 nodes" in second.stdout
    assert "$ kubectl rollout restart deployment/checkout --namespace shop --kubeconfig" in second.stdout
    assert restarted == (True, False)


@real.needs("helm")
def test_validate_render_catches_a_chart_that_copies_the_routing_labels_into_its_selector(
    tmp_path, capsys, monkeypatch
):
    """A Deployment's selector never changes: a chart that puts podLabels there (as the cluster-autoscaler
    chart does) would fail `helm upgrade` at the next move between Fargate and nodes or profile replace;
    validate --render says so at release.podLabelsValue. The unchanged chart passes (the oracle can fail)."""
    import os

    from tests.conftest import run_cli

    root = make_estate(tmp_path)
    template = root / "charts" / "web" / "templates" / "deployment.yaml"
    text = template.read_text()
    copied = text.replace(
        """    matchLabels:
      {{- include "web.selectorLabels" . | nindent 6 }}
""",
        """    matchLabels:
      {{- include "web.selectorLabels" . | nindent 6 }}
      {{- with .Values.podLabels }}
      {{- toYaml . | nindent 6 }}
      {{- end }}
""",
    )
    assert copied != text
    template.write_text(copied)
    monkeypatch.setenv("PATH", f"{real.BIN}{os.pathsep}{os.environ['PATH']}")
    code, _, err = run_cli(["validate", "--render"], root, capsys, monkeypatch)
    flagged = [line for line in err.splitlines() if "into its selector" in line]
    assert code == 1 and flagged, err
    assert all("release.podLabelsValue" not in line or "[render]" in line for line in flagged)
    assert "composer.io/compute" in " ".join(flagged) and "field is immutable" in " ".join(flagged)


@real.needs("kubectl", "kube-apiserver", "etcd")
def test_windows_ipam_is_read_and_turned_on_through_real_kubectl(tmp_path, apiserver, monkeypatch):
    """The read and the two writes apply uses for the VPC CNI's Windows IPAM, run by the real kubectl
    against a real API server: absent, created on; then off (as the VPC CNI's manifest ships it), patched
    on, leaving the other keys."""
    import os

    from composer.cluster import apply as ap
    from composer.cluster import reconcile
    from composer.cluster.runner import sh_runner

    monkeypatch.setenv("PATH", f"{real.BIN}{os.pathsep}{os.environ['PATH']}")
    options = ap.ApplyOptions(kube_context=None)
    monkeypatch.setattr(ap, "kubeconfig_path", lambda cluster: apiserver.kubeconfig)

    def run(argv) -> None:
        done = real.run(list(argv), dict(os.environ))
        assert done.returncode == 0, done.stderr

    assert ap.probe_windows_ipam(sh_runner, "sim", options) == "absent"
    for step in ap.windows_ipam_steps(reconcile.windows_ipam_actions("absent"), options, "sim"):
        run(step.argv)
    assert ap.probe_windows_ipam(sh_runner, "sim", options) == "true"
    run(
        [
            "kubectl",
            "--kubeconfig",
            str(apiserver.kubeconfig),
            "delete",
            "configmap",
            "amazon-vpc-cni",
            "-n",
            "kube-system",
        ]
    )
    literals = ["--from-literal=enable-windows-ipam=false", "--from-literal=warm-ip-target=1"]
    run(
        [
            "kubectl",
            "--kubeconfig",
            str(apiserver.kubeconfig),
            "create",
            "configmap",
            "amazon-vpc-cni",
            "-n",
            "kube-system",
            *literals,
        ]
    )
    assert ap.probe_windows_ipam(sh_runner, "sim", options) == "false"
    for step in ap.windows_ipam_steps(reconcile.windows_ipam_actions("false"), options, "sim"):
        run(step.argv)
    data = apiserver.get("/api/v1/namespaces/kube-system/configmaps/amazon-vpc-cni")["data"]
    assert data == {"enable-windows-ipam": "true", "warm-ip-target": "1"}


# ---------------------------------------------------------------- the generated Cluster Autoscaler release

# the kubernetes/autoscaler chart when a checkout of it is given, else the stand-in (tests/realtools/charts)
AUTOSCALER_CHART = Path(os.environ.get("COMPOSE_AUTOSCALER_CHART") or real.CHARTS / "autoscaler")


def autoscaler_values(plan: Plan) -> dict:
    """The values compose gives the cluster-autoscaler release, merged as helm merges its values list."""
    release = next(r for r in plan.helmfile["releases"] if r["name"] == "cluster-autoscaler")
    merged: dict = {}
    for layer in release["values"]:
        for key, value in layer.items():
            merged[key] = {**merged[key], **value} if isinstance(merged.get(key), dict) else value
    return json.loads(json.dumps(merged))  # (plain data, for yaml and json)


@real.needs("helm", "kubectl", "kube-apiserver", "kube-controller-manager", "etcd")
def test_the_generated_autoscaler_upgrades_across_routing_changes_and_leaves_a_pod_labels_selector(
    tmp_path, monkeypatch
):
    """Cluster Autoscaler's chart copies ``podLabels`` into its Deployment's selector, which is immutable.
    compose routes it through ``additionalLabels`` (pods only), so a new ``fargate.routingLabel`` upgrades
    cleanly with real helm against a real API server; one installed the old way (routing in
    ``podLabels``, whose upgrade fails) is moved over as apply does it: its live selector read through real
    kubectl, the Deployment deleted with --cascade=orphan, and the upgrade re-creates it, whose real
    controllers adopt the running ReplicaSet and pod instead of replacing them at once."""
    from composer.cluster import apply as ap
    from composer.cluster import reconcile
    from composer.cluster.runner import sh_runner
    from composer.files.yamlio import dump
    from composer.place import autoscaler

    server = real.ApiServer(tmp_path / "kube")
    (tmp_path / "kube").mkdir()
    server.start()
    try:
        server.start_controllers(
            "deployment-controller",
            "replicaset-controller",
            "garbage-collector-controller",
            "serviceaccount-controller",
        )
        env = {**real.tool_env(tmp_path / "home"), "KUBECONFIG": str(server.kubeconfig)}
        monkeypatch.setenv("PATH", env["PATH"])
        monkeypatch.setenv("KUBECONFIG", env["KUBECONFIG"])

        def tool(*argv: str, ok: bool = True) -> subprocess.CompletedProcess:
            done = real.run(list(argv), env)
            assert (done.returncode == 0) == ok, f"{argv}: {done.stdout[-800:]} {done.stderr[-800:]}"
            return done

        def upgrade(values: dict, ok: bool = True) -> subprocess.CompletedProcess:
            path = tmp_path / "values.yaml"
            path.write_text(json.dumps(values))
            args = ("upgrade", "--install", "cluster-autoscaler", str(AUTOSCALER_CHART), "-n", "kube-system")
            return tool("helm", *args, "-f", str(path), ok=ok)

        def deployment() -> dict:
            return server.get(f"/apis/apps/v1/namespaces/kube-system/deployments/{autoscaler.DEPLOYMENT}")

        def wait_for(check, what: str) -> None:
            deadline = time.monotonic() + 60
            while not check():
                assert time.monotonic() < deadline, f"not within 60 s: {what}"
                time.sleep(0.2)

        def replica_sets() -> list[dict]:
            return server.get("/apis/apps/v1/namespaces/kube-system/replicasets")["items"]

        def pods() -> list[dict]:
            return server.get("/api/v1/namespaces/kube-system/pods")["items"]

        root = make_estate(
            tmp_path / "estate",
            [profile_doc("admin", "shop", release={"chart": "../charts/web"}, services=[{"type": "NodePort"}])],
            autoscaling={"autoscaler": "cluster-autoscaler"},
        )
        plan = planned(root)
        values = autoscaler_values(plan)
        key, value = plan.settings.routing_label
        assert values["additionalLabels"][key] == value and "podLabels" not in values
        tool("kubectl", "create", "serviceaccount", "cluster-autoscaler", "-n", "kube-system")  # (eksctl's)

        # the old way: routing in podLabels, so in the selector; its next routing change cannot upgrade
        old = {k: v for k, v in values.items() if k != "additionalLabels"} | {"podLabels": {key: value}}
        upgrade(old)
        wait_for(lambda: [p for p in pods() if p["metadata"]["name"].startswith(autoscaler.DEPLOYMENT)], "a pod")
        [running] = pods()
        [old_set] = replica_sets()
        assert "field is immutable" in upgrade({**old, "podLabels": {"team/compute": "fargate"}}, ok=False).stderr
        assert "field is immutable" in upgrade(values, ok=False).stderr  # (and so does today's release)

        # apply: the live selector read as apply reads it, then its steps
        options = ap.ApplyOptions(kube_context="test")
        live = ap.probe_selectors(sh_runner, "real", options, plan.fixed_selectors)
        todo = reconcile.selector_actions(plan.fixed_selectors, live)
        assert [(a.kind, a.name) for a in todo] == [("replace", f"kube-system/{autoscaler.DEPLOYMENT}")]
        assert reconcile.selector_actions(plan.fixed_selectors, live, partial=True)[0].kind == "differs"
        # (the generated release as helmfile gets it, but for the chart here and without --wait: no kubelet)
        release = next(r for r in plan.helmfile["releases"] if r["name"] == "cluster-autoscaler")
        release = {k: v for k, v in release.items() if k not in ("version", "needs", "wait", "timeout")}
        helmfile_path = tmp_path / "helmfile.yaml"
        helmfile_path.write_text(dump({"releases": [{**release, "chart": str(AUTOSCALER_CHART)}]}))
        delete, sync = ap.orphan_steps(todo, options, "real", helmfile_path)
        tool(*delete.argv)
        assert {p["metadata"]["uid"] for p in pods()} == {running["metadata"]["uid"]}  # still there
        # (were the run stopped here, the next one finds the Deployment missing and syncs the release alone)
        gone = reconcile.selector_actions(
            plan.fixed_selectors, ap.probe_selectors(sh_runner, "real", options, plan.fixed_selectors)
        )
        assert [a.kind for a in gone] == ["create"] and ap.orphan_steps(gone, options, "real", helmfile_path) == [sync]
        tool(*sync.argv)  # the real helmfile, selecting the release by its name and namespace labels
        assert deployment()["spec"]["selector"]["matchLabels"] == dict(autoscaler.SELECTOR)
        new_uid = deployment()["metadata"]["uid"]
        adopted = lambda: any(  # noqa: E731
            r["metadata"]["uid"] == old_set["metadata"]["uid"]
            and [o["uid"] for o in r["metadata"].get("ownerReferences") or []] == [new_uid]
            for r in replica_sets()
        )
        wait_for(adopted, "the running ReplicaSet adopted by the new Deployment")
        # its pod is not deleted: the rollout (the profile pin is new in the template) waits for the new
        # pod to be ready before it takes the old one away (maxUnavailable 0 for one replica)
        time.sleep(2)
        assert running["metadata"]["uid"] in {p["metadata"]["uid"] for p in pods()}
        now = ap.probe_selectors(sh_runner, "real", options, plan.fixed_selectors)
        assert now == {"kube-system/cluster-autoscaler": (autoscaler.DEPLOYMENT, dict(autoscaler.SELECTOR))}
        assert reconcile.selector_actions(plan.fixed_selectors, now) == []

        # routed by a new label now: the upgrade goes through, the selector stays, the pods carry the label
        (root / "composer.yaml").write_text(
            (root / "composer.yaml").read_text()
            + "fargate:\n  routingLabel: {key: team.example.com/compute, value: fargate}\n"
        )
        moved = autoscaler_values(planned(root))
        assert moved["additionalLabels"]["team.example.com/compute"] == "fargate"
        upgrade(moved)
        assert deployment()["spec"]["selector"]["matchLabels"] == dict(autoscaler.SELECTOR)
        labels = deployment()["spec"]["template"]["metadata"]["labels"]
        assert labels["team.example.com/compute"] == "fargate" and key not in labels
    finally:
        server.stop()
