"""The external tools ``compose apply`` drives, the oldest versions it accepts, and why."""

from __future__ import annotations

import re
from dataclasses import dataclass

from composer.runner import Runner, TimedOut, ToolNotFound


@dataclass(frozen=True)
class Tool:
    name: str
    version_argv: tuple[str, ...]
    minimum: tuple[int, int, int]
    why: str
    install: str


TOOLS = (
    Tool("eksctl", ("eksctl", "version"), (0, 128, 0),
         "0.128.0 is the first release whose `create fargateprofile -f` skips profiles that already exist",
         "https://eksctl.io/installation/"),
    Tool("helmfile", ("helmfile", "--version"), (1, 0, 0),
         "helmfile 1.x reads a plain helmfile.yaml as YAML (templating only for .gotmpl files)",
         "https://helmfile.readthedocs.io/en/latest/#installation"),
    Tool("helm", ("helm", "version", "--short"), (3, 13, 0),
         "helmfile calls helm; 3.13 stores release labels, by which apply finds the releases it installed",
         "https://helm.sh/docs/intro/install/"),
)

_VERSION = re.compile(r"v?(\d+)\.(\d+)\.(\d+)")


def parse_version(text: str) -> tuple[int, int, int] | None:
    match = _VERSION.search(text)
    return (int(match[1]), int(match[2]), int(match[3])) if match else None


def _dotted(version: tuple[int, int, int]) -> str:
    return ".".join(map(str, version))


def preflight(runner: Runner, tools: tuple[Tool, ...] = TOOLS,
              timeout: float | None = None) -> tuple[dict[str, str], list[str]]:
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
            problems.append(f"{tool.name} {_dotted(version)} is too old: {tool.name} >= {_dotted(tool.minimum)} "
                            f"is needed ({tool.why}); upgrade: {tool.install}")
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
    return [f"helm's diff plugin is not installed (`helm plugin list` shows no `diff`): helmfile apply needs it; "
            f"install it: {HELM_DIFF_INSTALL}"]
