"""The ``helmfile.yaml``: repositories, and one release per profile placed by namespace and labels."""

from __future__ import annotations

import os
from pathlib import Path

from composer.core import inert
from composer.core.errors import Problem
from composer.core.model import ClusterSettings, Placement
from composer.files.yamlio import position
from composer.place.checks import problem_at
from composer.place.nodegroups import pins
from composer.place.routing import Routing

LOCAL_PREFIXES = (".", "/", "oci://", "http://", "https://")
MANAGED_LABEL, MANAGED_VALUE = "composer.io/managed-by", "fargate-composer"
LOG_ROUTER = "kube-system/aws-observability"  # log_router.release()


# EKS lets a pod that several Fargate profiles match choose one with the pod label
# eks.amazonaws.com/fargate-profile: <profile> (https://docs.aws.amazon.com/eks/latest/userguide/fargate-profile.html).
# Each Fargate release whose chart
# takes pod labels names its profile, so when apply replaces a profile (created first, both matching), the
# changed label rolls the workload's pods onto the new one under its own update strategy and
# PodDisruptionBudget, and the old profile is deleted empty. A chart that copies the value into its
# Deployment's selector (immutable: the upgrade would fail) is named by `validate --render`; for
# cluster-autoscaler's, compose writes the labels to a value that stays out of the selector.
PIN_LABEL = "eks.amazonaws.com/fargate-profile"


def pinned_releases(doc: dict) -> frozenset[str]:
    """namespace/name of the releases whose values pin their pods to a Fargate profile (PIN_LABEL)."""

    def pins(value) -> bool:
        if isinstance(value, dict):
            return PIN_LABEL in value or any(pins(v) for v in value.values())
        return isinstance(value, list) and any(pins(v) for v in value)

    return frozenset(f"{r['namespace']}/{r['name']}" for r in doc.get("releases") or [] if pins(r.get("values") or []))


def profile_of(w, routing: Routing, labels: dict[str, str]) -> str:
    """The planned profile that selects workload ``w``'s pods (with ``labels`` added), or ""."""
    pod = {**w.pod_labels, **labels}
    for profile in routing.profiles:
        for s in profile.selectors:
            if s.namespace == w.namespace and all(pod.get(k) == v for k, v in s.labels):
                return profile.name
    return ""


def _inline(dotted: str, value) -> dict:
    """``controller.podLabels`` + value → ``{"controller": {"podLabels": value}}``: an inline helmfile value."""
    for part in reversed(dotted.split(".")):
        value = {part: value}
    return value


def _node_class_values(p: Placement, r) -> tuple[list[dict], list[Problem]]:
    """Values that hold a node-group release's pods to its node class: ``composer.io/node-class`` in the
    chart's nodeSelector value and the class's tolerations in its tolerations value. A DaemonSet of the
    general class runs on every Linux node it can (general and arm64), so it gets ``kubernetes.io/os:
    linux`` and the arm64 toleration instead."""
    w, node_class = p.workload, p.node_class or "general"
    selector, tolerate = pins(p)
    if tolerate:  # (helm replaces a list value whole: the pods' own tolerations go with the class's)
        own = [dict(t) for t in w.tolerations]
        tolerate = own + [t for t in tolerate if t not in own]
    values: list[dict] = []
    if r.node_selector_value:
        values.append(_inline(r.node_selector_value, selector))
    if tolerate and r.tolerations_value:
        values.append(_inline(r.tolerations_value, tolerate))
    if (not r.node_selector_value or (tolerate and not r.tolerations_value)) and node_class != "general":
        line, col = position(w.source, "release")
        missing = "nodeSelectorValue" if not r.node_selector_value else "tolerationsValue"
        return values, [
            Problem(
                f"this workload needs '{node_class}' nodes, but release.{missing} is false, so nothing sends its pods "
                "there (or lets them past the class's taint)",
                w.source.path,
                line,
                col,
                hint=f"name the chart value that sets the pods' {missing.removesuffix('Value')}, or set it in a values "
                "file and give the chart value here",
                check="placement",
            )
        ]
    return values, []


def _placement_values(p: Placement, routing: Routing, settings: ClusterSettings) -> tuple[list[dict], list[Problem]]:
    """The values that place one workload of a release, at its own value keys: its IRSA service account,
    the Fargate routing label (and the profile pin) or its node class's nodeSelector and tolerations."""
    w, r = p.workload, p.workload.release
    key, value = settings.routing_label
    values: list[dict] = []
    problems: list[Problem] = []
    if w.service_account is not None:
        # IRSA: eksctl makes the account (with its role annotation); Pod Identity: the chart makes it, and
        # the association eksctl makes names it
        if r.service_account_value:
            made_here = w.aws_credentials == "podIdentity"
            values.append(_inline(r.service_account_value, {"create": made_here, "name": w.service_account.name}))
        else:
            line, col = position(w.source, "release")
            problems.append(
                Problem(
                    f"service account {w.service_account.name} gets its IAM role from eksctl, but "
                    "release.serviceAccountValue is false, so nothing makes the pods use it",
                    w.source.path,
                    line,
                    col,
                    hint="name the chart value that sets the pods' service account (most charts: serviceAccount, "
                    "with create and name)",
                    check="iam",
                )
            )
    if r.pod_labels_value:
        labels = {key: value} if w.key in routing.labelled else {}
        if p.target == "fargate":
            home = profile_of(w, routing, labels)
            if home:  # pinned: a replaced profile's pods roll onto its successor (see PIN_LABEL)
                labels[PIN_LABEL] = home
        if labels:
            values.append(_inline(r.pod_labels_value, labels))
    if p.target == "nodegroup":
        pinned, problem = _node_class_values(p, r)
        values += pinned
        problems += problem
    return values, problems


VALUE_KEYS = {
    "podLabelsValue": "pod_labels_value",
    "nodeSelectorValue": "node_selector_value",
    "tolerationsValue": "tolerations_value",
    "serviceAccountValue": "service_account_value",
}


def _shared_keys(team: list[Placement]) -> list[Problem]:
    """A value key two workloads of one release both name: the later one's values would overwrite the
    earlier one's (its pods would be placed as the other's)."""
    seen: dict[str, str] = {}
    problems = []
    for q in team:
        for field, attribute in VALUE_KEYS.items():
            path = getattr(q.workload.release, attribute)
            if path and seen.setdefault(path, q.workload.key) != q.workload.key:
                problems.append(
                    problem_at(
                        q.workload,
                        f"release.{field}",
                        f"release.{field} '{path}' is also {seen[path]}'s, in the same release: one would place "
                        "the other's pods",
                        f"name the chart value for this workload's own pods (for example "
                        f"<component>.{path.split('.')[-1]}), or leave it out",
                        "release",
                    )
                )
    return problems


def helmfile(
    placements: list[Placement], routing: Routing, settings: ClusterSettings, out_dir: Path
) -> tuple[dict, list[Problem]]:
    problems: list[Problem] = []
    repositories: dict[str, tuple[str, Placement]] = {}
    releases = []
    members: dict[str, list[Placement]] = {}  # the owner's namespace/name → the other workloads of its release
    for p in sorted(placements, key=lambda p: p.workload.key):
        if p.workload.release is not None and p.workload.release.part_of:
            members.setdefault(f"{p.workload.namespace}/{p.workload.release.part_of}", []).append(p)
    for p in sorted(placements, key=lambda p: p.workload.key):
        w, r = p.workload, p.workload.release
        if r is None or r.part_of:
            continue
        if not r.chart.startswith(LOCAL_PREFIXES) and "/" in r.chart:
            repo = r.chart.split("/", 1)[0]
            if r.repository:
                known = repositories.get(repo)
                if known and known[0] != r.repository:
                    line, col = position(w.source, "release.repository")
                    problems.append(
                        Problem(
                            f"repository '{repo}' is {inert.redact(r.repository)} here but "
                            f"{inert.redact(known[0])} in {known[1].workload.source.path}",
                            w.source.path,
                            line,
                            col,
                            "give one URL per repository name",
                            "repository",
                        )
                    )
                elif not known:
                    repositories[repo] = (r.repository, p)
        chart = r.chart
        if chart.startswith("."):  # local chart: relative to the profile, rewritten relative to the helmfile
            chart = os.path.relpath((Path(w.source.path).parent / chart).resolve(), out_dir.resolve())
        release: dict = {"name": w.name, "namespace": w.namespace, "chart": chart}
        if r.version:
            release["version"] = r.version
        release["labels"] = {
            "placement": p.target,
            **({"node-class": p.node_class} if p.node_class else {}),
            **({"capacity": "spot"} if p.spot else {}),
            MANAGED_LABEL: MANAGED_VALUE,
        }
        values: list = [os.path.relpath(v, out_dir.resolve()) for v in r.values] + [dict(v) for v in r.inline_values]
        team = [p, *members.get(w.key, ())]  # (the release's own workload, then its other workloads)
        problems += _shared_keys(team)
        for q in team:
            found_values, found = _placement_values(q, routing, settings)
            values += found_values
            problems += found
        if values:
            release["values"] = values
        needs = list(r.needs)
        if any(q.target == "fargate" for q in team) and settings.fargate_logging and LOG_ROUTER not in needs:
            needs.append(LOG_ROUTER)  # the log router's ConfigMap must exist before a Fargate pod starts
        if needs:
            release["needs"] = needs
        # every release waits until its pods are ready: what apply removes after the releases (old Fargate
        # profiles, drained node groups) must have no pods left on it by then
        release["wait"] = True
        release["timeout"] = r.timeout or max(
            settings.fargate_timeout if q.target == "fargate" else settings.node_timeout for q in team
        )
        releases.append(release)
    # A chart that names a repository nobody declared.
    for p in placements:
        r = p.workload.release
        if (
            r
            and not r.chart.startswith(LOCAL_PREFIXES)
            and "/" in r.chart
            and r.chart.split("/", 1)[0] not in repositories
        ):
            problems.append(
                problem_at(
                    p.workload,
                    "release.chart",
                    f"chart '{r.chart}' names repository '{r.chart.split('/', 1)[0]}', but no profile gives its URL",
                    "add release.repository with the chart repository URL",
                    "repository",
                )
            )
    doc: dict = {}
    if repositories:
        doc["repositories"] = [{"name": name, "url": url} for name, (url, _) in sorted(repositories.items())]
    # helmfile passes each release's labels on to helm (helm >= 3.13 stores them with the release), so
    # `helm list --selector composer.io/managed-by=fargate-composer` finds what compose installed
    doc["helmDefaults"] = {"syncReleaseLabels": True}
    doc["releases"] = releases
    return doc, problems
