"""Managed node groups for the workloads Fargate cannot run: one group per node class, sized.

Allocatable capacity follows the EKS-optimized AMI's kubelet reservations: memory
255 MiB + 11 MiB per pod (max pods from the ENI limits) plus a 100 MiB eviction threshold; CPU
6% of the first core, 1% of the second, 0.5% of the next two and 0.25% of the rest.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections import defaultdict
from dataclasses import dataclass
from fractions import Fraction

from composer.core.errors import Problem
from composer.core.model import ClusterSettings, Placement
from composer.core.quantity import GIB, MIB
from composer.core.sizing import accelerator_devices, pod_requests
from composer.files.yamlio import position


@dataclass(frozen=True)
class InstanceType:
    name: str
    vcpu: int
    memory_gib: int
    max_pods: int
    accelerators: int = 0  # GPUs or Neuron devices

    @property
    def allocatable_cpu(self) -> Fraction:
        reserved = Fraction(60, 1000) + (Fraction(10, 1000) if self.vcpu > 1 else 0)
        reserved += Fraction(5, 1000) * min(max(self.vcpu - 2, 0), 2) + Fraction(25, 10000) * max(self.vcpu - 4, 0)
        return self.vcpu - reserved

    @property
    def allocatable_memory(self) -> Fraction:
        return Fraction(self.memory_gib * GIB - (255 + 11 * self.max_pods + 100) * MIB)


CATALOGUE = {
    t.name: t
    for t in (
        InstanceType("t2.small", 1, 2, 11),
        InstanceType("t3.medium", 2, 4, 17),
        InstanceType("t3.large", 2, 8, 35),
        InstanceType("t4g.medium", 2, 4, 17),
        InstanceType("m6i.large", 2, 8, 29),
        InstanceType("m6i.xlarge", 4, 16, 58),
        InstanceType("m6i.2xlarge", 8, 32, 58),
        InstanceType("m6i.4xlarge", 16, 64, 234),
        InstanceType("m6i.8xlarge", 32, 128, 234),
        InstanceType("m6i.16xlarge", 64, 256, 737),
        InstanceType("r6i.xlarge", 4, 32, 58),
        InstanceType("r6i.4xlarge", 16, 128, 234),
        InstanceType("r6i.8xlarge", 32, 256, 234),
        InstanceType("r6i.16xlarge", 64, 512, 737),
        InstanceType("m7g.large", 2, 8, 29),
        InstanceType("m7g.xlarge", 4, 16, 58),
        InstanceType("m7g.2xlarge", 8, 32, 58),
        InstanceType("m7g.4xlarge", 16, 64, 234),
        InstanceType("g5.xlarge", 4, 16, 58, 1),
        InstanceType("g5.2xlarge", 8, 32, 58, 1),
        InstanceType("g5.12xlarge", 48, 192, 234, 4),
        InstanceType("inf2.xlarge", 4, 16, 58, 1),
        InstanceType("inf2.8xlarge", 32, 128, 234, 1),
    )
}

# Every class but general is tainted, so a pod lands there only when it is sent there (its release gets
# the class's nodeSelector and tolerations): Windows as AWS recommends (os=windows), arm64 so that
# amd64-only images never land on it, accelerators so that only pods that use them take those nodes.
TAINTS = {
    "arm64": ({"key": "kubernetes.io/arch", "value": "arm64", "effect": "NoSchedule"},),
    "gpu": ({"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"},),
    "neuron": ({"key": "aws.amazon.com/neuron", "value": "true", "effect": "NoSchedule"},),
    "windows": ({"key": "os", "value": "windows", "effect": "NoSchedule"},),
}


# Spot groups are tainted too, so that only workloads that tolerate interruption land there; EKS labels
# their nodes eks.amazonaws.com/capacityType: SPOT, which those workloads select.
SPOT_TAINT = {"key": "composer.io/capacity-type", "value": "spot", "effect": "NoSchedule"}
CAPACITY_LABEL = "eks.amazonaws.com/capacityType"
# Spot pools of the same size (vCPU and memory) as a class's instance type, so a Spot group can draw on
# several (eksctl: instanceTypes with spot: true; EKS uses the price-capacity-optimized strategy).
# Accelerated families keep their own type: another GPU model is not the same node.
SPOT_SIBLINGS = {
    "m6i": ("m6i", "m6a", "m5", "m5a", "m7i"),
    "r6i": ("r6i", "r6a", "r5", "r5a", "r7i"),
    "m7g": ("m7g", "m6g"),
    "t3": ("t3", "t3a"),
    "t4g": ("t4g",),
    "t2": ("t2",),
}


def spot_types(instance_type: str) -> tuple[str, ...]:
    family, _, size = instance_type.partition(".")
    return tuple(f"{f}.{size}" for f in SPOT_SIBLINGS.get(family, (family,)))


# The tainted Linux classes, whose nodes a general DaemonSet tolerates so that it runs on every Linux node.
LINUX_TAINTED = ("arm64", "gpu", "neuron")


def taints(node_class: str, spot: bool = False) -> tuple[dict, ...]:
    return tuple(TAINTS.get(node_class, ())) + ((SPOT_TAINT,) if spot else ())


def tolerations(node_class: str, spot: bool = False) -> list[dict]:
    """What a pod needs to tolerate to run on ``node_class``'s nodes (its Spot group's, with ``spot``)."""
    return [
        {"key": t["key"], "operator": "Equal", "value": t["value"], "effect": t["effect"]}
        for t in taints(node_class, spot)
    ]


def pins(p: Placement) -> tuple[dict, list[dict]]:
    """The nodeSelector and tolerations that hold a node-group workload's pods to its nodes: its class
    (and Spot capacity, when it runs there). A DaemonSet of the general class (a log collector, a node
    exporter) runs on every Linux node: general, arm64, GPU and Neuron, on-demand and Spot; a DaemonSet
    of another class on all that class's."""
    node_class = p.node_class or "general"
    if p.workload.kind == "DaemonSet":
        if node_class == "general":
            return {"kubernetes.io/os": "linux"}, [t for c in LINUX_TAINTED for t in tolerations(c)] + tolerations(
                "general", spot=True
            )
        return {CLASS_LABEL: node_class}, tolerations(node_class, spot=True)
    return ({CLASS_LABEL: node_class, **({CAPACITY_LABEL: "SPOT"} if p.spot else {})}, tolerations(node_class, p.spot))


# Linux groups name AmazonLinux2023 explicitly: EKS 1.33 has no AL2 AMIs, and eksctl made AL2023 its
# default for every version only in 0.219.0 (for 1.33 from about 0.209.0), so an older eksctl would
# otherwise pick AL2 and fail.
AMI_FAMILY = {
    "general": "AmazonLinux2023",
    "arm64": "AmazonLinux2023",
    "gpu": "AmazonLinux2023",
    "neuron": "AmazonLinux2023",
    "windows": "WindowsServer2022FullContainer",
}
DEFAULT_AMI_FAMILY = "AmazonLinux2023"  # eksctl's default: left out of content names (see content_name)
CLASS_LABEL = "composer.io/node-class"
# Per-pod floor when a workload requests nothing: what the scheduler cannot see still uses the node.
FLOOR_CPU, FLOOR_MEMORY = Fraction(1, 10), Fraction(128 * MIB)


@dataclass(frozen=True)
class NodeGroup:
    name: str
    node_class: str
    instance_type: str
    min_size: int
    desired: int
    max_size: int
    volume_size: int
    workloads: tuple[str, ...]
    spot: bool = False  # Spot capacity from instance_types (the first, instance_type, sizes the group)
    instance_types: tuple[str, ...] = ()


Demand = tuple[Fraction, Fraction, int]  # cpu cores, memory bytes, accelerator devices (one pod)


def _demand(p: Placement) -> Demand:
    w = p.workload
    cpu = pod_requests(w.containers, w.init_containers, "cpu")
    memory = pod_requests(w.containers, w.init_containers, "memory")
    return max(cpu, FLOOR_CPU), max(memory, FLOOR_MEMORY), accelerator_devices(w)


def _nano(demand: Demand) -> Demand:
    """The demand in whole nano-units when that is exact (quantities are rounded to nano-units, like
    Kubernetes does): integer comparisons are some twenty times faster than Fraction ones."""
    cpu, mem = Fraction(demand[0]) * 10**9, Fraction(demand[1]) * 10**9
    if cpu.denominator == 1 and mem.denominator == 1:
        return (int(cpu), int(mem), demand[2])
    return demand


def _pack(pods: list[Demand], capacity: Demand, max_pods: int) -> int:
    """Nodes needed by first-fit decreasing on (cpu, memory, devices, pod count).

    Identical pods (a workload's replicas) are placed as a run, and identical nodes are kept as one entry
    with a count, so 100,000 replicas cost as much as one: the result is exactly that of placing them one by
    one (each goes to the first node with room), without the quadratic walk over nodes."""
    scaled = [_nano(p) for p in pods] + [_nano(capacity)]
    if all(isinstance(d[0], int) and isinstance(d[1], int) for d in scaled):
        *pods, capacity = scaled
    bins: list[list] = []  # [cpu left, memory left, devices left, pods left, how many such nodes]
    ordered = sorted(pods, reverse=True)
    i = 0
    while i < len(ordered):
        pod = ordered[i]
        run = 1
        while i + run < len(ordered) and ordered[i + run] == pod:
            run += 1
        i += run
        left = run
        at = 0
        while left and at < len(bins):
            b = bins[at]
            each = _room(b, pod)
            if each:
                full, rest = divmod(min(left, each * b[4]), each)
                left -= full * each + rest
                entries = []
                if full:
                    entries.append(_minus(b, pod, each, full))
                if rest:
                    entries.append(_minus(b, pod, rest, 1))
                if b[4] - full - (1 if rest else 0):
                    entries.append(b[:4] + [b[4] - full - (1 if rest else 0)])
                bins[at : at + 1] = entries
                at += len(entries)
                continue
            at += 1
        if left:
            fresh = [capacity[0], capacity[1], capacity[2], max_pods, 1]
            each = _room(fresh, pod) or 1  # (a pod no node holds still gets a node of its own)
            full, rest = divmod(left, each)
            if full:
                bins.append(_minus(fresh, pod, each, full))
            if rest:
                bins.append(_minus(fresh, pod, rest, 1))
    return sum(b[4] for b in bins)


def _room(b: list, pod: Demand) -> int:
    """How many ``pod``s fit on one node ``b`` (cpu, memory, devices, pod count left)."""
    limits = [b[3]]
    for left, need in zip(b[:3], pod):
        if need:
            limits.append(left // need if left >= 0 else 0)
        elif left < 0:
            return 0
    return max(0, int(min(limits)))


def _minus(b: list, pod: Demand, count: int, nodes: int) -> list:
    """``nodes`` nodes like ``b``, each after taking ``count`` ``pod``s."""
    return [b[0] - pod[0] * count, b[1] - pod[1] * count, b[2] - pod[2] * count, b[3] - count, nodes]


FAMILIES = {
    "general": ("m6i", "r6i"),
    "arm64": ("m7g",),
    "gpu": ("g5",),
    "neuron": ("inf2",),
    "windows": ("m6i", "r6i"),
}


def _capacity(instance: InstanceType, overhead: Demand) -> Demand:
    """What one node offers to ordinary pods once kubelet reservations and DaemonSets are taken."""
    return (instance.allocatable_cpu - overhead[0], instance.allocatable_memory - overhead[1], instance.accelerators)


def _fits(capacity: Demand, pod: Demand) -> bool:
    return pod[0] <= capacity[0] and pod[1] <= capacity[1] and pod[2] <= capacity[2]


def _group(
    name: str,
    node_class: str,
    instance: InstanceType,
    members: list[Placement],
    demand: dict[int, Demand],
    overhead: Demand,
    daemons: int,
    minimum: int,
    maximum: int | None,
    headroom: int,
    volume: int,
    spot: bool = False,
) -> NodeGroup:
    pods = [demand[id(p)] for p in members if p.workload.kind != "DaemonSet" for _ in range(p.workload.replicas)]
    desired = max(minimum, _pack(pods, _capacity(instance, overhead), instance.max_pods - daemons) if pods else 0)
    top = maximum if maximum is not None else max(desired + 1, math.ceil(desired * (100 + headroom) / 100))
    return NodeGroup(
        name,
        node_class,
        instance.name,
        minimum,
        desired,
        max(top, desired),
        volume,
        tuple(sorted(p.workload.key for p in members)),
        spot,
        spot_types(instance.name) if spot else (),
    )


def plan_node_groups(
    placements: list[Placement], settings: ClusterSettings, need_general: bool
) -> tuple[list[NodeGroup], list[Problem]]:
    """One group per node class; pods too big for the class's instance type get a ``-large`` group."""
    by_class: dict[tuple[str, bool], list[Placement]] = defaultdict(list)
    for p in placements:
        if p.target == "nodegroup":  # (a DaemonSet runs beside the others, never on capacity of its own)
            by_class[(p.node_class or "general", p.spot and p.workload.kind != "DaemonSet")].append(p)
    if need_general:
        by_class.setdefault(("general", False), [])
    problems: list[Problem] = []
    groups: list[NodeGroup] = []
    everywhere = [p for p in by_class.get(("general", False), []) if p.workload.kind == "DaemonSet"]
    demand = {id(p): _demand(p) for members in by_class.values() for p in members}
    for node_class, spot in sorted(by_class):
        members = by_class[(node_class, spot)]
        spec = settings.node_classes[node_class]
        slot_name = f"ng-{node_class}" + ("-spot" if spot else "")
        own = [p for p in members if p.workload.kind == "DaemonSet"]
        if spot:  # the DaemonSets of the class's on-demand group run on its Spot nodes too
            own = [p for p in by_class.get((node_class, False), []) if p.workload.kind == "DaemonSet"]
        daemons = own + (everywhere if node_class in LINUX_TAINTED or (spot and node_class == "general") else [])
        daemons = list({id(d): d for d in daemons}.values())
        minimum = spec.min_size if spec.min_size is not None else (2 if node_class == "general" else 1)
        instance = CATALOGUE.get(spec.instance_type)
        if instance is None:
            if spec.max_size is None:
                line, col = position(settings.source, f"nodeGroups.{node_class}.instanceType")
                problems.append(
                    Problem(
                        f"instance type '{spec.instance_type}' is not in the sizing catalogue, so node group "
                        f"'ng-{node_class}' cannot be sized",
                        settings.source.path,
                        line,
                        col,
                        hint=f"set nodeGroups.{node_class}.minSize and maxSize, or use one of: "
                        f"{', '.join(sorted(CATALOGUE))}",
                        check="sizing",
                    )
                )
            groups.append(
                NodeGroup(
                    slot_name,
                    node_class,
                    spec.instance_type,
                    minimum,
                    minimum,
                    max(1, minimum, spec.max_size or minimum),  # (EKS: maxSize ≥ 1)
                    spec.volume_size,
                    tuple(sorted(p.workload.key for p in members)),
                    spot,
                    spot_types(spec.instance_type) if spot else (),
                )
            )
            continue
        overhead = (
            sum((demand[id(d)][0] for d in daemons), Fraction(0)),
            sum((demand[id(d)][1] for d in daemons), Fraction(0)),
            0,
        )
        capacity = _capacity(instance, overhead)
        ordinary, large = [], []
        for p in members:
            (ordinary if p.workload.kind == "DaemonSet" or _fits(capacity, demand[id(p)]) else large).append(p)
        if spot:
            minimum = 0 if spec.min_size is None else spec.min_size  # capacity that may vanish: none kept idle
        # A class whose pods all need the larger type gets no group of the smaller one, which would run
        # (min 1) with nothing but DaemonSets on it; the general group stays when the cluster needs it.
        if (
            not large
            or any(p.workload.kind != "DaemonSet" for p in ordinary)
            or (node_class == "general" and not spot and need_general)
        ):
            groups.append(
                _group(
                    slot_name,
                    node_class,
                    instance,
                    ordinary,
                    demand,
                    overhead,
                    len(daemons),
                    minimum,
                    spec.max_size,
                    settings.headroom_percent,
                    spec.volume_size,
                    spot,
                )
            )
        if large:
            candidates = sorted(
                (t for t in CATALOGUE.values() if t.name.split(".")[0] in FAMILIES[node_class]),
                key=lambda t: (t.vcpu * 8 + t.memory_gib, t.name),
            )
            # A pod no instance of the class can hold is an error of its own; it must not make the
            # pods that do fit somewhere look impossible too.
            capacities = {t.name: _capacity(t, overhead) for t in candidates}
            impossible = [p for p in large if not any(_fits(capacities[t.name], demand[id(p)]) for t in candidates)]
            daemon_note = (
                f" after {len(daemons)} DaemonSet(s) take {float(overhead[0]):g} vCPU / "
                f"{float(overhead[1]) / GIB:.1f} GiB on every node"
                if daemons
                else ""
            )
            for p in impossible:
                cpu, memory, _ = demand[id(p)]
                line, col = position(p.workload.source, "workload.containers")
                problems.append(
                    Problem(
                        f"{p.workload.key}: a pod needs {float(cpu):.4g} vCPU / {float(memory) / GIB:.4g} "
                        f"GiB, more than "
                        f"any {'/'.join(FAMILIES[node_class])} instance in the sizing catalogue offers{daemon_note}",
                        p.workload.source.path,
                        line,
                        col,
                        hint="lower the requests, or split the work into smaller pods"
                        + (", or give DaemonSets a nodeSelector of their own" if daemons else ""),
                        check="sizing",
                    )
                )
            large = [p for p in large if p not in impossible]
            if large:  # the smallest type that holds them all, else the one that holds the most
                fitting = max(
                    candidates,
                    key=lambda t: (sum(_fits(capacities[t.name], demand[id(p)]) for p in large), -candidates.index(t)),
                )
                for p in large:
                    if not _fits(capacities[fitting.name], demand[id(p)]):
                        line, col = position(p.workload.source, "workload.containers")
                        problems.append(
                            Problem(
                                f"{p.workload.key}: no single instance type of class '{node_class}' holds "
                                f"both this pod "
                                f"and the class's other large pods ({fitting.name} holds the most)",
                                p.workload.source.path,
                                line,
                                col,
                                hint=f"set nodeGroups.{node_class}.instanceType, or give this workload its "
                                f"own node class",
                                check="sizing",
                            )
                        )
                groups.append(
                    _group(
                        f"{slot_name}-large",
                        node_class,
                        fitting,
                        large,
                        demand,
                        overhead,
                        len(daemons),
                        0,
                        None,
                        settings.headroom_percent,
                        spec.volume_size,
                        spot,
                    )
                )
    return [dataclasses.replace(g, name=content_name(g)) for g in groups], problems


def content_name(g: NodeGroup) -> str:
    """``ng-<class>[-large]-<6 hex digits>``: a hash of what EKS cannot change in a managed node group
    (instance type, AMI family, labels, taints, disk), so a change gives a new group that replaces the
    old one (sizes are not in it: they change in place with ``eksctl scale nodegroup``)."""
    import hashlib

    family = AMI_FAMILY.get(g.node_class)
    family = None if family == DEFAULT_AMI_FAMILY else family  # named explicitly since, same AMIs: no replace
    content = repr(
        (g.instance_type, family, ((CLASS_LABEL, g.node_class),), TAINTS.get(g.node_class), g.volume_size)
        + ((g.instance_types, SPOT_TAINT) if g.spot else ())
    )
    return f"{g.name}-{hashlib.sha256(content.encode()).hexdigest()[:6]}"


def slot(name: str) -> str:
    """The role a node group fills (``ng-general``, ``ng-gpu-large``), whatever its content hash."""
    return re.sub(r"-[0-9a-f]{6}$", "", name)
