"""Pods on Fargate cannot bind host ports.

``hostPort`` maps a container port onto the node's address; Fargate does not support it. Expose
the pod through a ClusterIP Service, or an NLB/ALB with IP targets, instead.
"""

from composer.rules._docs import FARGATE as URL  # noqa: F401 (read by the registry)

ID, NAME, SEVERITY = "FG005", "host-ports", "block"
EVIDENCE = "documented"


def check(w):
    if w.host_ports:
        ports = ", ".join(map(str, w.host_ports))
        yield "workload.hostPorts", f"binds host port(s) {ports}; hostPort is not supported on Fargate"
