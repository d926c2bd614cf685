"""NodePort Services do not reach Fargate pods.

A NodePort opens a port on every node and forwards it to the pods; Fargate pods have no node you
can reach that way, and load balancers that target node ports (instance targets) cannot reach
them. Use a ClusterIP Service behind an NLB or ALB with IP targets.

Exception: a NodePort Service that is only the backend of ALB Ingresses in IP mode works, because
the ALB sends traffic to the pod IPs and never uses the node port. This is the layout of AWS's own
Fargate example (the 2048 game: ``type: NodePort`` with ``alb.ingress.kubernetes.io/target-type: ip``).
"""

from composer.rules._docs import FARGATE as URL  # noqa: F401 (read by the registry)

ID, NAME, SEVERITY = "FG011", "nodeport-service", "block"
EVIDENCE = "documented"


def check(w):
    behind_ip_alb = bool(w.ingresses) and all(i.class_name == "alb" and i.target_type == "ip" for i in w.ingresses)
    for s in w.services:
        if s.type == "NodePort" and not behind_ip_alb:
            yield f"{s.field}.type", "Service type NodePort cannot route to Fargate pods (use IP targets)"
