"""The external tools ``compose apply`` drives, the oldest versions it accepts, and why."""

from __future__ import annotations

import re
from dataclasses import dataclass

from composer.cluster.runner import Runner, TimedOut, ToolNotFound
from composer.place.nodegroups import CLASS_LABEL


@dataclass(frozen=True)
class Tool:
    name: str
    version_argv: tuple[str, ...]
    minimum: tuple[int, int, int]
    why: str
    install: str


TOOLS = (
    Tool(
        "eksctl",
        ("eksctl", "version"),
        (0, 128, 0),
        "0.128.0 is the first release whose `create fargateprofile -f` skips profiles that already exist",
        "https://eksctl.io/installation/",
    ),
    Tool(
        "helmfile",
        ("helmfile", "--version"),
        (1, 0, 0),
        "helmfile 1.x reads a plain helmfile.yaml as YAML (templating only for .gotmpl files)",
        "https://helmfile.readthedocs.io/en/latest/#installation",
    ),
    Tool(
        "helm",
        ("helm", "version", "--short"),
        (3, 13, 0),
        "helmfile calls helm; 3.13 stores release labels, by which apply finds the releases it installed",
        "https://helm.sh/docs/intro/install/",
    ),
    Tool(
        "kubectl",
        ("kubectl", "version", "--client"),
        (1, 15, 0),
        "apply finds pods that must move to Fargate and restarts their workloads (`kubectl rollout restart`, "
        "new in 1.15)",
        "https://kubernetes.io/docs/tasks/tools/",
    ),
)

# The oldest eksctl for what a ClusterConfig asks of it (release notes of eksctl-io/eksctl):
# explicit `amiFamily: AmazonLinux2023` needs 0.176.0 (AL2023 AMIs), GPU and Neuron groups on AL2023
# need 0.192.0 (accelerated AL2023 AMIs); Kubernetes 1.31 is known from 0.191.0, and from 0.202.0
# eksctl asks EKS (DescribeClusterVersions, eksctl PR #8144) instead of a built-in list, so any later
# version that EKS offers works.
_EKSCTL_FOR_KUBERNETES = ((31, (0, 191, 0)), (32, (0, 202, 0)))


def eksctl_minimum(cluster_config: dict) -> tuple[tuple[int, int, int], str]:
    """The oldest eksctl that can build ``cluster_config``, and why."""
    needs = [(TOOLS[0].minimum, TOOLS[0].why)]
    if cluster_config.get("accessConfig"):
        # eksctl-io/eksctl#7425: access entries (accessConfig, get/create accessentry) arrived in 0.167.0
        needs.append(((0, 167, 0), "0.167.0 is the first release with accessConfig and access entries"))
    families = {g.get("amiFamily") for g in cluster_config.get("managedNodeGroups") or []}
    if "AmazonLinux2023" in families:
        needs.append(((0, 176, 0), "0.176.0 is the first release with AmazonLinux2023 node groups"))
    if any(
        g.get("amiFamily") == "AmazonLinux2023" and (g.get("labels") or {}).get(CLASS_LABEL) in ("gpu", "neuron")
        for g in cluster_config.get("managedNodeGroups") or []
    ):
        needs.append(((0, 192, 0), "0.192.0 is the first release with GPU/Neuron AmazonLinux2023 AMIs"))
    version = str((cluster_config.get("metadata") or {}).get("version") or "")
    minor = int(version.split(".")[1]) if re.fullmatch(r"1\.\d+", version) else None
    for first_minor, release in _EKSCTL_FOR_KUBERNETES:
        if minor is not None and minor >= first_minor:
            needs.append((release, f"Kubernetes {version} needs eksctl >= {_dotted(release)}"))
    return max(needs)


# Only when Fargate logging is on: apply asks IAM whether the pod execution role may write the logs
# (composer.emit.fargate_role); simulate-principal-policy is in every AWS CLI 1.x and 2.x.
AWS_CLI = Tool(
    "aws",
    ("aws", "--version"),
    (1, 16, 0),
    "apply checks the Fargate pod execution role's CloudWatch Logs permissions (iam simulate-principal-policy)",
    "https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html",
)


def tools_for(cluster_config: dict, checks_log_role: bool = False) -> tuple[Tool, ...]:
    """TOOLS, with the eksctl minimum this ClusterConfig needs (and the AWS CLI when logging is on)."""
    import dataclasses

    minimum, why = eksctl_minimum(cluster_config)
    return (
        (dataclasses.replace(TOOLS[0], minimum=minimum, why=why),) + TOOLS[1:] + ((AWS_CLI,) if checks_log_role else ())
    )


_VERSION = re.compile(r"v?(\d+)\.(\d+)\.(\d+)")


def parse_version(text: str) -> tuple[int, int, int] | None:
    match = _VERSION.search(text)
    return (int(match[1]), int(match[2]), int(match[3])) if match else None


def _dotted(version: tuple[int, int, int]) -> str:
    return ".".join(map(str, version))


def preflight(
    runner: Runner, tools: tuple[Tool, ...] = TOOLS, timeout: float | None = None
) -> tuple[dict[str, str], list[str]]:
    """({tool: version}, [problems]): every tool present and new enough, checked before any step runs."""
    versions, problems = {}, []
    for tool in tools:
        lines: list[str] = []
        try:
            code = runner(list(tool.version_argv), lambda stream, line: lines.append(line), timeout=timeout)
        except ToolNotFound:
            problems.append(f"{tool.name} is not installed (not found on PATH); install it: {tool.install}")
            continue
        except TimedOut as exc:
            problems.append(f"{exc} (`{' '.join(tool.version_argv)}`; --probe-timeout sets the limit)")
            continue
        version = parse_version("\n".join(lines))
        if code != 0 or version is None:
            problems.append(f"`{' '.join(tool.version_argv)}` failed (exit {code}): {' '.join(lines)[-200:]}")
        elif version < tool.minimum:
            problems.append(
                f"{tool.name} {_dotted(version)} is too old: {tool.name} >= {_dotted(tool.minimum)} "
                f"is needed ({tool.why}); upgrade: {tool.install}"
            )
        else:
            versions[tool.name] = _dotted(version)
    if "helm" in versions:
        problems += _helm_diff(runner, timeout)
    return versions, problems


HELM_DIFF_INSTALL = "helm plugin install https://github.com/databus23/helm-diff"


def _helm_diff(runner: Runner, timeout: float | None) -> list[str]:
    """helmfile's diff and apply run `helm diff`: without the plugin every apply fails at that step."""
    lines: list[str] = []
    try:
        code = runner(["helm", "plugin", "list"], lambda stream, line: lines.append(line), timeout=timeout)
    except (ToolNotFound, TimedOut) as exc:
        return [f"could not list helm's plugins ({exc})"]
    if code == 0 and any(line.split()[:1] == ["diff"] for line in lines):
        return []
    return [
        f"helm's diff plugin is not installed (`helm plugin list` shows no `diff`): helmfile apply needs it; "
        f"install it: {HELM_DIFF_INSTALL}"
    ]
