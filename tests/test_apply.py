"""`compose apply`, every branch, with pytest-subprocess standing in for eksctl, helmfile and helm.

compose runs commands through ``sh``, which forks on its own and cannot be seen by
pytest-subprocess. So these tests swap in a runner built on ``subprocess.Popen`` (below,
ten lines) that pytest-subprocess fakes. Everything else is compose's real code: preflight,
probing, step planning, confirmation, execution, reporting. The real ``sh`` runner is covered
end to end in tests/test_apply_e2e.py, with fake executables on PATH.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from composer.cli import main as cli
from composer.cluster import apply as ap
from composer.cluster.runner import TimedOut, ToolNotFound
from composer.place.nodegroups import AMI_FAMILY
from composer.place.routing import Selector, profile_name
from tests.conftest import REPO, profile_doc, settings, write_estate

# the process runner these tests give compose (a fixture or a test may swap it)
RUNNER: list = []


def main(argv):
    return cli.main(argv, runner=RUNNER[0] if RUNNER else None)


NAME, REGION = "test", "us-east-1"  # tests/conftest SETTINGS
GET_CLUSTER = ["eksctl", "get", "cluster", "--name", NAME, "--region", REGION, "-o", "json"]
GET_FP = ["eksctl", "get", "fargateprofile", "--cluster", NAME, "--region", REGION, "-o", "json"]
GET_ADDON = ["eksctl", "get", "addon", "--cluster", NAME, "--region", REGION, "-o", "json"]
GET_NG = ["eksctl", "get", "nodegroup", "--cluster", NAME, "--region", REGION, "-o", "json"]
CREATE_CLUSTER = ["eksctl", "create", "cluster", "-f", "generated/cluster.yaml"]
KUBECONFIG = ".compose/kubeconfig-test"
WRITE_KUBECONFIG = [
    "eksctl",
    "utils",
    "write-kubeconfig",
    "--cluster",
    "test",
    "--region",
    "us-east-1",
    "--kubeconfig",
    KUBECONFIG,
]
HELMFILE = ["helmfile", "--file", "generated/helmfile.yaml", "--kubeconfig", KUBECONFIG]
HELMFILE_APPLY = HELMFILE + ["apply", "--suppress-secrets", "--detailed-exitcode"]
ABSENT = (
    'Error: unable to describe control plane "test": operation error EKS: DescribeCluster, '
    "ResourceNotFoundException: No cluster found for name: test."
)


# pytest-subprocess's registry has no lock, and apply starts its read-only probes side by side from threads:
# one thread at a time picks its registered process (a lost pick was an internal error, seen once in CI)
DISPATCH = threading.Lock()


def popen_runner(argv, on_line, timeout=None):
    try:  # (a pytest-subprocess callback raises when the process runs, not when it starts)
        with DISPATCH:
            process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        out, err = process.communicate(timeout=timeout)
    except FileNotFoundError:
        raise ToolNotFound(argv[0]) from None
    except subprocess.TimeoutExpired:
        process.kill()
        raise TimedOut(f"`{argv[0]}` gave no answer within {timeout:g} s and was stopped") from None
    for line in out.splitlines():
        on_line("out", line)
    for line in err.splitlines():
        on_line("err", line)
    return process.returncode


@pytest.fixture
def estate(tmp_path, monkeypatch):
    root = write_estate(
        tmp_path,
        [
            profile_doc("api", "shop", release={"chart": "acme/api", "repository": REPO}),
            profile_doc(
                "pg",
                "data",
                kind="StatefulSet",
                release={"chart": "acme/pg", "repository": REPO},
                volumes=[{"name": "d", "type": "persistentVolumeClaim", "storageClass": "gp3"}],
            ),
        ],
    )
    monkeypatch.chdir(root)
    monkeypatch.setattr(sys.modules[__name__], "RUNNER", [popen_runner])
    # (the kubeconfig path is absolute in real runs, see test_the_kubeconfig_given_to_helmfile_is_absolute;
    # relative here so that the expected command lines can be constants)
    monkeypatch.setattr(ap, "kubeconfig_path", lambda cluster: Path(".compose") / f"kubeconfig-{cluster}")
    return root


def tools(fp, eksctl="0.230.0", helmfile="1.1.9", helm="v3.16.2+g13654a5", kubectl="1.34.4"):
    fp.register(["eksctl", "version"], stdout=eksctl)
    fp.register(["helmfile", "--version"], stdout=f"helmfile version v{helmfile}")
    fp.register(["helm", "version", "--short"], stdout=helm)
    fp.register(["kubectl", "version", "--client"], stdout=f"Client Version: v{kubectl}\nKustomize Version: v5.7.1")
    fp.register(WRITE_KUBECONFIG, occurrences=10)
    fp.register(
        ["helm", "plugin", "list"],
        stdout="NAME\tVERSION\tDESCRIPTION\ndiff\t3.13.2\tPreview helm upgrade changes as a diff\n",
    )


OURS = {"composer.io/managed-by": "fargate-composer"}
FP1 = profile_name(settings(), (Selector("shop"),))  # the estate's one Fargate profile


def planned() -> dict:
    """The ClusterConfig compose plans for the estate in the current folder."""
    from composer.emit.plan import build_plan

    return build_plan(Path("composer.yaml"), [Path("profiles")]).cluster


def ng() -> str:
    """The estate's general node group, by its content name."""
    return next(g["name"] for g in planned()["managedNodeGroups"] if g["name"].startswith("ng-general-"))


OIDC_CHECK = ["eksctl", "utils", "associate-iam-oidc-provider", "--cluster", NAME, "--region", REGION]
OIDC_ANSWER = {
    "present": f'[ℹ]  IAM Open ID Connect provider is already associated with cluster "{NAME}" in "{REGION}"',
    "missing": f'[ℹ]  (plan) would create IAM Open ID Connect provider for cluster "{NAME}" in "{REGION}"',
}
HELM_LIST = [
    "helm",
    "list",
    "--all-namespaces",
    "--selector",
    "composer.io/managed-by=fargate-composer",
    "--output",
    "json",
    "--kubeconfig",
    KUBECONFIG,
]


def existing(
    fp,
    profiles=(FP1,),
    groups=None,
    foreign=(),
    status=None,
    sizes=None,
    selectors=None,
    releases=None,
    kube_context=None,
    oidc="present",
    pods=None,
    addons=None,
    amis=None,
):
    """An existing cluster as real eksctl shows it: profiles and groups with the planned content when
    the plan has them (``groups`` defaults to the planned general group); names in ``foreign`` were
    made by someone else (a Fargate profile without compose's tag, a node group without its label)."""
    config, status = planned(), status or {}
    groups = (ng(),) if groups is None else groups
    known_fp = {p["name"]: p for p in config.get("fargateProfiles", [])}
    known_ng = {g["name"]: g for g in config.get("managedNodeGroups", [])}
    fp.register(GET_CLUSTER, stdout=json.dumps([{"Name": NAME, "Status": "ACTIVE"}]))
    fp.register(
        GET_FP,
        stdout=json.dumps(
            [
                {
                    "name": p,
                    "selectors": (selectors or {}).get(p)
                    or known_fp.get(p, {}).get("selectors", [{"namespace": f"{p}-ns"}]),
                    "tags": {} if p in foreign else OURS,
                    "status": status.get(p, "ACTIVE"),
                }
                for p in profiles
            ]
        ),
    )
    summaries = []
    for g in groups:
        plan = known_ng.get(g, {"instanceType": "m5.large", "minSize": 2, "maxSize": 3, "desiredCapacity": 2})
        low, high = (sizes or {}).get(g, (plan["minSize"], plan["maxSize"]))
        summaries.append(
            {
                "Cluster": NAME,
                "Name": g,
                "Status": status.get(g, "ACTIVE"),
                "InstanceType": plan["instanceType"],
                "MinSize": low,
                "MaxSize": high,
                "DesiredCapacity": plan["desiredCapacity"],
            }
        )
    fp.register(GET_NG, stdout=json.dumps(summaries))
    for g in groups:  # the AWS CLI's answers for the planned groups' AMI releases: (release, newest)
        if g in known_ng and amis == "absent":
            fp.register(aws_describe_ng(g), callback=_aws_not_installed)
        elif g in known_ng:
            release, latest = (amis or {}).get(g, ("1.33.5-20261101", "1.33.5-20261101"))
            fp.register(
                aws_describe_ng(g),
                stdout=json.dumps(
                    {"nodegroup": {"version": "1.33", "releaseVersion": release, "amiType": "AL2023_x86_64_STANDARD"}}
                ),
            )
            fp.register(AWS_SSM_LATEST, stdout=json.dumps({"Parameter": {"Value": latest}}))
    if addons is None:  # the planned add-ons, ACTIVE, configured as planned
        addons = [
            {
                "Name": a["name"],
                "Version": "v1.0.0-eksbuild.1",
                "Status": "ACTIVE",
                "ConfigurationValues": a.get("configurationValues", ""),
            }
            for a in config.get("addons", [])
        ]
    fp.register(GET_ADDON, stdout=json.dumps(addons))
    installed = [("shop", "api"), ("data", "pg")] if releases is None else releases  # what helm list shows
    fp.register(WRITE_KUBECONFIG)
    fp.register(OIDC_CHECK, stdout=OIDC_ANSWER[oidc])
    listing = HELM_LIST[:-2] + ["--kube-context", kube_context] if kube_context else HELM_LIST
    fp.register(
        listing,
        stdout=json.dumps(
            [
                {
                    "name": n,
                    "namespace": ns,
                    "revision": "1",
                    "status": "deployed",
                    "chart": f"{n}-1.0.0",
                    "app_version": "1.0",
                }
                for ns, n in installed
            ]
        ),
    )
    kube = ["--context", kube_context] if kube_context else ["--kubeconfig", ".compose/kubeconfig-test"]
    # (read only when a core add-on is missing: its workload, if it runs self-managed)
    fp.register(
        ["kubectl", "get", "daemonsets,deployments", "--namespace", "kube-system", "--output", "json", *kube],
        stdout='{"items": []}',
    )
    for namespace in sorted({s["namespace"] for p in config.get("fargateProfiles", []) for s in p["selectors"]}):
        found = (pods or {}).get(namespace, [])
        fp.register(
            kubectl_get_pods(namespace, kube),
            stdout=found if isinstance(found, str) else json.dumps({"kind": "List", "items": found}),
        )
        if not isinstance(found, str) and any(
            ref.get("kind") == "ReplicaSet" for p in found for ref in p["metadata"].get("ownerReferences", [])
        ):
            fp.register(
                ["kubectl", "get", "replicasets", "--namespace", namespace, "--output", "json", *kube],
                stdout=json.dumps({"kind": "List", "items": (pods or {}).get(f"{namespace}/replicasets", [])}),
            )
    for name in profiles:  # the pods on each of our profiles the plan no longer has (none here)
        if name not in known_fp and name not in foreign:
            fp.register(empty_fp(name, kube), stdout='{"items": []}')
    for g in groups:  # eksctl get labels prints a table (it has no -o json)
        labels = "team=data" if g in foreign else "composer.io/node-class=general"
        fp.register(
            ["eksctl", "get", "labels", "--cluster", NAME, "--region", REGION, "--nodegroup", g],
            stdout=f"CLUSTER\tNODEGROUP\tLABELS\n{NAME}\t{g}\t{labels}\n",
        )


def _aws_not_installed(process):
    raise FileNotFoundError("aws")


def aws_describe_ng(group):
    where = ["--cluster-name", NAME, "--nodegroup-name", group, "--region", REGION, "--output", "json"]
    return ["aws", "eks", "describe-nodegroup", *where]


AWS_SSM_LATEST = ["aws", "ssm", "get-parameter", "--name"]
AWS_SSM_LATEST += ["/aws/service/eks/optimized-ami/1.33/amazon-linux-2023/x86_64/standard/recommended/release_version"]
AWS_SSM_LATEST += ["--region", REGION, "--output", "json"]


def kubectl_get_pods(namespace, kube):
    return [
        "kubectl",
        "get",
        "pods",
        "--field-selector",
        "spec.schedulerName!=fargate-scheduler,status.phase!=Succeeded,status.phase!=Failed",
        "--namespace",
        namespace,
        "--output",
        "json",
        *kube,
    ]


def run(args, capsys):
    code = main(["apply", *args])
    out, err = capsys.readouterr()
    return code, out, err


def commands(fp):
    return [
        list(call)
        for call in fp.calls
        if list(call)[1:2] not in (["version"], ["--version"], ["plugin"], ["list"])
        and list(call) not in (WRITE_KUBECONFIG, OIDC_CHECK)
        and (list(call)[:3] != ["kubectl", "get", "pods"] or "--all-namespaces" in list(call))
        and list(call)[:3] != ["kubectl", "get", "replicasets"]
        and list(call) != GET_ADDON
        and list(call)[:3] not in (["aws", "eks", "describe-nodegroup"], ["aws", "ssm", "get-parameter"])
    ]


def test_new_cluster_writes_files_creates_cluster_then_releases(estate, fp, capsys):
    tools(fp)
    fp.register(GET_CLUSTER, returncode=1, stderr=ABSENT)
    fp.register(CREATE_CLUSTER, stdout='EKS cluster "test" in "us-east-1" region is ready')
    fp.register(HELMFILE_APPLY, returncode=2, stdout='Release "shop/api" has been upgraded.')
    code, out, _ = run(["--yes"], capsys)
    assert code == 0, out
    assert commands(fp) == [GET_CLUSTER, CREATE_CLUSTER, HELMFILE_APPLY]
    assert (estate / "generated" / "cluster.yaml").is_file() and (estate / "generated" / "helmfile.yaml").is_file()
    assert "Cluster test: does not exist yet" in out and "$ eksctl create cluster -f generated/cluster.yaml" in out
    assert "Apply complete: 4 step(s), 3 changed something" in out
    log = next((estate / ".compose" / "logs").glob("apply-*.log")).read_text()
    assert "$ eksctl create cluster -f generated/cluster.yaml" in log and "region is ready" in log


def test_existing_complete_cluster_only_converges_releases(estate, fp, capsys):
    tools(fp)
    existing(fp)
    fp.register(HELMFILE_APPLY, returncode=0, stdout="No affected releases")
    assert main(["plan", "--write"]) == 0
    code, out, _ = run(["--yes"], capsys)
    assert code == 0
    assert commands(fp) == [GET_CLUSTER, GET_FP, GET_NG, HELMFILE_APPLY]
    assert "2 step(s):" in out and "Apply complete: 2 step(s), 0 changed something" in out


def test_partly_present_cluster_creates_only_what_is_missing(estate, fp, capsys):
    tools(fp)
    existing(fp, profiles=(FP1,), groups=())
    create_ng = ["eksctl", "create", "nodegroup", "-f", "generated/cluster.yaml", "--include", ng()]
    fp.register(create_ng)
    fp.register(HELMFILE_APPLY, returncode=2)
    code, out, _ = run(["--yes"], capsys)
    assert code == 0
    assert commands(fp) == [GET_CLUSTER, GET_FP, GET_NG, create_ng, HELMFILE_APPLY]
    assert not any(c[1:3] == ["create", "fargateprofile"] for c in commands(fp))


def test_missing_fargate_profile_is_created_from_the_file(estate, fp, capsys):
    tools(fp)
    existing(fp, profiles=(), groups=None)
    create_fp = ["eksctl", "create", "fargateprofile", "-f", "generated/cluster.yaml"]
    fp.register(create_fp)
    fp.register(HELMFILE_APPLY)
    assert run(["--yes"], capsys)[0] == 0
    assert commands(fp) == [GET_CLUSTER, GET_FP, GET_NG, create_fp, HELMFILE_APPLY]


@pytest.mark.parametrize("failing", ["create cluster", "helmfile apply"])
def test_a_failing_step_stops_the_run_and_says_what_ran(failing, estate, fp, capsys):
    tools(fp)
    fp.register(GET_CLUSTER, returncode=1, stderr=ABSENT)
    bad = dict(returncode=1, stderr="Error: creating CloudFormation stack: AccessDenied\nsecond line of stderr")
    fp.register(CREATE_CLUSTER, **(bad if failing == "create cluster" else {}))
    fp.register(HELMFILE_APPLY, **(bad if failing == "helmfile apply" else {}))
    code, out, _ = run(["--yes"], capsys)
    assert code == 4
    failed_step = 2 if failing == "create cluster" else 4  # (3 writes the cluster's kubeconfig)
    assert f"Step {failed_step} failed (exit 1)" in out and "AccessDenied" in out and "second line of stderr" in out
    assert f"Completed: {'1' if failed_step == 2 else '1, 2, 3'}." in out
    assert f"Not started: {'3, 4' if failed_step == 2 else 'none'}." in out
    assert "Re-run `compose apply` to continue" in out
    if failing == "create cluster":
        assert HELMFILE_APPLY not in commands(fp)


def test_failing_write_step_runs_nothing_after_it(estate, fp, capsys):
    tools(fp)
    fp.register(GET_CLUSTER, returncode=1, stderr=ABSENT)
    (estate / "out").write_text("a file where the output folder should be")
    code, out, _ = run(["--yes", "--out-dir", "out/sub"], capsys)
    assert code == 4 and "Step 1 failed" in out and "cannot write the generated files" in out
    assert commands(fp) == [["eksctl", "get", "cluster", "--name", NAME, "--region", REGION, "-o", "json"]]


def test_probe_failure_is_not_mistaken_for_a_missing_cluster(estate, fp, capsys):
    tools(fp)
    fp.register(GET_CLUSTER, returncode=1, stderr="Error: checking AWS STS access: ExpiredToken")
    code, _, err = run(["--yes"], capsys)
    assert code == 1 and "could not tell whether cluster 'test' exists" in err and "ExpiredToken" in err
    assert "Nothing was run or written." in err
    assert commands(fp) == [GET_CLUSTER] and not (estate / "generated").exists()


def test_missing_tool_stops_before_any_step(estate, fp, capsys):
    fp.register(["eksctl", "version"], stdout="0.230.0")
    fp.register(["helmfile", "--version"], stdout="helmfile version v1.1.9")

    def not_installed(process):
        raise FileNotFoundError("helm")

    fp.register(["helm", "version", "--short"], callback=not_installed)
    fp.register(["kubectl", "version", "--client"], stdout="Client Version: v1.34.4")
    code, out, err = run(["--yes"], capsys)
    assert code == 1
    assert "helm is not installed (not found on PATH); install it: https://helm.sh/docs/intro/install/" in err
    assert commands(fp) == [] and not (estate / "generated").exists()


def test_too_old_eksctl_is_refused_with_the_reason(estate, fp, capsys):
    tools(fp, eksctl="0.127.0")
    code, _, err = run(["--yes"], capsys)
    assert code == 1 and "eksctl 0.127.0 is too old: eksctl >= 0.202.0 is needed" in err
    assert "Kubernetes 1.33 needs eksctl >= 0.202.0" in err and commands(fp) == []


def test_the_eksctl_minimum_follows_what_the_cluster_config_asks():
    from composer.cluster.tools import eksctl_minimum

    def config(version=None, *classes):
        groups = [
            {"name": f"ng-{c}", "amiFamily": AMI_FAMILY[c], "labels": {"composer.io/node-class": c}} for c in classes
        ]
        return {"metadata": {"name": "x", **({"version": version} if version else {})}, "managedNodeGroups": groups}

    assert eksctl_minimum(config()) == ((0, 128, 0), eksctl_minimum(config())[1])
    assert "skips profiles that already exist" in eksctl_minimum(config())[1]
    assert eksctl_minimum(config(None, "general"))[0] == (0, 176, 0)
    assert eksctl_minimum(config(None, "general", "gpu"))[0] == (0, 192, 0)
    assert eksctl_minimum(config("1.31", "windows"))[0] == (0, 191, 0)
    assert eksctl_minimum(config("1.35", "general"))[0] == (0, 202, 0)
    assert eksctl_minimum(config("1.30", "neuron"))[0] == (0, 192, 0)
    fargate_only_with_access_entries = {**config(), "accessConfig": {"authenticationMode": "API"}}
    assert eksctl_minimum(fargate_only_with_access_entries) == (
        (0, 167, 0),
        "0.167.0 is the first release with accessConfig and access entries",
    )


def test_refuses_without_a_terminal_and_without_yes(estate, fp, capsys, monkeypatch):
    tools(fp)
    fp.register(GET_CLUSTER, returncode=1, stderr=ABSENT)
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    code, out, err = run([], capsys)
    assert code == 1 and "refusing to apply without confirmation" in err and "pass --yes" in err
    assert commands(fp) == [GET_CLUSTER]  # read-only probe only
    assert not (estate / "generated").exists()
    tools(fp)
    fp.register(GET_CLUSTER, returncode=1, stderr=ABSENT)
    code, out, _ = run(["-o", "json"], capsys)
    assert code == 1 and json.loads(out)["status"] == "refused"


@pytest.mark.parametrize("answer,expected", [("yes", 0), ("y", 1), ("", 1)])
def test_asks_on_a_terminal_and_only_yes_runs(answer, expected, estate, fp, capsys, monkeypatch):
    tools(fp)
    fp.register(GET_CLUSTER, returncode=1, stderr=ABSENT)
    fp.register(CREATE_CLUSTER)
    fp.register(HELMFILE_APPLY)
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    prompts = []
    monkeypatch.setattr("builtins.input", lambda prompt: prompts.append(prompt) or answer)
    code, out, _ = run([], capsys)
    assert code == expected and "Run these 4 step(s)? Only 'yes' is accepted" in prompts[0]
    assert (CREATE_CLUSTER in commands(fp)) == (answer == "yes")


def test_dry_run_runs_nothing_and_writes_nothing(estate, fp, capsys):
    code, out, _ = run(["--dry-run", "--kube-context", "me@test.us-east-1.eksctl.io", "--diff"], capsys)
    assert code == 0 and list(fp.calls) == []
    assert not (estate / "generated").exists()
    assert "generated/cluster.yaml  (new)" in out
    for line in (
        "$ eksctl get cluster --name test --region us-east-1 -o json",
        "$ eksctl create cluster -f generated/cluster.yaml",
        "$ eksctl create fargateprofile -f generated/cluster.yaml",
        "$ helmfile --file generated/helmfile.yaml --kube-context me@test.us-east-1.eksctl.io diff "
        "--suppress-secrets --detailed-exitcode",
        "$ helmfile --file generated/helmfile.yaml --kube-context me@test.us-east-1.eksctl.io apply "
        "--suppress-secrets --detailed-exitcode",
    ):
        assert line in out


def test_helmfile_options_are_passed_through(estate, fp, capsys):
    tools(fp)
    existing(fp, kube_context="ci@test.us-east-1.eksctl.io")
    assert main(["plan", "--write"]) == 0
    # with --kube-context, that context (and no kubeconfig of compose's)
    base = HELMFILE[:3] + ["--kube-context", "ci@test.us-east-1.eksctl.io", "--selector", "namespace=shop"]
    diff = base + ["diff", "--suppress-secrets", "--detailed-exitcode"]
    apply = base + ["apply", "--suppress-secrets", "--detailed-exitcode", "--concurrency", "4"]
    fp.register(diff, returncode=2, stdout="shop/api has changed")
    fp.register(apply, returncode=2)
    code, out, _ = run(
        [
            "--yes",
            "--diff",
            "--kube-context",
            "ci@test.us-east-1.eksctl.io",
            "--selector",
            "namespace=shop",
            "--concurrency",
            "4",
        ],
        capsys,
    )
    assert code == 0 and commands(fp)[-2:] == [diff, apply] and "shop/api has changed" in out
    assert WRITE_KUBECONFIG not in [list(c) for c in fp.calls]


@pytest.mark.parametrize(
    "args,text",
    [
        (["--kube-context=--kubeconfig=/etc/passwd"], "not a valid context name"),
        (["--selector", "name=x; rm -rf /"], "not a helmfile selector"),
        (["--concurrency", "-1"], "--concurrency must be"),
    ],
)
def test_unsafe_option_values_never_reach_a_command_line(args, text, estate, fp, capsys):
    code, _, err = run(["--yes", *args], capsys)
    assert code == 1 and text in err and list(fp.calls) == []


def empty_fp(name, kube=("--kubeconfig", KUBECONFIG)):
    """The pods on a profile about to go: read by the probe, and checked again before the delete."""
    return [
        "kubectl", "get", "pods", "--all-namespaces", "--selector", f"eks.amazonaws.com/fargate-profile={name}",
        "--field-selector", "status.phase=Running", "--output", "json", *kube,
    ]  # fmt: skip


def delete_fp(name):
    return ["eksctl", "delete", "fargateprofile", "--cluster", NAME, "--region", REGION, "--name", name, "--wait"]


def delete_ng(name):
    return ["eksctl", "delete", "nodegroup", "--cluster", NAME, "--region", REGION, "--name", name, "--drain", "--wait"]


def test_a_stale_fargate_profile_is_deleted_but_a_stale_node_group_waits_for_prune(estate, fp, capsys):
    """A Fargate profile compose made that no namespace needs any more keeps routing pods to Fargate,
    so it goes without --prune; an unwanted node group only costs money and stays until --prune."""
    tools(fp)
    existing(fp, profiles=(FP1, "fp-legacy"), groups=(ng(), "ng-old-0a1b2c"))
    fp.register(HELMFILE_APPLY)
    fp.register(empty_fp("fp-legacy"), stdout='{"items": []}')
    fp.register(delete_fp("fp-legacy"))
    code, out, _ = run(["--yes"], capsys)
    # (after the releases, and only once nothing runs on it)
    assert code == 0 and commands(fp)[-3:] == [HELMFILE_APPLY, empty_fp("fp-legacy"), delete_fp("fp-legacy")]
    assert "  - Fargate profile fp-legacy: fp-legacy-ns — delete" in out
    assert "  ! node group ng-old-0a1b2c: m5.large × 2–3 — no longer wanted, kept (--prune deletes it)" in out
    assert "Cluster changes: 0 to create, 0 to replace, 0 to resize, 1 to delete." in out


def test_prune_deletes_unwanted_node_groups_last(estate, fp, capsys):
    tools(fp)
    existing(fp, profiles=(FP1,), groups=(ng(), "ng-old-0a1b2c"))
    fp.register(HELMFILE_APPLY)
    fp.register(delete_ng("ng-old-0a1b2c"))
    code, out, _ = run(["--yes", "--prune"], capsys)
    assert code == 0 and commands(fp)[-2:] == [HELMFILE_APPLY, delete_ng("ng-old-0a1b2c")]
    assert "  - node group ng-old-0a1b2c: m5.large × 2–3 — delete" in out


def test_prune_never_deletes_what_compose_did_not_create(estate, fp, capsys):
    """A node group another team made (no node-class label) and a Fargate profile without compose's tag
    are listed as not managed by compose and left alone, even with --prune."""
    tools(fp)
    existing(fp, profiles=(FP1, "fp-theirs"), groups=(ng(), "ng-data-team"), foreign=("fp-theirs", "ng-data-team"))
    fp.register(HELMFILE_APPLY)
    code, out, _ = run(["--yes", "--prune"], capsys)
    assert code == 0 and commands(fp)[-1] == HELMFILE_APPLY
    assert "  ? Fargate profile fp-theirs: fp-theirs-ns — not managed by compose, left alone" in out
    assert "  ? node group ng-data-team: m5.large × 2–3 — not managed by compose, left alone" in out
    assert not any(c[1] == "delete" for c in commands(fp))


def test_a_changed_fargate_profile_is_created_before_the_old_one_is_deleted(estate, fp, capsys):
    """The old profile selected the same namespace with other content (as before a change of role):
    the new one is created first, then the old one deleted (its pods are recreated on the new one)."""
    tools(fp)
    existing(fp, profiles=("fp-0ld0ld00",), selectors={"fp-0ld0ld00": planned()["fargateProfiles"][0]["selectors"]})
    create_fp = ["eksctl", "create", "fargateprofile", "-f", "generated/cluster.yaml"]
    fp.register(create_fp)
    fp.register(HELMFILE_APPLY)
    fp.register(empty_fp("fp-0ld0ld00"), stdout='{"items": []}')
    fp.register(delete_fp("fp-0ld0ld00"))
    code, out, _ = run(["--yes"], capsys)
    assert code == 0
    # (the pods on the old profile are read once while probing, and again right before its delete)
    assert commands(fp)[-4:] == [create_fp, HELMFILE_APPLY, empty_fp("fp-0ld0ld00"), delete_fp("fp-0ld0ld00")]
    assert (
        "-/+ Fargate profile fp-0ld0ld00: shop; same selectors, but its pod execution role or subnets changed, which "
        f"EKS cannot change in place — replace (replaced by {FP1})"
    ) in " ".join(out.split())
    assert "stays until the releases have rolled their pods over" in " ".join(out.split())


def register_general_replacement(fp) -> list[list[str]]:
    """The commands that replace the old general group ng-general-0a1b2c, registered: the new group,
    the releases, then the old group drained and deleted."""
    replacement = [
        ["eksctl", "create", "nodegroup", "-f", "generated/cluster.yaml", "--include", ng()],
        HELMFILE_APPLY,
        delete_ng("ng-general-0a1b2c"),
    ]
    for argv in replacement:
        fp.register(argv)
    return replacement


def test_a_changed_node_group_is_replaced_and_the_old_one_drained_after_the_releases(estate, fp, capsys):
    tools(fp)
    existing(fp, groups=("ng-general-0a1b2c",))
    replacement = register_general_replacement(fp)
    code, out, _ = run(["--yes"], capsys)
    assert code == 0
    assert commands(fp)[-3:] == replacement
    assert f"-/+ node group ng-general-0a1b2c: m5.large × 2–3 — replace (replaced by {ng()})" in out
    assert "Cluster changes: 1 to create, 1 to replace, 0 to resize, 0 to delete." in out


def test_a_size_change_scales_the_group_in_place(estate, fp, capsys):
    tools(fp)
    existing(fp, sizes={ng(): (1, 9)})
    group = next(g for g in planned()["managedNodeGroups"] if g["name"] == ng())
    scale = [
        "eksctl",
        "scale",
        "nodegroup",
        "--cluster",
        NAME,
        "--region",
        REGION,
        "--name",
        ng(),
        "--nodes",
        str(group["desiredCapacity"]),
        "--nodes-min",
        str(group["minSize"]),
        "--nodes-max",
        str(group["maxSize"]),
        "--wait",
    ]
    fp.register(scale)
    fp.register(HELMFILE_APPLY)
    code, out, _ = run(["--yes"], capsys)
    assert code == 0 and commands(fp)[-2:] == [scale, HELMFILE_APPLY]
    assert f"~ node group {ng()}: 1–9 → {group['minSize']}–{group['maxSize']} — resize" in out


@pytest.mark.parametrize(
    "status,advice",
    [
        ("CREATING", "still running; wait until it is ACTIVE"),
        ("DELETING", "still running; wait until it is ACTIVE"),
        ("CREATE_FAILED", "fix it, or delete it with eksctl"),
        ("DEGRADED", "fix it, or delete it with eksctl"),
    ],
)
@pytest.mark.parametrize("what", ["profile", "group"])
def test_exists_is_not_ready_a_status_other_than_active_stops_the_run(status, advice, what, estate, fp, capsys):
    tools(fp)
    target = FP1 if what == "profile" else ng()
    existing(fp, status={target: status})
    code, _, err = run(["--yes"], capsys)
    assert code == 1 and f"{target} is {status}: " in err and advice in err and "Nothing was run or written." in err
    assert commands(fp) == [GET_CLUSTER, GET_FP, GET_NG]
    assert not (estate / "generated").exists()


def test_prune_refuses_a_strange_name_reported_by_eksctl(estate, fp, capsys):
    tools(fp)
    existing(fp, profiles=(FP1, "--all"), groups=None)
    code, _, err = run(["--yes", "--prune"], capsys)
    assert code == 1 and "refusing to pass '--all'" in err


def test_json_result_lists_steps_with_status_and_duration(estate, fp, capsys):
    tools(fp)
    fp.register(GET_CLUSTER, returncode=1, stderr=ABSENT)
    fp.register(CREATE_CLUSTER)
    fp.register(HELMFILE_APPLY, returncode=1, stderr="Error: UPGRADE FAILED: timed out waiting for the condition")
    code, out, _ = run(["--yes", "-o", "json"], capsys)
    data = json.loads(out)
    assert code == 4 and data["status"] == "failed" and data["format_version"] == "1"
    assert [s["status"] for s in data["steps"]] == ["done", "done", "done", "failed"]
    assert data["steps"][1]["argv"] == CREATE_CLUSTER and data["steps"][2]["argv"] == WRITE_KUBECONFIG
    assert data["steps"][3]["exit_code"] == 1
    assert data["steps"][3]["stderr_tail"] == ["Error: UPGRADE FAILED: timed out waiting for the condition"]
    assert all(isinstance(s["seconds"], float) for s in data["steps"]) and data["log"].endswith(".log")


def test_ctrl_c_during_a_step_reports_the_state(estate, fp, capsys, monkeypatch):
    tools(fp)
    fp.register(GET_CLUSTER, returncode=1, stderr=ABSENT)

    def runner(argv, on_line, timeout=None):  # Ctrl-C arrives while `eksctl create cluster` runs
        if argv == CREATE_CLUSTER:
            on_line("err", 'creating CloudFormation stack "eksctl-test-cluster"')
            raise KeyboardInterrupt
        return popen_runner(argv, on_line, timeout)

    monkeypatch.setattr(sys.modules[__name__], "RUNNER", [runner])
    code, out, _ = run(["--yes"], capsys)
    assert code == 130
    assert "Interrupted during step 2" in out and "Completed: 1. Not started: 3, 4." in out
    assert HELMFILE_APPLY not in commands(fp)


def test_a_command_that_cannot_be_executed_is_a_failed_step(estate, fp, capsys, monkeypatch):
    tools(fp)
    fp.register(GET_CLUSTER, returncode=1, stderr=ABSENT)

    def runner(argv, on_line, timeout=None):
        if argv == CREATE_CLUSTER:
            raise PermissionError(13, "Permission denied", "eksctl")
        return popen_runner(argv, on_line, timeout)

    monkeypatch.setattr(sys.modules[__name__], "RUNNER", [runner])
    code, out, _ = run(["--yes"], capsys)
    assert code == 4 and "Step 2 failed (exit 126)" in out and "cannot run" in out


@pytest.mark.parametrize(
    "answer",
    [
        "{}",
        '"ng-general"',
        "null",
        "3",
        "[[1]]",
        '[{"Cluster": "test"}]',
        '[{"Name": ""}]',
        "[" * 100_000,
        "not json",
        "",
    ],
)
def test_a_probe_answer_of_the_wrong_shape_is_an_error_not_an_empty_cluster(answer, estate, fp, capsys):
    tools(fp)
    fp.register(GET_CLUSTER, stdout=json.dumps([{"Name": NAME, "Status": "ACTIVE"}]))
    fp.register(GET_FP, stdout=json.dumps([{"name": FP1, "status": "ACTIVE"}]))
    fp.register(GET_NG, stdout=answer)
    code, _, err = run(["--yes"], capsys)
    assert code == 1 and "eksctl get nodegroup" in err and "Nothing was run or written." in err
    assert not any(c[:3] == ["eksctl", "create", "nodegroup"] for c in commands(fp))


def test_terminal_escapes_in_tool_output_never_reach_the_screen_report_or_log(estate, fp, capsys):
    hostile = "\x1b]0;owned\x07\x1b[2J\x1b[H\x1b[31mError\x1b[0m: boom\x1b[1A\x9b2K\rhidden"
    tools(fp)
    fp.register(GET_CLUSTER, returncode=1, stderr=ABSENT)
    fp.register(CREATE_CLUSTER, returncode=1, stdout=hostile, stderr=hostile)
    code, out, err = run(["--yes"], capsys)
    log = next((estate / ".compose" / "logs").glob("apply-*.log")).read_text()
    # (a bare carriage return splits the line, as the runner reads lines the way Python does)
    assert code == 4 and "Error: boom\n" in out and "out: Error: boom\n" in log and "err: hidden" in log
    for text in (out, err, log):
        assert not any(ch in text for ch in "\x1b\x07\x9b\r")


@pytest.mark.parametrize("hangs", ["eksctl version", "eksctl get cluster", "eksctl get nodegroup"])
def test_a_hanging_version_check_or_probe_times_out_with_nothing_run(hangs, estate, fp, capsys, monkeypatch):
    tools(fp)
    fp.register(GET_CLUSTER, stdout=json.dumps([{"Name": NAME, "Status": "ACTIVE"}]))
    fp.register(GET_FP, stdout="[]")
    fp.register(GET_NG, stdout="[]")
    seen = []

    def runner(argv, on_line, timeout=None):
        seen.append(timeout)
        if " ".join(argv).startswith(hangs):
            raise TimedOut(f"`{argv[0]}` gave no answer within {timeout:g} s and was stopped")
        return popen_runner(argv, on_line, timeout)

    monkeypatch.setattr(sys.modules[__name__], "RUNNER", [runner])
    code, _, err = run(["--yes", "--probe-timeout", "7"], capsys)
    assert code == 1 and "gave no answer within 7 s" in err and "--probe-timeout" in err
    assert "Nothing was run or written." in err and set(seen) == {7.0}
    assert not (estate / "generated").exists()


def test_probe_timeout_is_bounded(estate, capsys):
    code, _, err = run(["--yes", "--probe-timeout", "0"], capsys)
    assert code == 1 and "--probe-timeout must be between 1 and 3600 seconds" in err


# ---------------------------------------------------------------- compose plan --refresh


def test_plan_is_offline_without_refresh_and_says_so(estate, fp, capsys):
    code = main(["plan"])
    out = capsys.readouterr().out
    assert code == 0 and "Cluster: not checked (offline plan)" in out and not fp.calls


def test_plan_refresh_shows_cloud_side_changes_and_counts_them_for_detailed_exitcode(estate, fp, capsys):
    existing(fp, groups=("ng-general-0a1b2c",))
    assert main(["plan", "--write"]) == 0
    capsys.readouterr()
    code = main(["plan", "--refresh", "--detailed-exitcode"])
    out = capsys.readouterr().out
    assert code == 2  # the files are written, but the cluster still differs
    assert f"-/+ node group ng-general-0a1b2c: m5.large × 2–3 — replace (replaced by {ng()})" in out
    assert "Cluster changes: 1 to create, 1 to replace, 0 to resize, 0 to delete." in out
    assert all(c[1] == "get" for c in commands(fp))  # read-only


def test_plan_refresh_of_a_matching_cluster_has_nothing_to_do(estate, fp, capsys):
    existing(fp)
    assert main(["plan", "--write"]) == 0
    capsys.readouterr()
    assert main(["plan", "--refresh", "--detailed-exitcode", "-o", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["cluster"]["summary"] == "0 to create, 0 to replace, 0 to resize, 0 to delete"


def test_plan_refresh_that_cannot_read_the_cluster_is_an_error(estate, fp, capsys):
    fp.register(GET_CLUSTER, returncode=255, stderr="Error: checking AWS STS access: no credentials")
    assert main(["plan", "--refresh"]) == 1
    assert "--refresh: could not tell whether cluster 'test' exists" in capsys.readouterr().err


def test_a_missing_helm_diff_plugin_is_refused_before_anything_runs(estate, fp, capsys):
    fp.register(["eksctl", "version"], stdout="0.230.0")
    fp.register(["helmfile", "--version"], stdout="helmfile version v1.1.9")
    fp.register(["helm", "version", "--short"], stdout="v3.16.2+g13654a5")
    fp.register(["helm", "plugin", "list"], stdout="NAME\tVERSION\tDESCRIPTION\n")
    fp.register(["kubectl", "version", "--client"], stdout="Client Version: v1.34.4")
    code, _, err = run(["--yes"], capsys)
    assert code == 1 and "helm's diff plugin is not installed" in err and "helm plugin install" in err
    assert not commands(fp) and not (estate / "generated").exists()


def test_a_failed_eksctl_step_reports_the_reason_eksctl_logged_on_stdout(estate, fp, capsys):
    tools(fp)
    fp.register(GET_CLUSTER, returncode=1, stderr=ABSENT)
    fp.register(
        CREATE_CLUSTER,
        returncode=1,
        stdout='[✖]  AWS::EKS::Cluster/ControlPlane: CREATE_FAILED – "Resource handler returned message: '
        'Cannot create cluster because us-east-1e does not have sufficient capacity"',
        stderr='Error: failed to create cluster "test"',
    )
    code, out, _ = run(["--yes"], capsys)
    assert code == 4 and "us-east-1e does not have sufficient capacity" in out and "failed to create cluster" in out


def test_the_kubeconfig_given_to_helmfile_is_absolute(tmp_path, monkeypatch):
    """helmfile runs helm from the helmfile's folder: a relative --kubeconfig would name nothing there and
    helm would fall back to localhost:8080 (what the real helmfile did in the end-to-end test)."""
    monkeypatch.chdir(tmp_path)
    base = ap.helmfile_base(Path("generated/helmfile.yaml"), ap.ApplyOptions(), "shop")
    path = base[base.index("--kubeconfig") + 1]
    assert Path(path).is_absolute() and path == str(tmp_path / ".compose" / "kubeconfig-shop")


def test_a_release_whose_profile_is_gone_is_listed_and_uninstalled_only_with_prune(estate, fp, capsys):
    """helm list finds the releases compose installed (by the label helmfile stores with them); one whose
    profile was deleted is kept and listed, and uninstalled with --prune after the others are applied."""
    tools(fp)
    existing(fp, releases=[("shop", "api"), ("data", "pg"), ("shop", "old-worker")])
    fp.register(HELMFILE_APPLY, occurrences=2)
    code, out, _ = run(["--yes"], capsys)
    assert code == 0 and "  ! Helm release shop/old-worker — no longer wanted, kept (--prune deletes it)" in out
    assert not any(c[:2] == ["helm", "uninstall"] for c in commands(fp))
    tools(fp)
    existing(fp, releases=[("shop", "api"), ("data", "pg"), ("shop", "old-worker")])
    uninstall = ["helm", "uninstall", "old-worker", "--namespace", "shop", "--wait", "--kubeconfig", KUBECONFIG]
    fp.register(uninstall)
    code, out, _ = run(["--yes", "--prune"], capsys)
    assert code == 0 and commands(fp)[-2:] == [HELMFILE_APPLY, uninstall]
    assert "uninstall Helm release shop/old-worker" in out


def test_a_silent_long_step_says_it_is_alive_when_no_terminal_shows_a_spinner(estate, fp, capsys, monkeypatch):
    tools(fp)
    fp.register(GET_CLUSTER, returncode=1, stderr=ABSENT)
    fp.register(CREATE_CLUSTER, stdout="ready", wait=1.5)  # silent for 1.5 s, like eksctl waiting on CloudFormation
    fp.register(HELMFILE_APPLY)
    monkeypatch.setenv("COMPOSE_HEARTBEAT_SECONDS", "0.4")
    code, out, _ = run(["--yes"], capsys)
    assert code == 0 and "… still running: step 2 (create cluster test" in out
    assert "still running: step 4" not in out  # a quick step says nothing


# ---------------------------------------------------------------- saved plans


def test_a_saved_plan_runs_when_nothing_changed_and_never_when_something_did(estate, fp, capsys):
    existing(fp, groups=("ng-general-0a1b2c",))
    assert main(["plan", "--refresh", "--out", "plan.json"]) == 0
    capsys.readouterr()
    saved = json.loads((estate / "plan.json").read_text())
    assert saved["commands"][0] == ["eksctl", "create", "nodegroup", "-f", "generated/cluster.yaml", "--include", ng()]
    # the cluster changed since: someone scaled the old group
    tools(fp)
    existing(fp, groups=("ng-general-0a1b2c",), sizes={"ng-general-0a1b2c": (1, 9)})
    code, _, err = run(["--yes", "--plan", "plan.json"], capsys)
    assert code == 1 and "the cluster changed since the plan was saved" in err and "Nothing was run" in err
    assert not any(c[1] in ("create", "delete", "scale") or c[0] == "helmfile" for c in commands(fp))
    # the inputs changed since: a profile was edited
    profile = estate / "profiles" / "shop-api.yaml"
    original = profile.read_text()
    profile.write_text(original.replace("replicas: 2", "replicas: 4"))
    tools(fp)
    existing(fp, groups=("ng-general-0a1b2c",))
    code, _, err = run(["--yes", "--plan", "plan.json"], capsys)
    assert code == 1 and "the inputs changed since the plan was saved" in err
    # as it was: the saved commands run
    profile.write_text(original)
    tools(fp)
    existing(fp, groups=("ng-general-0a1b2c",))
    replacement = register_general_replacement(fp)
    code, out, _ = run(["--yes", "--plan", "plan.json"], capsys)
    assert code == 0 and "Saved plan plan.json: inputs and cluster unchanged since it was made." in out
    assert commands(fp)[-3:] == replacement


@pytest.mark.parametrize("content", ["not json", '{"format": "other"}', "[]"])
def test_apply_plan_with_a_file_that_is_not_a_saved_plan_is_a_clear_error(content, estate, capsys):
    (estate / "plan.json").write_text(content)
    code, _, err = run(["--yes", "--plan", "plan.json"], capsys)
    assert code == 1 and "plan.json: not a saved plan" in err and "Traceback" not in err


def test_out_needs_refresh(estate, capsys):
    assert main(["plan", "--out", "plan.json"]) == 64
    assert "use it with --refresh" in capsys.readouterr().err


def test_a_cluster_missing_its_oidc_provider_gets_it_before_anything_else(estate, fp, capsys):
    """After a `create cluster` stopped halfway the cluster exists without the IAM OIDC provider its config
    asks for, and no create fargateprofile/nodegroup adds it: apply does, first."""
    tools(fp)
    existing(fp, oidc="missing")
    create_oidc = OIDC_CHECK + ["--approve"]
    fp.register(create_oidc)
    fp.register(HELMFILE_APPLY)
    code, out, _ = run(["--yes"], capsys)
    assert code == 0 and commands(fp) == [GET_CLUSTER, GET_FP, GET_NG, create_oidc, HELMFILE_APPLY]
    assert "create the IAM OIDC provider of cluster test" in out


def test_restart_actions_pick_exactly_the_workloads_whose_pods_a_fargate_profile_selects():
    from composer.cluster.reconcile import Pod, restart_actions

    config = {
        "fargateProfiles": [
            {"name": "fp-a", "selectors": [{"namespace": "shop"}, {"namespace": "data", "labels": {"fargate": "yes"}}]}
        ]
    }
    pods = (
        Pod("shop", (("app", "api"),), "deployment/api"),
        Pod("shop", (), "deployment/api"),
        Pod("shop", (), "statefulset/cache"),
        Pod("shop", (), "job/export-1"),
        Pod("shop", (), "pod/debug"),
        Pod("data", (("fargate", "yes"),), "deployment/loader"),
        Pod("data", (("fargate", "no"),), "deployment/pg-proxy"),  # not selected: its labels differ
        Pod("other", (), "deployment/x"),
    )  # no profile selects the namespace
    got = {(a.kind, a.name, a.detail) for a in restart_actions(config, pods)}
    assert got == {
        ("restart", "shop/deployment/api", "2 pod(s) on EC2 nodes that Fargate profile fp-a selects"),
        ("restart", "shop/statefulset/cache", "1 pod(s) on EC2 nodes that Fargate profile fp-a selects"),
        ("stays", "shop/job/export-1", "1 pod(s) on EC2 nodes that Fargate profile fp-a selects"),
        ("stays", "shop/pod/debug", "1 pod(s) on EC2 nodes that Fargate profile fp-a selects"),
        ("restart", "data/deployment/loader", "1 pod(s) on EC2 nodes that Fargate profile fp-a selects"),
    }


def _pod(name, owner_kind, owner, scheduler="default-scheduler"):
    return {
        "metadata": {
            "name": name,
            "namespace": "shop",
            "labels": {"app": "api"},
            "ownerReferences": [{"kind": owner_kind, "name": owner, "controller": True}],
        },
        "spec": {"schedulerName": scheduler},
        "status": {"phase": "Running"},
    }


@pytest.mark.parametrize("kube_context", [None, "prod-admin"])
def test_pods_left_on_ec2_are_restarted_after_the_releases_with_the_same_cluster_access(
    estate, fp, capsys, kube_context
):
    tools(fp)
    existing(
        fp,
        kube_context=kube_context,
        pods={
            "shop": [_pod("api-5f-1", "ReplicaSet", "api-5f"), _pod("nightly-1", "Job", "nightly")],
            "shop/replicasets": [
                {
                    "metadata": {
                        "name": "api-5f",
                        "namespace": "shop",
                        "ownerReferences": [{"kind": "Deployment", "name": "api", "controller": True}],
                    }
                }
            ],
        },
    )
    helmfile = (
        HELMFILE_APPLY
        if not kube_context
        else [
            "helmfile",
            "--file",
            "generated/helmfile.yaml",
            "--kube-context",
            kube_context,
            "apply",
            "--suppress-secrets",
            "--detailed-exitcode",
        ]
    )
    fp.register(helmfile, returncode=0)
    kube = ["--context", kube_context] if kube_context else ["--kubeconfig", ".compose/kubeconfig-test"]
    restart = ["kubectl", "rollout", "restart", "deployment/api", "--namespace", "shop", *kube]
    fp.register(restart, stdout="deployment.apps/api restarted")
    args = ["--yes"] + (["--kube-context", kube_context] if kube_context else [])
    code, out, _ = run(args, capsys)
    assert code == 0, out
    assert commands(fp)[-2:] == [helmfile, restart]  # after the releases; the Job is never restarted
    assert "! workload shop/job/nightly" in out and "never restarted" in out


def test_a_malformed_kubectl_answer_stops_apply_before_any_step(estate, fp, capsys):
    tools(fp)
    existing(fp, pods={"shop": "<html>proxy error"})
    code, _, err = run(["--yes"], capsys)
    assert code == 1 and "printed something that is not JSON" in err and "Nothing was run or written." in err
    assert not any(c[1] in ("create", "delete", "rollout") or "apply" in c for c in commands(fp))


def test_addon_actions_create_the_missing_update_the_misconfigured_and_wait_for_busy_ones():
    from composer.cluster.reconcile import NotReady, addon_actions

    fargate = '{"computeType":"Fargate"}'
    config = {
        "addons": [{"name": "vpc-cni"}, {"name": "kube-proxy"}, {"name": "coredns", "configurationValues": fargate}]
    }

    def kinds(existing):
        return {a.name: a.kind for a in addon_actions(config, existing)}

    assert addon_actions(config, None) == []  # not read: nothing decided
    assert kinds({}) == {"vpc-cni": "create", "kube-proxy": "create", "coredns": "create"}
    assert kinds(
        {
            "vpc-cni": {"Status": "CREATE_FAILED"},
            "kube-proxy": {"Status": "DEGRADED"},
            "coredns": {"Status": "ACTIVE", "ConfigurationValues": '{"computeType": "Fargate", "replicaCount": 3}'},
        }
    ) == {"vpc-cni": "create", "kube-proxy": "unchanged", "coredns": "unchanged"}  # (other keys of the user's are kept)
    assert (
        kinds(
            {
                "vpc-cni": {"Status": "ACTIVE"},
                "kube-proxy": {"Status": "ACTIVE"},
                "coredns": {"Status": "ACTIVE", "ConfigurationValues": "replicaCount: 3"},
            }
        )["coredns"]
        == "update"
    )
    assert (
        kinds({"vpc-cni": {"Status": "ACTIVE", "Version": "v1.19.0", "NewerVersion": "v1.20.1"}})["vpc-cni"]
        == "outdated"
    )
    with pytest.raises(NotReady, match="add-on coredns is UPDATING: an earlier operation is still running"):
        addon_actions(config, {"coredns": {"Status": "UPDATING"}})


def test_add_ons_an_interrupted_create_cluster_left_out_are_created_after_the_profiles(estate, fp, capsys):
    tools(fp)
    existing(fp, addons=[{"Name": "vpc-cni", "Status": "ACTIVE", "ConfigurationValues": ""}])
    fp.register(HELMFILE_APPLY, returncode=0)
    create = ["eksctl", "create", "addon", "-f", "generated/cluster.yaml"]
    fp.register(
        create, stdout='"vpc-cni" addon is already present on the cluster, as an EKS managed addon, skipping creation'
    )
    code, out, _ = run(["--yes"], capsys)
    assert code == 0, out
    assert "+ add-on kube-proxy — create" in out and "+ add-on coredns — create" in out
    changing = [c for c in commands(fp) if c[1] in ("create", "update", "delete") or "apply" in c]
    assert changing == [create, HELMFILE_APPLY]


def test_the_authentication_mode_moves_one_step_towards_the_plan_and_the_rest_is_listed():
    from composer.cluster import reconcile
    from composer.emit import access

    def config(mode):
        return {"metadata": {"name": "shop", "region": "eu-west-1"}, "accessConfig": {"authenticationMode": mode}}

    def kinds(planned, current):
        return [
            (a.kind, a.detail.split(":")[0].split(" (")[0])
            for a in reconcile.authentication_actions(config(planned), current)
        ]

    assert kinds("API", "API") == kinds("API", None) == []  # (None: eksctl reported no mode)
    assert kinds("API_AND_CONFIG_MAP", "CONFIG_MAP") == [("update", "CONFIG_MAP → API_AND_CONFIG_MAP")]
    # on to API would drop aws-auth's mappings: never by apply, listed with the migration command
    assert kinds("API", "CONFIG_MAP") == [
        ("update", "CONFIG_MAP → API_AND_CONFIG_MAP"),
        ("differs", "API_AND_CONFIG_MAP, the plan has API"),
    ]
    listed = reconcile.authentication_actions(config("API"), "API_AND_CONFIG_MAP")
    assert [a.kind for a in listed] == ["differs"]
    assert (
        "eksctl utils migrate-to-access-entry --cluster shop --region eu-west-1 --target-authentication-mode API"
        in listed[0].detail
    )
    back = reconcile.authentication_actions(config("CONFIG_MAP"), "API")
    assert [a.kind for a in back] == ["differs"] and "set access.authenticationMode: API" in back[0].detail
    # what eksctl get cluster -o json prints: the SDK's Cluster objects with Go field names
    assert (
        access.reported_mode(json.dumps([{"Name": "shop", "AccessConfig": {"AuthenticationMode": "CONFIG_MAP"}}]))
        == "CONFIG_MAP"
    )
    for unreported in (
        "",
        "not json",
        "[]",
        json.dumps([{"Name": "shop", "AccessConfig": None}]),
        json.dumps([{"AccessConfig": {"AuthenticationMode": "SOMETHING_NEW"}}]),
        json.dumps({"a": 1}),
    ):
        assert access.reported_mode(unreported) is None, unreported


def test_a_config_map_cluster_is_switched_before_the_profiles_that_need_access_entries(tmp_path):
    from composer.cluster.apply import ApplyOptions, ClusterState, plan_steps

    config = {
        "metadata": {"name": "shop", "region": "eu-west-1"},
        "accessConfig": {"authenticationMode": "API"},
        "fargateProfiles": [{"name": "fp-new", "selectors": [{"namespace": "shop"}]}],
        "managedNodeGroups": [],
    }
    state = ClusterState(True, authentication_mode="CONFIG_MAP")
    argvs = [
        s.argv[:3] for s in plan_steps(config, state, tmp_path / "c.yaml", tmp_path / "h.yaml", ApplyOptions(), None)
    ]
    assert argvs.index(("eksctl", "utils", "update-authentication-mode")) < argvs.index(
        ("eksctl", "create", "fargateprofile")
    )
    step = next(
        s
        for s in plan_steps(config, state, tmp_path / "c.yaml", tmp_path / "h.yaml", ApplyOptions(), None)
        if s.argv[:3] == ("eksctl", "utils", "update-authentication-mode")
    )
    assert step.argv[3:] == (
        "--cluster",
        "shop",
        "--region",
        "eu-west-1",
        "--authentication-mode",
        "API_AND_CONFIG_MAP",
    )
    same = ClusterState(True, authentication_mode="API")
    assert not any(
        s.argv[:3] == ("eksctl", "utils", "update-authentication-mode")
        for s in plan_steps(config, same, tmp_path / "c.yaml", tmp_path / "h.yaml", ApplyOptions(), None)
    )


def test_a_profile_with_pods_still_on_it_is_not_deleted_without_allow_disruption(estate, fp, capsys):
    """Deleting a Fargate profile deletes its pods all at once (EKS DeleteFargateProfile): pods that could
    not be rolled onto the successor (no pod-label value, Jobs) stop the run before the delete, naming them;
    --allow-disruption accepts it."""
    left = {"items": [{"metadata": {"namespace": "shop", "name": "api-7c9-x1"}}]}
    tools(fp)
    existing(fp, profiles=(FP1, "fp-legacy"))
    fp.register(HELMFILE_APPLY)
    fp.register(empty_fp("fp-legacy"), stdout=json.dumps(left))
    code, out, err = run(["--yes"], capsys)
    assert code == 4 and delete_fp("fp-legacy") not in commands(fp)
    text = " ".join((out + err).split())
    assert "1 pod(s) still run on Fargate profile fp-legacy (shop/api-7c9-x1)" in text and "--allow-disruption" in text
    tools(fp)
    existing(fp, profiles=(FP1, "fp-legacy"))
    fp.register(HELMFILE_APPLY)
    fp.register(delete_fp("fp-legacy"))
    code, out, _ = run(["--yes", "--allow-disruption"], capsys)
    assert code == 0 and commands(fp)[-1] == delete_fp("fp-legacy")


def test_plan_refresh_says_what_each_profile_change_does_to_running_pods():
    """A replaced profile's pods of a pinned release roll onto the successor; the others are deleted at once;
    a created profile affects none."""
    from composer.cluster import reconcile

    config = {"fargateProfiles": [{"name": "fp-new", "selectors": [{"namespace": "shop"}]}]}
    existing_profiles = {
        "fp-old": {"name": "fp-old", "selectors": [{"namespace": "shop"}, {"namespace": "gone"}], "status": "ACTIVE"}
    }

    def pod(owner, release):
        return reconcile.Pod("shop", (("app.kubernetes.io/instance", release),), owner)

    pods = {"fp-old": (pod("deployment/api", "api"), pod("deployment/api", "api"), pod("deployment/web", "web"))}
    found = reconcile.fargate_actions(config, existing_profiles, frozenset({"fp-old"}), pods, frozenset({"shop/api"}))
    effects = {a.name: a.effect for a in found}
    assert effects["fp-new"] == "no pods affected"
    assert effects["fp-old"] == (
        "rolls 2 pod(s) of shop/deployment/api onto the new profile; "
        "deletes 1 pod(s) of shop/deployment/web at once (needs --allow-disruption)"
    )
    strategies = {"shop/deployment/api": "maxUnavailable 1"}
    again = reconcile.fargate_actions(
        config, existing_profiles, frozenset({"fp-old"}), pods, frozenset({"shop/api"}), strategies=strategies
    )
    assert "rolls 2 pod(s) of shop/deployment/api onto the new profile (maxUnavailable 1)" in again[-1].effect
    assert " · rolls 2 pod(s)" in reconcile.lines(found)[1]


def test_a_profile_only_a_kept_release_still_needs_is_kept_with_it():
    """Without --prune a release no longer wanted is kept, and so is the profile its pods run on (deleting it
    would delete them); with --prune (nothing kept) it is deleted, after the release is uninstalled."""
    from composer.cluster import reconcile

    config = {"fargateProfiles": [{"name": "fp-shop", "selectors": [{"namespace": "shop"}]}]}
    existing_profiles = {
        name: {"name": name, "selectors": [{"namespace": ns}], "status": "ACTIVE"}
        for name, ns in (("fp-shop", "shop"), ("fp-mail", "mail"))
    }
    owned = frozenset({"fp-shop", "fp-mail"})
    kept = reconcile.fargate_actions(config, existing_profiles, owned, kept=frozenset({"mail"}))
    assert [(a.kind, a.name) for a in kept if a.name == "fp-mail"] == [("keep", "fp-mail")]
    assert "releases kept in mail still run there" in reconcile.lines(kept)[-1]
    pruned = reconcile.fargate_actions(config, existing_profiles, owned)
    assert [(a.kind, a.name) for a in pruned if a.name == "fp-mail"] == [("delete", "fp-mail")]


@pytest.mark.parametrize(
    "spec,text",
    [
        ({"replicas": 3}, "maxUnavailable 0"),  # 25% of 3 rounds down
        ({"replicas": 8}, "maxUnavailable 2"),
        ({"replicas": 3, "strategy": {"rollingUpdate": {"maxUnavailable": 1}}}, "maxUnavailable 1"),
        ({"replicas": 2, "strategy": {"rollingUpdate": {"maxUnavailable": 0, "maxSurge": 0}}}, "maxUnavailable 1"),
        ({"replicas": 4, "strategy": {"type": "Recreate"}}, "Recreate: all 4 at once"),
    ],
)
def test_how_a_deployment_rolls_is_read_from_its_strategy_as_kubernetes_resolves_it(spec, text):
    from composer.cluster import reconcile

    assert reconcile.rollout_text({"spec": spec}) == text


# ---------------------------------------------------------------- AMI releases


def test_ami_release_parameters_and_order_are_eksctls():
    """The parameter names of eksctl's MakeManagedSSMParameterName (pkg/ami/ssm_resolver.go lines 127-160)
    and the order of its AMIReleaseVersion.Compare (pkg/actions/nodegroup/ami.go): version, then date."""
    from composer.cluster.amirelease import behind, release_parameter

    base = "/aws/service/eks/optimized-ami/1.34"
    assert release_parameter("1.34", "AL2023_ARM_64_STANDARD") == (
        f"{base}/amazon-linux-2023/arm64/standard/recommended/release_version"
    )
    assert release_parameter("1.34", "AL2023_x86_64_NVIDIA") == (
        f"{base}/amazon-linux-2023/x86_64/nvidia/recommended/release_version"
    )
    assert release_parameter("1.34", "AL2_x86_64_GPU") == f"{base}/amazon-linux-2-gpu/recommended/release_version"
    assert (
        release_parameter("1.34", "BOTTLEROCKET_ARM_64")
        == "/aws/service/bottlerocket/aws-k8s-1.34/arm64/latest/image_version"
    )
    assert release_parameter("1.34", "CUSTOM") is None and release_parameter("1.34", "WINDOWS_FULL_2022_x86_64") is None
    assert release_parameter("1.34; rm -rf /", "AL2023_x86_64_STANDARD") is None
    assert behind("1.33.5-20261101", "1.33.5-20261120") and behind("1.33.4-20261201", "1.33.5-20261101")
    assert not behind("1.33.5-20261120", "1.33.5-20261101") and not behind("1.33.5-20261120", "1.33.5-20261120")
    assert not behind("ami-0abc", "1.33.5-20261120") and not behind("1.33.5-20261101", "garbage")


def test_a_node_group_behind_the_newest_ami_release_is_listed_and_rolled_only_with_upgrade_nodes(estate, fp, capsys):
    tools(fp)
    amis = {ng(): ("1.33.5-20261101", "1.33.5-20261120")}
    existing(fp, amis=amis)
    assert main(["plan", "--write"]) == 0
    assert main(["plan", "--refresh", "--no-diff", "--detailed-exitcode"]) == 0  # as planned: AMIs are not pinned
    out = " ".join(capsys.readouterr().out.split())
    line = f"~ node group {ng()}: AMI release 1.33.5-20261101 → 1.33.5-20261120 — upgrade with --upgrade-nodes"
    assert line in out and "1 node group(s) behind the newest AMI release (--upgrade-nodes)" in out
    upgrade = ["eksctl", "upgrade", "nodegroup", "--name", ng(), "--cluster", NAME, "--region", REGION]
    upgrade += ["--release-version", "1.33.5-20261120", "--wait"]
    tools(fp)
    existing(fp, amis=amis)
    fp.register(HELMFILE_APPLY)
    code, out, _ = run(["--yes"], capsys)
    assert code == 0 and upgrade not in commands(fp)
    tools(fp)
    existing(fp, amis=amis)
    fp.register(upgrade)
    fp.register(HELMFILE_APPLY)
    code, out, _ = run(["--yes", "--upgrade-nodes"], capsys)
    out = " ".join(out.split())
    assert code == 0 and commands(fp)[-2:] == [upgrade, HELMFILE_APPLY], commands(fp)[-3:]
    assert f"~ node group {ng()}: AMI release 1.33.5-20261101 → 1.33.5-20261120, node by node" in out


def test_without_the_aws_cli_the_ami_releases_are_said_to_be_unread(estate, fp, capsys):
    tools(fp)
    existing(fp, amis="absent")
    assert main(["plan", "--refresh", "--no-diff"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "? AMI releases of the node groups: the AWS CLI (aws) is not on PATH — not read" in out


def test_a_waiting_step_polls_until_its_check_passes_or_its_limit_is_up():
    """execute reruns a step with ``poll`` while its check finds a problem, for at most ``limit`` seconds."""
    answers = iter(['{"items": [1]}', '{"items": [1]}', '{"items": []}'])

    def runner(argv, on_line, timeout=None):
        on_line("out", next(answers, '{"items": [1]}'))
        return 0

    def check(out):
        return "still there" if json.loads(out)["items"] else None

    step = ap.Step("wait", ("kubectl", "get", "pods"), expect=check, poll=0.01, limit=5)
    seen = []
    results = ap.execute([step], runner, lambda: None, on_line=lambda s, stream, text: seen.append(text))
    assert results[0].status == "done" and sum("still waiting" in t for t in seen) == 2
    answers = iter([])
    results = ap.execute([ap.Step("wait", ("kubectl",), expect=check, poll=0.01, limit=0.05)], runner, lambda: None)
    assert results[0].status == "failed" and results[0].tail[-1] == "still there"


def test_a_deployment_whose_immutable_selector_changes_is_orphaned_and_its_release_synced_before_the_upgrade(
    tmp_path,
):
    """The generated autoscaler's chart selector is known (Plan.fixed_selectors); one installed with
    another selector (routing once in its podLabels) is deleted with --cascade=orphan, so its pods keep
    running, and its release alone is synced right away, before helmfile apply; a missing one (a run
    stopped in between) is synced too, as helmfile apply would see no change to upgrade; with helmfile
    --selector it is only listed; an equal one is left alone."""
    from composer.cluster import reconcile
    from composer.cluster.apply import ApplyOptions, ClusterState, plan_steps
    from composer.place import autoscaler

    key, deployment = "kube-system/cluster-autoscaler", autoscaler.DEPLOYMENT
    planned = {key: (deployment, dict(autoscaler.SELECTOR))}
    old = {**dict(autoscaler.SELECTOR), "composer.io/compute": "fargate"}
    [action] = reconcile.selector_actions(planned, {key: (deployment, old)})
    assert (action.kind, action.what, action.name) == ("replace", "Deployment", f"kube-system/{deployment}")
    assert action.target == key and "its pods keep running" in action.effect
    assert "composer.io/compute=fargate" in action.detail
    assert reconcile.selector_actions(planned, {key: (deployment, dict(autoscaler.SELECTOR))}) == []
    [missing] = reconcile.selector_actions(planned, {key: (deployment, None)})
    assert missing.kind == "create" and "release kube-system/cluster-autoscaler is installed" in missing.detail
    [listed] = reconcile.selector_actions(planned, {key: (deployment, old)}, partial=True)
    assert listed.kind == "differs" and "apply without --selector" in listed.detail

    config = {"metadata": {"name": "shop", "region": "eu-west-1"}, "fargateProfiles": [], "managedNodeGroups": []}

    def argvs(live, options: ApplyOptions) -> list[tuple[str, ...]]:
        state = ClusterState(True, releases=frozenset({key}), selectors={key: (deployment, live)})
        steps = plan_steps(
            config, state, tmp_path / "c.yaml", tmp_path / "h.yaml", options, None, frozenset({key}), planned
        )
        return [s.argv for s in steps]

    kube = ("--kubeconfig", str(ap.kubeconfig_path("shop")))
    orphan = ("kubectl", "delete", "deployment", deployment, "--namespace", "kube-system", "--cascade=orphan", *kube)
    sync = ("helmfile", "--file", str(tmp_path / "h.yaml"), *kube)
    sync += ("--selector", "name=cluster-autoscaler,namespace=kube-system", "sync")
    steps = argvs(old, ApplyOptions())
    assert steps[-3:-1] == [orphan, sync] and steps[-1][0] == "helmfile" and "apply" in steps[-1]
    assert argvs(None, ApplyOptions())[-2:-1] == [sync]  # (missing: synced, nothing to delete)
    # (the user's own helmfile selectors are not added to the release's: they would widen the sync)
    assert orphan not in argvs(old, ApplyOptions(selectors=("name=web",)))
    assert sync not in argvs(old, ApplyOptions(selectors=("name=web",)))
