"""EKS Pod Identity is not supported for pods on Fargate.

The EKS Pod Identity agent runs as a DaemonSet on nodes, and AWS documents that Pod Identity does
not work for Fargate pods (Linux or Windows). Use IAM roles for service accounts (IRSA) instead,
or keep the workload on a node group.
"""

from composer.rules._docs import POD_IDENTITY as URL  # noqa: F401 (read by the registry)

ID, NAME, SEVERITY = "FG019", "pod-identity", "block"
EVIDENCE = "documented"


def check(w):
    if w.aws_credentials == "podIdentity":
        yield "workload.awsCredentials", "EKS Pod Identity does not work on Fargate; use IRSA"
