"""LoadBalancer Services with instance targets do not reach Fargate pods.

Fargate pods can only be load-balancer targets by IP. The in-tree cloud provider creates a Classic
Load Balancer (instance targets only) or an NLB in instance mode, neither of which can reach a
Fargate pod. An NLB with IP targets through the AWS Load Balancer Controller works
(``service.beta.kubernetes.io/aws-load-balancer-type: external`` and
``aws-load-balancer-nlb-target-type: ip``).
"""

from composer.rules._docs import NLB as URL  # noqa: F401 (read by the registry)

ID, NAME, SEVERITY = "FG012", "lb-instance-targets", "block"
EVIDENCE = "documented"


def check(w):
    for s in w.services:
        if s.type != "LoadBalancer":
            continue
        if s.load_balancer in ("", "clb"):
            yield (
                f"{s.field}.loadBalancer" if s.load_balancer else f"{s.field}.type",
                "Service type LoadBalancer without an NLB in IP mode gets a Classic Load Balancer, "
                "which uses instance targets only",
            )
        elif s.target_type != "ip":
            yield (
                f"{s.field}.targetType" if s.target_type else f"{s.field}.loadBalancer",
                "NLB with instance targets cannot reach Fargate pods (set targetType: ip, AWS Load Balancer "
                "Controller)",
            )
