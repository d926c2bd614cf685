"""kube2iam and kiam hand out IAM credentials by intercepting the instance metadata service on the node.

A pod annotated ``iam.amazonaws.com/role`` expects a kube2iam or kiam agent (a DaemonSet with host
networking) to answer its calls to the instance metadata endpoint with that role's credentials. Fargate
pods have no instance metadata service and run no DaemonSets, so the pod gets no credentials there
(inferred, from the FG018 family: IMDS is not available on Fargate). Use IRSA (``awsCredentials: irsa``)
to run it on Fargate.
"""

from composer.core.model import key_field
from composer.rules._docs import FARGATE as URL  # noqa: F401 (read by the registry)

ID, NAME, SEVERITY = "FG029", "iam-agent", "block"
EVIDENCE = "inferred"
KEY = "iam.amazonaws.com/role"


def check(w):
    role = w.pod_annotations.get(KEY)
    if role:
        yield (
            key_field("workload.podAnnotations", KEY),
            (
                f"pod annotation {KEY}: {role} asks a kube2iam/kiam node agent for credentials through the instance "
                "metadata service, which Fargate pods do not have; use IRSA"
            ),
        )
