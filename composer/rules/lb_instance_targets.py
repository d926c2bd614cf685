"""LoadBalancer Services with instance targets do not reach Fargate pods.

Fargate pods can only be load-balancer targets by IP. A ``LoadBalancer`` Service that asks for nothing
more gets an NLB with instance targets from the AWS Load Balancer Controller (its Service webhook, on
by default since v2.5, hands such Services to it; instance is its default target type), or a Classic
Load Balancer (instance targets only) from the in-tree cloud provider where the controller is not
installed; neither can reach a Fargate pod. An NLB with IP targets works
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
        if s.load_balancer == "clb":
            yield f"{s.field}.loadBalancer", "a Classic Load Balancer uses instance targets only"
        elif s.load_balancer == "":
            yield (
                f"{s.field}.type",
                "Service type LoadBalancer without IP targets gets an NLB with instance targets (AWS Load "
                "Balancer Controller) or a Classic Load Balancer (in-tree provider): set loadBalancer: nlb, "
                "targetType: ip",
            )
        elif s.target_type != "ip":
            yield (
                f"{s.field}.targetType" if s.target_type else f"{s.field}.loadBalancer",
                "NLB with instance targets cannot reach Fargate pods (set targetType: ip, AWS Load Balancer "
                "Controller)",
            )
