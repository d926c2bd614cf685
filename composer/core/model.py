"""Plain data flowing through the core: workloads in, placements and plan out."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cached_property
from pathlib import Path
from typing import Any, Literal, Mapping

from composer.core.sizing import FargateSize, fargate_size

Severity = Literal["block", "advice"]
Target = Literal["fargate", "nodegroup"]
NodeClass = Literal["general", "arm64", "gpu", "neuron", "windows"]


@dataclass(frozen=True)
class Source:
    """Where a workload came from; ``doc`` is the loaded YAML tree, used only to locate fields
    (``composer.files.yamlio.position``)."""

    path: str
    doc: Any = field(default=None, compare=False, repr=False)
    reload: bool = field(default=False, compare=False, repr=False)  # the file may be read again for positions

    def __reduce__(self) -> tuple:
        # Sent between processes (composer.core.parallel) without the tree: it is most of the bytes, and
        # positions are rarely needed after classification (which has already taken its own).
        return (Source, (self.path, None, self.doc is not None or self.reload))


_FIELD_TOKEN = re.compile(r'\.?([^.\[\]"]+)|\[(\d+)\]|\["([^"]*)"\]')


def parse_field(dotted: str) -> list:
    """``workload.services[1].type`` → ``['workload', 'services', 1, 'type']``.

    Keys that contain dots are written in brackets: ``workload.nodeSelector["kubernetes.io/arch"]``.
    """
    out: list = []
    for name, index, quoted in _FIELD_TOKEN.findall(dotted):
        out.append(int(index) if index else (quoted if quoted or not name else name))
    return out


def key_field(base: str, key: str) -> str:
    """The field path of mapping key ``key`` under ``base`` (bracketed when the key has dots)."""
    return f'{base}["{key}"]' if "." in key else f"{base}.{key}"


@dataclass(frozen=True)
class Container:
    name: str
    requests: Mapping[str, Fraction]
    limits: Mapping[str, Fraction]
    field: str  # e.g. workload.containers[0]
    init: bool = False
    sidecar: bool = False  # init container with restartPolicy: Always
    ports: tuple[int, ...] = ()

    def request(self, resource: str) -> Fraction | None:
        """Effective request: Kubernetes defaults a missing request to the limit."""
        return self.requests.get(resource, self.limits.get(resource))


@dataclass(frozen=True)
class Service:
    type: str
    field: str
    name: str = ""
    load_balancer: str = ""  # clb | nlb | "" (unset)
    target_type: str = ""  # ip | instance | "" (unset)


@dataclass(frozen=True)
class Ingress:
    class_name: str
    field: str
    name: str = ""
    target_type: str = ""


@dataclass(frozen=True)
class Volume:
    name: str
    type: str
    field: str
    storage_class: str = ""
    provisioner: str = ""
    provisioning: str = ""
    size_limit: Fraction | None = None
    claim_name: str = ""
    unresolved: str = ""  # claim-not-in-input | no-default-class: storage unknown (composer.load.claims)
    driver: str = ""  # csi: the inline volume's CSI driver
    source: str = ""  # other: the volume source compose does not model (nfs, iscsi, …)


@dataclass(frozen=True)
class ServiceAccount:
    """The service account eksctl creates with an IAM role for IRSA (``iam.serviceAccounts``)."""

    name: str
    policy_arns: tuple[str, ...] = ()
    well_known: Mapping[str, bool] = field(default_factory=dict)
    role_arn: str = ""

    def association(self, namespace: str) -> dict:
        """The ClusterConfig entry for EKS Pod Identity (``iam.podIdentityAssociations``): eksctl makes the
        role (or uses ``roleARN``); the chart makes the account, which the association names."""
        return self._grant({"namespace": namespace, "serviceAccountName": self.name}, "roleARN", "permissionPolicyARNs")

    def config(self, namespace: str) -> dict:
        """The ClusterConfig entry for IRSA (``iam.serviceAccounts``)."""
        return self._grant(
            {"metadata": {"name": self.name, "namespace": namespace}}, "attachRoleARN", "attachPolicyARNs"
        )

    def _grant(self, entry: dict, role_key: str, policies_key: str) -> dict:
        """``entry`` with the role or the policies, under the names eksctl gives them there."""
        if self.role_arn:
            entry[role_key] = self.role_arn
        if self.policy_arns:
            entry[policies_key] = list(self.policy_arns)
        if self.well_known:
            entry["wellKnownPolicies"] = dict(self.well_known)
        return entry


DEFAULT_ROUTING_LABEL = ("composer.io/compute", "fargate")  # fargate.routingLabel's default


@dataclass(frozen=True)
class Release:
    chart: str
    version: str = ""
    repository: str = ""
    values: tuple[Path, ...] = ()
    needs: tuple[str, ...] = ()  # normalised to namespace/name
    pod_labels_value: str = ""
    node_selector_value: str = "nodeSelector"  # "" when the chart has no such value
    tolerations_value: str = "tolerations"
    timeout: int | None = None
    values_templates: bool = False  # .gotmpl values files allowed (helmfile renders them as templates)
    service_account_value: str = "serviceAccount"
    inline_values: tuple[Mapping[str, Any], ...] = ()  # values compose itself sets (generated releases only)
    # generated releases whose chart compose knows: the Deployment it makes and the labels of its (immutable)
    # selector; apply re-creates a live one whose selector differs, keeping its pods (composer.place.autoscaler)
    controller: str = ""
    selector: tuple[tuple[str, str], ...] = ()
    part_of: str = ""  # one workload of another profile's release (its metadata.name, same namespace)


@dataclass(frozen=True)
class Workload:
    name: str
    namespace: str
    kind: str
    source: Source
    replicas: int = 1
    containers: tuple[Container, ...] = ()
    init_containers: tuple[Container, ...] = ()
    services: tuple[Service, ...] = ()
    ingresses: tuple[Ingress, ...] = ()
    volumes: tuple[Volume, ...] = ()
    privileged: bool = False
    capabilities: tuple[str, ...] = ()
    host_network: bool = False
    host_pid: bool = False
    host_ipc: bool = False
    host_ports: tuple[int, ...] = ()
    uses_instance_metadata: bool = False
    aws_credentials: str = "none"
    interruptible: bool | None = None  # tolerates losing a pod at any time (Spot); None: the profile does not say
    service_account: ServiceAccount | None = None
    node_selector: Mapping[str, str] = field(default_factory=dict)
    pod_labels: Mapping[str, str] = field(default_factory=dict)
    pod_annotations: Mapping[str, str] = field(default_factory=dict)
    runtime_class: str = ""
    resource_claims: tuple[str, ...] = ()  # the pod's Dynamic Resource Allocation claims, by name
    node_name: str = ""  # spec.nodeName: bound to that node by name
    scheduler_name: str = ""  # spec.schedulerName
    localhost_profiles: tuple[str, ...] = ()  # seccomp/AppArmor profiles of type Localhost (files on the node)
    affinity: Mapping[str, Any] = field(default_factory=dict)
    network_policy: bool = False
    ttl_seconds_after_finished: int | None = None
    hook_delete_policy: tuple[str, ...] = ()  # a Helm hook Job's helm.sh/hook-delete-policy
    tolerations: tuple[Mapping[str, Any], ...] = ()  # the pods' own tolerations (kept beside a class's)
    schedule: str = ""
    placement: str = "auto"  # auto | fargate | nodegroup
    release: Release | None = None
    provenance: Mapping[str, str] = field(default_factory=dict, compare=False)  # profile field → manifest file:line
    runs_per_day: float | None = None  # Job/CronJob
    run_minutes: float | None = None
    startup_seconds: int | None = None
    rollouts_per_day: float | None = None
    history_limits: tuple[int, int] = (3, 1)  # CronJob: successful, failed Jobs kept (Kubernetes defaults)

    def manifest_line(self, profile_field: str) -> str:
        """The manifest ``file:line`` a profile field was scanned from ("" when not scanned)."""
        if profile_field in self.provenance:
            return self.provenance[profile_field]
        parents = [k for k in self.provenance if profile_field.startswith(k + ".") or profile_field.startswith(k + "[")]
        if parents:
            return self.provenance[max(parents, key=len)]
        children = sorted(k for k in self.provenance if k.startswith(profile_field))
        return self.provenance[children[0]] if children else ""

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def all_containers(self) -> tuple[Container, ...]:
        return self.init_containers + self.containers

    @cached_property
    def fargate_size(self) -> FargateSize:
        """The size one pod would be billed as on Fargate (``composer.core.sizing``), computed once."""
        return fargate_size(self)


@dataclass(frozen=True)
class Reason:
    rule: str  # stable id, e.g. FG001
    name: str  # e.g. daemonset
    severity: Severity
    message: str
    field: str
    url: str
    line: int = 0
    col: int = 0
    evidence: str = "documented"  # documented | observed | inferred (composer.rules); "profile" for PL001


@dataclass(frozen=True)
class Advice:
    """Cluster-wide advice (FA2xx): shown in the plan, never moves a workload."""

    rule: str
    key: str
    message: str


@dataclass(frozen=True)
class Placement:
    workload: Workload
    target: Target
    reasons: tuple[Reason, ...]
    fargate_size: FargateSize
    node_class: NodeClass | None = None
    forced: bool = False
    spot: bool = False  # a node-group workload on Spot capacity (composer.place.spot)

    @property
    def blocking(self) -> tuple[Reason, ...]:
        return tuple(r for r in self.reasons if r.severity == "block")


@dataclass(frozen=True)
class NodeClassSettings:
    instance_type: str
    min_size: int | None = None
    max_size: int | None = None
    volume_size: int = 80


# The Kubernetes versions a cluster may have: those EKS offers that the eksctl compose drives accepts
# (eksctl v0.215.0's validator: 1.29–1.34; 1.28 "is no longer supported", 1.35 "invalid version")
KUBERNETES_VERSIONS = ("1.29", "1.30", "1.31", "1.32", "1.33", "1.34")
DEFAULT_ESTATE = "default"


@dataclass(frozen=True)
class ClusterSettings:
    name: str
    region: str
    source: Source
    version: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)
    estate: str = DEFAULT_ESTATE  # what compose owns on the cluster is tagged/labelled with it
    availability_zones: tuple[str, ...] = ()
    output_dir: Path = Path("generated")
    profile_prefix: str = "fp"
    routing_label: tuple[str, str] = ("composer.io/compute", "fargate")
    core_dns: str = "auto"
    pod_execution_role_arn: str = ""
    fargate_subnets: tuple[str, ...] = ()
    selectors_per_profile: int = 5
    labels_per_selector: int = 5
    profiles_per_cluster: int = 10
    headroom_percent: int = 50
    node_classes: Mapping[str, NodeClassSettings] = field(default_factory=dict)
    fargate_timeout: int = 600
    node_timeout: int = 600
    autoscaler: str = "cluster-autoscaler"  # | none
    authentication_mode: str = "API"  # | API_AND_CONFIG_MAP | CONFIG_MAP
    prefer_spot_for: tuple[str, ...] = ()  # namespace/name of Fargate-eligible services to run on Spot instead
    vpc_cidr: str = ""  # the VPC eksctl creates ("": eksctl's default)
    vpc_id: str = ""  # a VPC the user brings, with vpc_subnets
    nat_gateway: str = ""  # vpc.nat.gateway ("": eksctl's default, Single)
    cluster_endpoints: Mapping[str, bool] = field(default_factory=dict)  # vpc.clusterEndpoints (publicAccess, …)
    vpc_subnets: Mapping[str, Mapping[str, Mapping[str, str]]] = field(
        default_factory=dict
    )  # private|public → zone → {id, cidr}
    prices: Mapping[str, Any] = field(default_factory=dict)  # composer.yaml's overrides
    fargate_logging: Mapping[str, Any] = field(default_factory=dict)  # logging.fargate.cloudwatch
