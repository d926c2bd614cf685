"""Checks across profiles that a JSON Schema cannot express: duplicates, needs, values files."""

from __future__ import annotations

from composer.errors import Problem
from composer.model import Workload


def _at(w: Workload, field: str, message: str, hint: str, check: str) -> Problem:
    line, col = w.source.locate(field)
    return Problem(message, w.source.path, line, col, hint, check)


def check_workloads(workloads: list[Workload]) -> list[Problem]:
    problems: list[Problem] = []
    seen: dict[str, Workload] = {}
    for w in workloads:
        if w.key in seen:
            problems.append(_at(w, "metadata.name", f"release '{w.key}' is defined twice (also in {seen[w.key].source.path})",
                                "release names must be unique within a namespace; rename one", "duplicate-release"))
        else:
            seen[w.key] = w
    for w in workloads:
        if w.release is None:
            continue
        for index, need in enumerate(w.release.needs):
            target = seen.get(need)
            if target is None:
                namespace, name = need.split("/")
                hint = ("write namespace/name for a release in another namespace"
                        if any(k.endswith(f"/{name}") for k in seen) else "check the name, or add its profile")
                problems.append(_at(w, f"release.needs[{index}]", f"needs '{need}', which no profile defines", hint, "needs"))
            elif target.release is None:
                problems.append(_at(w, f"release.needs[{index}]", f"needs '{need}', which has no release section",
                                    "only Helm releases can be ordered with needs", "needs"))
            elif need == w.key:
                problems.append(_at(w, f"release.needs[{index}]", "a release cannot need itself", "remove it", "needs"))
        for index, values in enumerate(w.release.values):
            if not values.is_file():
                problems.append(_at(w, f"release.values[{index}]", f"values file not found: {values}",
                                    "paths are relative to the profile file", "values"))
    problems.extend(_cycles(seen))
    return problems


def _cycles(releases: dict[str, Workload]) -> list[Problem]:
    """One problem per dependency cycle among ``needs`` (iterative DFS, colours white/grey/black)."""
    graph = {k: [n for n in (w.release.needs if w.release else ()) if n in releases and n != k] for k, w in releases.items()}
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
                cycle = path[path.index(child):] + [child]
                w = releases[node]
                index = list(w.release.needs).index(child)
                problems.append(_at(w, f"release.needs[{index}]", f"needs form a cycle: {' -> '.join(cycle)}",
                                    "remove one of these needs", "needs-cycle"))
            elif not state.get(child):
                state[child] = 1
                stack.append((child, iter(graph[child])))
                path.append(child)
    return problems
