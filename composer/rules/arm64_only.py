"""Arm64-only pods cannot run on EKS Fargate.

EKS Fargate runs Linux on x86-64 only (Graviton/Arm Fargate exists for ECS, not EKS). A pod whose
``nodeSelector`` or required node affinity allows only ``kubernetes.io/arch: arm64`` needs an
arm64 (Graviton) managed node group.
"""

from composer.rules._docs import FARGATE as URL  # noqa: F401 (read by the registry)
from composer.rules._selectors import allowed

ID, NAME, SEVERITY = "FG008", "arm64-only", "block"
EVIDENCE = "documented"


def check(w):
    values, field = allowed(w, "kubernetes.io/arch", "beta.kubernetes.io/arch")
    if values is not None and "amd64" not in values:
        yield (
            field,
            f"node selection allows only arch {', '.join(sorted(values))}; EKS Fargate runs x86-64 (amd64) only",
        )
