"""A seccomp or AppArmor profile of type Localhost is a file that must exist on the node.

``securityContext.seccompProfile`` (or ``appArmorProfile``, or the older AppArmor annotation) of type
``Localhost`` points the kubelet at a profile file installed on the node. Nobody can install files on
Fargate's nodes (no node access, no custom AMI: AWS's Fargate considerations), so such a container
would not start there; ``RuntimeDefault`` works anywhere (inferred: AWS does not name these profiles).
"""

from composer.rules._docs import FARGATE as URL  # noqa: F401 (read by the registry)

ID, NAME, SEVERITY = "FA108", "localhost-profile", "advice"
EVIDENCE = "inferred"


def check(w):
    if w.localhost_profiles:
        yield (
            "workload.localhostProfiles",
            f"uses profiles from files on the node ({', '.join(w.localhost_profiles)}), which Fargate's nodes do "
            "not have; use RuntimeDefault, or placement: nodegroup with the files installed",
        )
