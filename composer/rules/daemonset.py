"""DaemonSets do not run on Fargate.

Fargate runs each pod on its own micro-VM with no node to put a per-node daemon on, and EKS does
not support DaemonSets there. Node agents (log shippers, metrics exporters, CSI node plugins) go
to a managed node group; for Fargate pods, run the agent as a sidecar or use Fargate's built-in
Fluent Bit log router (namespace ``aws-observability``).
"""

from composer.rules._docs import FARGATE as URL  # noqa: F401 (read by the registry)

ID, NAME, SEVERITY = "FG001", "daemonset", "block"
EVIDENCE = "documented"


def check(w):
    if w.kind == "DaemonSet":
        yield "workload.kind", "DaemonSets are not supported on Fargate (no nodes to run a per-node daemon on)"
