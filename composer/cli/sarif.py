"""SARIF 2.1.0 for `compose validate` and `compose scan` (``--format sarif``), so CI systems annotate the
lines a pull request changed (https://docs.oasis-open.org/sarif/sarif/v2.1.0/sarif-v2.1.0.html).

Pure: problems or scan items in, one SARIF log (a dict) out. Validate reports each problem in the input
as an ``error`` at its file, line and column; scan reports each reason a workload cannot run on Fargate
as a ``warning`` and each piece of advice as a ``note``, at the manifest line it was read from. Rules
carry their id, name, title, the AWS page behind them (``helpUri``) and their default level.
"""

from __future__ import annotations

import urllib.parse
from typing import Iterable

from composer import __version__
from composer.core.errors import Problem

SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
LEVEL = {"block": "warning", "advice": "note"}


def log(rules: list[dict], results: list[dict]) -> dict:
    driver = {"name": "fargate-composer", "version": __version__, "rules": rules}
    return {"$schema": SCHEMA, "version": "2.1.0", "runs": [{"tool": {"driver": driver}, "results": results}]}


def location(path: str, line: int = 0, col: int = 0) -> dict:
    """A physical location: the file as a relative URI (forward slashes, escaped), and the region if known."""
    physical: dict = {"artifactLocation": {"uri": urllib.parse.quote(path.replace("\\", "/") or "<input>", safe="/")}}
    if line > 0:
        physical["region"] = {"startLine": line, **({"startColumn": col} if col > 0 else {})}
    return {"physicalLocation": physical}


def from_problems(problems: Iterable[Problem]) -> dict:
    """Validate's problems (or any command's input errors): one ``error`` result each, its check as the rule."""
    return log(*_errors(problems))


def _errors(problems: Iterable[Problem]) -> tuple[list[dict], list[dict]]:
    """(rules, results) for problems in the input: each an ``error``, its check as the rule."""
    rules: dict[str, dict] = {}
    results = []
    for p in problems:
        rule = p.check or "input"
        rules.setdefault(rule, {"id": rule, "defaultConfiguration": {"level": "error"}})
        text = p.message + (f" ({p.hint})" if p.hint else "")
        results.append(
            {
                "ruleId": rule,
                "level": "error",
                "message": {"text": text},
                "locations": [location(p.path, p.line, p.col)],
            }
        )
    return [rules[k] for k in sorted(rules)], results


def from_scan(items, unread: Iterable[Problem] = ()) -> dict:
    """Scan's workloads: each placement reason at the manifest line it was read from; each document that
    could not be parsed an ``error``."""
    from composer.rules import RULES

    known = {r.id: r for r in RULES}
    used: dict[str, dict] = {}
    results = []
    for item in items:
        w = item.placement.workload
        fallback = item.scanned.profile["provenance"]["source"]
        for r in item.placement.reasons:
            if r.rule not in used:
                rule = known.get(r.rule)
                used[r.rule] = {
                    "id": r.rule,
                    "name": r.name,
                    "shortDescription": {"text": rule.title if rule else r.name},
                    **({"helpUri": r.url} if r.url else {}),
                    "defaultConfiguration": {"level": LEVEL.get(r.severity, "note")},
                    "properties": {"evidence": r.evidence},
                }
            path, _, line = (w.manifest_line(r.field) or fallback).rpartition(":")
            results.append(
                {
                    "ruleId": r.rule,
                    "level": LEVEL.get(r.severity, "note"),
                    "message": {"text": f"{w.kind} {w.namespace}/{w.name}: {r.message}"},
                    "locations": [location(path, int(line) if line.isdigit() else 0)],
                }
            )
    error_rules, errors = _errors(unread)
    return log([used[k] for k in sorted(used)] + error_rules, results + errors)
