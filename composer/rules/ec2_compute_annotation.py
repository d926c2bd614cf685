"""A pod annotated ``eks.amazonaws.com/compute-type: ec2`` is kept off Fargate by EKS itself.

EKS's Fargate admission honours this pod annotation: a pod that carries it is never given to the
Fargate scheduler, even when a Fargate profile selects it (it is how EKS keeps CoreDNS on EC2
until the annotation is removed; AWS's Fargate getting-started guide removes it to move CoreDNS).
It is reported whenever it is present, whatever other rules say, because moving the workload to
Fargate means removing it.
"""

from composer.core.model import key_field
from composer.rules._docs import FARGATE_GETTING_STARTED as URL  # noqa: F401 (read by the registry)
from composer.rules.ec2_compute_type import KEY  # the node label and the pod annotation share their name

ID, NAME, SEVERITY = "FG025", "ec2-compute-annotation", "block"
EVIDENCE = "documented"


def check(w):
    value = w.pod_annotations.get(KEY)
    if value is not None and value != "fargate":
        yield key_field("workload.podAnnotations", KEY), f"pod annotation {KEY}: {value} keeps the pod off Fargate"
