"""Fargate mounts no network storage other than EFS.

FSx for Lustre is not supported on Fargate, and a PersistentVolumeClaim backed by any provisioner
other than EFS (static) needs a CSI node plugin, which runs as a DaemonSet and therefore only on
nodes. Claims whose storage class or provisioner cannot be resolved are treated the same way:
name the ``provisioner`` in the profile to classify them.
"""

from composer.rules._docs import FSX as URL
from composer.storage import volume_backend

ID, NAME, SEVERITY = "FG017", "unsupported-volume", "block"
EVIDENCE = "documented"


def check(w):
    for v in w.volumes:
        backend = volume_backend(v)
        if backend == "fsx":
            yield f"{v.field}", f"volume '{v.name}' is FSx for Lustre, which Fargate does not support"
        elif backend == "other":
            what = v.provisioner or (f"storage class '{v.storage_class}'" if v.storage_class else "no storage class")
            yield (f"{v.field}", f"volume '{v.name}' is a claim on {what}; only EFS (static) mounts on Fargate")
