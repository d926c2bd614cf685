"""Access entries instead of aws-auth: the Fargate pod execution role's way into the cluster.

A Fargate pod's node registers with the cluster as the pod execution role. With the ``CONFIG_MAP``
authentication mode that role is a line in ``kube-system/aws-auth`` (``mapRoles``), which EKS adds
when it creates the Fargate profile; infrastructure code that rewrites aws-auth (Terraform's
kubernetes provider, a hand-kept manifest) silently drops it, and new Fargate pods stop starting.
With ``API`` (compose's default) or ``API_AND_CONFIG_MAP``, EKS grants the role through an access
entry of type FARGATE_LINUX that it creates with the profile (and EC2_LINUX ones for managed node
groups), which no aws-auth edit touches (EKS user guide, "Grant IAM users access to Kubernetes with
EKS access entries"). compose writes ``accessConfig.authenticationMode``; after it creates a Fargate
profile, apply reads the cluster's access entries and fails the run if the role has none. In
``CONFIG_MAP`` mode the plan says how to keep the aws-auth line instead (FA204).

On an existing cluster EKS changes the mode one way only, ``CONFIG_MAP`` → ``API_AND_CONFIG_MAP`` →
``API`` (EKS user guide, "Change authentication mode to use access entries"). apply takes the first step
itself (``eksctl utils update-authentication-mode``, eksctl 0.167.0 and later), before it creates Fargate
profiles, since aws-auth keeps counting and nothing loses access. It never takes the second: in ``API``
mode aws-auth stops counting, and any principal mapped only there, including the roles EKS mapped for
node groups and Fargate profiles made before access entries existed, loses access (EKS user guide,
"Migrating existing aws-auth ConfigMap entries to access entries"). That step is listed as a difference
with ``eksctl utils migrate-to-access-entry``, which copies aws-auth into access entries first.
"""

from __future__ import annotations

import json

from composer.core.model import Advice, ClusterSettings, Placement

URL = "https://docs.aws.amazon.com/eks/latest/userguide/access-entries.html"
MODES = ("CONFIG_MAP", "API_AND_CONFIG_MAP", "API")  # the only order EKS changes them in
EKSCTL_ROLE = "FargatePodExecutionRole"  # part of the name of the role eksctl creates (its CloudFormation resource)


def entry_command(cluster: str, region: str) -> tuple[str, ...]:
    return ("eksctl", "get", "accessentry", "--cluster", cluster, "--region", region, "-o", "json")


def mode_command(cluster: str, region: str, mode: str) -> tuple[str, ...]:
    return (
        "eksctl",
        "utils",
        "update-authentication-mode",
        "--cluster",
        cluster,
        "--region",
        region,
        "--authentication-mode",
        mode,
    )


def migrate_command(cluster: str, region: str) -> str:
    return (
        f"eksctl utils migrate-to-access-entry --cluster {cluster} --region {region} "
        "--target-authentication-mode API --approve"
    )


def planned_mode(cluster_config: dict) -> str | None:
    """The ClusterConfig's ``accessConfig.authenticationMode`` (None: it names none)."""
    return (cluster_config.get("accessConfig") or {}).get("authenticationMode")


def described_cluster(get_cluster_json: str) -> dict:
    """The cluster in ``eksctl get cluster -o json`` (a list of EKS Cluster objects with Go field names);
    {} when the answer is not that."""
    try:
        doc = json.loads(get_cluster_json or "null")
    except (ValueError, RecursionError):
        return {}
    return doc[0] if isinstance(doc, list) and doc and isinstance(doc[0], dict) else {}


def reported_mode(get_cluster_json: str) -> str | None:
    """The cluster's mode in ``eksctl get cluster -o json`` (``AccessConfig.AuthenticationMode``); None when
    it is not reported."""
    config = described_cluster(get_cluster_json).get("AccessConfig")
    mode = config.get("AuthenticationMode") if isinstance(config, dict) else None
    return mode if mode in MODES else None


def missing_entry(output: str, role_arn: str, cluster: str, region: str) -> str | None:
    """A problem when ``eksctl get accessentry -o json`` shows no entry for the pod execution role
    (``role_arn``, or eksctl's own role when "" ); None when it is there."""
    try:
        entries = json.loads(output or "[]")
    except ValueError:
        return "`eksctl get accessentry -o json` printed no JSON"
    principals = (
        [str(e.get("principalARN", "")) for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []
    )
    if (role_arn and role_arn in principals) or (not role_arn and any(EKSCTL_ROLE in p for p in principals)):
        return None
    who = role_arn or f"eksctl's pod execution role (*{EKSCTL_ROLE}*)"
    return (
        f"no access entry grants {who} access to cluster {cluster}: Fargate pods cannot register their nodes. "
        f"Create it: aws eks create-access-entry --cluster-name {cluster} --region {region} --principal-arn "
        f"{role_arn or '<role ARN>'} --type FARGATE_LINUX (or, on a cluster still in CONFIG_MAP mode, "
        f"eksctl utils update-authentication-mode --cluster {cluster} --authentication-mode API_AND_CONFIG_MAP)"
    )


def advice(placements: list[Placement], settings: ClusterSettings) -> list[Advice]:
    """FA204: Fargate on aws-auth alone."""
    if settings.authentication_mode != "CONFIG_MAP" or not any(p.target == "fargate" for p in placements):
        return []
    return [
        Advice(
            "FA204",
            "access.authenticationMode",
            "CONFIG_MAP: Fargate pods join through the pod execution role's line in kube-system/aws-auth "
            "(mapRoles, groups system:bootstrappers, system:nodes, system:node-proxier), which EKS adds with the "
            "profile; anything that rewrites aws-auth removes it and new Fargate pods stop starting. Keep that "
            "line in whatever manages aws-auth, or use API_AND_CONFIG_MAP or API (access entries)",
        )
    ]
