"""Containers on Fargate cannot add Linux capabilities.

Fargate pods run with a fixed capability set; a pod that adds any capability through
``securityContext.capabilities.add`` (``NET_ADMIN`` for service-mesh init containers,
``SYS_PTRACE`` for profilers, even ``CHOWN``) is refused by the fargate-scheduler with "invalid
SecurityContext fields: Capabilities added". Dropping capabilities is fine. Seen in the field:
github.com/aws/containers-roadmap/issues/1102 (SYS_PTRACE), frappe/frappe_docker#1182 (CHOWN).
"""

from composer.rules._docs import FARGATE as URL

ID, NAME, SEVERITY = "FG003", "added-capabilities", "block"
EVIDENCE = "observed"


def check(w):
    if w.capabilities:
        caps = ", ".join(w.capabilities)
        yield "workload.capabilities", f"adds Linux capabilities ({caps}); Fargate does not allow adding capabilities"
