"""Privileged containers are not allowed on Fargate.

EKS Fargate rejects pods whose containers ask for ``securityContext.privileged: true``; the
fargate-scheduler reports "invalid SecurityContext fields: Privileged". Docker-in-Docker builds,
CNI plugins and VPN sidecars that need privilege must run on a node group (or switch to an
unprivileged alternative such as kaniko or a userspace VPN).
"""

from composer.rules._docs import FARGATE as URL  # noqa: F401 (read by the registry)

ID, NAME, SEVERITY = "FG002", "privileged", "block"
EVIDENCE = "documented"


def check(w):
    if w.privileged:
        yield "workload.privileged", "privileged containers are not supported on Fargate"
