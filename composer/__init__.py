"""fargate-composer: place EKS workloads on Fargate or managed node groups, and compose the config."""

__version__ = "0.1.0"
