"""A pod that asks for another scheduler: on Fargate, EKS's own scheduler places it.

A Fargate profile that selects a pod makes EKS set the pod's ``schedulerName`` to its
``fargate-scheduler`` when the pod is created, so a scheduler the pod asks for (Volcano, a gang or
bin-packing scheduler, …) never sees it there; on a node group it does. Check that the workload does
not rely on what that scheduler adds (inferred from how EKS assigns Fargate pods).
"""

from composer.rules._docs import PROFILE as URL  # noqa: F401 (read by the registry)

ID, NAME, SEVERITY = "FA107", "scheduler-name", "advice"
EVIDENCE = "inferred"


def check(w):
    if w.scheduler_name and w.scheduler_name not in ("default-scheduler", "fargate-scheduler"):
        yield (
            "workload.schedulerName",
            f"asks for scheduler '{w.scheduler_name}', which does not place Fargate pods",
        )
