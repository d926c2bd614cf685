"""A pod pinned to EC2 compute cannot be placed on Fargate.

Nodes carry the label ``eks.amazonaws.com/compute-type`` (``fargate`` on Fargate nodes). A pod
whose nodeSelector asks for any other value (for example ``ec2``) will never match a Fargate node,
so it stays Pending if a Fargate profile selects it.
"""

from composer.core.model import key_field
from composer.rules._docs import PROFILE as URL  # noqa: F401 (read by the registry)

ID, NAME, SEVERITY = "FG010", "ec2-compute-type", "block"
EVIDENCE = "inferred"

KEY = "eks.amazonaws.com/compute-type"


def check(w):
    value = w.node_selector.get(KEY)
    if value is not None and value != "fargate":
        yield key_field("workload.nodeSelector", KEY), f"nodeSelector pins the pod to {KEY}={value}"
