"""Containers without CPU/memory requests get Fargate's smallest size.

Fargate sizes the pod from its requests; when no container requests CPU or memory, the pod gets
0.25 vCPU and 0.5 GB, which is often too small. Set requests (equal to limits: Fargate pods run
as Guaranteed QoS).
"""

from composer.rules._docs import POD_CONFIG as URL  # noqa: F401 (read by the registry)

ID, NAME, SEVERITY = "FA104", "default-size", "advice"
EVIDENCE = "documented"


def check(w):
    if not any(c.request("cpu") or c.request("memory") for c in w.all_containers):
        yield "workload.containers", "no CPU/memory requests: Fargate will provision 0.25 vCPU / 0.5 GB"
