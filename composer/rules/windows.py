"""Windows pods cannot run on EKS Fargate.

EKS Fargate runs Linux containers only; a pod that selects ``kubernetes.io/os: windows`` (or the
deprecated ``beta.kubernetes.io/os``, or a ``node.kubernetes.io/windows-build``, which only Windows
nodes carry) needs a Windows managed node group.
"""

from composer.rules._docs import WINDOWS as URL  # noqa: F401 (read by the registry)
from composer.rules._selectors import os_allowed

ID, NAME, SEVERITY = "FG009", "windows", "block"
EVIDENCE = "documented"


def check(w):
    values, field = os_allowed(w)
    if values is not None and "linux" not in values:
        yield field, f"node selection allows only os {', '.join(sorted(values))}; EKS Fargate runs Linux only"
