"""The Fargate rules: one module per rule, a stable id, one ``check`` function, a plain registry.

Each rule module defines ``ID``, ``NAME``, ``SEVERITY`` (``block`` keeps the workload off Fargate,
``advice`` is shown but never moves it), ``EVIDENCE`` (``documented``: AWS states it; ``observed``:
public reports of Fargate refusing or mishandling it; ``inferred``: follows from what AWS documents
but nobody states it, so a platform engineer should double-check), ``URL`` (the AWS document behind
the rule) and ``check(workload)``, which yields ``(field, message)`` pairs. The module docstring is the rule's
documentation; ``docs/rules.md`` is generated from it (``python -m composer.cli.docs``).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Callable, Iterable

from composer.core.model import Reason, Workload
from composer.core.terminal import printable
from composer.files.yamlio import position
from composer.rules import (
    accelerators,
    added_capabilities,
    affinity_ignored,
    arm64_only,
    csi_inline,
    daemonset,
    default_size,
    ebs_volume,
    ec2_compute_annotation,
    ec2_compute_type,
    efs_dynamic,
    ephemeral_storage,
    host_namespaces,
    host_network,
    host_path,
    host_ports,
    iam_agent,
    ingress_instance_targets,
    instance_metadata,
    job_ttl,
    lb_instance_targets,
    localhost_profile,
    mesh_cni,
    network_policy,
    node_name,
    nodeport_service,
    pod_identity,
    pod_size,
    privileged,
    reserved_port,
    resource_claims,
    runtime_class,
    scheduler_name,
    slow_start,
    spot_capacity,
    unknown_volume,
    unsupported_volume,
    windows,
)

Check = Callable[[Workload], Iterable[tuple[str, str]]]


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    severity: str
    evidence: str
    url: str
    title: str
    doc: str
    check: Check

    @classmethod
    def from_module(cls, module: ModuleType) -> "Rule":
        title, _, body = (module.__doc__ or "").strip().partition("\n")
        return cls(
            module.ID,
            module.NAME,
            module.SEVERITY,
            module.EVIDENCE,
            module.URL,
            title.strip(),
            body.strip(),
            module.check,
        )

    def reasons(self, workload: Workload) -> list[Reason]:
        out = []
        for field, message in self.check(workload):
            line, col = position(workload.source, field)
            # (messages quote profile and manifest values: no terminal control sequence gets through)
            text = printable(message)
            out.append(Reason(self.id, self.name, self.severity, text, field, self.url, line, col, self.evidence))
        return out


RULES: tuple[Rule, ...] = tuple(
    sorted(
        (
            Rule.from_module(m)
            for m in (
                daemonset,
                privileged,
                added_capabilities,
                host_network,
                host_ports,
                host_namespaces,
                accelerators,
                arm64_only,
                windows,
                ec2_compute_type,
                nodeport_service,
                lb_instance_targets,
                ingress_instance_targets,
                ebs_volume,
                host_path,
                efs_dynamic,
                unsupported_volume,
                instance_metadata,
                pod_identity,
                pod_size,
                ephemeral_storage,
                job_ttl,
                network_policy,
                affinity_ignored,
                default_size,
                slow_start,
                reserved_port,
                spot_capacity,
                runtime_class,
                ec2_compute_annotation,
                mesh_cni,
                csi_inline,
                unknown_volume,
                iam_agent,
                resource_claims,
                node_name,
                scheduler_name,
                localhost_profile,
            )
        ),
        key=lambda r: r.id,
    )
)

EVIDENCE_LEVELS = ("documented", "observed", "inferred")
assert all(rule.evidence in EVIDENCE_LEVELS for rule in RULES)

BY_ID = {rule.id: rule for rule in RULES}
BY_NAME = {rule.name: rule for rule in RULES}


def evaluate(workload: Workload) -> list[Reason]:
    """Every reason (blocking and advice) that applies to ``workload``, in rule-id order."""
    return [reason for rule in RULES for reason in rule.reasons(workload)]
