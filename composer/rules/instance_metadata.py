"""Fargate pods cannot reach the EC2 instance metadata service (IMDS).

169.254.169.254 is not available from Fargate pods. Software that discovers its region, VPC or
credentials from IMDS (for example the AWS Load Balancer Controller without ``--aws-region`` and
``--aws-vpc-id``, or anything relying on the node's instance role) fails there. Give such values
explicitly and use IAM roles for service accounts (IRSA), or run the workload on a node group.
"""

from composer.rules._docs import FARGATE as URL  # noqa: F401 (read by the registry)

ID, NAME, SEVERITY = "FG018", "instance-metadata", "block"
EVIDENCE = "documented"


def check(w):
    if w.uses_instance_metadata:
        yield (
            "workload.usesInstanceMetadata",
            "reads the EC2 instance metadata service, which Fargate pods cannot reach",
        )
    if w.aws_credentials == "nodeRole":
        yield "workload.awsCredentials", "uses the node's instance role (via IMDS); Fargate pods cannot; use IRSA"
