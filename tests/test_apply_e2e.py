"""`compose apply` end to end through the real ``sh`` runner, with fake eksctl/helmfile/helm on PATH.

The fakes (tests/fakebin/) keep a small cluster state in a temp folder, record every argv, and
check what they are handed: the fake eksctl validates the ClusterConfig against eksctl's
published schema (when ../shared/reference is present) and refuses an invalid one, as the real
tool does; the fake helmfile validates helmfile.yaml against helmfile's schema and checks
that values files exist.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from composer.cli.main import main
from composer.place.nodegroups import slot
from tests.conftest import REFERENCE, ROOT, needs_reference

FAKEBIN = Path(__file__).resolve().parent / "fakebin"


@pytest.fixture
def cloud(tmp_path, monkeypatch):
    """The example estate in a temp folder, fake tools first on PATH; returns the fake-state folder."""
    work = tmp_path / "work"
    work.mkdir()
    for name in ("composer.yaml", "profiles", "values"):
        source = ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, work / name)
    state = tmp_path / "cloud"
    monkeypatch.setenv("PATH", os.pathsep.join([str(FAKEBIN), str(Path(sys.executable).parent), os.environ["PATH"]]))
    monkeypatch.setenv("FAKE_CLOUD_DIR", str(state))
    if REFERENCE.is_dir():
        monkeypatch.setenv("FAKE_EKSCTL_SCHEMA", str(REFERENCE / "eksctl-clusterconfig.schema.json"))
        monkeypatch.setenv("FAKE_HELMFILE_SCHEMA", str(REFERENCE / "helmfile.schema.json"))
    monkeypatch.chdir(work)
    return state


_APPLIED: dict[tuple, Path] = {}  # the state after a first apply, per (estate, fake settings), for this session


def first_apply(cloud: Path) -> None:
    """``compose apply --yes`` on a new cluster, as the first step of a day-2 test; succeeds.

    The first test to ask runs it and keeps the result (the estate folder and the fake cloud); later tests
    with the same estate files and fake settings start from a copy, so each case costs its own steps only.
    """
    work = Path.cwd()
    files = sorted(p for p in work.rglob("*") if p.is_file())
    key = (
        tuple((str(p.relative_to(work)), p.read_bytes()) for p in files),
        tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("FAKE_") and k != "FAKE_CLOUD_DIR")),
    )
    saved = _APPLIED.get(key)
    if saved is None:
        assert main(["apply", "--yes"]) == 0
        saved = Path(tempfile.mkdtemp(prefix="compose-e2e-applied-"))
        shutil.copytree(work, saved / "work", symlinks=True)
        shutil.copytree(cloud, saved / "cloud")
        _APPLIED[key] = saved
        return
    shutil.rmtree(work)
    shutil.copytree(saved / "work", work, symlinks=True)
    shutil.rmtree(cloud, ignore_errors=True)
    shutil.copytree(saved / "cloud", cloud)
    os.chdir(work)


def calls(state: Path) -> list[list[str]]:
    path = state / "calls.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def changing(state: Path) -> list[list[str]]:
    return [c for c in calls(state) if c[1] in ("create", "delete") or "apply" in c]


def test_apply_twice_first_creates_then_does_nothing(cloud, capsys):
    first_apply(cloud)
    out = capsys.readouterr().out
    assert changing(cloud) == [
        ["eksctl", "create", "cluster", "-f", "generated/cluster.yaml"],
        [
            "helmfile",
            "--file",
            "generated/helmfile.yaml",
            "--kubeconfig",
            str(Path.cwd() / ".compose/kubeconfig-shop-prod"),
            "apply",
            "--suppress-secrets",
            "--detailed-exitcode",
        ],
    ]
    assert [
        "eksctl",
        "utils",
        "write-kubeconfig",
        "--cluster",
        "shop-prod",
        "--region",
        "us-east-1",
        "--kubeconfig",
        str(Path.cwd() / ".compose/kubeconfig-shop-prod"),
    ] in calls(cloud)  # never the current context
    from composer.files.yamlio import load_file

    cluster = json.loads((cloud / "cluster.json").read_text())
    assert (
        cluster["name"] == "shop-prod"
        and sorted(cluster["fargate"])
        == sorted(p["name"] for p in load_file(Path("generated/cluster.yaml"))["fargateProfiles"])
        and len(cluster["nodegroups"]) == 6
    )
    from composer.files.yamlio import load_file

    releases = load_file(Path("generated/helmfile.yaml"))["releases"]
    assert (
        sorted(json.loads((cloud / "releases.json").read_text()))
        == sorted(f"{r['namespace']}/{r['name']}" for r in releases)
        and len(releases) == 23
    )  # 21 workload releases, the autoscaler, the log router
    assert "Apply complete: 5 step(s), 3 changed something" in out  # (one is the access-entry check)
    # the files are the bytes `compose plan --write` writes
    written = {n: (Path("generated") / n).read_bytes() for n in ("cluster.yaml", "helmfile.yaml")}
    assert main(["plan", "--detailed-exitcode"]) == 0 and "unchanged" in capsys.readouterr().out

    before = len(calls(cloud))
    assert main(["apply", "--yes"]) == 0
    out = capsys.readouterr().out
    second = calls(cloud)[before:]
    assert not any(c[1] in ("create", "delete") for c in second)
    assert [
        "eksctl",
        "get",
        "fargateprofile",
        "--cluster",
        "shop-prod",
        "--region",
        "us-east-1",
        "-o",
        "json",
    ] in second
    assert "No affected releases" in out and "Apply complete: 2 step(s), 0 changed something" in out
    assert {n: (Path("generated") / n).read_bytes() for n in written} == written


def test_a_failure_midway_then_a_rerun_resumes(cloud, capsys, monkeypatch):
    monkeypatch.setenv("FAKE_FAIL", "helmfile --file")
    assert main(["apply", "--yes"]) == 4
    out = capsys.readouterr().out
    assert "Step 5 failed (exit 1)" in out and "AccessDenied" in out
    assert "Completed: 1, 2, 3, 4. Not started: none." in out
    assert (cloud / "cluster.json").exists() and not (cloud / "releases.json").exists()

    assert main(["apply", "--yes"]) == 0  # the fake fails only once
    out = capsys.readouterr().out
    creates = [c for c in calls(cloud) if c[1] == "create"]
    assert creates == [["eksctl", "create", "cluster", "-f", "generated/cluster.yaml"]]  # not attempted twice
    assert "2 step(s):" in out and (cloud / "releases.json").exists()


def test_node_group_failure_on_an_existing_cluster_then_resume(cloud, capsys, monkeypatch):
    first_apply(cloud)
    state = json.loads((cloud / "cluster.json").read_text())
    general = next(n for n in state["nodegroups"] if slot(n) == "ng-general")
    state["nodegroups"] = {general: state["nodegroups"][general]}  # someone deleted five node groups
    (cloud / "cluster.json").write_text(json.dumps(state))
    capsys.readouterr()
    monkeypatch.setenv("FAKE_FAIL", "eksctl create nodegroup")
    assert main(["apply", "--yes"]) == 4
    out = capsys.readouterr().out
    included = re.search(r"\$ eksctl create nodegroup -f generated/cluster.yaml --include (\S+)", out).group(1)
    assert [slot(n) for n in included.split(",")] == [
        "ng-arm64-spot",
        "ng-general-large",
        "ng-general-spot",
        "ng-gpu",
        "ng-windows",
    ]
    assert "Step 1 failed" in out and "Not started: 2, 3." in out
    assert main(["apply", "--yes"]) == 0
    assert len(json.loads((cloud / "cluster.json").read_text())["nodegroups"]) == 6


def test_too_old_tools_are_refused_before_anything_runs(cloud, capsys, monkeypatch):
    monkeypatch.setenv("FAKE_HELMFILE_VERSION", "0.169.2")
    assert main(["apply", "--yes"]) == 1
    err = capsys.readouterr().err
    assert "helmfile 0.169.2 is too old: helmfile >= 1.0.0 is needed" in err
    assert [c[:2] for c in calls(cloud)] == [
        ["eksctl", "version"],
        ["helmfile", "--version"],
        ["helm", "version"],
        ["kubectl", "version"],
        ["aws", "--version"],  # (logging on: role check)
        ["helm", "plugin"],
    ]  # read-only checks only
    assert not Path("generated").exists()


def test_prune_after_a_profile_is_removed(cloud, capsys):
    first_apply(cloud)
    for path in Path("profiles/ml").glob("*.yaml"):  # no more GPU workloads
        path.unlink()
    capsys.readouterr()
    gpu = next(n for n in json.loads((cloud / "cluster.json").read_text())["nodegroups"] if slot(n) == "ng-gpu")
    assert main(["apply", "--yes"]) == 0
    assert f"node group {gpu}: g5.xlarge × 0–3 — no longer wanted, kept (--prune deletes it)" in capsys.readouterr().out
    assert main(["apply", "--yes", "--prune"]) == 0
    assert calls(cloud)[-1][:9] == [
        "eksctl",
        "delete",
        "nodegroup",
        "--cluster",
        "shop-prod",
        "--region",
        "us-east-1",
        "--name",
        gpu,
    ]
    assert gpu not in json.loads((cloud / "cluster.json").read_text())["nodegroups"]


def _start_long_apply(env: dict) -> subprocess.Popen:
    """``compose apply --yes`` in a process of its own (with FAKE_SLEEP its helmfile step runs long)."""
    return subprocess.Popen(
        [sys.executable, "-m", "composer", "apply", "--yes"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_signals,
    )


def _wait_for_helmfile(cloud: Path, process: subprocess.Popen) -> None:
    """Until that apply's helmfile step has started (at most a minute)."""
    deadline = time.monotonic() + 60
    while not (cloud / "helmfile-started").exists():
        assert time.monotonic() < deadline and process.poll() is None, process.communicate()
        time.sleep(0.05)


def test_ctrl_c_reaches_the_running_command_and_the_report_says_where(cloud, tmp_path):
    env = {**os.environ, "FAKE_SLEEP": "30", "NO_COLOR": "1"}
    process = _start_long_apply(env)
    _wait_for_helmfile(cloud, process)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, out + err
    assert (cloud / "helmfile-got-sigint").exists()  # compose passed Ctrl-C on to helmfile
    assert "Interrupted during step 5 (install or upgrade the Helm releases)" in out
    assert "Completed: 1, 2, 3, 4. Not started: none." in out
    assert "Received interrupt" in out  # the child's last words were streamed
    assert "Traceback" not in err


def default_signals():
    """In the child: SIGINT and SIGHUP back to their defaults (a CI runner may start us with them
    ignored, which children inherit and compose rightly respects)."""
    for signum in (signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_and_sighup_are_passed_on_waited_for_and_reported(cloud, signum):
    """A cancelled CI job (SIGTERM) or a closed terminal (SIGHUP) no longer kills compose and orphans
    the tool it runs (which has its own session): compose passes the signal on, waits, reports."""
    env = {**os.environ, "FAKE_SLEEP": "30", "NO_COLOR": "1"}
    process = _start_long_apply(env)
    _wait_for_helmfile(cloud, process)
    process.send_signal(signum)
    out, err = process.communicate(timeout=60)
    name = signal.Signals(signum).name
    assert process.returncode == 128 + signum, out + err
    # helmfile stops cleanly on SIGINT and SIGTERM only; it has its own session, so SIGHUP becomes SIGTERM
    assert (cloud / "helmfile-got-sigterm").exists()
    assert (
        f"Interrupted during step 5 (install or upgrade the Helm releases) by {name}; the command was sent SIGTERM"
    ) in out
    assert "Traceback" not in err
    log = next(Path(".compose/logs").glob("apply-*.log"))
    assert "Received SIGTERM" in log.read_text() and "[compose] passed SIGTERM on to helmfile" in log.read_text()


def test_a_second_apply_of_the_same_cluster_is_refused_while_one_runs(cloud):
    env = {**os.environ, "FAKE_SLEEP": "30", "NO_COLOR": "1"}
    first = _start_long_apply(env)
    try:
        _wait_for_helmfile(cloud, first)
        second = subprocess.run(
            [sys.executable, "-m", "composer", "apply", "--yes"], env=env, capture_output=True, text=True, timeout=60
        )
        assert second.returncode == 1
        assert f"another `compose apply` of cluster 'shop-prod' is running (pid {first.pid}," in second.stderr
        assert "Nothing was run or written." in second.stderr
    finally:
        first.send_signal(signal.SIGINT)
        first.communicate(timeout=60)
    assert stat.S_IMODE(os.stat(".compose/logs").st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in Path(".compose/logs").iterdir()} == {0o600}


@needs_reference
def test_the_fake_eksctl_refuses_an_invalid_cluster_config_like_the_real_one(cloud, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "apiVersion: eksctl.io/v1alpha5\nkind: ClusterConfig\nmetadata: {name: x, region: us-east-1}\n"
        "managedNodeGroups: [{name: ng, minSize: many}]\n"
    )
    result = subprocess.run(["eksctl", "create", "cluster", "-f", str(bad)], capture_output=True, text=True)
    assert result.returncode == 1 and "ClusterConfig is invalid" in result.stderr


def _profiles(cloud: Path) -> dict:
    return json.loads((cloud / "cluster.json").read_text())["fargate"]


def _seed_pod_off_fargate(cloud: Path) -> None:
    """email-worker's pod in notifications, selected by a Fargate profile but started on a node (as when the
    profile was created after the pod: EKS places a pod only when it is created)."""
    selector = next(s for p in _profiles(cloud).values() for s in p["selectors"] if s["namespace"] == "notifications")
    labels = {**(selector.get("labels") or {}), "app.kubernetes.io/name": "email-worker"}
    rs = {
        "metadata": {
            "name": "email-worker-7d9f",
            "namespace": "notifications",
            "ownerReferences": [{"kind": "Deployment", "name": "email-worker", "controller": True}],
        }
    }
    pod = {
        "metadata": {
            "name": "email-worker-7d9f-x2",
            "namespace": "notifications",
            "labels": labels,
            "ownerReferences": [{"kind": "ReplicaSet", "name": "email-worker-7d9f", "controller": True}],
        },
        "spec": {"schedulerName": "default-scheduler"},
        "status": {"phase": "Running"},
    }
    job = {
        "metadata": {
            "name": "export-1-abc",
            "namespace": "notifications",
            "labels": labels,
            "ownerReferences": [{"kind": "Job", "name": "export-1", "controller": True}],
        },
        "spec": {"schedulerName": "default-scheduler"},
        "status": {"phase": "Running"},
    }
    (cloud / "pods.json").write_text(json.dumps([pod, job]))
    (cloud / "replicasets.json").write_text(json.dumps([rs]))


def _replace_a_shared_profile() -> None:
    """batch's workloads leave the estate: the profile batch shares with kube-system and notifications must
    be replaced by one without it (EKS cannot remove a selector), and notifications' pods move with it."""
    import shutil

    from composer.emit.plan import build_plan

    before = {p["name"] for p in build_plan(Path("composer.yaml"), [Path("profiles")]).cluster["fargateProfiles"]}
    shutil.rmtree("profiles/batch")
    after = {p["name"] for p in build_plan(Path("composer.yaml"), [Path("profiles")]).cluster["fargateProfiles"]}
    assert len(before - after) == 1 and len(after - before) == 1, (before, after)


def _check_replaced_safely(cloud: Path) -> None:
    """The cluster has exactly the planned profiles, and no profile was deleted before every planned profile
    sharing one of its namespaces existed (create-before-delete)."""
    from composer.files.yamlio import load_file

    planned = {
        p["name"]: {s["namespace"] for s in p["selectors"]}
        for p in load_file(Path("generated/cluster.yaml"))["fargateProfiles"]
    }
    assert sorted(_profiles(cloud)) == sorted(planned)
    events = json.loads((cloud / "cluster.json").read_text())["events"]
    created: set[str] = set()
    gone: dict[str, set[str]] = {}
    for verb, name in events:
        if verb == "create":
            created.add(name)
        else:
            gone[name] = {n for n, spaces in planned.items() if n not in created}
    assert gone, "a profile should have been replaced"
    assert all(not waiting for waiting in gone.values()), f"deleted before its successor existed: {gone}"


def test_a_changed_fargate_profile_is_replaced_and_stray_pods_restarted(cloud, capsys):
    first_apply(cloud)
    _seed_pod_off_fargate(cloud)
    _replace_a_shared_profile()
    capsys.readouterr()
    assert main(["plan", "--refresh", "--no-diff"]) == 0
    out = capsys.readouterr().out
    assert "<> workload notifications/deployment/email-worker: 1 pod(s) on EC2 nodes" in out
    assert "! workload notifications/job/export-1" in out and "never restarted" in out
    assert "1 to create, 1 to replace, 0 to resize, 0 to delete, 1 to restart." in out
    assert main(["apply", "--yes"]) == 0
    _check_replaced_safely(cloud)
    steps = [c for c in calls(cloud) if c[1] in ("create", "delete", "rollout") or "apply" in c]
    assert [c[:3] for c in steps[-4:]] == [  # every removal after the releases, once nothing runs on it
        ["eksctl", "create", "fargateprofile"],
        ["helmfile", "--file", "generated/helmfile.yaml"],
        ["eksctl", "delete", "fargateprofile"],
        ["kubectl", "rollout", "restart"],
    ]
    assert steps[-1][3:6] == ["deployment/email-worker", "--namespace", "notifications"]  # never the Job
    pods = json.loads((cloud / "pods.json").read_text())
    assert [p["spec"]["schedulerName"] for p in pods] == ["fargate-scheduler", "default-scheduler"]
    assert main(["apply", "--yes"]) == 0  # and then nothing is left to do
    assert "Cluster changes: 0 to create, 0 to replace, 0 to resize, 0 to delete." in capsys.readouterr().out


@pytest.mark.parametrize("after", [False, True], ids=["fails", "interrupted-after-acting"])
@pytest.mark.parametrize(
    "point", ["eksctl create fargateprofile", "eksctl delete fargateprofile", "helmfile", "kubectl rollout restart"]
)
def test_a_replace_stopped_at_any_step_is_finished_by_a_rerun(cloud, capsys, monkeypatch, point, after):
    first_apply(cloud)
    _seed_pod_off_fargate(cloud)
    _replace_a_shared_profile()
    monkeypatch.setenv("FAKE_FAIL", point if point != "helmfile" else "helmfile --file generated/helmfile.yaml")
    if after:
        monkeypatch.setenv("FAKE_FAIL_AFTER", "1")
    assert main(["apply", "--yes"]) == 4  # a step failed
    assert (cloud / "failed-once").exists()  # the failure point was reached
    capsys.readouterr()
    assert main(["apply", "--yes"]) == 0, capsys.readouterr()
    _check_replaced_safely(cloud)
    assert json.loads((cloud / "pods.json").read_text())[0]["spec"]["schedulerName"] == "fargate-scheduler"
    assert main(["apply", "--yes"]) == 0
    assert "0 to create, 0 to replace, 0 to resize, 0 to delete." in capsys.readouterr().out


@pytest.mark.parametrize("after", [False, True], ids=["fails", "interrupted-after-acting"])
@pytest.mark.parametrize("point", ["eksctl create nodegroup", "helmfile", "eksctl delete nodegroup"])
def test_a_node_group_replace_stopped_at_any_step_is_finished_by_a_rerun(cloud, capsys, monkeypatch, point, after):
    """The general group's instance type changes: a new group is created, the releases applied, then the old
    group drained and deleted. Stopped at any of these steps, a re-run finishes the job, and the old group is
    never deleted while its successor does not exist."""
    first_apply(cloud)
    old = next(n for n in json.loads((cloud / "cluster.json").read_text())["nodegroups"] if slot(n) == "ng-general")
    Path("composer.yaml").write_text(
        Path("composer.yaml")
        .read_text()
        .replace("general: {instanceType: m6i.xlarge}", "general: {instanceType: m6i.2xlarge}")
    )
    monkeypatch.setenv("FAKE_FAIL", point if point != "helmfile" else "helmfile --file generated/helmfile.yaml")
    if after:
        monkeypatch.setenv("FAKE_FAIL_AFTER", "1")
    assert main(["apply", "--yes"]) == 4
    groups = json.loads((cloud / "cluster.json").read_text())["nodegroups"]
    assert old in groups or any(slot(n) == "ng-general" and n != old for n in groups)  # never without a general group
    capsys.readouterr()
    assert main(["apply", "--yes"]) == 0, capsys.readouterr()
    groups = json.loads((cloud / "cluster.json").read_text())["nodegroups"]
    general = [n for n in groups if slot(n) == "ng-general"]
    assert len(general) == 1 and general[0] != old and groups[general[0]]["InstanceType"] == "m6i.2xlarge"
    order = [
        c[1:3] + [c[c.index("--name") + 1] if "--name" in c else c[-1]]
        for c in calls(cloud)
        if c[:1] == ["eksctl"] and c[1:3] in (["create", "nodegroup"], ["delete", "nodegroup"])
    ]
    first_delete = next(i for i, c in enumerate(order) if c[:2] == ["delete", "nodegroup"])
    assert any(c[:2] == ["create", "nodegroup"] for c in order[:first_delete])  # created before the delete
    assert main(["apply", "--yes"]) == 0
    assert "0 to create, 0 to replace, 0 to resize, 0 to delete." in capsys.readouterr().out


def test_irsa_service_accounts_missing_on_an_existing_cluster_are_put_right_before_the_releases(cloud, capsys):
    """`create cluster` makes iam.serviceAccounts; on an existing cluster apply reads the accounts (kubectl) and
    eksctl's roles for them (eksctl get iamserviceaccount), before helmfile installs the pods that use them:
    an account whose role eksctl never made is created by eksctl; one whose role exists is written by kubectl
    with that role (eksctl refuses to --include an account whose stack exists, as the real one does); one a
    Helm release made is kept from that release, which would delete it on upgrade."""
    first_apply(cloud)
    accounts = json.loads((cloud / "serviceaccounts.json").read_text())
    assert sorted(f"{a['metadata']['namespace']}/{a['metadata']['name']}" for a in accounts) == [
        "batch/nightly-report",
        "kube-system/cluster-autoscaler",
        "notifications/email-worker",
        "shop/checkout-api",
    ]
    shop = next(a for a in accounts if a["metadata"]["name"] == "checkout-api")
    assert (
        shop["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
        == "arn:aws:iam::123456789012:role/shop-prod-checkout"
    )
    cluster = json.loads((cloud / "cluster.json").read_text())
    assert sorted(cluster["irsa"]) == [
        "batch/nightly-report",
        "kube-system/cluster-autoscaler",
        "notifications/email-worker",
    ]
    email_role = cluster["irsa"]["notifications/email-worker"]
    # email-worker's account deleted by hand (its role stays); nightly-report's made by its chart, without the
    # role; the autoscaler's role stack deleted (the account lost its role too)
    kept = [
        a for a in accounts if a["metadata"]["name"] not in ("email-worker", "nightly-report", "cluster-autoscaler")
    ]
    kept.append(
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {
                "namespace": "batch",
                "name": "nightly-report",
                "annotations": {"meta.helm.sh/release-name": "nightly-report"},
            },
        }
    )
    (cloud / "serviceaccounts.json").write_text(json.dumps(kept))
    del cluster["irsa"]["kube-system/cluster-autoscaler"]
    (cloud / "cluster.json").write_text(json.dumps(cluster))
    capsys.readouterr()
    assert main(["plan", "--refresh"]) == 0
    out = capsys.readouterr().out
    assert "+ IAM service account kube-system/cluster-autoscaler" in out
    assert "~ IAM service account notifications/email-worker: eksctl's role" in out
    assert "~ IAM service account batch/nightly-report" in out and "kept from it on upgrade" in out
    before = len(calls(cloud))
    assert main(["apply", "--yes"]) == 0, capsys.readouterr()
    ran = [c for c in calls(cloud)[before:] if c[1] in ("create", "delete", "annotate") or "apply" in c]
    kube = ["--kubeconfig", str(Path.cwd() / ".compose/kubeconfig-shop-prod")]
    assert ran == [
        [
            "eksctl",
            "create",
            "iamserviceaccount",
            "-f",
            "generated/cluster.yaml",
            "--include",
            "kube-system/cluster-autoscaler",
            "--override-existing-serviceaccounts",
            "--approve",
        ],
        [
            "kubectl",
            "annotate",
            "serviceaccount",
            "nightly-report",
            f"eks.amazonaws.com/role-arn={cluster['irsa']['batch/nightly-report']}",
            "helm.sh/resource-policy=keep",
            "--overwrite",
            "--namespace",
            "batch",
            *kube,
        ],
        ["kubectl", "create", "serviceaccount", "email-worker", "--namespace", "notifications", *kube],
        [
            "kubectl",
            "annotate",
            "serviceaccount",
            "email-worker",
            f"eks.amazonaws.com/role-arn={email_role}",
            "--overwrite",
            "--namespace",
            "notifications",
            *kube,
        ],
        ran[-1],
    ]
    assert ran[-1][0] == "helmfile"
    accounts = json.loads((cloud / "serviceaccounts.json").read_text())
    assert all(a["metadata"].get("annotations", {}).get("eks.amazonaws.com/role-arn") for a in accounts)
    before = len(calls(cloud))
    assert main(["apply", "--yes"]) == 0
    assert not any(c[1] in ("create", "annotate") for c in calls(cloud)[before:])


def test_the_fake_eksctl_refuses_to_include_an_account_whose_role_exists_like_the_real_one(cloud):
    """filter.go doSetExcludeExistingFilter: an existing stack named by --include is an error, with or
    without --override-existing-serviceaccounts (which only skips the Kubernetes check)."""
    first_apply(cloud)
    argv = ["eksctl", "create", "iamserviceaccount", "-f", "generated/cluster.yaml", "--approve"]
    argv += ["--include", "notifications/email-worker", "--override-existing-serviceaccounts"]
    done = subprocess.run(argv, capture_output=True, text=True)
    assert done.returncode != 0
    assert 'existing iamserviceaccount "notifications/email-worker" should be excluded, but matches include' in (
        done.stderr + done.stdout
    )


def test_apply_refuses_a_pod_execution_role_that_cannot_write_the_logs(cloud, capsys):
    """Logging on: eksctl cannot give the role the CloudWatch Logs actions, so apply asks IAM first and
    stops, before anything runs, naming the role, what it lacks and how to attach the policy it wrote."""
    role = "arn:aws:iam::123456789012:role/shop-prod-fargate-pods"
    (cloud).mkdir(exist_ok=True)
    (cloud / "iam.json").write_text(json.dumps({role: ["logs:PutLogEvents", "logs:CreateLogStream"]}))
    assert main(["apply", "--yes"]) == 1
    err = capsys.readouterr().err
    assert f"the Fargate pod execution role {role} lacks logs:CreateLogGroup, logs:DescribeLogStreams" in err
    assert (
        "aws iam put-role-policy --role-name shop-prod-fargate-pods --policy-name fargate-logging "
        "--policy-document file://generated/iam/fargate-logging-policy.json"
    ) in err
    assert "Nothing was run or written." in err
    assert not any(c[1] in ("create", "delete") or "apply" in c for c in calls(cloud))
    assert not Path("generated/iam/fargate-logging-policy.json").exists()  # nothing written either
    # the policy compose writes is what the role needs
    assert main(["plan", "--write"]) == 0
    policy = json.loads(Path("generated/iam/fargate-logging-policy.json").read_text())
    (cloud / "iam.json").write_text(json.dumps({role: policy["Statement"][0]["Action"]}))
    assert main(["apply", "--yes"]) == 0
    assert [
        "aws",
        "iam",
        "simulate-principal-policy",
        "--policy-source-arn",
        role,
        "--action-names",
        "logs:CreateLogStream",
        "logs:CreateLogGroup",
        "logs:DescribeLogStreams",
        "logs:PutLogEvents",
        "--region",
        "us-east-1",
        "--output",
        "json",
    ] in calls(cloud)


def test_a_new_cluster_with_logging_needs_a_role_of_its_own(cloud, capsys):
    text = Path("composer.yaml").read_text()
    Path("composer.yaml").write_text("\n".join(line for line in text.splitlines() if "podExecutionRoleARN" not in line))
    assert main(["apply", "--yes"]) == 1
    err = capsys.readouterr().err
    assert "eksctl would create the Fargate pod execution role with AmazonEKSFargatePodExecutionRolePolicy only" in err
    assert not any(c[1] == "create" for c in calls(cloud))


def test_the_fargate_role_access_entry_is_checked_after_profiles_are_created(cloud, capsys, monkeypatch):
    """accessConfig API: EKS grants the pod execution role with an access entry when it creates the profile;
    apply reads the entries right after and fails the run, before the releases, when the role has none."""
    first_apply(cloud)
    role = "arn:aws:iam::123456789012:role/shop-prod-fargate-pods"
    assert json.loads((cloud / "cluster.json").read_text())["accessentries"] == [role]
    assert ["eksctl", "get", "accessentry", "--cluster", "shop-prod", "--region", "us-east-1", "-o", "json"] in calls(
        cloud
    )
    # a new profile on a cluster that grants no entries (left in CONFIG_MAP mode): the run stops at the check
    _replace_a_shared_profile()
    monkeypatch.setenv("FAKE_NO_ACCESS_ENTRY", "1")
    cluster = json.loads((cloud / "cluster.json").read_text())
    cluster["accessentries"] = []
    (cloud / "cluster.json").write_text(json.dumps(cluster))
    before = len(calls(cloud))
    capsys.readouterr()
    assert main(["apply", "--yes"]) == 4
    out = capsys.readouterr()
    text = out.out + out.err
    assert f"no access entry grants {role} access to cluster shop-prod" in text and "--type FARGATE_LINUX" in text
    assert not any("apply" in c for c in calls(cloud)[before:])  # helmfile never ran


def test_a_cluster_left_in_config_map_mode_is_moved_to_access_entries_but_never_past_aws_auth(cloud, capsys):
    """An existing cluster in CONFIG_MAP mode (made before access entries): apply switches it to
    API_AND_CONFIG_MAP before it creates a Fargate profile, so EKS grants the role an access entry; it
    does not go on to the plan's API (aws-auth would stop counting), and says so instead of "complete"."""
    first_apply(cloud)
    cluster = json.loads((cloud / "cluster.json").read_text())
    cluster["authenticationMode"], cluster["accessentries"] = "CONFIG_MAP", []
    (cloud / "cluster.json").write_text(json.dumps(cluster))
    _replace_a_shared_profile()
    capsys.readouterr()
    assert main(["plan", "--refresh", "--no-diff"]) == 0
    out = capsys.readouterr().out
    assert "~ authentication mode shop-prod: CONFIG_MAP → API_AND_CONFIG_MAP" in out
    assert "! authentication mode shop-prod: API_AND_CONFIG_MAP, the plan has API" in out
    assert "1 to update; 1 difference(s) apply will not change." in " ".join(out.split())  # (wrapped at 80)
    before = len(calls(cloud))
    assert main(["apply", "--yes"]) == 5  # every step ran, but the cluster is not yet what the plan says
    out = capsys.readouterr().out
    run = [c[:3] for c in calls(cloud)[before:]]
    assert run.index(["eksctl", "utils", "update-authentication-mode"]) < run.index(
        ["eksctl", "create", "fargateprofile"]
    )
    cluster = json.loads((cloud / "cluster.json").read_text())
    assert cluster["authenticationMode"] == "API_AND_CONFIG_MAP"
    assert cluster["accessentries"] == ["arn:aws:iam::123456789012:role/shop-prod-fargate-pods"]  # the check passed
    assert "Apply complete" not in out and "still differs from the plan where apply does not act" in out
    assert (
        "eksctl utils migrate-to-access-entry --cluster shop-prod --region us-east-1 --target-authentication-mode API"
        in out
    )
    # a re-run switches nothing again (EKS would refuse the same mode) and still says what differs
    before = len(calls(cloud))
    assert main(["apply", "--yes", "-o", "json"]) == 5
    report = json.loads(capsys.readouterr().out)
    assert report["status"] == "succeeded" and len(report["differs"]) == 1
    assert not any(c[:3] == ["eksctl", "utils", "update-authentication-mode"] for c in calls(cloud)[before:])
    # a drift check sees it too: the cluster is not the plan, though apply will not change it
    assert main(["plan", "--refresh", "--no-diff", "--detailed-exitcode"]) == 2
    # planning the mode the cluster has now: nothing differs
    with open("composer.yaml", "a") as f:
        f.write("access:\n  authenticationMode: API_AND_CONFIG_MAP\n")
    assert main(["apply", "--yes"]) == 0
    assert "Apply complete" in capsys.readouterr().out
    assert main(["plan", "--refresh", "--no-diff", "--detailed-exitcode"]) == 0


def _plant(cloud: Path, profiles: dict[str, dict], groups: dict[str, dict]) -> None:
    """Objects someone else made on the cluster: Fargate profiles (name → tags) and node groups (name → labels)."""
    cluster = json.loads((cloud / "cluster.json").read_text())
    for name, tags in profiles.items():
        cluster["fargate"][name] = {
            "name": name,
            "podExecutionRoleARN": "arn:aws:iam::123456789012:role/other",
            "selectors": [{"namespace": f"ns-{name}"}],
            "subnets": ["subnet-fake1"],
            "tags": tags,
            "status": "ACTIVE",
        }
    general = next(g for n, g in cluster["nodegroups"].items() if slot(n) == "ng-general")
    for name, labels in groups.items():
        cluster["nodegroups"][name] = {**general, "Name": name, "_labels": labels}
    (cloud / "cluster.json").write_text(json.dumps(cluster))


def test_two_estates_on_one_cluster_never_delete_each_others_profiles_or_groups(cloud, capsys):
    """Ownership names the estate (metadata.estate, tag/label composer.io/estate): another estate's Fargate
    profiles and node groups are left alone even with --prune; what compose made before estates had ids
    (its mark, no estate) belongs to the default estate only."""
    first_apply(cloud)
    mark = {"composer.io/managed-by": "fargate-composer"}
    _plant(
        cloud,
        {"fp-team-b": {**mark, "composer.io/estate": "team-b"}, "fp-legacy": dict(mark)},
        {
            "ng-general-bbbbbb": {"composer.io/node-class": "general", "composer.io/estate": "team-b"},
            "ng-general-111111": {"composer.io/node-class": "general"},
        },
    )
    capsys.readouterr()
    assert main(["apply", "--yes", "--prune"]) == 0
    out = capsys.readouterr().out
    cluster = json.loads((cloud / "cluster.json").read_text())
    assert "fp-team-b" in cluster["fargate"] and "ng-general-bbbbbb" in cluster["nodegroups"]
    assert "Fargate profile fp-team-b: ns-fp-team-b — not managed by compose, left alone" in out
    # the default estate's own legacy objects are still its to replace
    assert "fp-legacy" not in cluster["fargate"] and "ng-general-111111" not in cluster["nodegroups"]

    # an estate with an id of its own touches neither the legacy objects nor team-b's
    _plant(cloud, {"fp-legacy": dict(mark)}, {"ng-general-111111": {"composer.io/node-class": "general"}})
    config = Path("composer.yaml")
    config.write_text(config.read_text().replace("  region: us-east-1\n", "  region: us-east-1\n  estate: shop\n", 1))
    assert "estate: shop" in config.read_text()
    before = len(calls(cloud))
    assert main(["apply", "--yes", "--prune"]) == 0
    deleted = [c for c in calls(cloud)[before:] if c[1] == "delete"]
    assert not any(n in c for c in deleted for n in ("fp-legacy", "ng-general-111111", "fp-team-b")), deleted


def test_apply_of_part_of_the_estate_is_refused_before_anything_runs(cloud, capsys):
    first_apply(cloud)
    before = len(calls(cloud))
    capsys.readouterr()
    assert main(["apply", "--yes", "profiles/batch"]) == 1
    err = capsys.readouterr().err
    assert "apply works on the whole estate, and these profiles are left out" in err and "without PROFILES" in err
    assert calls(cloud)[before:] == []  # not even a probe
    assert main(["apply", "--yes", "profiles"]) == 0  # the whole estate, named: fine


def test_a_team_folder_linked_into_the_estate_is_applied_not_dropped(cloud, capsys):
    """profiles/shop -> ../shop-team (inside the estate): read like any folder, so shop's Fargate profile
    stays; a link that leaves the estate is an error naming it, and nothing runs."""
    first_apply(cloud)
    Path("profiles/shop").rename("shop-team")
    for f in Path("shop-team").glob("*.yaml"):  # its values files are found from the folder's real place
        f.write_text(f.read_text().replace("../../values/", "../values/"))
    Path("profiles/shop").symlink_to(Path("../shop-team"))
    capsys.readouterr()
    assert main(["validate"]) == 0 and "23 file(s) valid" in capsys.readouterr().out
    before = len(calls(cloud))
    assert main(["apply", "--yes"]) == 0
    assert not [c for c in calls(cloud)[before:] if c[1] == "delete"]
    outside = Path.cwd().parent / "elsewhere"
    Path("shop-team").rename(outside)
    Path("profiles/shop").unlink()
    Path("profiles/shop").symlink_to(outside)
    before = len(calls(cloud))
    assert main(["apply", "--yes"]) == 1
    assert "symbolic link leads outside the estate" in capsys.readouterr().err
    assert calls(cloud)[before:] == []


def test_pod_identity_on_an_existing_cluster_gets_its_agent_then_its_association_before_the_releases(cloud, capsys):
    """awsCredentials: podIdentity (the load balancer controller, on nodes): a cluster made before compose
    planned it lacks the agent add-on and the association. plan --refresh says so; apply creates the add-on,
    then the association by flags (eksctl with the config file would fail on associations that exist),
    before the releases, whose chart makes the account; a second apply has nothing to do."""
    first_apply(cloud)
    cluster = json.loads((cloud / "cluster.json").read_text())
    key = "kube-system/aws-load-balancer-controller"
    assert key in cluster["podidentity"]  # create cluster made it
    del cluster["addons"]["eks-pod-identity-agent"]
    cluster["podidentity"] = {}
    (cloud / "cluster.json").write_text(json.dumps(cluster))
    capsys.readouterr()
    assert main(["plan", "--refresh", "--no-diff"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert f"+ Pod Identity association {key}: awsLoadBalancerController — create" in out
    assert "+ add-on eks-pod-identity-agent" in out
    mark = len(calls(cloud))
    assert main(["apply", "--yes"]) == 0
    ran = [c for c in calls(cloud)[mark:] if c[1] == "create" or "apply" in c]
    kinds = [c[2] if c[0] == "eksctl" else c[0] for c in ran]
    assert kinds == ["addon", "podidentityassociation", "helmfile"], ran
    assert ran[1][-2:] == ["--well-known-policies", "awsLoadBalancerController"]
    assert key in json.loads((cloud / "cluster.json").read_text())["podidentity"]
    mark = len(calls(cloud))
    assert main(["apply", "--yes"]) == 0
    assert not [c for c in calls(cloud)[mark:] if c[1] == "create"]


def test_the_fake_eksctl_refuses_pod_identity_as_the_real_one_does(cloud, capsys):
    """Without the agent add-on, and for an association that exists (eksctl v0.215.0
    pkg/ctl/create/pod_identity_association.go lines 60-68, creator.go line 41)."""
    first_apply(cloud)
    argv = [str(FAKEBIN / "eksctl"), "create", "podidentityassociation", "--cluster", "shop-prod", "--region"]
    argv += ["us-east-1", "--namespace", "kube-system", "--service-account-name", "aws-load-balancer-controller"]
    argv += ["--well-known-policies", "awsLoadBalancerController"]
    done = subprocess.run(argv, capture_output=True, text=True)
    assert done.returncode == 1 and "ResourceInUseException" in done.stderr
    cluster = json.loads((cloud / "cluster.json").read_text())
    del cluster["addons"]["eks-pod-identity-agent"]
    cluster["podidentity"] = {}
    (cloud / "cluster.json").write_text(json.dumps(cluster))
    done = subprocess.run(argv, capture_output=True, text=True)
    assert done.returncode == 1 and '"eks-pod-identity-agent" addon must be installed' in done.stderr


def test_the_first_windows_node_group_on_an_existing_cluster_gets_windows_ipam_first(cloud, capsys):
    """eksctl turns the VPC CNI's Windows IPAM on only in create cluster (pkg/eks/tasks.go lines 281-288): a
    cluster made without Windows nodes that gains a Windows group needs it before the group, else its pods
    get no IP address. plan --refresh says so; apply patches the ConfigMap, then creates the group; a
    cluster whose setting is on, or that has its Windows group, is left alone."""
    first_apply(cloud)
    cluster = json.loads((cloud / "cluster.json").read_text())
    windows = next(g for g in cluster["nodegroups"] if "windows" in g)
    del cluster["nodegroups"][windows]
    (cloud / "cluster.json").write_text(json.dumps(cluster))
    (cloud / "configmaps.json").write_text(json.dumps({"kube-system/amazon-vpc-cni": {"enable-windows-ipam": "false"}}))
    capsys.readouterr()
    assert main(["plan", "--refresh", "--no-diff"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "~ VPC CNI setting kube-system/amazon-vpc-cni: false → enable-windows-ipam: true" in out
    mark = len(calls(cloud))
    assert main(["apply", "--yes"]) == 0
    ran = [c for c in calls(cloud)[mark:] if c[1] in ("patch", "create")]
    assert [c[:3] for c in ran] == [["kubectl", "patch", "configmap"], ["eksctl", "create", "nodegroup"]], ran
    assert (
        json.loads((cloud / "configmaps.json").read_text())["kube-system/amazon-vpc-cni"]["enable-windows-ipam"]
        == "true"
    )
    mark = len(calls(cloud))
    assert main(["apply", "--yes"]) == 0
    assert not [c for c in calls(cloud)[mark:] if c[1] in ("patch", "create")]
    assert not [c for c in calls(cloud)[mark:] if c[:3] == ["kubectl", "get", "configmaps"]]  # (not even read)


def test_self_managed_core_add_ons_are_listed_and_migrated_only_when_asked(cloud, capsys):
    """A cluster made before EKS add-ons runs vpc-cni and kube-proxy itself (aws-node and kube-proxy
    DaemonSets, no EKS add-on). apply must not migrate them behind the user's back (eksctl create addon -f
    would): they stay out of the ClusterConfig apply writes, plan --refresh lists them with the command that
    migrates them, and apply says the cluster still differs (exit 5). --migrate-addons creates them with
    --force."""
    first_apply(cloud)
    cluster = json.loads((cloud / "cluster.json").read_text())
    for name in ("vpc-cni", "kube-proxy"):
        del cluster["addons"][name]
    (cloud / "cluster.json").write_text(json.dumps(cluster))
    workloads = [
        {"kind": kind, "metadata": {"namespace": "kube-system", "name": name}}
        for kind, name in (("DaemonSet", "aws-node"), ("DaemonSet", "kube-proxy"), ("Deployment", "coredns"))
    ]
    (cloud / "workloads.json").write_text(json.dumps(workloads))
    capsys.readouterr()
    assert main(["plan", "--refresh", "--no-diff"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "! add-on vpc-cni: runs self-managed (daemonset/aws-node in kube-system)" in out
    assert "eksctl create addon --name kube-proxy --cluster shop-prod --region us-east-1 --force" in out
    mark = len(calls(cloud))
    assert main(["apply", "--yes"]) == 5  # (ran every step; the cluster still differs where apply does not act)
    assert not [c for c in calls(cloud)[mark:] if c[1:3] == ["create", "addon"]]
    written = (Path("generated") / "cluster.yaml").read_text()
    assert "name: vpc-cni" not in written and "name: coredns" in written
    mark = len(calls(cloud))
    assert main(["apply", "--yes", "--migrate-addons"]) == 0
    created = [c for c in calls(cloud)[mark:] if c[1:3] == ["create", "addon"]]
    assert len(created) == 1 and created[0][-1] == "--force"
    assert {"vpc-cni", "kube-proxy"} <= set(json.loads((cloud / "cluster.json").read_text())["addons"])


def test_metrics_server_has_one_owner_on_a_new_and_on_an_existing_cluster(cloud, capsys):
    """eksctl adds every default add-on a config does not list (metrics-server among them) unless
    addonsConfig.disableDefaultAddons; with the estate's metrics-server chart the add-on's APIService makes
    helm refuse the install. compose disables the defaults and lists what the add-ons own; a cluster that
    already runs the add-on beside the estate's chart is refused before anything changes, with the fix."""
    first_apply(cloud)
    cluster = json.loads((cloud / "cluster.json").read_text())
    # the chart owns metrics-server (and the Pod Identity agent serves the load balancer controller)
    assert sorted(cluster["addons"]) == ["coredns", "eks-pod-identity-agent", "kube-proxy", "vpc-cni"]
    capsys.readouterr()
    assert main(["plan", "--no-diff"]) == 0
    assert "metrics-server (chart kube-system/metrics-server)" in capsys.readouterr().out
    # the same cluster as eksctl would have made it without disableDefaultAddons
    cluster["addons"]["metrics-server"] = dict(cluster["addons"]["vpc-cni"], Name="metrics-server")
    (cloud / "cluster.json").write_text(json.dumps(cluster))
    releases = json.loads((cloud / "releases.json").read_text())
    del releases["kube-system/metrics-server"]
    (cloud / "releases.json").write_text(json.dumps(releases))
    before = len(calls(cloud))
    assert main(["apply", "--yes"]) == 1
    err = capsys.readouterr().err
    assert "metrics-server runs as an EKS add-on, and the estate installs the metrics-server chart too" in err
    assert "eksctl delete addon --cluster shop-prod --region us-east-1 --name metrics-server" in err
    assert not [c for c in calls(cloud)[before:] if "apply" in c or c[1] in ("create", "delete")]
    # without the chart, metrics-server is the add-on's: listed, and created where missing
    Path("profiles/platform/metrics-server.yaml").unlink()
    assert main(["apply", "--yes"]) == 0
    assert "EKS add-ons: coredns, kube-proxy, metrics-server, vpc-cni" in capsys.readouterr().out


def test_the_fake_eksctl_adds_default_add_ons_a_config_does_not_list_like_the_real_one(cloud):
    """The behaviour the metrics-server fix depends on (eksctl v0.215.0 pkg/actions/addon/tasks.go)."""
    assert main(["plan", "--write"]) == 0
    from composer.files.yamlio import load_file

    config = load_file(Path("generated/cluster.yaml"))
    del config["addonsConfig"]
    Path("old.yaml").write_text(json.dumps(config))
    subprocess.run(["eksctl", "create", "cluster", "-f", "old.yaml"], check=True, capture_output=True)
    assert "metrics-server" in json.loads((cloud / "cluster.json").read_text())["addons"]
    assert subprocess.run(["helmfile", "--file", "generated/helmfile.yaml", "apply"], capture_output=True).returncode


@pytest.mark.parametrize("generated", ["kept", "absent"])
def test_a_new_namespace_adds_one_fargate_profile_and_replaces_none(cloud, capsys, generated):
    """Routing is additive against the estate's profiles (those of the last written ClusterConfig, or the
    cluster's own when that file is absent or older): a namespace more is one profile more, and shop's
    profile, whose selectors still hold, is neither replaced nor are its pods deleted."""
    first_apply(cloud)
    before = set(_profiles(cloud))
    text = Path("profiles/notifications/email-worker.yaml").read_text()
    Path("profiles/aaa-new").mkdir()
    Path("profiles/aaa-new/mailer-two.yaml").write_text(
        text.replace("{name: email-worker, namespace: notifications}", "{name: mailer-two, namespace: aaa-new}")
    )
    if generated == "absent":  # another machine, or generated/ not committed: the cluster is the prior
        shutil.rmtree("generated")
    capsys.readouterr()
    assert main(["plan", "--refresh", "--no-diff"]) == 0
    out = capsys.readouterr().out
    assert "2 to create, 0 to replace, 0 to resize, 0 to delete" in out, out  # the profile and its IRSA account
    assert "+ Fargate profile" in out and "-/+" not in out
    assert "aaa-new — create · no pods affected" in out  # and shop's profile is not even listed: untouched
    mark = len(calls(cloud))
    assert main(["apply", "--yes"]) == 0
    assert not [c for c in calls(cloud)[mark:] if c[1] == "delete"]
    after = set(_profiles(cloud))
    assert before < after and len(after - before) == 1
    new = json.loads((cloud / "cluster.json").read_text())["fargate"][(after - before).pop()]
    assert [s["namespace"] for s in new["selectors"]] == ["aaa-new"]


def test_a_replace_says_why(cloud, capsys):
    first_apply(cloud)
    shutil.rmtree("profiles/batch")
    capsys.readouterr()
    assert main(["plan", "--refresh", "--no-diff"]) == 0
    out = " ".join(capsys.readouterr().out.split())  # (wrapped at 80 columns)
    assert "batch no longer on Fargate, and EKS cannot remove a selector from a profile" in out
    config = Path("composer.yaml")
    config.write_text(config.read_text().replace("role/shop-prod-fargate-pods", "role/shop-prod-fargate-pods-2"))
    assert main(["plan", "--refresh", "--no-diff"]) == 0
    assert "its pod execution role or subnets changed" in " ".join(capsys.readouterr().out.split())


def _fargate_pod(namespace: str, deployment: str) -> dict:
    return {
        "metadata": {
            "name": f"{deployment}-5c6d-a1",
            "namespace": namespace,
            # (as a Deployment's pods carry them: the ReplicaSet's hash, and helm's instance label)
            "labels": {"app.kubernetes.io/name": deployment, "app.kubernetes.io/instance": deployment}
            | {"pod-template-hash": "5c6d"},
            "ownerReferences": [{"kind": "ReplicaSet", "name": f"{deployment}-5c6d", "controller": True}],
        },
        "spec": {"schedulerName": "fargate-scheduler"},
        "status": {"phase": "Running"},
    }


def test_a_kubernetes_version_bump_is_shown_and_carried_out_in_the_documented_order(cloud, capsys):
    """composer.yaml 1.33 → 1.34 on a 1.33 cluster: plan --refresh shows the upgrade; apply upgrades the
    control plane, then the add-ons, then each managed node group, then the releases (the autoscaler image
    follows the new minor), then restarts the Fargate pods (each keeps the kubelet it started with). A
    skipped minor, a downgrade and a version EKS does not offer are refused before anything runs."""
    first_apply(cloud)
    (cloud / "pods.json").write_text(json.dumps([_fargate_pod("notifications", "email-worker")]))
    rs = {
        "metadata": {
            "name": "email-worker-5c6d",
            "namespace": "notifications",
            "ownerReferences": [{"kind": "Deployment", "name": "email-worker", "controller": True}],
        }
    }
    (cloud / "replicasets.json").write_text(json.dumps([rs]))
    config = Path("composer.yaml")
    original = config.read_text()
    cluster = json.loads((cloud / "cluster.json").read_text())
    for wrong, running, why in [
        ("1.34", "1.32", "EKS upgrades one minor at a time: set metadata.version to 1.33, apply, then 1.34"),
        ("1.32", "1.33", "EKS cannot downgrade a cluster; set metadata.version to 1.33"),
        ("1.35", "1.34", "Kubernetes 1.35 is not a version EKS and eksctl offer here (1.29–1.34)"),
    ]:
        (cloud / "cluster.json").write_text(json.dumps({**cluster, "version": running}))
        config.write_text(original.replace('version: "1.33"', f'version: "{wrong}"'))
        mark = len(calls(cloud))
        capsys.readouterr()
        assert main(["apply", "--yes"]) == 1
        assert why in " ".join(capsys.readouterr().err.split())
        assert not [c for c in calls(cloud)[mark:] if c[1] in ("upgrade", "create", "delete", "update")]
    (cloud / "cluster.json").write_text(json.dumps(cluster))
    config.write_text(original.replace('version: "1.33"', 'version: "1.34"'))
    assert main(["plan", "--refresh", "--no-diff"]) == 0
    out = capsys.readouterr().out
    assert "~ control plane shop-prod: 1.33 → 1.34 — upgrade" in out
    assert "~ node group ng-general-" in out and "<> workload notifications/deployment/email-worker" in out
    mark = len(calls(cloud))
    assert main(["apply", "--yes"]) == 0
    ran = [c for c in calls(cloud)[mark:] if c[1] in ("upgrade", "update", "rollout") or "apply" in c]
    kinds = [(c[1], c[2]) if c[0] == "eksctl" else (c[0], c[-1] if c[0] == "helmfile" else c[1]) for c in ran]
    assert kinds[0] == ("upgrade", "cluster") and ran[0][-3:] == ["--version", "1.34", "--approve"]
    assert kinds[1:4] == [("update", "addon")] * 3  # vpc-cni, kube-proxy, coredns (the chart owns metrics-server)
    assert all(c[-3:] == ["--version", "latest", "--wait"] for c in ran[1:4])
    groups = [c for c in ran if c[1:3] == ["upgrade", "nodegroup"]]
    assert len(groups) == 6 and all(c[-3:] == ["--kubernetes-version", "1.34", "--wait"] for c in groups)
    assert kinds.index(("helmfile", "--detailed-exitcode")) > max(ran.index(g) for g in groups)
    assert ran[-1][:4] == ["kubectl", "rollout", "restart", "deployment/email-worker"]
    cluster = json.loads((cloud / "cluster.json").read_text())
    assert cluster["version"] == "1.34" and {g["Version"] for g in cluster["nodegroups"].values()} == {"1.34"}
    releases = json.loads((cloud / "releases.json").read_text())
    assert "v1.34" in json.dumps(releases["kube-system/cluster-autoscaler"])  # the image follows the cluster
    mark = len(calls(cloud))
    assert main(["apply", "--yes"]) == 0  # and nothing is left to do
    assert not [c for c in calls(cloud)[mark:] if c[1] in ("upgrade", "update")]


def test_a_newer_ami_release_is_listed_and_rolled_out_with_upgrade_nodes(cloud, capsys):
    """EKS publishes a newer AMI release for 1.33: plan --refresh lists each Linux group behind it (the
    Windows group has no published release to compare), apply leaves them, apply --upgrade-nodes rolls
    each onto exactly the release the plan showed, before the releases; then nothing is left to do."""
    first_apply(cloud)
    (cloud / "amis.json").write_text(json.dumps({"1.33": "1.33.5-20261201"}))
    assert main(["plan", "--refresh", "--no-diff"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    groups = sorted(g for g in json.loads((cloud / "cluster.json").read_text())["nodegroups"] if "windows" not in g)
    for group in groups:
        assert f"~ node group {group}: AMI release 1.33.0-20261101 → 1.33.5-20261201 — upgrade with" in out
    mark = len(calls(cloud))
    assert main(["apply", "--yes"]) == 0
    assert not [c for c in calls(cloud)[mark:] if c[1] == "upgrade"]
    mark = len(calls(cloud))
    assert main(["apply", "--yes", "--upgrade-nodes"]) == 0
    ran = [c for c in calls(cloud)[mark:] if c[1] == "upgrade" or "apply" in c]
    assert sorted(c[4] for c in ran[:-1]) == groups and ran[-1][0] == "helmfile"
    assert all(c[-3:] == ["--release-version", "1.33.5-20261201", "--wait"] for c in ran[:-1])
    mark = len(calls(cloud))
    assert main(["apply", "--yes", "--upgrade-nodes"]) == 0
    assert not [c for c in calls(cloud)[mark:] if c[1] == "upgrade"]


def test_a_replaced_profile_with_pods_that_cannot_roll_is_kept_until_the_disruption_is_accepted(cloud, capsys):
    """notifications/email-worker runs on the profile batch's removal replaces, and its chart takes no pod
    labels (so it cannot be pinned onto the successor): apply creates the successor, applies the releases,
    then stops before the delete, which would kill the pod; --allow-disruption goes on."""
    first_apply(cloud)
    old = next(n for n, p in _profiles(cloud).items() if any(s["namespace"] == "batch" for s in p["selectors"]))
    pod = _fargate_pod("notifications", "email-worker")
    pod["metadata"]["labels"]["eks.amazonaws.com/fargate-profile"] = old
    (cloud / "pods.json").write_text(json.dumps([pod]))
    _replace_a_shared_profile()
    capsys.readouterr()
    assert main(["plan", "--refresh", "--no-diff", "-o", "json"]) == 0
    effects = {a["name"]: a["effect"] for a in json.loads(capsys.readouterr().out)["cluster"]["actions"]}
    assert (
        effects[old] == "deletes 1 pod(s) of notifications/deployment/email-worker at once (needs --allow-disruption)"
    )
    assert main(["apply", "--yes"]) == 4
    text = " ".join(capsys.readouterr().out.split())
    assert f"1 pod(s) still run on Fargate profile {old} (notifications/email-worker-5c6d-a1)" in text
    assert old in _profiles(cloud) and len(_profiles(cloud)) == 4  # both: nothing was deleted
    assert main(["apply", "--yes", "--allow-disruption"]) == 0
    assert old not in _profiles(cloud) and len(_profiles(cloud)) == 3


def test_a_job_on_a_replaced_profile_is_waited_for_with_wait_for_jobs(cloud, capsys, monkeypatch):
    """A nightly Job's pod runs on the profile the removal of batch replaces: the plan says the delete
    would cut it off unless apply waits; without --wait-for-jobs apply stops before the delete; with it,
    apply polls until the Job's pod has finished, then deletes the old profile."""
    from composer.cluster import apply as ap

    monkeypatch.setattr(ap, "JOB_POLL_SECONDS", 0.05)
    first_apply(cloud)
    old = next(n for n, p in _profiles(cloud).items() if any(s["namespace"] == "batch" for s in p["selectors"]))
    pod = _fargate_pod("notifications", "digest")
    pod["metadata"]["labels"]["eks.amazonaws.com/fargate-profile"] = old
    pod["metadata"]["ownerReferences"] = [{"kind": "Job", "name": "digest-29131", "controller": True}]
    (cloud / "pods.json").write_text(json.dumps([pod]))
    _replace_a_shared_profile()
    capsys.readouterr()
    assert main(["plan", "--refresh", "--no-diff", "-o", "json"]) == 0
    effects = {a["name"]: a["effect"] for a in json.loads(capsys.readouterr().out)["cluster"]["actions"]}
    assert effects[old] == (
        "deletes 1 pod(s) of notifications/job/digest-29131 at once (needs --wait-for-jobs to let them finish, "
        "or --allow-disruption)"
    )
    assert main(["apply", "--yes"]) == 4 and old in _profiles(cloud)
    capsys.readouterr()
    pod["_runs_for"] = 3  # still running at the next three reads
    (cloud / "pods.json").write_text(json.dumps([pod]))
    mark = len(calls(cloud))
    assert main(["apply", "--yes", "--wait-for-jobs", "60"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "waits for 1 pod(s) of notifications/job/digest-29131 to finish (--wait-for-jobs)" in out
    reads = [c for c in calls(cloud)[mark:] if c[:3] == ["kubectl", "get", "pods"] and old in " ".join(c)]
    assert len(reads) >= 4 and old not in _profiles(cloud)  # polled until it finished, then deleted


def test_the_lock_is_per_cluster_from_any_folder_and_outlives_a_killed_compose(cloud, capsys):
    """The lock was per working directory and died with compose: `apply` in e1/ and `apply -c e1/…` from its
    parent ran at once, and after a SIGKILL of compose a second apply ran `create cluster` beside the
    eksctl still running. Now one lock per cluster and region, held by every tool compose started."""
    env = {**os.environ, "FAKE_SLEEP": "30", "NO_COLOR": "1"}
    first = _start_long_apply(env)
    try:
        _wait_for_helmfile(cloud, first)
        here = Path.cwd()
        other = subprocess.run(  # the same estate, from its parent folder
            [sys.executable, "-m", "composer", "apply", "--yes", "-c", f"{here.name}/composer.yaml"]
            + [f"{here.name}/profiles"],
            env=env,
            cwd=here.parent,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert other.returncode == 1 and "another `compose apply` of cluster 'shop-prod' is running" in other.stderr
        first.kill()  # SIGKILL: compose cannot pass anything on; helmfile (its own session) keeps running
        first.communicate(timeout=30)
        again = subprocess.run(
            [sys.executable, "-m", "composer", "apply", "--yes"], env=env, capture_output=True, text=True, timeout=60
        )
        assert again.returncode == 1 and "or a tool it started still is" in again.stderr, again.stderr
    finally:  # (this test's helmfile only: other workers run theirs meanwhile)
        started = cloud / "helmfile-started"
        helmfile = int(started.read_text()) if started.exists() and started.read_text().isdigit() else None
        if helmfile is not None and Path(f"/proc/{helmfile}").exists():
            os.kill(helmfile, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while helmfile is not None and _running(helmfile):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    env.pop("FAKE_SLEEP")
    after = subprocess.run(
        [sys.executable, "-m", "composer", "apply", "--yes"], env=env, capture_output=True, text=True, timeout=120
    )
    assert after.returncode == 0, after.stdout + after.stderr
    assert "ended without releasing its lock" in after.stdout + after.stderr


def _running(pid: int) -> bool:
    """The process is there and not a zombie (gone, not yet reaped by its parent)."""
    try:
        return "Z" not in Path(f"/proc/{pid}/stat").read_text().split()[2]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def test_a_probe_that_ignores_sigterm_is_killed_with_its_children_at_the_timeout(cloud, capsys, monkeypatch):
    """--probe-timeout 3 did not hold against a probe that ignores SIGTERM, and a stopped tool's children
    kept running: the group gets SIGTERM, then SIGKILL after the grace period."""
    monkeypatch.setenv("FAKE_HANG", "eksctl get cluster")
    start = time.monotonic()
    assert main(["apply", "--yes", "--probe-timeout", "2"]) == 1
    took = time.monotonic() - start
    assert took < 2 + 5 + 10, took  # timeout + grace + slack (was: until the tool chose to stop)
    assert "gave no answer within 2 s" in capsys.readouterr().err
    child = int((cloud / "hang-child-pid").read_text())
    deadline = time.monotonic() + 5
    while Path(f"/proc/{child}").exists() and "Z" not in Path(f"/proc/{child}/stat").read_text().split()[2]:
        assert time.monotonic() < deadline, "the tool's child outlived it"
        time.sleep(0.05)


def test_a_logging_namespace_made_with_kubectl_is_adopted_not_a_failed_install(cloud, capsys):
    """The AWS logging guide makes aws-observability with kubectl; helm refused to install the log-router
    release over it (invalid ownership metadata). Apply now annotates and labels it for the release first."""
    first_apply(cloud)
    releases = json.loads((cloud / "releases.json").read_text())
    del releases["kube-system/aws-observability"]
    (cloud / "releases.json").write_text(json.dumps(releases))
    made = {"metadata": {"name": "aws-observability", "labels": {"aws-observability": "enabled"}}}
    (cloud / "namespaces.json").write_text(json.dumps([made]))
    capsys.readouterr()
    assert main(["plan", "--refresh", "--no-diff"]) == 0
    assert (
        "~ namespace aws-observability: made outside Helm; the log-router release adopts it" in capsys.readouterr().out
    )
    mark = len(calls(cloud))
    assert main(["apply", "--yes"]) == 0, capsys.readouterr()
    ran = [
        c[:3]
        for c in calls(cloud)[mark:]
        if c[0] in ("kubectl", "helmfile") and c[1] in ("annotate", "label", "--file")
    ]
    assert (
        ran[:2] == [["kubectl", "annotate", "namespace"], ["kubectl", "label", "namespace"]] and ran[2][0] == "helmfile"
    )
    space = json.loads((cloud / "namespaces.json").read_text())[0]["metadata"]
    assert space["annotations"]["meta.helm.sh/release-name"] == "aws-observability"
    assert space["labels"]["app.kubernetes.io/managed-by"] == "Helm"


def test_an_autoscaler_installed_with_routing_in_its_selector_is_moved_over_without_losing_its_pods(cloud, capsys):
    """An earlier compose routed the autoscaler through podLabels, which its chart copies into the
    Deployment's immutable selector (the fake helmfile refuses that upgrade as the API server does). apply
    reads the live selector, deletes the Deployment with --cascade=orphan (its ReplicaSet stays) and syncs
    the release alone before helmfile apply; a Deployment found missing later (a run stopped in between)
    is synced the same way, which helmfile apply would not do (the release itself is unchanged)."""
    first_apply(cloud)
    capsys.readouterr()
    name = "cluster-autoscaler-aws-cluster-autoscaler"
    deployments = json.loads((cloud / "deployments.json").read_text())
    [mine] = [d for d in deployments if d["metadata"]["name"] == name]
    planned = dict(mine["spec"]["selector"]["matchLabels"])
    assert planned == {
        "app.kubernetes.io/instance": "cluster-autoscaler",
        "app.kubernetes.io/name": "aws-cluster-autoscaler",
    }
    mine["spec"]["selector"]["matchLabels"]["use-fargate"] = "true"  # (the old way)
    (cloud / "deployments.json").write_text(json.dumps(deployments))
    replicaset = {
        "metadata": {
            "name": f"{name}-5d4c",
            "namespace": "kube-system",
            "ownerReferences": [{"kind": "Deployment", "name": name, "controller": True}],
        }
    }
    (cloud / "replicasets.json").write_text(json.dumps([replicaset]))
    before = len(calls(cloud))

    assert main(["apply", "--yes"]) == 0, capsys.readouterr()
    out = capsys.readouterr().out
    assert f"-/+ Deployment kube-system/{name}: its selector (" in out and "its pods keep running" in out
    kube = ["--kubeconfig", str(Path.cwd() / ".compose/kubeconfig-shop-prod")]
    sync = ["helmfile", "--file", "generated/helmfile.yaml", *kube]
    sync += ["--selector", "name=cluster-autoscaler,namespace=kube-system", "sync"]
    ran = calls(cloud)[before:]
    orphan = ["kubectl", "delete", "deployment", name, "--namespace", "kube-system", "--cascade=orphan", *kube]
    assert ran.index(orphan) + 1 == ran.index(sync) < next(i for i, c in enumerate(ran) if "apply" in c)
    [now] = [d for d in json.loads((cloud / "deployments.json").read_text()) if d["metadata"]["name"] == name]
    assert now["spec"]["selector"]["matchLabels"] == planned
    assert json.loads((cloud / "replicasets.json").read_text())[0]["metadata"]["ownerReferences"] == []  # kept

    # a run stopped after the delete: the Deployment is missing, and only a sync brings it back
    (cloud / "deployments.json").write_text(
        json.dumps([d for d in json.loads((cloud / "deployments.json").read_text()) if d["metadata"]["name"] != name])
    )
    before = len(calls(cloud))
    assert main(["apply", "--yes"]) == 0
    out = capsys.readouterr().out
    assert (
        f"+ Deployment kube-system/{name}: missing, though release kube-system/cluster-autoscaler is installed" in out
    )
    assert sync in calls(cloud)[before:] and orphan not in calls(cloud)[before:]
    assert [d for d in json.loads((cloud / "deployments.json").read_text()) if d["metadata"]["name"] == name]
