"""Containers on Fargate cannot add Linux capabilities, except NET_BIND_SERVICE.

Fargate pods run with a fixed capability set: the fargate-scheduler refuses a pod that adds one
with "invalid SecurityContext fields: Capabilities added". Dropping capabilities is always fine.
What is known, entry by entry:

* allowed: ``NET_BIND_SERVICE`` (observed: EKS's own CoreDNS adds it, and AWS documents running
  CoreDNS on Fargate);
* refused: ``NET_ADMIN`` and ``NET_RAW`` (observed: service-mesh init containers such as
  istio-init), ``SYS_PTRACE`` (observed: github.com/aws/containers-roadmap/issues/1102),
  ``CHOWN`` (observed: frappe/frappe_docker#1182);
* refused by inference: every other capability (``SYS_ADMIN``, ``SYS_TIME``, …), since no report
  shows Fargate accepting one.

``CAP_``-prefixed names count as the same capability.
"""

from composer.rules._docs import FARGATE as URL  # noqa: F401 (read by the registry)

ID, NAME, SEVERITY = "FG003", "added-capabilities", "block"
EVIDENCE = "observed"

ALLOWED = frozenset({"NET_BIND_SERVICE"})
OBSERVED_REFUSED = frozenset({"NET_ADMIN", "NET_RAW", "SYS_PTRACE", "CHOWN"})


def check(w):
    refused = [c for c in w.capabilities if c.upper().removeprefix("CAP_") not in ALLOWED]
    if refused:
        inferred = [c for c in refused if c.upper().removeprefix("CAP_") not in OBSERVED_REFUSED]
        note = f" (refusal of {', '.join(inferred)} is inferred)" if inferred else ""
        yield (
            "workload.capabilities",
            (f"adds Linux capabilities ({', '.join(refused)}); Fargate allows adding only NET_BIND_SERVICE{note}"),
        )
