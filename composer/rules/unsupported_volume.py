"""Fargate mounts no network storage other than EFS.

FSx for Lustre is not supported on Fargate, and a PersistentVolumeClaim backed by any provisioner
other than EFS (static) needs a CSI node plugin, which runs as a DaemonSet and therefore only on
nodes. Claims whose storage cannot be told are treated the same way, and the message says why:
the claim is not in the scanned input (scan it too, or ``compose scan --assume-claims
efs-static|ebs``), it names no StorageClass on a cluster without a default class (EKS clusters
created at 1.30 or later have none), or the profile names neither class nor ``provisioner``. A volume of
the EFS CSI driver counts as EFS only when its ``volumeHandle`` names an EFS file system (``fs-…``, with an
optional ``:/path`` and ``:fsap-…`` access point); other handles through that driver (S3-backed file
systems, for example, which AWS documents as unsupported on Fargate) are not EFS.
"""

from composer.core.storage import volume_backend
from composer.rules._docs import FSX as URL  # noqa: F401 (read by the registry)

ID, NAME, SEVERITY = "FG017", "unsupported-volume", "block"
EVIDENCE = "documented"

UNKNOWN = {
    "claim-not-in-input": "claim '{claim}' is not in the input, so its storage is unknown; scan the file that defines "
    "it, or rerun scan with --assume-claims efs-static|ebs",
    "no-default-class": "claim '{claim}' names no StorageClass and the cluster has no default class (EKS clusters "
    "created at 1.30 or later have none); name the class",
    "not-an-efs-file-system": "claim '{claim}' is bound to a volume of the EFS CSI driver whose volumeHandle names "
    "no EFS file system (fs-…[:/path][:fsap-…]); Fargate mounts EFS file systems only",
}


def check(w):
    for v in w.volumes:
        if v.type in ("csi", "other"):  # (FG027, FG028)
            continue
        backend = volume_backend(v)
        if v.unresolved == "not-an-efs-file-system":
            yield f"{v.field}", f"volume '{v.name}': " + UNKNOWN[v.unresolved].format(claim=v.claim_name or v.name)
        elif backend == "fsx":
            yield f"{v.field}", f"volume '{v.name}' is FSx for Lustre, which Fargate does not support"
        elif backend == "other" and v.unresolved in UNKNOWN:
            yield f"{v.field}", f"volume '{v.name}': " + UNKNOWN[v.unresolved].format(claim=v.claim_name or v.name)
        elif backend == "other":
            what = v.provisioner or (
                f"storage class '{v.storage_class}'" if v.storage_class else "no storage class or provisioner"
            )
            yield (f"{v.field}", f"volume '{v.name}' is a claim on {what}; only EFS (static) mounts on Fargate")
