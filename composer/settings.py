"""Load ``composer.yaml`` (cluster-level settings) into ``ClusterSettings``."""

from __future__ import annotations

from pathlib import Path

from composer import schema, yamlio
from composer.errors import ComposerError, fail
from composer.model import ClusterSettings, NodeClassSettings, Source
from composer.yamltree import plain

# Instance types used for node groups unless composer.yaml says otherwise.
DEFAULT_INSTANCE_TYPES = {
    "general": "m6i.xlarge", "arm64": "m7g.xlarge", "gpu": "g5.xlarge", "neuron": "inf2.xlarge", "windows": "m6i.xlarge",
}


def load_settings(path: Path) -> ClusterSettings:
    where = str(path)
    if not path.exists():
        raise fail("cluster settings file not found", where,
                   hint="create composer.yaml (see docs/profile.md) or pass --config PATH")
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
        line, col = source.locate("output.dir")
        raise fail(f"output.dir resolves to {path.resolve()}, outside the estate ({base_dir.resolve()})",
                   source.path, line, col, "choose a folder inside the estate, or set output.allowOutsideEstate: true",
                   "paths")
    return path


def _consistency(doc: dict, source: Source) -> list:
    """What the schema cannot say: networks that are networks, zones of the cluster's own region, and
    node-group sizes in order. Every problem at once, each at its place."""
    import ipaddress

    problems = []

    def problem(message: str, field: str, hint: str) -> None:
        line, col = source.locate(field)
        problems.extend(fail(message, source.path, line, col, hint=hint, check="settings").problems)

    region = str(doc["metadata"]["region"])
    for index, zone in enumerate(doc.get("availabilityZones") or ()):
        if not str(zone).startswith(region):
            problem(f"availability zone {zone!r} is not in the cluster's region {region}",
                    f"availabilityZones[{index}]", f"zones of {region} are named {region}a, {region}b, …")
    for index, cidr in enumerate((doc.get("fargate") or {}).get("subnetCidrs") or ()):
        try:
            ipaddress.IPv4Network(str(cidr))
        except ValueError as exc:
            fix = ""
            try:
                fix = f"; did you mean {ipaddress.IPv4Network(str(cidr), strict=False)}?"
            except ValueError:
                pass
            problem(f"subnet CIDR {cidr!r} is not an IPv4 network: {exc}", f"fargate.subnetCidrs[{index}]",
                    "write it as the subnet's network address and prefix length, e.g. 10.0.128.0/19" + fix)
    for name, spec in (doc.get("nodeGroups") or {}).items():
        if isinstance(spec, dict) and spec.get("minSize") is not None and spec.get("maxSize") is not None \
                and spec["minSize"] > spec["maxSize"]:
            problem(f"node group class {name!r}: minSize {spec['minSize']} is larger than maxSize {spec['maxSize']}",
                    f"nodeGroups.{name}.minSize", "EKS requires minSize <= desiredSize <= maxSize")
    return problems


def build_settings(doc: dict, source: Source, base_dir: Path) -> ClusterSettings:
    meta = doc["metadata"]
    fargate = doc.get("fargate") or {}
    problems = _consistency(doc, source)
    if problems:
        raise ComposerError(problems)
    prefix = str(fargate.get("profileNamePrefix", "fp"))
    if f"{prefix}-".lower().startswith("eks-"):
        line, col = source.locate("fargate.profileNamePrefix")
        raise fail(f"Fargate profile names may not start with 'eks-' (prefix {prefix!r})", source.path, line, col,
                   hint="AWS reserves the eks- prefix; choose another profileNamePrefix")
    output = _output_dir(doc.get("output") or {}, source, base_dir)
    groups = doc.get("nodeGroups") or {}
    label = fargate.get("routingLabel") or {}
    classes = {}
    for name, default in DEFAULT_INSTANCE_TYPES.items():
        spec = groups.get(name) or {}
        classes[name] = NodeClassSettings(
            instance_type=str(spec.get("instanceType", default)),
            min_size=spec.get("minSize"), max_size=spec.get("maxSize"), volume_size=int(spec.get("volumeSize", 80)))
    return ClusterSettings(
        name=str(meta["name"]), region=str(meta["region"]), source=source, version=str(meta.get("version", "")),
        tags={str(k): str(v) for k, v in (meta.get("tags") or {}).items()},
        availability_zones=tuple(str(z) for z in doc.get("availabilityZones") or ()),
        output_dir=output,
        profile_prefix=prefix,
        routing_label=(str(label.get("key", "composer.io/compute")), str(label.get("value", "fargate"))),
        core_dns=str(fargate.get("coreDNS", "auto")),
        pod_execution_role_arn=str(fargate.get("podExecutionRoleARN", "")),
        fargate_subnets=tuple(str(s) for s in fargate.get("subnets") or ()),
        selectors_per_profile=int(fargate.get("selectorsPerProfile", 5)),
        labels_per_selector=int(fargate.get("labelsPerSelector", 5)),
        profiles_per_cluster=int(fargate.get("profilesPerCluster", 10)),
        headroom_percent=int(groups.get("headroomPercent", 50)),
        node_classes=classes,
        fargate_timeout=int((doc.get("helm") or {}).get("fargateTimeout", 600)),
        fargate_subnet_cidrs=tuple(str(c) for c in fargate.get("subnetCidrs") or ()),
        prices=plain(doc.get("prices") or {}),
        fargate_logging=plain(((doc.get("logging") or {}).get("fargate") or {}).get("cloudwatch") or {}),
    )

