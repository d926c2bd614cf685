"""The pod needs more ephemeral storage than Fargate offers.

A Fargate pod gets 20 GiB of ephemeral storage (container layers and emptyDir) by default, and up
to 175 GiB when the containers request ``ephemeral-storage``. A pod whose ephemeral-storage
requests, or emptyDir size limits, add up to more than 175 GiB needs a node group (or EFS).
"""

from composer.core.sizing import EPHEMERAL_MAX_GIB, ephemeral_need_gib
from composer.rules._docs import POD_CONFIG as URL  # noqa: F401 (read by the registry)

ID, NAME, SEVERITY = "FG021", "ephemeral-storage", "block"
EVIDENCE = "documented"


def check(w):
    need = ephemeral_need_gib(w)
    if need > EPHEMERAL_MAX_GIB:
        yield (
            "workload.containers",
            f"needs {float(need):g} GiB of ephemeral storage; Fargate allows at most {EPHEMERAL_MAX_GIB} GiB",
        )
