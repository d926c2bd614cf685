"""Pods that claim devices through Dynamic Resource Allocation need nodes with a DRA driver.

A pod's ``resourceClaims`` (and its containers' ``resources.claims``) ask for devices by class: a GPU,
a MIG slice, a network interface. A DRA driver allocates them, and its kubelet plugin, a DaemonSet on
every node that offers the devices, prepares them for the container. Fargate runs no DaemonSets and
offers no devices, only vCPU and memory (AWS's Fargate considerations), so such a pod can never start
there (inferred: AWS does not name Dynamic Resource Allocation).
"""

from composer.rules._docs import FARGATE as URL  # noqa: F401 (read by the registry)

ID, NAME, SEVERITY = "FG030", "resource-claims", "block"
EVIDENCE = "inferred"


def check(w):
    if w.resource_claims:
        yield (
            "workload.resourceClaims",
            f"claims devices through Dynamic Resource Allocation ({', '.join(w.resource_claims)}); "
            "a DRA driver's node plugin must prepare them",
        )
