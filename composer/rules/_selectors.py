"""Which values a pod's node selection allows for a node label (nodeSelector and required nodeAffinity)."""

from __future__ import annotations

from composer.core.model import Workload, key_field


def allowed(workload: Workload, *keys: str) -> tuple[set[str] | None, str]:
    """The set of values the pod may run on for any of ``keys`` (None = unconstrained) and the field."""
    for key in keys:
        if key in workload.node_selector:
            return {workload.node_selector[key]}, key_field("workload.nodeSelector", key)
    terms = (
        ((workload.affinity or {}).get("nodeAffinity") or {}).get("requiredDuringSchedulingIgnoredDuringExecution")
        or {}
    ).get("nodeSelectorTerms") or []
    values: set[str] = set()
    constrained = bool(terms)
    for term in terms if isinstance(terms, list) else []:
        exprs = [e for e in (term or {}).get("matchExpressions") or [] if isinstance(e, dict) and e.get("key") in keys]
        ins = [e for e in exprs if e.get("operator") == "In"]
        if not ins:
            constrained = False  # this term lets the pod run anywhere on that label
            break
        values.update(str(v) for e in ins for v in e.get("values") or [])
    if constrained and values:
        return values, "workload.affinity.nodeAffinity"
    return None, ""
