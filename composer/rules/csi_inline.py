"""An inline CSI volume needs its driver's node plugin, which runs only on nodes.

A pod volume of type ``csi`` is mounted by the CSI driver's node plugin on the pod's node. Node plugins run
as DaemonSets, and Fargate runs no DaemonSets, so no driver is there to mount it. AWS says so of the
commonest one: the Secrets Store CSI Driver with the AWS provider (Secrets Manager and Parameter Store as
files) does not support Fargate. The EFS driver is the exception (Fargate mounts static EFS itself) and
is modelled as an ``efs`` volume, not this one.
"""

from composer.rules._docs import SECRETS_MANAGER as URL  # noqa: F401 (read by the registry)

ID, NAME, SEVERITY = "FG027", "csi-inline", "block"
EVIDENCE = "documented"


def check(w):
    for v in w.volumes:
        if v.type == "csi":
            yield (
                v.field,
                (
                    f"volume '{v.name}' is an inline CSI volume of driver '{v.driver or '?'}', whose node plugin "
                    "does not run on Fargate"
                ),
            )
