"""Every ClusterConfig compose can generate is accepted by eksctl's own loader and validator.

``eksctl-validate`` (tests/realtools/eksctl-validate) runs, in eksctl v0.215.0's own code, what
``eksctl create cluster -f`` does before its first AWS call: load the file strictly, default and
validate it, and the private-cluster, endpoint, access-entry and Fargate-profile checks; with
``-for create-nodegroup`` / ``create-fargateprofile`` the loaders of those commands, which
``compose apply`` runs on existing clusters. A rejection is a bug in compose, never in the test.
"""

from __future__ import annotations

import shutil
import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from composer.core.errors import ComposerError
from composer.emit.plan import build_plan, compose
from composer.files.yamlio import dump
from composer.place import autoscaler
from composer.place.classify import classify, classify_all
from tests import real
from tests.conftest import REPO, ROOT, settings, workload

COMMANDS = ("create-cluster", "create-nodegroup", "create-fargateprofile")


def eksctl_verdicts(configs: list[dict], folder: Path, command: str = "create-cluster") -> dict[str, str]:
    """{file name: 'ok' or eksctl's error} for each config, in one run of the validator."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, config in enumerate(configs):
        path = folder / f"cluster-{index:04d}.yaml"
        path.write_text(dump(config))
        paths.append(str(path))
    done = real.run(["eksctl-validate", "-for", command, *paths], dict(__import__("os").environ), timeout=600)
    assert done.returncode in (0, 1), done.stderr
    verdicts = {}
    for line in done.stdout.splitlines():
        path, _, verdict = line.partition(": ")
        verdicts[Path(path).name] = verdict
    assert len(verdicts) == len(paths), done.stdout + done.stderr
    return verdicts


def rejected(verdicts: dict[str, str], folder: Path) -> list[str]:
    return [f"{name}: {v}\n{(folder / name).read_text()}" for name, v in sorted(verdicts.items()) if v != "ok"]


@real.needs("eksctl-validate")
@pytest.mark.parametrize("command", COMMANDS)
def test_the_example_estate_passes_eksctl(command, tmp_path):
    plan = build_plan(ROOT / "composer.yaml", sorted((ROOT / "profiles").rglob("*.yaml")), tmp_path)
    verdicts = eksctl_verdicts([plan.cluster], tmp_path, command)
    assert not rejected(verdicts, tmp_path)


@real.needs("eksctl-validate")
def test_the_oracle_can_fail(tmp_path):
    """A config eksctl must refuse (reserved profile name, unknown field, retired version) is refused."""
    plan = build_plan(ROOT / "composer.yaml", sorted((ROOT / "profiles").rglob("*.yaml")), tmp_path)
    bad_name = {**plan.cluster, "fargateProfiles": [{**plan.cluster["fargateProfiles"][0], "name": "eks-mine"}]}
    unknown = {**plan.cluster, "fargateProfile": []}
    retired = {**plan.cluster, "metadata": {**plan.cluster["metadata"], "version": "1.21"}}
    verdicts = eksctl_verdicts([bad_name, unknown, retired], tmp_path)
    assert 'name should NOT start with "eks-"' in verdicts["cluster-0000.yaml"]
    assert 'unknown field "fargateProfile"' in verdicts["cluster-0001.yaml"]
    assert "1.21 is no longer supported" in verdicts["cluster-0002.yaml"]


# ---------------------------------------------------------------- a property-based sample of estates

NAMESPACES = ["shop", "batch", "data", "kube-system", "ml", "edge"]
FEATURES = {
    "plain": {},
    "nodeport": {"services": [{"type": "NodePort"}]},
    "nlb-ip": {"services": [{"type": "LoadBalancer", "loadBalancer": "nlb", "targetType": "ip"}]},
    "daemonset": {"kind": "DaemonSet"},
    "hostnet": {"hostNetwork": True},
    "privileged": {"privileged": True},
    "arm64": {"nodeSelector": {"kubernetes.io/arch": "arm64"}},
    "windows": {"nodeSelector": {"kubernetes.io/os": "windows"}},
    "gpu": {
        "containers": [
            {"name": "g", "resources": {"requests": {"cpu": "4", "memory": "16Gi"}, "limits": {"nvidia.com/gpu": 1}}}
        ]
    },
    "huge": {"containers": [{"name": "h", "resources": {"requests": {"cpu": "16", "memory": "200Gi"}}}]},
    "ebs": {"kind": "StatefulSet", "volumes": [{"name": "d", "type": "persistentVolumeClaim", "storageClass": "gp3"}]},
    "job": {"kind": "Job"},
    "cron": {"kind": "CronJob", "schedule": "0 3 * * *"},
    "spot": {"services": [{"type": "NodePort"}], "interruptible": True},
    "spot-arm64": {"nodeSelector": {"kubernetes.io/arch": "arm64"}, "interruptible": True},
    "irsa": {
        "awsCredentials": "irsa",
        "serviceAccount": {"name": "app", "attachPolicyARNs": ["arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"]},
    },
    "irsa-role": {
        "awsCredentials": "irsa",
        "serviceAccount": {"name": "app-role", "attachRoleARN": "arn:aws:iam::123456789012:role/app"},
    },
}

profiles = st.lists(
    st.tuples(
        st.sampled_from(NAMESPACES),
        st.sampled_from(sorted(FEATURES)),
        st.integers(1, 6),
        st.sampled_from(["auto", "auto", "auto", "nodegroup"]),
    ),
    min_size=1,
    max_size=14,
)
cluster_settings = st.fixed_dictionaries(
    {
        "version": st.sampled_from(["1.30", "1.31", "1.32", "1.33", "1.34"]),
        "prefix": st.text(string.ascii_lowercase, min_size=1, max_size=8).filter(lambda p: not p.startswith("eks")),
        "coreDNS": st.sampled_from(["auto", "fargate", "nodegroup"]),
        "selectorsPerProfile": st.integers(1, 5),
        "zones": st.sampled_from([["us-east-1a", "us-east-1b"], ["us-east-1a", "us-east-1b", "us-east-1c"]]),
        "role": st.booleans(),
        "subnets": st.booleans(),
        "tags": st.booleans(),
        "minSize": st.integers(0, 3),
        "cidr": st.sampled_from([None, "10.20.0.0/16", "172.16.0.0/20"]),
        "autoscaler": st.sampled_from(["cluster-autoscaler", "none"]),
    }
)


def estate(spec: list, cfg: dict) -> dict | None:
    """The ClusterConfig of a generated estate, or None when compose rightly refuses it."""
    workloads, seen = [], set()
    for index, (namespace, feature, replicas, placement) in enumerate(spec):
        name = f"w{index}-{feature}"
        release = {"chart": "acme/app", "repository": REPO, "podLabelsValue": "podLabels"}
        fields = {"replicas": replicas, **FEATURES[feature]}
        if fields.get("kind") in ("DaemonSet", "Job", "CronJob"):
            fields.pop("replicas")
        workloads.append(
            workload(name, namespace, release=release, placement=None if placement == "auto" else placement, **fields)
        )
        seen.add(name)
    fargate: dict = {
        "profileNamePrefix": cfg["prefix"],
        "coreDNS": cfg["coreDNS"],
        "selectorsPerProfile": cfg["selectorsPerProfile"],
    }
    if cfg["role"]:
        fargate["podExecutionRoleARN"] = "arn:aws:iam::123456789012:role/fargate-pods"
    network: dict = {"availabilityZones": cfg["zones"]}
    if cfg["subnets"]:  # a VPC the user brings: its subnets by zone, Fargate on a subset of the private ones
        fargate["subnets"] = ["subnet-0abc"]
        private = {
            zone: {"id": f"subnet-0{'abc' if i == 0 else 'def' + str(i)}", "cidr": f"10.9.{32 * i}.0/19"}
            for i, zone in enumerate(cfg["zones"])
        }
        public = {zone: {"id": f"subnet-1{i}"} for i, zone in enumerate(cfg["zones"])}
        network = {"vpc": {"id": "vpc-0123abcd", "subnets": {"private": private, "public": public}}}
    elif cfg["cidr"]:
        network["vpc"] = {"cidr": cfg["cidr"]}
    overrides = {
        "metadata": {
            "name": "prop",
            "region": "us-east-1",
            "version": cfg["version"],
            **({"tags": {"team": "platform"}} if cfg["tags"] else {}),
        },
        **network,
        "fargate": fargate,
        "autoscaling": {"autoscaler": cfg["autoscaler"]},
        "nodeGroups": {"general": {"minSize": cfg["minSize"], "maxSize": cfg["minSize"] + 3}},
    }
    placements, problems = classify_all(workloads)
    if problems:
        return None
    try:
        cluster = settings(**overrides)
        if autoscaler.wanted(cluster, placements):  # as load_estate adds it
            placements.append(classify(autoscaler.workload(cluster))[0])
        _, _, config, _, found = compose(cluster, placements, Path("."))
    except ComposerError:
        return None
    return None if found else config


SAMPLE: list[dict] = []


@hsettings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)
@given(profiles, cluster_settings)
def _sample(spec, cfg):
    config = estate(spec, cfg)
    if config is not None:
        SAMPLE.append(config)


@real.needs("eksctl-validate")
def test_a_property_based_sample_of_estates_passes_eksctl(tmp_path):
    SAMPLE.clear()
    _sample()
    assert len(SAMPLE) >= 200, f"only {len(SAMPLE)} of 250 generated estates composed"
    for command in COMMANDS:
        verdicts = eksctl_verdicts(SAMPLE, tmp_path / command, command)
        assert not rejected(verdicts, tmp_path / command), command


# ---------------------------------------------------------------- the command lines apply builds


@real.needs("eksctl")
def test_real_eksctl_parses_every_command_line_apply_can_run(tmp_path):
    """Each eksctl command apply can run, as apply builds it, is accepted by the real eksctl's flag
    parser: with no reachable AWS it must fail at the AWS call, never on an unknown flag or command."""
    from composer.cluster.apply import ApplyOptions, ClusterState, plan_steps, probe_commands

    plan = build_plan(ROOT / "composer.yaml", sorted((ROOT / "profiles").rglob("*.yaml")), tmp_path)
    config = plan.cluster
    name, region = config["metadata"]["name"], config["metadata"]["region"]
    group = config["managedNodeGroups"][0]
    state = ClusterState(
        True,
        {
            "fp-0ld0ld00": {
                "name": "fp-0ld0ld00",
                "status": "ACTIVE",
                "selectors": [{"namespace": "batch"}],
                "tags": {"composer.io/managed-by": "fargate-composer"},
            }
        },
        {
            group["name"]: {
                "Name": group["name"],
                "Status": "ACTIVE",
                "MinSize": 0,
                "MaxSize": 9,
                "DesiredCapacity": 1,
            },
            "ng-general-0a1b2c": {"Name": "ng-general-0a1b2c", "Status": "ACTIVE"},
        },
        owned_groups=frozenset({"ng-general-0a1b2c"}),
        addons={
            "vpc-cni": {"Name": "vpc-cni", "Status": "ACTIVE"},  # kube-proxy missing: create addon
            "coredns": {"Name": "coredns", "Status": "ACTIVE", "ConfigurationValues": ""},
        },
        authentication_mode="CONFIG_MAP",
    )  # switched: utils update-authentication-mode
    config = {
        **config,
        "addons": [
            a if a["name"] != "coredns" else {**a, "configurationValues": '{"computeType":"Fargate"}'}
            for a in config["addons"]
        ],
    }  # coredns configured otherwise: update addon
    steps = plan_steps(config, state, tmp_path / "cluster.yaml", tmp_path / "helmfile.yaml", ApplyOptions(), None)
    (tmp_path / "cluster.yaml").write_text(dump(config))
    argvs = [list(s.argv) for s in steps if s.argv and s.argv[0] == "eksctl"] + [
        list(c) for c in probe_commands(name, region).values()
    ]
    argvs.append(["eksctl", "get", "labels", "--cluster", name, "--region", region, "--nodegroup", group["name"]])
    kinds = {tuple(a[1:3]) for a in argvs}
    assert {
        ("create", "fargateprofile"),
        ("delete", "fargateprofile"),
        ("create", "nodegroup"),
        ("scale", "nodegroup"),
        ("delete", "nodegroup"),
        ("get", "labels"),
        ("get", "addon"),
        ("create", "addon"),
        ("update", "addon"),
        ("utils", "update-authentication-mode"),
    } <= kinds
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "AWS_ACCESS_KEY_ID": "AKIAFAKE",
        "AWS_SECRET_ACCESS_KEY": "fake",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "AWS_MAX_ATTEMPTS": "1",
    }
    for argv in argvs:
        done = real.run(argv, env, cwd=tmp_path, timeout=120)
        text = done.stdout + done.stderr
        assert done.returncode != 0, argv  # nothing can succeed without AWS
        for refusal in (
            "unknown flag",
            "unknown command",
            "unknown shorthand",
            "invalid argument",
            "accepts ",
            "flag needs an argument",
            "if any flags in the group",
        ):
            assert refusal not in text, (argv, text[-800:])


# ---------------------------------------------------------------- real eksctl against a mocked EKS API


def _mock_cluster(eks, config: dict, *, groups: dict, profiles: dict, oidc: bool = True) -> None:
    """An EKS cluster in moto named as ``config``'s, holding the given node groups and Fargate profiles."""
    name = config["metadata"]["name"]
    eks.create_cluster(
        name=name,
        version=config["metadata"].get("version", "1.33"),  # (moto's default, 1.19, is no version EKS offers)
        roleArn="arn:aws:iam::123456789012:role/eks",
        resourcesVpcConfig={"subnetIds": ["subnet-1"]},
    )
    if oidc:  # the cluster's IAM OIDC provider, as `create cluster` with iam.withOIDC leaves it
        import boto3

        issuer = eks.describe_cluster(name=name)["cluster"]["identity"]["oidc"]["issuer"]
        boto3.client(
            "iam",
            region_name="us-east-1",
            endpoint_url=eks.meta.endpoint_url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        ).create_open_id_connect_provider(
            Url=issuer, ClientIDList=["sts.amazonaws.com"], ThumbprintList=["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"]
        )
    for group, (instance, low, high, labels) in groups.items():
        eks.create_nodegroup(
            clusterName=name,
            nodegroupName=group,
            nodeRole="arn:aws:iam::123456789012:role/node",
            subnets=["subnet-1"],
            instanceTypes=[instance],
            labels=labels,
            scalingConfig={"minSize": low, "maxSize": high, "desiredSize": low},
        )
    for profile, (selectors, tags) in profiles.items():
        eks.create_fargate_profile(
            fargateProfileName=profile,
            clusterName=name,
            selectors=selectors,
            tags=tags,
            podExecutionRoleArn="arn:aws:iam::123456789012:role/pods",
            subnets=["subnet-1"],
        )


@real.needs("eksctl", "kubectl", "helm", "aws", "kube-apiserver", "etcd")
def test_plan_refresh_reads_a_cluster_through_the_real_eksctl(tmp_path, monkeypatch, capsys):
    """compose's probes parse what the real eksctl prints (get cluster / fargateprofile / nodegroup as JSON,
    get labels as a table), here from moto's EKS behind a proxy whose clusters' endpoint is a real
    kube-apiserver: the kubeconfig the real `eksctl utils write-kubeconfig` writes (authenticating with
    the real `aws eks get-token`, which the API server's token webhook accepts as EKS would) is the one
    compose's real helm and kubectl read the cluster through. The diff names every kind of action."""
    import json
    import os

    from composer.cli.main import main
    from composer.place.nodegroups import slot

    plan = build_plan(ROOT / "composer.yaml", sorted((ROOT / "profiles").rglob("*.yaml")), tmp_path / "generated")
    config = plan.cluster
    groups = {g["name"]: g for g in config["managedNodeGroups"]}
    general = next(n for n in groups if slot(n) == "ng-general")
    gpu = next(n for n in groups if slot(n) == "ng-gpu")
    ours = {"composer.io/managed-by": "fargate-composer"}
    kept, *_ = config["fargateProfiles"]
    (tmp_path / "kube").mkdir()
    server = real.ApiServer(tmp_path / "kube", eks_tokens=True).start()
    with real.MockEks() as mock:
        mock.kube = server
        # one IRSA account exists, annotated with its role: read through eksctl's kubeconfig by the real kubectl
        first = config["iam"]["serviceAccounts"][0]["metadata"]
        role = "arn:aws:iam::123456789012:role/made-before"
        server.request(
            "POST",
            "/api/v1/namespaces",
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": first["namespace"]}},
        )
        server.request(
            "POST",
            f"/api/v1/namespaces/{first['namespace']}/serviceaccounts",
            {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {"name": first["name"], "annotations": {"eks.amazonaws.com/role-arn": role}},
            },
        )
        _mock_cluster(
            mock.client(),
            config,
            groups={
                general: (
                    groups[general]["instanceType"],
                    groups[general]["minSize"],
                    groups[general]["maxSize"],
                    groups[general]["labels"],
                ),  # unchanged
                gpu: (groups[gpu]["instanceType"], 0, 9, groups[gpu]["labels"]),  # resize
                "ng-arm64-spot-0a1b2c": ("m6g.xlarge", 0, 2, {"composer.io/node-class": "arm64"}),  # replaced
                "ng-data-team": ("r5.large", 1, 1, {"team": "data"}),  # foreign
            },
            profiles={
                kept["name"]: (kept["selectors"], ours),  # unchanged
                "fp-0ld0ld00": ([{"namespace": "batch"}], ours),  # replaced
                "fp-theirs": ([{"namespace": "theirs"}], {}),  # foreign
            },
        )
        # vpc-cni ACTIVE, kube-proxy DEGRADED (present), coredns missing (an interrupted create cluster)
        mock.addons[config["metadata"]["name"]] = {
            "vpc-cni": {"status": "ACTIVE"},
            "kube-proxy": {"status": "DEGRADED"},
        }
        mock.auth_modes[config["metadata"]["name"]] = "CONFIG_MAP"  # a cluster made before access entries
        # one Pod Identity association the estate does not plan (left alone); the planned one is missing
        mock.associations[config["metadata"]["name"]] = {"tools/builder": "arn:aws:iam::123456789012:role/builder"}
        for key, value in mock.env(tmp_path).items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))  # (the AWS CLI: no profile of yours)
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
        # eksctl, helm, kubectl and the AWS CLI are the real ones
        monkeypatch.setenv("PATH", os.pathsep.join([str(real.BIN), os.environ["PATH"]]))
        for name in ("composer.yaml", "profiles", "values"):
            (shutil.copytree if (ROOT / name).is_dir() else shutil.copy)(ROOT / name, tmp_path / name)
        monkeypatch.chdir(tmp_path)
        try:
            code = main(["plan", "--refresh", "-o", "json"])
        finally:
            server.stop()
    captured = capsys.readouterr()
    assert code == 0, captured.err + captured.out
    data = json.loads(captured.out)["cluster"]
    assert code == 0 and data["exists"], data
    kinds = {(a["what"], a["name"]): a["kind"] for a in data["actions"]}
    assert kinds[("node group", general)] == "unchanged" and kinds[("node group", gpu)] == "resize"
    assert (
        kinds[("node group", "ng-arm64-spot-0a1b2c")] == "replace"
        and kinds[("node group", "ng-data-team")] == "foreign"
    )
    assert (
        kinds[("Fargate profile", kept["name"])] == "unchanged" and kinds[("Fargate profile", "fp-theirs")] == "foreign"
    )
    assert kinds[("Fargate profile", "fp-0ld0ld00")] == "replace"
    assert kinds[("add-on", "vpc-cni")] == kinds[("add-on", "kube-proxy")] == "unchanged"
    assert kinds[("add-on", "coredns")] == "create"
    # the mode as the real eksctl prints it (AccessConfig.AuthenticationMode): one step, and API listed
    modes = [a for a in data["actions"] if a["what"] == "authentication mode"]
    assert [a["kind"] for a in modes] == ["update", "differs"], modes
    # Pod Identity: the agent add-on and the association, read through the real eksctl's get
    assert kinds[("add-on", "eks-pod-identity-agent")] == "create"
    assert kinds[("Pod Identity association", "kube-system/aws-load-balancer-controller")] == "create"
    assert not [name for what, name in kinds if name == "tools/builder"]
    # (and the IRSA accounts: the API server holds one, annotated; the others are to create)
    assert kinds[("IAM service account", f"{first['namespace']}/{first['name']}")] == "unchanged"
    assert sum(k == "create" for k in kinds.values()) == (
        len(config["fargateProfiles"]) - 1 + len(groups) - 2 + 2 + len(config["iam"]["serviceAccounts"]) - 1 + 1
    )


@real.needs("eksctl")
def test_compose_apply_replaces_a_fargate_profile_through_the_real_eksctl(tmp_path, monkeypatch, capsys):
    """compose apply on an existing (mocked) EKS cluster with the real eksctl for every eksctl call: the
    changed profile's replacement is created before the old one is deleted, a profile compose did not
    make is left alone, the missing kube-proxy add-on is created (`eksctl create addon -f`), and a second
    apply finds nothing to change. helmfile and helm are the fakes
    (no Kubernetes API behind moto); the planned node group already exists in the mock, so no node group
    is created (that needs CloudFormation, which moto does not model for eksctl)."""
    import os

    from composer.cli.main import main
    from tests.conftest import SETTINGS, profile_doc, write_estate

    # (coreDNS on the node group: a profile selecting CoreDNS makes eksctl patch it through the Kubernetes
    # API, which moto's cluster does not have; the general group then exists in the mock as planned)
    settings_doc = {
        **SETTINGS,
        "metadata": {**SETTINGS["metadata"], "name": "shop"},
        "fargate": {"podExecutionRoleARN": "arn:aws:iam::123456789012:role/pods", "coreDNS": "nodegroup"},
    }
    write_estate(
        tmp_path,
        [
            profile_doc("api", "shop", release={"chart": "acme/api", "repository": REPO}),
            profile_doc("report", "batch", kind="Job", release={"chart": "acme/job", "repository": REPO}),
        ],
        settings_doc,
    )
    fakes = tmp_path / "fakebin"
    fakes.mkdir()
    for name in ("helmfile", "helm", "kubectl", "_fakecloud.py"):
        shutil.copy(Path(__file__).parent / "fakebin" / name, fakes / name)
    ours = {"composer.io/managed-by": "fargate-composer"}
    (group,) = build_plan(tmp_path / "composer.yaml", [tmp_path / "profiles"]).cluster["managedNodeGroups"]
    with real.MockEks() as mock:
        _mock_cluster(
            mock.client(),
            {"metadata": {"name": "shop"}},
            groups={group["name"]: (group["instanceType"], group["minSize"], group["maxSize"], group["labels"])},
            profiles={"fp-0ld0ld00": ([{"namespace": "batch"}], ours), "fp-theirs": ([{"namespace": "theirs"}], {})},
        )
        # kube-proxy is missing (an interrupted create cluster): the real `eksctl create addon -f` creates it
        mock.addons["shop"] = {a: {"status": "ACTIVE"} for a in ("vpc-cni", "coredns", "metrics-server")}
        for key, value in mock.env(tmp_path).items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("PATH", os.pathsep.join([str(fakes), str(real.BIN), os.environ["PATH"]]))
        monkeypatch.setenv("FAKE_CLOUD_DIR", str(tmp_path / "cloud"))
        monkeypatch.chdir(tmp_path)
        first = main(["apply", "--yes"])
        captured = capsys.readouterr()
        out = captured.out + captured.err
        second = main(["apply", "--yes"])
        again = capsys.readouterr().out
        left = {
            p["fargateProfileName"]
            for p in [
                mock.client().describe_fargate_profile(clusterName="shop", fargateProfileName=n)["fargateProfile"]
                for n in mock.client().list_fargate_profiles(clusterName="shop")["fargateProfileNames"]
            ]
        }
    planned = {
        p["name"] for p in build_plan(tmp_path / "composer.yaml", [tmp_path / "profiles"]).cluster["fargateProfiles"]
    }
    assert first == 0, out
    assert "Tools: eksctl 0.215.0" in out and "-/+ Fargate profile fp-0ld0ld00: batch; same selectors" in out
    # created first; deleted after the releases, once the check found no pod left on it
    assert out.index("$ eksctl create fargateprofile") < out.index("$ helmfile --file")
    assert out.index("$ helmfile --file") < out.index("$ eksctl delete fargateprofile --cluster shop")
    assert left == planned | {"fp-theirs"}
    assert "+ add-on kube-proxy" in out and "$ eksctl create addon -f" in out
    assert second == 0 and "Cluster changes: 0 to create, 0 to replace, 0 to resize, 0 to delete." in again


@real.needs("eksctl")
def test_the_oidc_probe_reads_the_real_eksctl_both_ways(tmp_path):
    """compose asks `eksctl utils associate-iam-oidc-provider` without --approve (which only says what it
    would do) whether the provider exists; the answer is read right for a cluster with and without it."""
    from composer.cluster.apply import ApplyOptions, probe_oidc_missing

    def runner(argv, on_line, timeout=None):
        done = real.run(list(argv), env, timeout=timeout)
        for line in (done.stdout + done.stderr).splitlines():
            on_line("out", line)
        return done.returncode

    for oidc in (True, False):  # (one mock each: moto gives every cluster of an account the same issuer)
        with real.MockEks() as mock:
            env = mock.env(tmp_path)
            _mock_cluster(mock.client(), {"metadata": {"name": "shop"}}, groups={}, profiles={}, oidc=oidc)
            assert probe_oidc_missing(runner, "shop", "us-east-1", ApplyOptions()) is (not oidc)


@real.needs("eksctl")
def test_the_real_eksctl_refuses_to_include_an_account_whose_role_exists_and_lists_it(tmp_path):
    """What the IRSA path of apply rests on, with the real eksctl against the mocked AWS: an account whose
    role stack exists is listed by `eksctl get iamserviceaccount -o json` (which compose's probe reads) and
    `create iamserviceaccount --include` it fails with the filter error, even with
    --override-existing-serviceaccounts; so compose writes such an account with kubectl instead."""
    import json

    import boto3

    from composer.cluster.apply import ApplyOptions, probe_irsa_roles

    config = {
        "apiVersion": "eksctl.io/v1alpha5",
        "kind": "ClusterConfig",
        "metadata": {"name": "shop", "region": "us-east-1", "version": "1.33"},
        "iam": {
            "withOIDC": True,
            "serviceAccounts": [
                {"metadata": {"name": "mailer", "namespace": "mail"}, "attachPolicyARNs": ["arn:aws:iam::aws:policy/x"]}
            ],
        },
    }
    with real.MockEks() as mock:
        env = mock.env(tmp_path)
        _mock_cluster(mock.client(), config, groups={}, profiles={})

        def runner(argv, on_line, timeout=None):
            done = real.run(list(argv), env, timeout=timeout)
            for line in done.stdout.splitlines():
                on_line("out", line)
            for line in done.stderr.splitlines():
                on_line("err", line)
            return done.returncode

        assert probe_irsa_roles(runner, "shop", "us-east-1", ApplyOptions()) == {}  # (eksctl prints null)
        role = "arn:aws:iam::123456789012:role/eksctl-shop-addon-iamserviceaccount-Role1-X"
        # the stack eksctl leaves for an account: its name, its tag, its role output (pkg/cfn/manager/iam.go)
        boto3.client(
            "cloudformation",
            region_name="us-east-1",
            endpoint_url=mock.url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        ).create_stack(
            StackName="eksctl-shop-addon-iamserviceaccount-mail-mailer",
            TemplateBody=json.dumps(
                {
                    "Resources": {"Role1": {"Type": "AWS::SNS::Topic"}},
                    "Outputs": {"Role1": {"Value": role}},
                }
            ),
            Tags=[
                {"Key": "alpha.eksctl.io/cluster-name", "Value": "shop"},
                {"Key": "eksctl.cluster.k8s.io/v1alpha1/cluster-name", "Value": "shop"},
                {"Key": "alpha.eksctl.io/iamserviceaccount-name", "Value": "mail/mailer"},
            ],
        )
        assert probe_irsa_roles(runner, "shop", "us-east-1", ApplyOptions()) == {"mail/mailer": role}
        path = tmp_path / "cluster.yaml"
        path.write_text(json.dumps(config))
        argv = ["eksctl", "create", "iamserviceaccount", "-f", str(path), "--include", "mail/mailer"]
        done = real.run([*argv, "--override-existing-serviceaccounts", "--approve"], env, timeout=120)
    text = done.stdout + done.stderr
    assert done.returncode != 0
    assert 'existing iamserviceaccount "mail/mailer" should be excluded, but matches include filter' in text, text


@real.needs("eksctl-validate")
def test_pod_identity_associations_need_their_agent_add_on_in_eksctl_too(tmp_path):
    """The example estate's Pod Identity association passes eksctl's create-cluster loader with the
    eks-pod-identity-agent add-on compose lists, and the same config without it is refused by eksctl
    (pkg/ctl/cmdutils/configfile.go lines 333-357): the oracle agrees with compose on why it is there."""
    plan = build_plan(ROOT / "composer.yaml", sorted((ROOT / "profiles").rglob("*.yaml")), tmp_path)
    config = plan.cluster
    assert config["iam"]["podIdentityAssociations"] and {"name": "eks-pod-identity-agent"} in config["addons"]
    without = {**config, "addons": [a for a in config["addons"] if a["name"] != "eks-pod-identity-agent"]}
    verdicts = eksctl_verdicts([config, without], tmp_path)
    assert verdicts["cluster-0000.yaml"] == "ok"
    assert 'the "eks-pod-identity-agent" addon must be installed' in verdicts["cluster-0001.yaml"]


@real.needs("eksctl", "kubectl", "aws", "kube-apiserver", "etcd")
def test_the_real_and_the_fake_eksctl_drain_a_node_group_alike(tmp_path):
    """`eksctl delete nodegroup --drain --wait`, the command apply runs for a replaced group, run by the real
    eksctl against a mocked EKS whose cluster endpoint is a real API server (its ng-real), and by the fake in
    its simulated-EKS mode against the same server (its ng-fake): both cordon the group's node, evict its
    pod through the Eviction API, and, when the pod never goes (no kubelet here to stop it), fail without
    deleting the group, so apply stops there instead of reporting a group gone that still runs pods.
    (eksctl v0.215.0 pkg/drain/nodegroup.go; the fake drains with kubectl drain.)"""
    import json
    import os

    from tests.test_apply_e2e import FAKEBIN

    (tmp_path / "kube").mkdir()
    server = real.ApiServer(tmp_path / "kube", eks_tokens=True).start()

    def group_with_a_pod(group: str) -> None:
        node = {"name": f"ip-{group}", "labels": {"eks.amazonaws.com/nodegroup": group}}
        server.request("POST", "/api/v1/nodes", {"apiVersion": "v1", "kind": "Node", "metadata": node})
        spec = {"nodeName": f"ip-{group}", "automountServiceAccountToken": False}
        spec["containers"] = [{"name": "w", "image": "nginx"}]
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"web-{group}"}, "spec": spec}
        server.request("POST", "/api/v1/namespaces/default/pods", pod)

    def drained(group: str) -> tuple[bool, bool]:
        node = server.get(f"/api/v1/nodes/ip-{group}")["spec"]
        pod = server.get(f"/api/v1/namespaces/default/pods/web-{group}")["metadata"]
        return node.get("unschedulable") is True, bool(pod.get("deletionTimestamp"))

    def argv(group: str) -> list[str]:
        return [
            "delete",
            "nodegroup",
            "--cluster",
            "shop",
            "--region",
            "us-east-1",
            "--name",
            group,
            "--drain",
            "--wait",
        ]

    try:
        sa = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default"}}
        server.request("POST", "/api/v1/namespaces/default/serviceaccounts", sa)
        group_with_a_pod("ng-real")
        group_with_a_pod("ng-fake")
        with real.MockEks() as mock:
            mock.kube = server
            eks = mock.client()
            eks.create_cluster(name="shop", roleArn="arn:aws:iam::123456789012:role/eks", resourcesVpcConfig={})
            role = "arn:aws:iam::123456789012:role/node"
            eks.create_nodegroup(clusterName="shop", nodegroupName="ng-real", nodeRole=role, subnets=["subnet-1"])
            env = {**mock.env(tmp_path), "PATH": os.pathsep.join([str(real.BIN), os.environ["PATH"]])}
            env |= {"AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")}
            flags = ["--pod-eviction-wait-period", "1s", "--timeout", "3s"]
            done = real.run(["eksctl", *argv("ng-real"), *flags], env, timeout=120)
            kept = eks.list_nodegroups(clusterName="shop")["nodegroups"]
        real_result = (done.returncode != 0, drained("ng-real"), kept == ["ng-real"])
        assert real_result == (True, (True, True), True), done.stdout[-2000:] + done.stderr[-2000:]

        cloud = tmp_path / "cloud"
        cloud.mkdir()
        group = {"Name": "ng-fake", "Status": "ACTIVE", "_labels": {}, "_taints": []}
        (cloud / "cluster.json").write_text(json.dumps({"name": "shop", "nodegroups": {"ng-fake": group}}))
        env = {"PATH": os.pathsep.join([str(real.BIN), os.environ["PATH"]]), "FAKE_CLOUD_DIR": str(cloud)}
        env["HOME"] = str(tmp_path)  # (kubectl keeps its cache under $HOME: without it, in the working folder)
        env |= {"FAKE_EKS_SIM": "1", "FAKE_KUBECONFIG": str(server.kubeconfig), "FAKE_DRAIN_TIMEOUT": "3s"}
        done = real.run([str(FAKEBIN / "eksctl"), *argv("ng-fake")], env, timeout=120)
        kept = list(json.loads((cloud / "cluster.json").read_text())["nodegroups"])
        fake_result = (done.returncode != 0, drained("ng-fake"), kept == ["ng-fake"])
    finally:
        server.stop()
    assert fake_result == real_result, done.stderr[-2000:]


@real.needs("eksctl", "kubectl", "aws", "kube-apiserver", "etcd")
def test_compose_apply_gives_irsa_accounts_their_roles_through_the_real_eksctl(tmp_path, monkeypatch, capsys):
    """The IRSA path of apply with the real eksctl, CloudFormation (moto's, behind the mock proxy) and a
    real API server as the cluster's endpoint, read and written through the real kubectl: the first apply
    runs `eksctl create iamserviceaccount --include`, which deploys the role's stack and makes the account
    with its role annotation; once the account is gone (its role stack stays), the next apply does not
    --include it again (the real eksctl refuses that: test above) but makes the account with kubectl,
    annotated with the role eksctl reports, and nothing else is to do. On the way, CoreDNS's add-on
    lacks the configuration that puts it on Fargate, and the real `eksctl update addon -f` sets it (EKS's
    UpdateAddon, modelled by the proxy). helmfile and helm are the fakes (the releases' charts are not
    here)."""
    import json
    import os

    import boto3

    from composer.cli.main import main
    from tests.conftest import SETTINGS, profile_doc, write_estate

    settings_doc = {
        **SETTINGS,
        "metadata": {**SETTINGS["metadata"], "name": "shop"},
        "fargate": {"podExecutionRoleARN": "arn:aws:iam::123456789012:role/pods", "coreDNS": "fargate"},
    }
    account = {"name": "mailer", "attachPolicyARNs": ["arn:aws:iam::aws:policy/AmazonSESFullAccess"]}
    release = {"chart": "acme/mailer", "repository": REPO}
    write_estate(
        tmp_path,
        [
            profile_doc("mailer", "mail", release=release, awsCredentials="irsa", serviceAccount=account),
            profile_doc("admin", "shop", release=release, services=[{"type": "NodePort"}]),  # (a node group)
        ],
        settings_doc,
    )
    plan = build_plan(tmp_path / "composer.yaml", [tmp_path / "profiles"])
    config = plan.cluster
    (group,) = config["managedNodeGroups"]
    ours = {"composer.io/managed-by": "fargate-composer"}
    fakes = tmp_path / "fakebin"
    fakes.mkdir()
    for name in ("helmfile", "helm", "_fakecloud.py"):
        shutil.copy(Path(__file__).parent / "fakebin" / name, fakes / name)
    (tmp_path / "kube").mkdir()
    server = real.ApiServer(tmp_path / "kube", eks_tokens=True).start()
    try:
        with real.MockEks() as mock:
            mock.kube = server
            _mock_cluster(
                mock.client(),
                config,
                groups={group["name"]: (group["instanceType"], group["minSize"], group["maxSize"], group["labels"])},
                profiles={p["name"]: (p["selectors"], ours) for p in config["fargateProfiles"]},
            )
            # CoreDNS not yet told to run on Fargate (computeType): eksctl update addon; the VPC CNI missing:
            # eksctl create addon, which first deploys the stack of its IRSA role (it needs IAM permissions)
            mock.addons["shop"] = {a["name"]: {"status": "ACTIVE"} for a in config["addons"] if a["name"] != "vpc-cni"}
            for key, value in mock.env(tmp_path).items():
                monkeypatch.setenv(key, value)
            monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
            monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
            monkeypatch.setenv("PATH", os.pathsep.join([str(fakes), str(real.BIN), os.environ["PATH"]]))
            monkeypatch.setenv("FAKE_CLOUD_DIR", str(tmp_path / "cloud"))
            monkeypatch.chdir(tmp_path)
            path = "/api/v1/namespaces/mail/serviceaccounts/mailer"

            first = main(["apply", "--yes"])
            out = capsys.readouterr()
            assert first == 0, out.out + out.err
            assert "$ eksctl create iamserviceaccount -f generated/cluster.yaml --include mail/mailer" in out.out
            assert "$ eksctl update addon -f generated/cluster.yaml" in out.out
            assert "$ eksctl create addon -f generated/cluster.yaml" in out.out and "vpc-cni" in mock.addons["shop"]
            assert json.loads(mock.addons["shop"]["coredns"]["configurationValues"])["computeType"] == "Fargate"
            made = server.get(path)["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
            stacks = boto3.client(
                "cloudformation",
                region_name="us-east-1",
                endpoint_url=mock.url,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
            ).describe_stacks()["Stacks"]
            assert "eksctl-shop-addon-vpc-cni" in {s["StackName"] for s in stacks}  # (the VPC CNI's role)
            [outputs] = [
                s["Outputs"] for s in stacks if s["StackName"] == "eksctl-shop-addon-iamserviceaccount-mail-mailer"
            ]
            assert [o["OutputValue"] for o in outputs if o["OutputKey"] == "Role1"] == [made]

            server.request("DELETE", path)  # (the role's stack stays)
            second = main(["apply", "--yes"])
            again = capsys.readouterr()
            assert second == 0, again.out + again.err
            assert "$ eksctl create iamserviceaccount" not in again.out
            assert "$ kubectl create serviceaccount mailer --namespace mail" in again.out, again.out
            assert server.get(path)["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] == made
            # (and nothing else: the account's two kubectl steps, the kubeconfig, the releases)
            assert "0 to replace, 0 to resize, 0 to delete" in again.out and "Apply complete: 4 step(s)" in again.out
    finally:
        server.stop()
