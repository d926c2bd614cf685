"""Namespaces and labels → Fargate profile selectors, packed within the AWS limits.

A Fargate profile matches a pod when it is scheduled, by namespace and (optionally) labels
(https://docs.aws.amazon.com/eks/latest/userguide/fargate-profile.html):

* a namespace whose workloads all run on Fargate gets a namespace-only selector;
* a namespace whose workloads all need nodes gets no selector;
* a mixed namespace gets a namespace + routing-label selector, and the Fargate releases' pods get
  that label through the chart value named by ``release.podLabelsValue``;
* a namespace the estate already routes by label (``prior``) keeps its label selector when its last
  node-group workload leaves, as long as every Fargate workload there can carry the label: workloads
  then move between Fargate and nodes by a rolling update of their own pods (the label added or
  dropped), never by replacing the profile, whose deletion would delete every pod it placed;
* ``kube-system`` never gets a namespace-only selector (it would move CoreDNS and every add-on);
  CoreDNS moves to Fargate through the label ``eks.amazonaws.com/component: coredns`` only when
  the cluster has no general-purpose node group (or composer.yaml says ``coreDNS: fargate``).

EKS cannot change a Fargate profile: a new selector, role or subnet means a new profile, and deleting a
profile deletes every pod it placed (DeleteFargateProfile). So packing is *additive* against the profiles
the estate already has (``prior``: those of the last written ClusterConfig): a profile whose selectors
are all still wanted is kept as it is; a profile that lost a selector is replaced by one holding the
rest; new selectors go into those replacements while they have room, then into new profiles. Only when
that would pass ``profilesPerCluster`` is everything packed afresh (``Routing.repacked`` says so). With
no prior (a first plan), each selector goes to one of ``max(4, ⌈n / selectorsPerProfile⌉)`` buckets by
a hash of the selector, so even then one namespace more changes one profile, not every profile after it
in alphabetical order. A profile is named ``<prefix>-<8 hex digits>``, a hash of its selectors, pod
execution role and subnets, so any change to those gives a new name (``compose apply`` creates the new
profile before deleting the old). At most ``selectorsPerProfile`` (AWS quota 5) selectors per profile;
more than ``profilesPerCluster`` (AWS quota 10) profiles is an error.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from composer.core.errors import Problem
from composer.core.model import ClusterSettings, Placement, key_field
from composer.files.yamlio import position

COREDNS_LABEL = ("eks.amazonaws.com/component", "coredns")


@dataclass(frozen=True, order=True)
class Selector:
    namespace: str
    labels: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class FargateProfile:
    name: str
    selectors: tuple[Selector, ...]


@dataclass(frozen=True)
class Routing:
    profiles: tuple[FargateProfile, ...]
    labelled: frozenset[str]  # workload keys (namespace/name) whose pods must carry the routing label
    coredns_on_fargate: bool
    repacked: bool = False  # the prior layout could not take the new selectors within the profile limit


def coredns_on_fargate(placements: list[Placement], settings: ClusterSettings) -> bool:
    if settings.core_dns != "auto":
        return settings.core_dns == "fargate"
    return not any(p.target == "nodegroup" and p.node_class == "general" for p in placements)


def route(
    placements: list[Placement], settings: ClusterSettings, prior: tuple[tuple[Selector, ...], ...] = ()
) -> tuple[Routing, list[Problem]]:
    """``prior``: the selector groups of the profiles the estate has now (see the module doc)."""
    by_namespace: dict[str, list[Placement]] = defaultdict(list)
    for p in placements:
        by_namespace[p.workload.namespace].append(p)
    key, value = settings.routing_label
    before = {s for group in prior for s in group}
    selectors: set[Selector] = set()
    labelled: set[str] = set()
    problems: list[Problem] = []
    for namespace, members in sorted(by_namespace.items()):
        fargate = [p for p in members if p.target == "fargate"]
        if not fargate:
            continue
        mixed = len(fargate) != len(members) or namespace == "kube-system"
        by_label = Selector(namespace, ((key, value),))
        stays_labelled = (
            by_label in before and Selector(namespace) not in before and all(labellable(p, key, value) for p in fargate)
        )
        if not mixed and not stays_labelled:
            selectors.add(Selector(namespace))
            continue
        selectors.add(Selector(namespace, ((key, value),)))
        others = sorted(p.workload.name for p in members if p.target == "nodegroup")
        for p in members:
            w = p.workload
            if p.target == "nodegroup" and w.pod_labels.get(key) == value:
                line, col = position(w.source, key_field("workload.podLabels", key))
                problems.append(
                    Problem(
                        f"this node-group workload's pods carry the Fargate routing label {key}={value}, so the "
                        f"Fargate profile for namespace '{namespace}' would take them",
                        w.source.path,
                        line,
                        col,
                        hint="remove the label from podLabels, or choose another fargate.routingLabel",
                        check="routing",
                    )
                )
        for p in fargate:
            w = p.workload
            if w.pod_labels.get(key) == value:
                continue  # the pods already carry the label
            labelled.add(w.key)
            if w.release is None or not w.release.pod_labels_value:
                why = (
                    f"namespace '{namespace}' also holds node-group workloads ({', '.join(others)})"
                    if others
                    else "kube-system is never selected by namespace alone"
                )
                field = "release" if w.release is not None else "metadata.namespace"
                line, col = position(w.source, field)
                problems.append(
                    Problem(
                        f"{why}, so Fargate pods there are selected by the label {key}={value}, "
                        f"but this profile names no release.podLabelsValue to set it",
                        w.source.path,
                        line,
                        col,
                        hint=f"set release.podLabelsValue to the chart value for pod labels (e.g. podLabels), add "
                        f'{key}: "{value}" to workload.podLabels if the pods already carry it, '
                        "or move the workload to a namespace of its own",
                        check="routing",
                    )
                )
    on_fargate = coredns_on_fargate(placements, settings)
    if on_fargate:
        selectors.add(Selector("kube-system", (COREDNS_LABEL,)))
    for s in selectors:
        if len(s.labels) > settings.labels_per_selector:
            problems.append(
                Problem(
                    f"selector for namespace '{s.namespace}' has {len(s.labels)} labels, "
                    f"more than fargate.labelsPerSelector ({settings.labels_per_selector})",
                    settings.source.path,
                    check="routing",
                )
            )
    ordered = sorted(selectors)
    chunks, repacked = pack_onto(prior, ordered, settings.selectors_per_profile, settings.profiles_per_cluster)
    profiles = tuple(FargateProfile(profile_name(settings, chunk), chunk) for chunk in chunks)
    if len(profiles) > settings.profiles_per_cluster:
        line, col = position(settings.source, "fargate")
        problems.append(
            Problem(
                f"{len(ordered)} Fargate selectors need {len(profiles)} profiles, more than the "
                f"{settings.profiles_per_cluster} allowed per cluster",
                settings.source.path,
                line,
                col,
                hint="consolidate Fargate workloads into fewer namespaces, or raise fargate.profilesPerCluster "
                "after AWS raised your quota",
                check="routing",
            )
        )
    return Routing(profiles, frozenset(labelled), on_fargate, repacked), problems


def labellable(p: Placement, key: str, value: str) -> bool:
    """Its pods carry the routing label, or compose can give it to them through the chart."""
    w = p.workload
    return w.pod_labels.get(key) == value or bool(w.release is not None and w.release.pod_labels_value)


BUCKETS = 4


def _digest(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()


def pack(selectors: list[Selector], size: int) -> list[tuple[Selector, ...]]:
    """Selectors → profiles' selector tuples, stable under adding or removing one (see the module doc)."""
    if not selectors:
        return []
    count = max(BUCKETS, -(-len(selectors) // size))
    buckets: list[list[Selector]] = [[] for _ in range(count)]
    keyed = sorted(selectors, key=lambda s: (int(_digest(repr(s))[:12], 16) % count, _digest(repr(s))))
    for s in keyed:
        home = int(_digest(repr(s))[:12], 16) % count
        for step in range(count):
            bucket = buckets[(home + step) % count]
            if len(bucket) < size:
                bucket.append(s)
                break
    return [tuple(sorted(b)) for b in buckets if b]


def pack_onto(
    prior: tuple[tuple[Selector, ...], ...], selectors: list[Selector], size: int, limit: int
) -> tuple[list[tuple[Selector, ...]], bool]:
    """Selectors → profiles' selector tuples, changing as few of the ``prior`` groups as it can (see the
    module doc); and whether it had to pack afresh instead."""
    if not prior:
        return pack(selectors, size), False
    wanted, taken = set(selectors), set()
    kept: list[tuple[Selector, ...]] = []
    rebuilt: list[list[Selector]] = []  # replacements of prior groups that lost a selector
    for group in prior:
        if not group or taken & set(group):
            continue
        if set(group) <= wanted and len(group) <= size:
            kept.append(tuple(sorted(group)))
        else:
            rest = [s for s in group if s in wanted and s not in taken][:size]
            if rest:
                rebuilt.append(rest)
        taken |= set(group)
    fresh = [s for s in selectors if s not in taken and not any(s in r for r in rebuilt)]
    for s in fresh:
        room = next((r for r in rebuilt if len(r) < size), None)
        if room is None:
            room = []
            rebuilt.append(room)
        room.append(s)
    chunks = kept + [tuple(sorted(r)) for r in rebuilt]
    if len(chunks) > limit and len(pack(selectors, size)) < len(chunks):
        return pack(selectors, size), True
    return chunks, False


def prior_groups(config: dict | None) -> tuple[tuple[Selector, ...], ...]:
    """The selector groups of a ClusterConfig's ``fargateProfiles`` (ill-formed entries are skipped)."""
    groups = []
    for profile in (config or {}).get("fargateProfiles") or []:
        selectors = []
        for s in profile.get("selectors") or [] if isinstance(profile, dict) else []:
            labels = s.get("labels") if isinstance(s, dict) else None
            if not isinstance(s, dict) or not isinstance(s.get("namespace"), str):
                continue
            pairs = (
                tuple(sorted((str(k), str(v)) for k, v in (labels or {}).items())) if isinstance(labels, dict) else ()
            )
            selectors.append(Selector(s["namespace"], pairs))
        if selectors:
            groups.append(tuple(selectors))
    return tuple(groups)


def profile_name(settings: ClusterSettings, selectors: tuple[Selector, ...]) -> str:
    """``<prefix>-<hash>`` of everything EKS cannot change in a profile."""
    content = repr((selectors, settings.pod_execution_role_arn, sorted(settings.fargate_subnets)))
    return f"{settings.profile_prefix}-{_digest(content)[:8]}"
