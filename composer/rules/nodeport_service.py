"""NodePort Services do not reach Fargate pods.

A NodePort opens a port on every node and forwards it to the pods; Fargate pods have no node you
can reach that way, and load balancers that target node ports (instance targets) cannot reach
them. Use a ClusterIP Service behind an NLB or ALB with IP targets.
"""

from composer.rules._docs import FARGATE as URL

ID, NAME, SEVERITY = "FG011", "nodeport-service", "block"


def check(w):
    for s in w.services:
        if s.type == "NodePort":
            yield f"{s.field}.type", "Service type NodePort cannot route to Fargate pods (use IP targets)"
