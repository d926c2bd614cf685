"""A pod that requires Spot capacity needs Spot nodes: EKS has no Fargate Spot.

EKS runs Fargate pods on on-demand capacity only (AWS: "EKS does not support Fargate Spot"). A
nodeSelector or required node affinity on ``karpenter.sh/capacity-type: spot`` or
``eks.amazonaws.com/capacityType: SPOT`` can only be met by Spot EC2 nodes, and no Fargate node
carries those labels, so the pod would stay Pending if a Fargate profile selected it.
"""

from composer.rules._docs import FARGATE as URL  # noqa: F401 (read by the registry)
from composer.rules._selectors import allowed

ID, NAME, SEVERITY = "FG023", "spot-capacity", "block"
EVIDENCE = "documented"

KEYS = {"karpenter.sh/capacity-type": "spot", "eks.amazonaws.com/capacityType": "SPOT"}


def check(w):
    for key, spot in KEYS.items():
        values, field = allowed(w, key)
        if values and values <= {spot}:
            yield field, f"requires Spot capacity ({key}={spot}); EKS has no Fargate Spot"
