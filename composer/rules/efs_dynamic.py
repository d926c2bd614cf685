"""EFS on Fargate supports static provisioning only.

Fargate mounts EFS without installing the CSI driver, but only for PersistentVolumes created in
advance (static provisioning). A PVC that relies on dynamic provisioning through an
``efs.csi.aws.com`` StorageClass (access points) stays Pending on Fargate. Pre-create the
PersistentVolume, or run the workload on a node group.
"""

from composer.core.storage import volume_backend
from composer.rules._docs import EFS as URL  # noqa: F401 (read by the registry)

ID, NAME, SEVERITY = "FG016", "efs-dynamic", "block"
EVIDENCE = "documented"


def check(w):
    for v in w.volumes:
        if volume_backend(v) == "efs" and v.provisioning == "dynamic":
            yield f"{v.field}", f"volume '{v.name}' uses dynamically provisioned EFS; Fargate supports static EFS only"
