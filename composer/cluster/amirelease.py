"""Managed node groups behind the newest EKS-optimized AMI release for their Kubernetes version.

EKS publishes the newest release of each optimized AMI type, per Kubernetes minor, as an AWS Systems
Manager public parameter; ``eksctl upgrade nodegroup`` reads the same parameter to pick its target
(eksctl v0.215.0 ``pkg/ami/ssm_resolver.go`` MakeManagedSSMParameterName, lines 127-160;
``pkg/actions/nodegroup/upgrade.go`` getLatestReleaseVersion, lines 341-353). A group's own release is
``releaseVersion`` in EKS DescribeNodegroup. Release versions compare as eksctl compares them
(``pkg/actions/nodegroup/ami.go``): the semantic version first, then the text after the dash.

Pure functions over what the probes read (composer.cluster.apply.probe_ami_releases).
"""

from __future__ import annotations

import re

from composer.cluster.planned import PlannedCluster

_AL2023 = {
    "AL2023_x86_64_STANDARD": "x86_64/standard",
    "AL2023_x86_64_NVIDIA": "x86_64/nvidia",
    "AL2023_x86_64_NEURON": "x86_64/neuron",
    "AL2023_ARM_64_STANDARD": "arm64/standard",
    "AL2023_ARM_64_NVIDIA": "arm64/nvidia",
}
_AL2 = {"AL2_x86_64": "amazon-linux-2", "AL2_x86_64_GPU": "amazon-linux-2-gpu", "AL2_ARM_64": "amazon-linux-2-arm64"}
_BOTTLEROCKET = {
    "BOTTLEROCKET_x86_64": "x86_64",
    "BOTTLEROCKET_x86_64_NVIDIA": "x86_64",
    "BOTTLEROCKET_ARM_64": "arm64",
    "BOTTLEROCKET_ARM_64_NVIDIA": "arm64",
}
_VERSION = re.compile(r"1\.[0-9]{1,3}")
_RELEASE = re.compile(r"v?([0-9]{1,4})\.([0-9]{1,4})(?:\.([0-9]{1,6}))?-([0-9A-Za-z.]{1,40})")
# what a release version may look like before it reaches a command line
RELEASE_TEXT = re.compile(r"[0-9A-Za-z.]{1,40}-[0-9A-Za-z.]{1,40}")


def release_parameter(version: str, ami_type: str) -> str | None:
    """The public parameter holding the newest release of ``ami_type`` for Kubernetes ``version``; None for a
    custom AMI or a type with no such parameter (Windows AMIs publish an image id only)."""
    if not _VERSION.fullmatch(version or ""):
        return None
    eks = f"/aws/service/eks/optimized-ami/{version}"
    if ami_type in _AL2023:
        return f"{eks}/amazon-linux-2023/{_AL2023[ami_type]}/recommended/release_version"
    if ami_type in _AL2:
        return f"{eks}/{_AL2[ami_type]}/recommended/release_version"
    if ami_type in _BOTTLEROCKET:
        return f"/aws/service/bottlerocket/aws-k8s-{version}/{_BOTTLEROCKET[ami_type]}/latest/image_version"
    return None


def _key(release: str) -> tuple[tuple[int, int, int], str] | None:
    found = _RELEASE.fullmatch(release or "")
    if not found:
        return None
    major, minor, patch, tail = found.groups()
    return (int(major), int(minor), int(patch or 0)), tail


def behind(current: str, latest: str) -> bool:
    """Whether ``latest`` is a newer release than ``current`` (False when either cannot be read)."""
    have, want = _key(current), _key(latest)
    return bool(have and want and want > have)


def ami_actions(config: dict, releases: dict[str, dict] | None, upgrade_nodes: bool, upgrading: frozenset[str]):
    """For each planned node group whose AMI release is older than the newest for its version: an
    **upgrade** (with ``--upgrade-nodes``: rolled node by node, PodDisruptionBudgets hold) or a line saying
    how to get it. ``releases``: {group: {"release", "latest"}} as read; ``upgrading``: groups already
    upgraded to a new Kubernetes version by this apply (which brings the newest release of that version)."""
    from composer.cluster.reconcile import Action

    if releases is None:
        return [Action("unread", "AMI releases of the node groups", "", "the AWS CLI (aws) is not on PATH")]
    planned = set(PlannedCluster.of(config).group_names)
    found = []
    for group, read in sorted(releases.items()):
        if read.get("error"):
            found.append(Action("unread", "AMI release of node group", group, read["error"]))
            continue
        current, latest = read.get("release", ""), read.get("latest", "")
        if group not in planned or group in upgrading or not behind(current, latest):
            continue
        detail = f"AMI release {current} → {latest}"
        if upgrade_nodes:
            found.append(
                Action(
                    "upgrade", "node group", group, f"{detail}, node by node (PodDisruptionBudgets hold)", target=latest
                )
            )
        else:
            found.append(Action("aging", "node group", group, detail))
    return found
