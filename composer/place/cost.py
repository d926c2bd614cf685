"""What each placement costs a month, what the other placement would cost, and cost advice.

Pure: placements, node groups and a price table in; a ``CostReport`` out.

* **Fargate** bills the rounded pod size (``CapacityProvisioned``) per second while the pod exists:
  vCPU × vCPU-hour + GB × GB-hour, plus ephemeral storage above the 20 GiB included.
* **A workload on nodes** is charged its share of an instance: the larger of its CPU and memory
  fractions of the instance, times the instance price. The node groups' own bill (desired nodes ×
  price) is shown separately and is what you actually pay, headroom included.
* **Jobs and CronJobs** that give ``runsPerDay`` and ``runMinutes`` run that many hours a day on
  Fargate. On nodes, capacity is kept for them all day. The break-even is the number of hours a day
  below which Fargate is cheaper: ``24 × node share per hour / Fargate per hour``.

Advice that depends on prices or on composer.yaml lives here, not in ``rules`` (which see one
workload only): FA201 (an always-on workload where nodes are clearly cheaper) and FA202 (Fargate
pods would exhaust the subnets' IPs).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from fractions import Fraction

from composer.core.model import Advice, ClusterSettings, Placement
from composer.core.quantity import GIB
from composer.core.sizing import EPHEMERAL_DEFAULT_GIB, pod_requests
from composer.place.nodegroups import CATALOGUE, FLOOR_CPU, FLOOR_MEMORY, NodeGroup
from composer.place.prices import HOURS_PER_MONTH, PriceTable, price_table

DAYS_PER_MONTH = HOURS_PER_MONTH / 24
ALWAYS_ON = ("Deployment", "StatefulSet", "ReplicaSet", "ReplicationController")  # a bare Pod is usually a one-off
CLEARLY_CHEAPER = 1.5  # FA201: Fargate costs at least this many times the node share …
WORTH_MENTIONING = 20.0  # … and the difference is at least this many dollars a month
SURGE = 1.25  # rolling updates briefly run 25% more pods (the Deployment default maxSurge)


@dataclass(frozen=True)
class WorkloadCost:
    key: str
    kind: str
    placement: str
    monthly: float | None  # where it is placed (None: no price known)
    other: str | None  # the other placement, when the rules allow it
    other_monthly: float | None
    hours_per_day: float
    break_even_hours: float | None = None  # Jobs with runsPerDay/runMinutes
    note: str = ""
    spot_monthly: float | None = None  # as a share of a Spot node of its class


@dataclass(frozen=True)
class GroupCost:
    name: str
    instance_type: str
    desired: int
    monthly: float | None  # always on at the desired size
    autoscaled: float | None = None  # with the autoscaler: down to minSize while its Jobs are not running
    busy_hours: float = 24.0
    spot: bool = False


@dataclass
class CostReport:
    prices: PriceTable
    workloads: list[WorkloadCost]
    groups: list[GroupCost]
    advice: list[Advice] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # prices the table lacks

    @property
    def fargate_monthly(self) -> float:
        return sum(w.monthly or 0 for w in self.workloads if w.placement == "fargate")

    @property
    def nodegroups_monthly(self) -> float:
        return sum(g.monthly or 0 for g in self.groups)

    @property
    def total_monthly(self) -> float:
        return self.fargate_monthly + self.nodegroups_monthly

    @property
    def nodegroups_autoscaled(self) -> float:
        return sum(g.autoscaled if g.autoscaled is not None else g.monthly or 0 for g in self.groups)


def fargate_hourly(placement: Placement, prices: PriceTable) -> float | None:
    """Per pod-hour for the size Fargate provisions (None without Fargate prices, or when it does not fit)."""
    size, rates = placement.fargate_size, prices.fargate
    if rates is None or not size.fits:
        return None
    extra_storage = max(0.0, float(size.ephemeral_gib) - EPHEMERAL_DEFAULT_GIB)
    return (
        float(size.vcpu) * rates.vcpu_hour
        + float(size.memory_gib) * rates.gb_hour
        + extra_storage * rates.ephemeral_gb_hour
    )


def node_share_hourly(placement: Placement, instance_type: str, prices: PriceTable, spot: bool = False) -> float | None:
    """Per pod-hour on ``instance_type``: the larger of the pod's CPU and memory fractions × the price
    (on-demand, or Spot with ``spot``; the Windows rate on Windows nodes)."""
    instance = CATALOGUE.get(instance_type)
    price = prices.node_price(instance_type, placement.node_class == "windows", spot)
    if instance is None or price is None:
        return None
    w = placement.workload
    cpu = pod_requests(w.containers, w.init_containers, "cpu") or FLOOR_CPU
    memory = pod_requests(w.containers, w.init_containers, "memory") or FLOOR_MEMORY
    share = max(cpu / instance.vcpu, memory / (instance.memory_gib * GIB), Fraction(0))
    return float(share) * price


def hours_per_day(placement: Placement) -> tuple[float, str]:
    w = placement.workload
    if w.kind in ("Job", "CronJob"):
        if w.runs_per_day and w.run_minutes:
            return min(24.0, w.runs_per_day * w.run_minutes / 60), ""
        return 24.0, "no runsPerDay/runMinutes: priced as if it ran all day"
    return 24.0, ""


def costs(placements: list[Placement], groups: list[NodeGroup], settings: ClusterSettings) -> CostReport:
    prices = price_table(settings.region, settings.prices)
    report = CostReport(prices, [], [])
    if prices.fargate is None:
        report.missing.append(f"Fargate prices for {settings.region} (add prices.fargate to composer.yaml)")
    group_of = {key: g for g in groups for key in g.workloads}
    general = settings.node_classes["general"].instance_type if "general" in settings.node_classes else "m6i.xlarge"
    nodes_total = sum(g.desired for g in groups)
    for p in placements:
        w = p.workload
        hours, note = hours_per_day(p)
        pods = w.replicas
        on_fargate = fargate_hourly(p, prices)
        instance = group_of[w.key].instance_type if w.key in group_of else general
        on_nodes = node_share_hourly(p, instance, prices)
        if p.node_class == "windows" and p.target == "nodegroup":
            unpriced = (
                f"EC2 {instance} with Windows in {settings.region}: the bundled table has Linux rates only, and a "
                f"Windows node also pays for its Windows Server license (add prices.windows.{instance} to "
                "composer.yaml, the on-demand Windows rate from the EC2 pricing page)"
            )
            known = instance in prices.windows
        else:
            unpriced = f"EC2 {instance} in {settings.region} (add prices.ec2 to composer.yaml)"
            known = instance in prices.ec2
        if not known and unpriced not in report.missing:
            report.missing.append(unpriced)
        fargate_monthly = on_fargate * pods * hours * DAYS_PER_MONTH if on_fargate is not None else None
        if w.kind == "DaemonSet":  # one pod per node, on every node
            pods = nodes_total
        nodes_monthly = on_nodes * pods * HOURS_PER_MONTH if on_nodes is not None else None
        blocked = any(r.severity == "block" and r.rule not in ("PL001", "PL002", "PL003") for r in p.reasons)
        break_even = 24 * on_nodes / on_fargate if w.kind in ("Job", "CronJob") and on_nodes and on_fargate else None
        on_spot = node_share_hourly(p, instance, prices, spot=True)
        spot_monthly = on_spot * pods * HOURS_PER_MONTH if on_spot is not None else None
        if p.target == "fargate":
            cost = WorkloadCost(
                w.key,
                w.kind,
                "fargate",
                fargate_monthly,
                "nodegroup",
                nodes_monthly,
                hours,
                break_even,
                note,
                spot_monthly,
            )
        elif p.spot:  # side by side: Spot where it runs, on-demand nodes as the other
            cost = WorkloadCost(
                w.key, w.kind, "spot", spot_monthly, "nodegroup", nodes_monthly, hours, None, note, spot_monthly
            )
        else:
            cost = WorkloadCost(
                w.key,
                w.kind,
                "nodegroup",
                nodes_monthly,
                None if blocked else "fargate",
                None if blocked else fargate_monthly,
                hours,
                None if blocked else break_even,
                note,
            )
        report.workloads.append(cost)
        report.advice += [a for a in (_always_on_advice(cost, p), _spot_advice(cost, p, settings)) if a]
    by_key = {p.workload.key: p for p in placements}
    for g in groups:
        report.groups.append(group_cost(g, [by_key[k] for k in g.workloads if k in by_key], prices, settings))
    report.advice += subnet_advice(placements, settings)
    return report


def _fargate_costs_clearly_more(cost: WorkloadCost, placement: Placement, elsewhere: float | None) -> bool:
    """An always-on workload placed on Fargate by the rules costs at least CLEARLY_CHEAPER times, and
    WORTH_MENTIONING dollars a month more, than ``elsewhere``."""
    if (
        cost.placement != "fargate"
        or cost.kind not in ALWAYS_ON
        or placement.forced
        or cost.monthly is None
        or elsewhere is None
    ):
        return False
    return cost.monthly >= CLEARLY_CHEAPER * elsewhere and cost.monthly - elsewhere >= WORTH_MENTIONING


def _spot_advice(cost: WorkloadCost, placement: Placement, settings: ClusterSettings) -> Advice | None:
    """FA207: an always-on service on Fargate that would clearly cost less on Spot nodes."""
    if placement.workload.key in settings.prefer_spot_for:
        return None
    if _fargate_costs_clearly_more(cost, placement, cost.spot_monthly):
        return Advice(
            "FA207",
            cost.key,
            f"always on: ${cost.monthly:,.0f}/month on Fargate vs about ${cost.spot_monthly:,.0f} on Spot "
            "nodes; if it tolerates losing a pod at any time, list it in fargate.preferSpotFor",
        )
    return None


def group_cost(g: NodeGroup, members: list[Placement], prices: PriceTable, settings: ClusterSettings) -> GroupCost:
    """A group's bill always on (desired nodes around the clock) and with the autoscaler. A group whose
    workloads are all Jobs or CronJobs needs its nodes above minSize only while they run (their hours a
    day, summed, at most 24); any other workload keeps the desired size busy all day."""
    price = prices.node_price(g.instance_type, g.node_class == "windows", g.spot)
    if price is None:
        return GroupCost(g.name, g.instance_type, g.desired, None, spot=g.spot)
    always = price * g.desired * HOURS_PER_MONTH
    if settings.autoscaler == "none":
        return GroupCost(g.name, g.instance_type, g.desired, always, always, spot=g.spot)
    batch = members and all(p.workload.kind in ("Job", "CronJob") for p in members)
    busy = min(24.0, sum(hours_per_day(p)[0] for p in members)) if batch else 24.0
    floor = min(g.min_size, g.desired)
    scaled = price * HOURS_PER_MONTH * (floor + (g.desired - floor) * busy / 24)
    return GroupCost(g.name, g.instance_type, g.desired, always, scaled, busy, g.spot)


def _always_on_advice(cost: WorkloadCost, placement: Placement) -> Advice | None:
    """FA201: an always-on workload on Fargate that would clearly cost less on nodes."""
    if _fargate_costs_clearly_more(cost, placement, cost.other_monthly):
        return Advice(
            "FA201",
            cost.key,
            f"always on: ${cost.monthly:,.0f}/month on Fargate vs about ${cost.other_monthly:,.0f} as a "
            "share of a node; if it is steady, placement: nodegroup saves the difference",
        )
    return None


def subnet_ips(cidrs: tuple[str, ...]) -> int:
    """Usable IPs: AWS reserves five addresses in every subnet."""
    return sum(max(0, ipaddress.ip_network(c, strict=False).num_addresses - 5) for c in cidrs)


def subnet_advice(placements: list[Placement], settings: ClusterSettings) -> list[Advice]:
    """FA202: every Fargate pod takes an IP from the profiles' private subnets (composer.place.vpc, the same
    subnets the ClusterConfig makes or names); warn when the peak would not fit."""
    from composer.place import vpc

    subnets, _ = vpc.private_subnets(settings)
    where = "vpc.subnets" if settings.vpc_subnets else "vpc.cidr"
    if not subnets or any(not s.cidr for s in subnets):
        return []  # a brought subnet without its cidr: nothing to count
    available = subnet_ips(tuple(s.cidr for s in subnets))
    peak = sum(p.workload.replicas for p in placements if p.target == "fargate")
    peak = int(peak * SURGE + 0.999)
    if peak > available:
        return [
            Advice(
                "FA202",
                where,
                f"up to {peak} Fargate pods (replicas + 25% rollout surge) but the private subnets have "
                f"{available} usable IPs; pods beyond that stay Pending: widen the VPC or add subnets",
            )
        ]
    if peak > 0.8 * available:
        return [
            Advice(
                "FA202",
                where,
                f"up to {peak} Fargate pods would use {peak * 100 // available}% of the private subnets' "
                f"{available} usable IPs (nodes and load balancers share them too)",
            )
        ]
    return []
