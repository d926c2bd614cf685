"""ALB Ingresses must use IP targets for Fargate pods.

The AWS Load Balancer Controller registers instance targets (node ports) unless the Ingress says
``alb.ingress.kubernetes.io/target-type: ip``; instance targets cannot reach Fargate pods.
Ingresses served by an in-cluster controller (ingress-nginx, Traefik, …) reach the pods through
their ClusterIP Service and are not affected.
"""

from composer.rules._docs import ALB as URL  # noqa: F401 (read by the registry)

ID, NAME, SEVERITY = "FG013", "ingress-instance-targets", "block"
EVIDENCE = "documented"


def check(w):
    for i in w.ingresses:
        if i.class_name == "alb" and i.target_type != "ip":
            yield (
                f"{i.field}.targetType" if i.target_type else f"{i.field}.className",
                "ALB Ingress with instance targets (the controller's default) cannot reach Fargate pods; "
                "set target-type ip",
            )
