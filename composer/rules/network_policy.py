"""NetworkPolicy is not enforced for Fargate pods.

The VPC CNI's network-policy agent enforces policies on EC2 Linux nodes only. A workload that
relies on NetworkPolicy for isolation gets none on Fargate; use security groups for pods, or keep
it on a node group (``placement: nodegroup``).
"""

from composer.rules._docs import NETWORK_POLICY as URL  # noqa: F401 (read by the registry)

ID, NAME, SEVERITY = "FA102", "network-policy", "advice"
EVIDENCE = "documented"


def check(w):
    if w.network_policy:
        yield "workload.networkPolicy", "NetworkPolicy is not enforced on Fargate pods"
