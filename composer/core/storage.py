"""What backs a volume: resolved from its type, StorageClass name and provisioner."""

from __future__ import annotations

from typing import Literal

from composer.core.model import Volume

Backend = Literal["pod", "hostpath", "ebs", "efs", "fsx", "other"]

POD_LOCAL = {"emptyDir", "configMap", "secret", "projected", "downwardAPI"}
PROVISIONERS: dict[str, Backend] = {
    "ebs.csi.aws.com": "ebs",
    "kubernetes.io/aws-ebs": "ebs",
    "efs.csi.aws.com": "efs",
    "fsx.csi.aws.com": "fsx",
}
# StorageClass names EKS creates or its user guide uses in examples.
WELL_KNOWN_CLASSES: dict[str, Backend] = {
    "gp2": "ebs",
    "gp3": "ebs",
    "io1": "ebs",
    "io2": "ebs",
    "st1": "ebs",
    "sc1": "ebs",
    "ebs-sc": "ebs",
    "auto-ebs-sc": "ebs",
    "efs-sc": "efs",
    "fsx-sc": "fsx",
}


def volume_backend(volume: Volume) -> Backend:
    if volume.type in POD_LOCAL:
        return "pod"
    if volume.type == "hostPath":
        return "hostpath"
    if volume.type == "awsElasticBlockStore":
        return "ebs"
    if volume.type == "efs":
        return "efs"
    if volume.type == "fsxLustre":
        return "fsx"
    if volume.provisioner:
        return PROVISIONERS.get(volume.provisioner, "other")
    return WELL_KNOWN_CLASSES.get(volume.storage_class, "other")
