"""The eksctl ``ClusterConfig`` (eksctl.io/v1alpha5) for the composed cluster."""

from __future__ import annotations

from composer.core.model import Advice, ClusterSettings, Placement
from composer.place import vpc
from composer.place.nodegroups import AMI_FAMILY, CLASS_LABEL, NodeGroup, taints
from composer.place.routing import Routing

GENERATOR_TAG = "fargate-composer"
# On every Fargate profile compose creates: `apply --prune` deletes only profiles that carry it (node
# groups are recognised by their composer.io/node-class label, since eksctl shows no node-group tags).
MANAGED_TAG = "composer.io/managed-by"
# the estate that owns a profile (tag) or node group (label): apply deletes only its own estate's
ESTATE_KEY = "composer.io/estate"

# The core networking add-ons, named so that apply can create any that an interrupted `create cluster`
# left out (`eksctl create addon -f` skips those present). With CoreDNS on Fargate, its add-on says so:
# computeType Fargate makes EKS drop the `eks.amazonaws.com/compute-type: ec2` annotation from CoreDNS's
# pods itself, and keeps it so across add-on updates, where a patched Deployment would be reverted.
CORE_ADDONS = ("vpc-cni", "kube-proxy", "coredns")
COREDNS_ON_FARGATE = '{"computeType":"Fargate"}'
# eksctl (0.201+) also creates every *default* add-on a config does not list, metrics-server among them
# (eksctl v0.215.0 pkg/apis/eksctl.io/v1alpha5/known_addons.go: MetricsServerAddon IsDefault;
# pkg/actions/addon/tasks.go CreateAddonTasks), unless addonsConfig.disableDefaultAddons. compose always
# disables that and lists what it wants, so each component has one owner: metrics-server is the EKS add-on
# unless the estate installs the metrics-server chart itself (then helm owns its APIService and the add-on
# would clash with it).
METRICS_SERVER = "metrics-server"
# the add-ons eksctl creates unless told not to (eksctl v0.215.0 pkg/apis/eksctl.io/v1alpha5/known_addons.go)
DEFAULT_ADDONS = (*CORE_ADDONS, METRICS_SERVER)


def chart_owned(placements: list[Placement]) -> frozenset[str]:
    """The default add-ons the estate installs as Helm charts (matched by the chart's name)."""
    charts = {p.workload.release.chart.rsplit("/", 1)[-1] for p in placements if p.workload.release is not None}
    return frozenset({METRICS_SERVER} & charts)


def addons(coredns_on_fargate: bool, by_chart: frozenset[str] = frozenset()) -> list[dict]:
    listed = [
        {
            "name": name,
            **({"configurationValues": COREDNS_ON_FARGATE} if name == "coredns" and coredns_on_fargate else {}),
        }
        for name in CORE_ADDONS
    ]
    return listed + ([] if METRICS_SERVER in by_chart else [{"name": METRICS_SERVER}])


def service_accounts(placements: list[Placement], credentials: str = "irsa") -> list[dict]:
    """``iam.serviceAccounts`` (IRSA), or with ``credentials="podIdentity"`` ``iam.podIdentityAssociations``:
    one per service account the workloads name (checks.py keeps them consistent), in namespace/name order."""
    found = {
        (p.workload.namespace, p.workload.service_account.name): p.workload.service_account
        for p in placements
        if p.workload.service_account is not None and p.workload.aws_credentials == credentials
    }
    if credentials == "podIdentity":
        return [found[key].association(key[0]) for key in sorted(found)]
    return [found[key].config(key[0]) for key in sorted(found)]


# EKS Pod Identity needs its agent, an EKS add-on (a DaemonSet on the nodes: Fargate has none, so Pod
# Identity is for node-group workloads); eksctl refuses associations without it in the config (eksctl
# v0.215.0 pkg/ctl/cmdutils/configfile.go lines 333-357, ErrPodIdentityAgentNotInstalled)
POD_IDENTITY_AGENT = "eks-pod-identity-agent"


def pod_identity_advice(placements: list[Placement]) -> list[Advice]:
    """FA210: node-group workloads on IRSA could use EKS Pod Identity, which AWS offers as the simpler way
    for pods on nodes (no OIDC provider per cluster, the role's trust policy names no cluster, so one role
    serves many clusters: EKS user guide, "Learn how EKS Pod Identity grants pods access to AWS
    services"); IRSA stays for Fargate, which runs no Pod Identity agent (FG019). Said once, with examples."""
    names = sorted(
        p.workload.key
        for p in placements
        if p.target == "nodegroup" and p.workload.aws_credentials == "irsa" and p.workload.service_account
    )
    if not names:
        return []
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    return [
        Advice(
            "FA210",
            names[0],
            f"{shown} run on nodes with IRSA: EKS Pod Identity gives them the same role without the cluster's OIDC "
            "provider in its trust policy (one role for many clusters); set awsCredentials: podIdentity (compose "
            "then makes the association and the eks-pod-identity-agent add-on). Fargate workloads keep IRSA",
        )
    ]


def cluster_config(
    settings: ClusterSettings,
    routing: Routing,
    node_groups: list[NodeGroup],
    placements: list[Placement] = (),
    self_managed: frozenset[str] = frozenset(),
) -> dict:
    metadata: dict = {"name": settings.name, "region": settings.region}
    if settings.version:
        metadata["version"] = settings.version
    metadata["tags"] = {**settings.tags, "generated-by": GENERATOR_TAG}
    config: dict = {"apiVersion": "eksctl.io/v1alpha5", "kind": "ClusterConfig", "metadata": metadata}
    if settings.availability_zones:
        config["availabilityZones"] = list(settings.availability_zones)
    config["vpc"] = vpc.section(settings)
    config["iam"] = {"withOIDC": True}  # IRSA needs the cluster's OIDC provider
    accounts = service_accounts(list(placements))
    if accounts:
        config["iam"]["serviceAccounts"] = accounts
    associations = service_accounts(list(placements), "podIdentity")
    if associations:
        config["iam"]["podIdentityAssociations"] = associations
    # Access entries (API): EKS grants the Fargate pod execution role and the node roles itself, where no
    # rewrite of the aws-auth ConfigMap can take them away (composer.emit.access)
    config["accessConfig"] = {"authenticationMode": settings.authentication_mode}
    config["addonsConfig"] = {"disableDefaultAddons": True}  # (see METRICS_SERVER above)
    # (an add-on the cluster runs self-managed stays out: eksctl create addon -f would migrate it)
    listed = addons(routing.coredns_on_fargate, chart_owned(list(placements)))
    config["addons"] = [a for a in listed if a["name"] not in self_managed]
    if associations:
        config["addons"].append({"name": POD_IDENTITY_AGENT})
    if routing.profiles:
        profiles = []
        for profile in routing.profiles:
            entry: dict = {
                "name": profile.name,
                "selectors": [],
                "tags": {MANAGED_TAG: GENERATOR_TAG, ESTATE_KEY: settings.estate},
            }
            for s in profile.selectors:
                selector: dict = {"namespace": s.namespace}
                if s.labels:
                    selector["labels"] = dict(s.labels)
                entry["selectors"].append(selector)
            if settings.pod_execution_role_arn:
                entry["podExecutionRoleARN"] = settings.pod_execution_role_arn
            if settings.fargate_subnets:
                entry["subnets"] = list(settings.fargate_subnets)
            profiles.append(entry)
        config["fargateProfiles"] = profiles
    if node_groups:
        groups = []
        for g in node_groups:
            entry = {
                "name": g.name,
                **(
                    {"instanceTypes": list(g.instance_types), "spot": True}
                    if g.spot
                    else {"instanceType": g.instance_type}
                ),
                "minSize": g.min_size,
                "desiredCapacity": g.desired,
                "maxSize": g.max_size,
                "volumeSize": g.volume_size,
                "privateNetworking": True,
                "labels": {CLASS_LABEL: g.node_class, ESTATE_KEY: settings.estate},
            }
            if g.node_class in AMI_FAMILY:
                entry["amiFamily"] = AMI_FAMILY[g.node_class]
            if taints(g.node_class, g.spot):
                entry["taints"] = [dict(t) for t in taints(g.node_class, g.spot)]
            if settings.autoscaler == "cluster-autoscaler":
                # labels and taints as node-template tags on the Auto Scaling group: scale-up from zero
                entry["propagateASGTags"] = True
            groups.append(entry)
        config["managedNodeGroups"] = groups
    return config
