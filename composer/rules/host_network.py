"""Pods on Fargate cannot use the host network.

A Fargate pod may not set ``hostNetwork: true``: there is no shared host to attach to, and every
pod gets its own ENI in a private subnet. CNI agents, node-local DNS caches and other
host-networked daemons belong on a node group.
"""

from composer.rules._docs import FARGATE as URL  # noqa: F401 (read by the registry)

ID, NAME, SEVERITY = "FG004", "host-network", "block"
EVIDENCE = "documented"


def check(w):
    if w.host_network:
        yield "workload.hostNetwork", "hostNetwork is not supported on Fargate"
