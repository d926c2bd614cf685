"""The cluster's VPC, from one source for both the ClusterConfig and FA202's count of Fargate pod IPs.

Either eksctl creates the VPC (``vpc.cidr``, default 192.168.0.0/16) or the user brings one (``vpc.id``
and ``vpc.subnets`` by zone). eksctl splits a CIDR it is given into equal subnets, a public and a
private one per zone: with up to four zones it cuts the CIDR into eight parts (prefix + 3) and uses the
first zone-count parts as public and the next as private subnets; with five to eight zones, sixteen
parts (prefix + 4); with one zone, two parts (eksctl's pkg/vpc SetSubnets). Without
``availabilityZones`` it picks three zones. Fargate profiles use private subnets only: those eksctl
made, or the ``private`` ones given (``fargate.subnets`` narrows them to a subset).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from composer.core.model import Advice, ClusterSettings, Placement

EKSCTL_DEFAULT_CIDR = "192.168.0.0/16"
EKSCTL_DEFAULT_ZONES = 3
URL = "https://eksctl.io/usage/vpc-configuration/"


@dataclass(frozen=True)
class Subnet:
    zone: str
    cidr: str  # "" when a brought subnet does not say
    id: str = ""  # "" for subnets eksctl creates


def eksctl_split(cidr: str, zones: int) -> tuple[list[str], list[str]]:
    """(public, private) subnet CIDRs that eksctl makes of ``cidr`` for ``zones`` zones."""
    network = ipaddress.IPv4Network(cidr)
    total = zones * 2
    if total > 16:
        raise ValueError(f"eksctl creates at most 16 subnets; {zones} zones need {total}")
    parts, extra = (2, 3) if total == 2 else (8, 3) if total <= 8 else (16, 4)
    pieces = [str(n) for n in network.subnets(new_prefix=network.prefixlen + extra)][:parts]
    return pieces[:zones], pieces[zones:total]


def zones(settings: ClusterSettings) -> tuple[str, ...]:
    if settings.vpc_subnets:
        return tuple(sorted(settings.vpc_subnets.get("private", {})))
    return settings.availability_zones


def private_subnets(settings: ClusterSettings) -> tuple[tuple[Subnet, ...], str]:
    """The subnets Fargate pods take their IPs from, and what was assumed to know them ("" if nothing)."""
    if settings.vpc_subnets:
        chosen = set(settings.fargate_subnets)
        subnets = tuple(
            Subnet(zone, str(spec.get("cidr", "")), str(spec["id"]))
            for zone, spec in sorted(settings.vpc_subnets.get("private", {}).items())
            if not chosen or spec["id"] in chosen
        )
        return subnets, ""
    count = len(settings.availability_zones) or EKSCTL_DEFAULT_ZONES
    names = settings.availability_zones or tuple(f"zone {i + 1}" for i in range(count))
    _, private = eksctl_split(settings.vpc_cidr or EKSCTL_DEFAULT_CIDR, count)
    note = "" if settings.availability_zones else f"eksctl picks {EKSCTL_DEFAULT_ZONES} zones when none are given"
    return tuple(Subnet(zone, cidr) for zone, cidr in zip(names, private)), note


def section(settings: ClusterSettings) -> dict:
    """The ClusterConfig's ``vpc``."""
    endpoints = {"clusterEndpoints": dict(settings.cluster_endpoints)} if settings.cluster_endpoints else {}
    if not settings.vpc_subnets:
        nat = {"nat": {"gateway": settings.nat_gateway}} if settings.nat_gateway else {}
        return {"cidr": settings.vpc_cidr or EKSCTL_DEFAULT_CIDR, **nat, **endpoints}
    subnets = {
        kind: {zone: {"id": str(spec["id"])} for zone, spec in sorted(by_zone.items())}
        for kind, by_zone in sorted(settings.vpc_subnets.items())
    }
    return {"id": settings.vpc_id, "subnets": subnets, **endpoints}


DEFAULT_NAT = "eksctl's default, Single"


def network_advice(settings: ClusterSettings, zones: int) -> list:
    """FA208: the VPC eksctl creates gets one NAT gateway unless told otherwise (eksctl's VPC configuration
    guide, https://eksctl.io/usage/vpc-configuration/), so one zone's outage cuts the egress of every
    private subnet (image pulls and AWS APIs of Fargate pods and nodes). FA209: the API endpoint is public
    only by default (eksctl; EKS user guide, "Cluster API server endpoint"), so nodes and Fargate pods
    reach it over the internet."""
    out = []
    if not settings.vpc_subnets and settings.nat_gateway in ("", "Single") and zones > 1:
        out.append(
            Advice(
                "FA208",
                "vpc.nat",
                f"one NAT gateway for {zones} zones ({settings.nat_gateway or DEFAULT_NAT}): if its "
                "zone fails, pods and nodes in every private subnet lose egress (image pulls, AWS APIs); "
                "production clusters set vpc.nat.gateway: HighlyAvailable (one per zone, each billed)",
            )
        )
    endpoints = settings.cluster_endpoints
    if endpoints.get("publicAccess", True) and not endpoints.get("privateAccess", False):
        out.append(
            Advice(
                "FA209",
                "vpc.clusterEndpoints",
                "the Kubernetes API endpoint is public only (eksctl's default): nodes and Fargate pods reach it "
                "through the NAT gateways and the internet; set vpc.clusterEndpoints.privateAccess: true (and "
                "publicAccess: false where nobody outside the VPC needs it)",
            )
        )
    return out


SG_URL = "https://docs.aws.amazon.com/eks/latest/userguide/sec-group-reqs.html"


def security_group_advice(placements: list[Placement]) -> list:
    """FA205: Fargate pods run with the cluster security group, which EKS also gives the nodes of managed
    node groups (all that compose creates), so the two reach each other; anything else a Fargate workload
    talks to (a database, self-managed nodes) must allow that group. Said once, for the first Fargate
    workload that ``needs`` a node-group workload."""
    on_nodes = {p.workload.key for p in placements if p.target == "nodegroup"}
    for p in sorted(placements, key=lambda p: p.workload.key):
        needs = [n for n in (p.workload.release.needs if p.workload.release else ()) if n in on_nodes]
        if p.target == "fargate" and needs:
            return [
                Advice(
                    "FA205",
                    p.workload.key,
                    f"runs on Fargate and needs {', '.join(needs)} on nodes: Fargate pods and managed node "
                    "groups share the cluster security group, so they can connect; a database or self-managed "
                    "nodes must allow inbound traffic from the cluster security group too",
                )
            ]
    return []
