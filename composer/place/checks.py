"""Checks across profiles that a JSON Schema cannot express: duplicates, needs, values files."""

from __future__ import annotations

from pathlib import Path

from composer.core.errors import Problem
from composer.core.model import Workload
from composer.files.yamlio import position


def problem_at(w: Workload, field: str, message: str, hint: str, check: str) -> Problem:
    """A problem at ``field`` of ``w``'s profile (its file, line and column)."""
    line, col = position(w.source, field)
    return Problem(message, w.source.path, line, col, hint, check)


def check_workloads(workloads: list[Workload], root: Path | None = None) -> list[Problem]:
    """Problems across profiles; with ``root`` (the estate's folder), also files that leave it."""
    problems: list[Problem] = []
    seen: dict[str, Workload] = {}
    for w in workloads:
        if w.key in seen:
            problems.append(
                problem_at(
                    w,
                    "metadata.name",
                    f"release '{w.key}' is defined twice (also in {seen[w.key].source.path})",
                    "release names must be unique within a namespace; rename one",
                    "duplicate-release",
                )
            )
        else:
            seen[w.key] = w
    for w in workloads:
        if w.release is None:
            continue
        for index, need in enumerate(w.release.needs):
            target = seen.get(need)
            if target is None:
                namespace, name = need.split("/")
                hint = (
                    "write namespace/name for a release in another namespace"
                    if any(k.endswith(f"/{name}") for k in seen)
                    else "check the name, or add its profile"
                )
                problems.append(
                    problem_at(w, f"release.needs[{index}]", f"needs '{need}', which no profile defines", hint, "needs")
                )
            elif target.release is None:
                problems.append(
                    problem_at(
                        w,
                        f"release.needs[{index}]",
                        f"needs '{need}', which has no release section",
                        "only Helm releases can be ordered with needs",
                        "needs",
                    )
                )
            elif need == w.key:
                problems.append(
                    problem_at(w, f"release.needs[{index}]", "a release cannot need itself", "remove it", "needs")
                )
        for index, values in enumerate(w.release.values):
            if not values.is_file():
                problems.append(
                    problem_at(
                        w,
                        f"release.values[{index}]",
                        f"values file not found: {values}",
                        "paths are relative to the profile file",
                        "values",
                    )
                )
            elif values.name.endswith(".gotmpl") and not w.release.values_templates:
                problems.append(
                    problem_at(
                        w,
                        f"release.values[{index}]",
                        f"'{values.name}' is a template: helmfile would run it with your credentials",
                        "use a plain values file, or set release.valuesTemplates: true if you trust it",
                        "values",
                    )
                )
        if root is not None:
            problems.extend(_outside(w, root))
    problems.extend(_cycles(seen))
    problems.extend(_service_accounts(workloads))
    return problems


ROLE_CREDENTIALS = ("irsa", "podIdentity")  # the pods get an IAM role through their service account


def _service_accounts(workloads: list[Workload]) -> list[Problem]:
    """IRSA: a role only with ``awsCredentials: irsa``, an irsa workload says what its role may do, and one
    service account (namespace/name) has one role."""
    problems, seen = [], {}
    for w in workloads:
        sa = w.service_account
        if w.aws_credentials in ROLE_CREDENTIALS and sa is None:
            problems.append(
                problem_at(
                    w,
                    "workload.awsCredentials",
                    f"awsCredentials: {w.aws_credentials}, but no workload.serviceAccount says which role the pods get",
                    "add workload.serviceAccount with its name and "
                    "attachPolicyARNs, wellKnownPolicies or attachRoleARN (an existing role); eksctl then "
                    "creates the account and its role",
                    "iam",
                )
            )
            continue
        if sa is None:
            continue
        if w.aws_credentials not in ROLE_CREDENTIALS:
            problems.append(
                problem_at(
                    w,
                    "workload.serviceAccount",
                    f"workload.serviceAccount needs awsCredentials: irsa or podIdentity (it is {w.aws_credentials})",
                    "set awsCredentials: irsa (or podIdentity on node groups), or remove serviceAccount",
                    "iam",
                )
            )
        elif not (sa.policy_arns or any(sa.well_known.values()) or sa.role_arn):
            # (wellKnownPolicies that are all false grant nothing: eksctl refuses such an account)
            problems.append(
                problem_at(
                    w,
                    "workload.serviceAccount",
                    f"service account {sa.name} has no permissions",
                    "give attachPolicyARNs, wellKnownPolicies (at least one true), or attachRoleARN (an existing role)",
                    "iam",
                )
            )
        elif sa.role_arn and (sa.policy_arns or sa.well_known):
            problems.append(
                problem_at(
                    w,
                    "workload.serviceAccount.attachRoleARN",
                    "attachRoleARN uses an existing role, so policies cannot be attached here too",
                    "attach them to that role, or drop attachRoleARN",
                    "iam",
                )
            )
        key = f"{w.namespace}/{sa.name}"
        other = seen.setdefault(key, w)
        if other is not w and (other.service_account != sa or other.aws_credentials != w.aws_credentials):
            problems.append(
                problem_at(
                    w,
                    "workload.serviceAccount",
                    f"service account {key} is also defined, differently, in {other.source.path}",
                    "give both the same permissions, or use two accounts",
                    "iam",
                )
            )
    return problems


def _outside(w: Workload, root: Path) -> list[Problem]:
    """Values files and local charts must stay inside the estate (symlinks resolved)."""
    assert w.release is not None
    root = root.resolve()
    found = []
    paths = [(f"release.values[{i}]", v) for i, v in enumerate(w.release.values)]
    if w.release.chart.startswith("."):
        paths.append(("release.chart", (Path(w.source.path).parent / w.release.chart).resolve()))
    for field, path in paths:
        if not path.resolve().is_relative_to(root):
            found.append(
                problem_at(
                    w,
                    field,
                    f"{field} '{path}' is outside the estate ({root})",
                    "keep values files and local charts inside the folder of composer.yaml",
                    "paths",
                )
            )
    return found


def _cycles(releases: dict[str, Workload]) -> list[Problem]:
    """One problem per dependency cycle among ``needs`` (iterative DFS, colours white/grey/black)."""
    graph = {
        k: [n for n in (w.release.needs if w.release else ()) if n in releases and n != k] for k, w in releases.items()
    }
    state: dict[str, int] = {}
    problems = []
    for start in sorted(graph):
        if state.get(start):
            continue
        stack = [(start, iter(graph[start]))]
        path = [start]
        state[start] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
                path.pop()
            elif state.get(child) == 1:
                cycle = path[path.index(child) :] + [child]
                w = releases[node]
                index = list(w.release.needs).index(child)
                problems.append(
                    problem_at(
                        w,
                        f"release.needs[{index}]",
                        f"needs form a cycle: {' -> '.join(cycle)}",
                        "remove one of these needs",
                        "needs-cycle",
                    )
                )
            elif not state.get(child):
                state[child] = 1
                stack.append((child, iter(graph[child])))
                path.append(child)
    return problems
