"""Saved plans: ``compose plan --refresh --out FILE``, then ``compose apply --plan FILE``.

The file records what apply would do (its commands) with two fingerprints: of the inputs (the files
compose would write, and every values file and local chart they name) and of the cluster as the probes
read it (the Fargate profiles, node groups and compose's releases, without timestamps). ``apply --plan``
reads the inputs and the cluster again and runs only if both fingerprints and the commands are the same,
like terraform's ``plan -out``; otherwise it names what changed and runs nothing.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from composer.core.errors import fail

FORMAT = "compose-saved-plan/1"
MAX_BYTES = 4 * 1024 * 1024


def inputs_fingerprint(plan) -> str:
    """sha256 of the generated files, composer.yaml, every profile, and every values file and local chart
    file the releases point at."""
    digest = hashlib.sha256()
    for name, text in sorted(plan.files.items()):
        digest.update(f"file {name}\n".encode() + text.encode() + b"\0")
    for path in sorted(_referenced(plan)):
        digest.update(f"input {path}\n".encode() + (path.read_bytes() if path.is_file() else b"<missing>") + b"\0")
    return digest.hexdigest()


def _referenced(plan) -> set[Path]:
    out: set[Path] = {Path(plan.settings.source.path).resolve()}
    out.update(Path(p.workload.source.path).resolve() for p in plan.placements)
    for release in plan.helmfile.get("releases", []):
        for value in release.get("values") or []:
            if isinstance(value, str):
                out.add((plan.out_dir / value).resolve())
        chart = str(release.get("chart", ""))
        if chart.startswith((".", "/")):
            folder = (plan.out_dir / chart).resolve()
            if folder.is_dir():
                out.update(p for p in folder.rglob("*") if p.is_file())
    return out


def state_fingerprint(state) -> str:
    """sha256 of what apply decides from (no timestamps or other fields that change by themselves)."""
    view = {
        "exists": state.exists,
        "fargate": {
            n: [
                p.get("status"),
                p.get("selectors"),
                p.get("tags"),
                p.get("podExecutionRoleARN"),
                sorted(p.get("subnets") or []),
            ]
            for n, p in sorted(state.fargate.items())
        },
        "nodegroups": {
            n: [g.get("Status"), g.get("InstanceType"), g.get("MinSize"), g.get("MaxSize"), g.get("DesiredCapacity")]
            for n, g in sorted(state.nodegroups.items())
        },
        "owned_groups": sorted(state.owned_groups),
        "estate": state.estate,
        "releases": None if state.releases is None else sorted(state.releases),
        "oidc_missing": state.oidc_missing,
        # which workloads have pods off Fargate (pod names churn by themselves; their owners do not)
        "pods": sorted({(p.namespace, p.labels, p.owner) for p in state.pods}),
        **({"version": state.version} if state.version else {}),
        **(
            {
                "on_old_profiles": {
                    n: sorted({(p.namespace, p.owner) for p in v}) for n, v in state.on_old_profiles.items()
                }
            }
            if state.on_old_profiles
            else {}
        ),
        **(
            {"fargate_pods": sorted({(p.namespace, p.owner) for p in state.fargate_pods})} if state.fargate_pods else {}
        ),
        "service_accounts": None if state.service_accounts is None else sorted(state.service_accounts.items()),
        **({"irsa_roles": sorted(state.irsa_roles.items())} if state.irsa_roles else {}),
        "addons": None
        if state.addons is None
        else {n: [a.get("Status"), a.get("ConfigurationValues")] for n, a in sorted(state.addons.items())},
        # (only when reported, so that saved plans of clusters that report none keep their fingerprint)
        **({"authentication_mode": state.authentication_mode} if state.authentication_mode else {}),
    }
    return hashlib.sha256(json.dumps(view, sort_keys=True, default=str).encode()).hexdigest()


def _commands(steps) -> list[list[str]]:
    return [list(s.argv) for s in steps if s.argv]


def save(path: Path, plan, state, steps) -> None:
    from composer.files.yamlio import write_atomic

    doc = {
        "format": FORMAT,
        "cluster": plan.settings.name,
        "region": plan.settings.region,
        "inputs": inputs_fingerprint(plan),
        "state": state_fingerprint(state),
        "commands": _commands(steps),
    }
    try:
        write_atomic(Path(path), json.dumps(doc, indent=2) + "\n")
    except OSError as exc:
        raise fail(f"cannot write the saved plan: {exc.strerror or exc}", str(path)) from None


def load(path: Path) -> dict:
    """The saved plan at ``path``; a clear error for anything that is not one."""
    where = str(path)
    try:
        if Path(path).stat().st_size > MAX_BYTES:
            raise fail("too large to be a saved plan", where)
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise fail(f"cannot read the saved plan: {exc.strerror or exc}", where) from None
    except (ValueError, RecursionError):
        raise fail(
            "not a saved plan (not JSON)", where, hint="make one with `compose plan --refresh --out FILE`"
        ) from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or not isinstance(doc.get("commands"), list):
        raise fail(
            f"not a saved plan of this compose ({FORMAT})",
            where,
            hint="make one with `compose plan --refresh --out FILE`",
        )
    doc["path"] = where
    return doc


def differences(saved: dict, plan, state, steps) -> list[str]:
    """Why the saved plan no longer holds (empty: apply may run it)."""
    reasons = []
    if (saved.get("cluster"), saved.get("region")) != (plan.settings.name, plan.settings.region):
        reasons.append(
            f"the saved plan is for cluster {saved.get('cluster')} ({saved.get('region')}), not "
            f"{plan.settings.name} ({plan.settings.region})"
        )
    if saved.get("inputs") != inputs_fingerprint(plan):
        reasons.append(
            "the inputs changed since the plan was saved (composer.yaml, a profile, a values file or a local chart)"
        )
    if saved.get("state") != state_fingerprint(state):
        reasons.append(
            "the cluster changed since the plan was saved (its Fargate profiles, node groups or compose's releases)"
        )
    if not reasons and saved.get("commands") != _commands(steps):
        reasons.append("apply would now run other commands than the saved plan lists")
    return reasons
