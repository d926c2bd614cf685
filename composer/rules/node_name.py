"""A pod that names its node cannot go to Fargate, and on a node group it bypasses the scheduler.

``nodeName`` binds a pod to one node by name before any scheduler sees it: the Fargate scheduler never
places it, and on EC2 it lands on that node whatever its taints and resources, and stays Pending once
the node is replaced (nodes of a managed node group are named after their instances). Fargate gives
every pod a node of its own that nobody can name in advance (inferred from AWS's Fargate pod model).
"""

from composer.rules._docs import FARGATE as URL  # noqa: F401 (read by the registry)

ID, NAME, SEVERITY = "FA106", "node-name", "advice"
EVIDENCE = "inferred"


def check(w):
    if w.node_name:
        yield (
            "workload.nodeName",
            f"names its node ('{w.node_name}'): no scheduler places it, so Fargate cannot honour it; "
            "remove nodeName (use a nodeSelector where a node group is meant)",
        )
