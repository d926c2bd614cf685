"""Service meshes in CNI mode cannot run on Fargate: it takes no CNI plugin of your own.

Fargate's networking is the built-in Amazon VPC CNI, and AWS lists alternate CNI plugins among what
Fargate cannot do. Istio's ``istio-cni`` and Linkerd's ``linkerd-cni`` set up a pod's traffic
redirection from a CNI plugin that their DaemonSet installs on each node (into ``/opt/cni/bin``),
so a pod injected for CNI mode waits for a plugin that never runs on its Fargate node (observed:
github.com/aws/containers-roadmap/issues/682, github.com/istio/istio/issues/26154). The injected pod
shows it by a validation init container instead of the iptables one (``istio-validation``,
``linkerd-network-validator``), by Istio's ``sidecar.istio.io/status`` annotation naming that
container, or by a Multus ``k8s.v1.cni.cncf.io/networks`` annotation naming the mesh's CNI.
Sidecar mode is no way out either: its init container (``istio-init``, ``linkerd-init``) adds
NET_ADMIN and NET_RAW, which FG003 reports. Run meshed workloads on nodes, or leave them out of the
mesh.
"""

from composer.core.model import key_field
from composer.rules._docs import FARGATE as URL  # noqa: F401 (read by the registry)

ID, NAME, SEVERITY = "FG026", "mesh-cni", "block"
EVIDENCE = "documented"

VALIDATORS = {"istio-validation": "Istio (istio-cni)", "linkerd-network-validator": "Linkerd (linkerd-cni)"}
CNI_NETWORKS = {"istio-cni": "Istio (istio-cni)", "linkerd-cni": "Linkerd (linkerd-cni)"}
STATUS = "sidecar.istio.io/status"
NETWORKS = "k8s.v1.cni.cncf.io/networks"


def check(w):
    for container in w.init_containers:
        if container.name in VALIDATORS:
            yield (
                container.field,
                (
                    f"init container {container.name} shows {VALIDATORS[container.name]} injection in "
                    "CNI mode, which needs the mesh's CNI plugin on the node; Fargate runs no CNI plugin "
                    "of your own"
                ),
            )
            return
    status = w.pod_annotations.get(STATUS, "")
    networks = w.pod_annotations.get(NETWORKS, "")
    mesh = next((VALIDATORS[name] for name in VALIDATORS if name in status), "") if status else ""
    where = STATUS
    if not mesh and networks:
        mesh = next((CNI_NETWORKS[name] for name in CNI_NETWORKS if name in networks), "")
        where = NETWORKS
    if mesh:
        yield (
            key_field("workload.podAnnotations", where),
            (
                f"pod annotation {where} shows {mesh} in CNI mode, which "
                "needs the mesh's CNI plugin on the node; Fargate runs no "
                "CNI plugin of your own"
            ),
        )
