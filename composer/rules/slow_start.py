"""Fargate pods take tens of seconds to minutes to start.

Each Fargate pod gets its own freshly provisioned micro-VM, and the image is pulled every time
(billing starts at the pull). A workload that declares it must serve new pods within a minute
(``startupSeconds``), or that rolls out many times a day (``rolloutsPerDay``), is better served
by nodes that are already running and have the image cached. This is advice: the workload can
run on Fargate if the wait is acceptable.
"""

from composer.rules._docs import FARGATE as URL  # noqa: F401 (read by the registry)

ID, NAME, SEVERITY = "FA105", "slow-start", "advice"
EVIDENCE = "observed"

FAST_SECONDS = 60
FREQUENT_ROLLOUTS = 24


def check(w):
    if w.startup_seconds is not None and w.startup_seconds < FAST_SECONDS:
        yield (
            "workload.startupSeconds",
            f"new pods must serve within {w.startup_seconds} s, but Fargate pods often "
            "take a minute or more to start; prefer a node group (placement: nodegroup)",
        )
    if w.rollouts_per_day is not None and w.rollouts_per_day >= FREQUENT_ROLLOUTS:
        yield (
            "workload.rolloutsPerDay",
            f"{w.rollouts_per_day:g} rollouts a day each wait for new Fargate capacity "
            "and a fresh image pull; nodes with cached images roll faster",
        )
