"""Pod affinity and anti-affinity have no effect on Fargate.

Every Fargate pod gets a node of its own, so pod (anti-)affinity rules that spread or co-locate
pods do not apply there. Spread across zones through the Fargate profile's subnets instead.
"""

from composer.rules._docs import PROFILE as URL  # noqa: F401 (read by the registry)

ID, NAME, SEVERITY = "FA103", "affinity-ignored", "advice"
EVIDENCE = "documented"


def check(w):
    for kind in ("podAffinity", "podAntiAffinity"):
        if (w.affinity or {}).get(kind):
            yield f"workload.affinity.{kind}", f"{kind} does not apply on Fargate (one pod per node)"
