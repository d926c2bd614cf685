"""Load ``composer.yaml`` (cluster-level settings) into ``ClusterSettings``."""

from __future__ import annotations

from pathlib import Path

from composer.core.errors import ComposerError, fail
from composer.core.model import (
    DEFAULT_ESTATE,
    DEFAULT_ROUTING_LABEL,
    KUBERNETES_VERSIONS,
    ClusterSettings,
    NodeClassSettings,
    Source,
)
from composer.files import schema, yamlio
from composer.files.yamlio import position
from composer.files.yamltree import plain

# Instance types used for node groups unless composer.yaml says otherwise.
DEFAULT_INSTANCE_TYPES = {
    "general": "m6i.xlarge",
    "arm64": "m7g.xlarge",
    "gpu": "g5.xlarge",
    "neuron": "inf2.xlarge",
    "windows": "m6i.xlarge",
}


def load_settings(path: Path) -> ClusterSettings:
    where = str(path)
    if not path.exists():
        raise fail(
            "cluster settings file not found",
            where,
            hint="create composer.yaml (see docs/profile.md) or pass --config PATH",
        )
    doc = yamlio.load_file(path)
    if doc is None:
        raise fail("empty file", where, hint="composer.yaml needs apiVersion, kind and metadata (name, region)")
    problems = schema.validate("composer", doc, where)
    if problems:
        raise ComposerError(problems)
    return build_settings(doc, Source(where, doc), path.parent)


def _output_dir(output: dict, source: Source, base_dir: Path) -> Path:
    """``output.dir`` below the estate; leaving it (by ``..``, an absolute path or a symlink) needs
    ``output.allowOutsideEstate: true``, so a changed composer.yaml cannot aim writes elsewhere."""
    path = base_dir / str(output.get("dir", "generated"))
    if not output.get("allowOutsideEstate") and not path.resolve().is_relative_to(base_dir.resolve()):
        line, col = position(source, "output.dir")
        raise fail(
            f"output.dir resolves to {path.resolve()}, outside the estate ({base_dir.resolve()})",
            source.path,
            line,
            col,
            "choose a folder inside the estate, or set output.allowOutsideEstate: true",
            "paths",
        )
    return path


def _consistency(doc: dict, source: Source) -> list:
    """What the schema cannot say: networks that are networks, zones of the cluster's own region, and
    node-group sizes in order. Every problem at once, each at its place."""
    problems = []

    def problem(message: str, field: str, hint: str) -> None:
        line, col = position(source, field)
        problems.extend(fail(message, source.path, line, col, hint=hint, check="settings").problems)

    region = str(doc["metadata"]["region"])
    for index, zone in enumerate(doc.get("availabilityZones") or ()):
        if not str(zone).startswith(region):
            problem(
                f"availability zone {zone!r} is not in the cluster's region {region}",
                f"availabilityZones[{index}]",
                f"zones of {region} are named {region}a, {region}b, …",
            )
    _network_problems(doc, problem)
    version = doc["metadata"].get("version")
    if version is not None and str(version) not in KUBERNETES_VERSIONS:
        problem(
            f"Kubernetes {version} is not a version EKS and eksctl offer here "
            f"({KUBERNETES_VERSIONS[0]}–{KUBERNETES_VERSIONS[-1]})",
            "metadata.version",
            "choose one of " + ", ".join(KUBERNETES_VERSIONS) + " (an existing cluster upgrades one minor at a time)",
        )
    for name, spec in (doc.get("nodeGroups") or {}).items():
        if (
            isinstance(spec, dict)
            and spec.get("minSize") is not None
            and spec.get("maxSize") is not None
            and spec["minSize"] > spec["maxSize"]
        ):
            problem(
                f"node group class {name!r}: minSize {spec['minSize']} is larger than maxSize {spec['maxSize']}",
                f"nodeGroups.{name}.minSize",
                "EKS requires minSize <= desiredSize <= maxSize",
            )
    return problems


def _network(cidr: str, field: str, problem, prefixes: tuple[int, int] = (0, 32)) -> None:
    import ipaddress

    try:
        network = ipaddress.IPv4Network(str(cidr))
    except ValueError as exc:
        fix = ""
        try:
            fix = f"; did you mean {ipaddress.IPv4Network(str(cidr), strict=False)}?"
        except ValueError:
            pass
        problem(
            f"CIDR {cidr!r} is not an IPv4 network: {exc}",
            field,
            "write it as the network address and prefix length, e.g. 10.0.0.0/16" + fix,
        )
        return
    if not prefixes[0] <= network.prefixlen <= prefixes[1]:
        problem(
            f"VPC CIDR {cidr} has prefix /{network.prefixlen}; eksctl takes /{prefixes[0]} to /{prefixes[1]}",
            field,
            "use a /16 to /24 network",
        )


def _network_problems(doc: dict, problem) -> None:
    """The VPC: eksctl's (a CIDR) or the user's (id and subnets), never half of each; Fargate subnets among
    the private ones."""
    vpc, fargate = doc.get("vpc") or {}, doc.get("fargate") or {}
    region = str(doc["metadata"]["region"])
    if "subnetCidrs" in fargate:
        problem(
            "fargate.subnetCidrs is no longer read: FA202 counts the VPC's private subnets",
            "fargate.subnetCidrs",
            "remove it; set vpc.cidr (eksctl makes the subnets) or vpc.subnets with each private subnet's cidr",
        )
    if vpc.get("cidr") is not None:
        _network(vpc["cidr"], "vpc.cidr", problem, (16, 24))
    subnets = vpc.get("subnets") or {}
    if subnets or vpc.get("id"):
        for missing, present in (("id", "subnets"), ("subnets", "id")):
            if not vpc.get(missing):
                problem(
                    f"vpc.{present} is set without vpc.{missing}",
                    f"vpc.{present}",
                    "a VPC you bring needs both its id and its subnets by zone",
                )
        if vpc.get("nat") is not None:
            problem(
                "vpc.nat is for the VPC eksctl creates, not one you bring (its NAT gateways are yours)",
                "vpc.nat",
                "remove vpc.nat, or remove vpc.id and vpc.subnets to let eksctl create the VPC",
            )
        if vpc.get("cidr") is not None:
            problem(
                "vpc.cidr is for the VPC eksctl creates, not one you bring",
                "vpc.cidr",
                "remove vpc.cidr, or remove vpc.id and vpc.subnets to let eksctl create the VPC",
            )
        if doc.get("availabilityZones"):
            problem(
                "availabilityZones and vpc.subnets cannot both be set (eksctl refuses it)",
                "availabilityZones",
                "remove availabilityZones: the subnets' zones are the cluster's zones",
            )
    private = set()
    for kind, by_zone in subnets.items():
        for zone, spec in (by_zone or {}).items():
            if not str(zone).startswith(region):
                problem(
                    f"subnet zone {zone!r} is not in the cluster's region {region}",
                    f"vpc.subnets.{kind}.{zone}",
                    f"zones of {region} are named {region}a, {region}b, …",
                )
            if isinstance(spec, dict) and spec.get("cidr") is not None:
                _network(spec["cidr"], f"vpc.subnets.{kind}.{zone}.cidr", problem)
            if kind == "private" and isinstance(spec, dict):
                private.add(spec.get("id"))
    zones = {str(zone) for by_zone in subnets.values() for zone in (by_zone or {})}
    if vpc.get("id") and len(zones) == 1:  # (the EKS user guide, "VPC and subnet requirements")
        problem(
            f"vpc.subnets are all in {zones.pop()}, but EKS needs the cluster's subnets in at least two "
            "availability zones",
            "vpc.subnets",
            "add a subnet of another zone of the VPC (private, for Fargate)",
        )
    for index, subnet in enumerate(fargate.get("subnets") or ()):
        if not subnets:
            problem(
                f"fargate.subnets names {subnet}, but eksctl creates this cluster's VPC, so its subnet IDs are not "
                "known yet",
                f"fargate.subnets[{index}]",
                "remove it (Fargate then uses eksctl's private subnets), or bring a VPC: vpc.id, vpc.subnets",
            )
        elif subnet not in private:
            problem(
                f"Fargate subnet {subnet} is not one of vpc.subnets.private",
                f"fargate.subnets[{index}]",
                "Fargate profiles take private subnets only: name one of vpc.subnets.private's ids",
            )


def build_settings(doc: dict, source: Source, base_dir: Path) -> ClusterSettings:
    meta = doc["metadata"]
    fargate = doc.get("fargate") or {}
    problems = _consistency(doc, source)
    if problems:
        raise ComposerError(problems)
    prefix = str(fargate.get("profileNamePrefix", "fp"))
    if f"{prefix}-".lower().startswith("eks-"):
        line, col = position(source, "fargate.profileNamePrefix")
        raise fail(
            f"Fargate profile names may not start with 'eks-' (prefix {prefix!r})",
            source.path,
            line,
            col,
            hint="AWS reserves the eks- prefix; choose another profileNamePrefix",
        )
    output = _output_dir(doc.get("output") or {}, source, base_dir)
    groups = doc.get("nodeGroups") or {}
    label = fargate.get("routingLabel") or {}
    classes = {}
    for name, default in DEFAULT_INSTANCE_TYPES.items():
        spec = groups.get(name) or {}
        classes[name] = NodeClassSettings(
            instance_type=str(spec.get("instanceType", default)),
            min_size=spec.get("minSize"),
            max_size=spec.get("maxSize"),
            volume_size=int(spec.get("volumeSize", 80)),
        )
    return ClusterSettings(
        name=str(meta["name"]),
        region=str(meta["region"]),
        source=source,
        version=str(meta.get("version", "")),
        tags={str(k): str(v) for k, v in (meta.get("tags") or {}).items()},
        estate=str(meta.get("estate", DEFAULT_ESTATE)),
        availability_zones=tuple(str(z) for z in doc.get("availabilityZones") or ()),
        output_dir=output,
        profile_prefix=prefix,
        routing_label=(
            str(label.get("key", DEFAULT_ROUTING_LABEL[0])),
            str(label.get("value", DEFAULT_ROUTING_LABEL[1])),
        ),
        core_dns=str(fargate.get("coreDNS", "auto")),
        pod_execution_role_arn=str(fargate.get("podExecutionRoleARN", "")),
        fargate_subnets=tuple(str(s) for s in fargate.get("subnets") or ()),
        selectors_per_profile=int(fargate.get("selectorsPerProfile", 5)),
        labels_per_selector=int(fargate.get("labelsPerSelector", 5)),
        profiles_per_cluster=int(fargate.get("profilesPerCluster", 10)),
        headroom_percent=int(groups.get("headroomPercent", 50)),
        node_classes=classes,
        fargate_timeout=int((doc.get("helm") or {}).get("fargateTimeout", 600)),
        node_timeout=int((doc.get("helm") or {}).get("nodeTimeout", 600)),
        autoscaler=str((doc.get("autoscaling") or {}).get("autoscaler", "cluster-autoscaler")),
        prefer_spot_for=tuple(str(k) for k in fargate.get("preferSpotFor") or ()),
        authentication_mode=str((doc.get("access") or {}).get("authenticationMode", "API")),
        vpc_cidr=str((doc.get("vpc") or {}).get("cidr", "")),
        vpc_id=str((doc.get("vpc") or {}).get("id", "")),
        nat_gateway=str(((doc.get("vpc") or {}).get("nat") or {}).get("gateway", "")),
        cluster_endpoints={str(k): bool(v) for k, v in ((doc.get("vpc") or {}).get("clusterEndpoints") or {}).items()},
        vpc_subnets=plain((doc.get("vpc") or {}).get("subnets") or {}),
        prices=plain(doc.get("prices") or {}),
        fargate_logging=plain(((doc.get("logging") or {}).get("fargate") or {}).get("cloudwatch") or {}),
    )
