"""A pod that names a RuntimeClass needs a node with that runtime installed.

``runtimeClassName`` picks a container runtime handler configured on the node (Kata Containers,
gVisor, a GPU runtime, …). Fargate's micro-VMs have a fixed runtime that no one can extend: no
custom AMI, no kubelet arguments, no node access (AWS's Fargate considerations). So a pod that asks
for a handler cannot get it there (inferred: AWS does not name RuntimeClass).
"""

from composer.rules._docs import FARGATE as URL  # noqa: F401 (read by the registry)

ID, NAME, SEVERITY = "FG024", "runtime-class", "block"
EVIDENCE = "inferred"


def check(w):
    if w.runtime_class:
        yield (
            "workload.runtimeClassName",
            f"asks for runtime class '{w.runtime_class}', which needs a node-installed runtime",
        )
