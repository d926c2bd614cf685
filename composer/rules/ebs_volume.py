"""EBS volumes cannot be mounted by Fargate pods.

Fargate has no EBS attach path: in-tree ``awsElasticBlockStore`` volumes and PVCs provisioned by
the EBS CSI driver (``ebs.csi.aws.com``, ``kubernetes.io/aws-ebs``, the EKS default classes
gp2/gp3/io1/io2/st1/sc1) need a node group. The EBS CSI controller may itself run on Fargate; its
node DaemonSet may not. Consider EFS (static provisioning) for shared data.
"""

from composer.core.storage import volume_backend
from composer.rules._docs import EBS as URL  # noqa: F401 (read by the registry)

ID, NAME, SEVERITY = "FG014", "ebs-volume", "block"
EVIDENCE = "documented"


def check(w):
    for v in w.volumes:
        if volume_backend(v) == "ebs":
            detail = f"storage class '{v.storage_class}'" if v.storage_class else v.type
            yield f"{v.field}", f"volume '{v.name}' is EBS-backed ({detail}); Fargate cannot mount EBS"
