"""hostPath volumes do not work on Fargate.

A hostPath volume mounts a directory of the node. Fargate gives a pod a private VM with no node
access; AWS does not document hostPath explicitly, but with privileged, hostNetwork and DaemonSets
banned for the same reason there is no node state to mount (inference, treated as blocking).
Use emptyDir for scratch space or EFS for shared files.
"""

from composer.rules._docs import FARGATE as URL  # noqa: F401 (read by the registry)

ID, NAME, SEVERITY = "FG015", "host-path", "block"
EVIDENCE = "inferred"


def check(w):
    for v in w.volumes:
        if v.type == "hostPath":
            yield f"{v.field}.type", f"volume '{v.name}' mounts a node path (hostPath)"
