"""Which values a pod's node selection allows for a node label (nodeSelector and required nodeAffinity)."""

from __future__ import annotations

from composer.core.model import Workload, key_field


def allowed(workload: Workload, *keys: str) -> tuple[set[str] | None, str]:
    """The set of values the pod may run on for any of ``keys`` (None = unconstrained) and the field."""
    for key in keys:
        if key in workload.node_selector:
            return {workload.node_selector[key]}, key_field("workload.nodeSelector", key)
    required = _mapping(_mapping(workload.affinity).get("nodeAffinity")).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    )
    terms = _mapping(required).get("nodeSelectorTerms")
    terms = [t for t in terms if isinstance(t, dict)] if isinstance(terms, list) else []
    values: set[str] = set()
    constrained = bool(terms)
    for term in terms:
        found = term.get("matchExpressions")
        exprs = [e for e in found if isinstance(e, dict) and e.get("key") in keys] if isinstance(found, list) else []
        ins = [e for e in exprs if e.get("operator") == "In"]
        if not ins:
            constrained = False  # this term lets the pod run anywhere on that label
            break
        values.update(str(v) for e in ins for v in (e.get("values") if isinstance(e.get("values"), list) else []))
    if constrained and values:
        return values, "workload.affinity.nodeAffinity"
    return None, ""


def os_allowed(workload: Workload) -> tuple[set[str] | None, str]:
    """The operating systems the pod may run on (``kubernetes.io/os``, or its deprecated beta form); a pod
    that selects ``node.kubernetes.io/windows-build`` (a label only Windows nodes carry) runs on Windows."""
    values, field = allowed(workload, "kubernetes.io/os", "beta.kubernetes.io/os")
    if values is None:
        build, where = allowed(workload, "node.kubernetes.io/windows-build")
        if build is not None:
            return {"windows"}, where
    return values, field


def _mapping(value) -> dict:
    """``value`` if it is a mapping, else {} (a scanned manifest may hold any shape there)."""
    return value if isinstance(value, dict) else {}
