"""``compose validate --render``: do the values compose writes into helmfile.yaml reach the pods?

Placement rests on chart values: the Fargate routing label through ``release.podLabelsValue``, the node
class through ``release.nodeSelectorValue`` and ``release.tolerationsValue``, and an IRSA workload's
IAM role through the service account ``release.serviceAccountValue`` names. A chart that reads another
key renders pods without them, and EKS places those pods elsewhere, silently (a Fargate pod that misses
its label runs on a general node). This renders each release whose chart is on disk with ``helm
template`` (its values files and compose's inline values, as helmfile passes them) and checks every pod
template it produces. Charts from repositories are not fetched (no network is assumed): they are listed
as not checked.

The checks are pure (``problems_of``); running helm is the edge (``render``).
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from composer.core.errors import Problem
from composer.core.model import Placement
from composer.emit.helmfile import PIN_LABEL
from composer.files.yamlio import position
from composer.place.nodegroups import CLASS_LABEL, pins

POD_TEMPLATE = {
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "ReplicationController": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
    "Pod": (),
}


@dataclass(frozen=True)
class Expected:
    labels: dict  # pod labels that must be present
    node_selector: dict  # nodeSelector entries that must be present
    tolerations: tuple  # tolerations that must be present
    service_account: str = ""  # the IRSA account the pods must run as ("" = any)


def expected(placement: Placement, routing_label: tuple[str, str], labelled: frozenset[str]) -> Expected:
    """What the plan means the release's pods to carry."""
    w = placement.workload
    labels = dict([routing_label]) if placement.target == "fargate" and w.key in labelled else {}
    account = w.service_account.name if w.service_account else ""
    if placement.target != "nodegroup":
        return Expected(labels, {}, (), account)
    selector, tolerate = pins(placement)  # what the helmfile sets: one source
    return Expected(labels, selector, tuple(_key(t) for t in tolerate), account)


def _key(toleration: dict) -> tuple:
    return (
        toleration.get("key"),
        toleration.get("operator", "Equal"),
        toleration.get("value"),
        toleration.get("effect"),
    )


SELECTED = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet")  # controllers with an immutable selector


def pod_templates(objects: list) -> list[tuple[str, dict]]:
    """(kind/name, pod template) of every workload object among rendered manifests."""
    found = []
    for obj in objects:
        if not isinstance(obj, dict) or obj.get("kind") not in POD_TEMPLATE:
            continue
        template = obj
        for step in POD_TEMPLATE[obj["kind"]]:
            template = template.get(step) if isinstance(template, dict) else None
        if isinstance(template, dict):
            found.append((f"{obj['kind']}/{(obj.get('metadata') or {}).get('name', '?')}", template))
    return found


def problems_of(placement: Placement, want: Expected, objects: list, keys: tuple[str, ...] = ()) -> list[Problem]:
    """Each way the rendered pods miss what the plan needs, at the profile field that should have set it;
    ``keys``: the chart's value keys, for the hints."""
    templates = pod_templates(objects)
    if not templates:
        return [
            _at(
                placement,
                "release.chart",
                "the chart rendered no Deployment, StatefulSet, DaemonSet, Job, "
                "CronJob or Pod, so compose cannot check where its pods go",
                "render a workload object",
            )
        ]
    out = []
    for name, template in templates:
        labels = (template.get("metadata") or {}).get("labels") or {}
        spec = template.get("spec") or {}
        missing = {k: v for k, v in want.labels.items() if labels.get(k) != v}
        if missing:
            out.append(
                _unread(
                    placement,
                    "podLabelsValue",
                    "that sets pod labels",
                    f"{name} renders without the Fargate routing label {_pairs(missing)}, so no Fargate "
                    "profile selects its pods and they run on a node instead",
                    keys,
                )
            )
        selector = spec.get("nodeSelector") or {}
        absent = {k: v for k, v in want.node_selector.items() if selector.get(k) != v}
        # every node class but general, and every Spot group, is tainted: a general pod that tolerates no
        # taint lands on general nodes with or without the class label
        if absent and (want.node_selector != {CLASS_LABEL: "general"} or _tolerates_any_taint(spec)):
            out.append(
                _unread(
                    placement,
                    "nodeSelectorValue",
                    "for the pods' nodeSelector",
                    f"{name} renders without nodeSelector {_pairs(absent)}, so its pods are not held to "
                    "their node class",
                    keys,
                )
            )
        have = {_key(t) for t in spec.get("tolerations") or [] if isinstance(t, dict)}
        lacking = [t for t in want.tolerations if t not in have and not _tolerated_by_exists(t, spec)]
        if lacking:
            out.append(
                _unread(
                    placement,
                    "tolerationsValue",
                    "for the pods' tolerations",
                    f"{name} renders without the toleration for {lacking[0][0]}={lacking[0][2]}, so its "
                    "pods cannot start on their node class",
                    keys,
                )
            )
    # a chart that copies the pod labels compose writes into its controller's selector (which Kubernetes
    # never changes): the next change of those labels makes `helm upgrade` fail ("field is immutable")
    written = set(want.labels) | ({PIN_LABEL} if want.labels or placement.target == "fargate" else set())
    for obj in objects:
        spec = obj.get("spec") if isinstance(obj, dict) and obj.get("kind") in SELECTED else None
        selector = ((spec or {}).get("selector") or {}).get("matchLabels") or {}
        copied = sorted(written & set(selector))
        if copied:
            out.append(
                _at(
                    placement,
                    "release.podLabelsValue",
                    f"{obj['kind']}/{(obj.get('metadata') or {}).get('name')} copies the pod labels compose writes "
                    f"into its selector ({', '.join(copied)}), which Kubernetes never changes: the next move "
                    "between Fargate and nodes, a replaced Fargate profile or a new fargate.routingLabel makes "
                    "`helm upgrade` fail (field is immutable)",
                    "name a chart value for pod labels that the chart keeps out of its selector (many charts have "
                    "podLabels for the pods and labels for the selector), or give the workload a namespace of its "
                    "own so it needs no label",
                )
            )
    # IRSA: the account must be the one some pod of the workload runs as (a chart's other pods, e.g. a
    # webhook's, run as accounts of their own and need no role)
    accounts = {
        (t.get("spec") or {}).get("serviceAccountName") or (t.get("spec") or {}).get("serviceAccount") or "default"
        for _, t in templates
    }
    if want.service_account and want.service_account not in accounts:
        out.append(
            _unread(
                placement,
                "serviceAccountValue",
                "for the pods' service account",
                f"{', '.join(n for n, _ in templates)} render(s) with service account {', '.join(sorted(accounts))}, "
                f"not {want.service_account}, so no pod gets the IAM role (IRSA)",
                keys,
            )
        )
    return out


_RELEASE_ATTRIBUTE = {
    "podLabelsValue": "pod_labels_value",
    "nodeSelectorValue": "node_selector_value",
    "tolerationsValue": "tolerations_value",
    "serviceAccountValue": "service_account_value",
}


_LEAVES = {"podLabelsValue": ("podLabels", "labels"), "nodeSelectorValue": ("nodeSelector",)}
_LEAVES |= {"tolerationsValue": ("tolerations",), "serviceAccountValue": ("serviceAccount",)}


def _unread(placement: Placement, field: str, purpose: str, what: str, keys: tuple[str, ...] = ()) -> Problem:
    """``what`` went wrong because the chart does not read the value key ``release.<field>`` names;
    ``keys``: the chart's own value keys of that kind (from its values.yaml), offered in the hint."""
    release = placement.workload.release
    value = getattr(release, _RELEASE_ATTRIBUTE[field]) if release else ""
    candidates = [k for k in keys if k.split(".")[-1] in _LEAVES[field] and k != value][:6]
    return _at(
        placement,
        f"release.{field}",
        f"{what}: the chart does not read '{value}'" if value else f"{what}: release.{field} names no chart value",
        f"set release.{field} to the chart value {purpose}"
        + (f"; the chart's values.yaml has {', '.join(candidates)}" if candidates else ""),
    )


def value_keys(chart: Path) -> tuple[str, ...]:
    """Dotted paths of every mapping key in the chart's values.yaml (its defaults), in file order."""
    from composer.load.scan import chart_values

    doc = chart_values(chart)
    found: list[str] = []

    def walk(node, path: str) -> None:
        if isinstance(node, dict) and len(found) < 20_000:
            for key, value in node.items():
                here = f"{path}.{key}" if path else str(key)
                found.append(here)
                walk(value, here)

    walk(doc, "")
    return tuple(found)


def _tolerates_any_taint(spec: dict) -> bool:
    return any(
        isinstance(t, dict) and t.get("operator") == "Exists" and not t.get("key")
        for t in spec.get("tolerations") or []
    )


def _tolerated_by_exists(wanted: tuple, spec: dict) -> bool:
    for t in spec.get("tolerations") or []:
        if isinstance(t, dict) and t.get("operator") == "Exists" and t.get("key") in (None, wanted[0]):
            return True
    return False


def _pairs(items: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in items.items())


def _at(placement: Placement, field: str, message: str, hint: str) -> Problem:
    w = placement.workload
    line, col = position(w.source, field)
    return Problem(f"{w.key}: {message}", w.source.path, line, col, hint, "render")


# ---------------------------------------------------------------- the edge: helm template


def local_chart(release: dict, out_dir: Path) -> Path | None:
    """The chart folder of a release whose chart is on disk (relative to the helmfile), else None."""
    chart = str(release["chart"])
    if not chart.startswith((".", "/")):
        return None
    path = (out_dir / chart).resolve()
    return path if (path / "Chart.yaml").is_file() else None


def dropped_tolerations(placement: Placement, defaults: list, objects: list) -> list[Problem]:
    """The chart's own tolerations (rendered without compose's values) that compose's tolerations value
    replaced: Helm replaces a list value as a whole, so the pods stop tolerating them (a node exporter no
    longer runs on nodes with other taints). Kept by listing them in workload.tolerations."""
    mine = dict(pod_templates(objects))
    out = []
    for name, template in pod_templates(defaults):
        own = [t for t in (template.get("spec") or {}).get("tolerations") or [] if isinstance(t, dict)]
        have = {
            _key(t) for t in ((mine.get(name) or {}).get("spec") or {}).get("tolerations") or [] if isinstance(t, dict)
        }
        lost = [t for t in own if _key(t) not in have]
        if name in mine and lost:
            shown = ", ".join("{" + ", ".join(f"{k}: {v}" for k, v in t.items()) + "}" for t in lost)
            out.append(
                _at(
                    placement,
                    "workload.tolerations",
                    f"{name}: compose's tolerations replace the chart's own ({shown}), since Helm replaces a list "
                    "value whole, so its pods no longer tolerate them",
                    "list the chart's tolerations in workload.tolerations (compose then writes both; "
                    "`compose scan` of the rendered chart fills it)",
                )
            )
    return out


# helm's message for a values.schema.json rejection names the properties: "additional properties 'labels'
# not allowed" (helm 3.18+, santhosh-tekuri/jsonschema), "Additional property labels is not allowed" (older)
_SCHEMA_REFUSAL = re.compile(r"[Aa]dditional propert(?:y|ies) (.{1,300}?) (?:is |are )?not allowed")


# ... and (helm 3.18+) where: "at '/cainjector': additional properties 'labels' not allowed"
_SCHEMA_AT = re.compile(r"at '(/[^']*)': [Aa]dditional propert(?:y|ies) '([^']+)'")


def schema_blame(team: list[Placement], err: str) -> tuple[Placement, str] | None:
    """The workload of a release, and its release field, whose chart value the chart's values schema
    refused (None when no value compose wrote is named): the exact path when helm gives it, else a
    key named in the message."""
    exact = {f"{at.strip('/').replace('/', '.')}.{key}".lstrip(".") for at, key in _SCHEMA_AT.findall(err)}
    named = {n.strip("'\"") for phrase in _SCHEMA_REFUSAL.findall(err) for n in re.split(r"[,\s]+", phrase) if n}
    for test in (lambda path: path in exact, lambda path: bool(named & {path.split(".")[0], path.split(".")[-1]})):
        for member in team:
            for field, attribute in _RELEASE_ATTRIBUTE.items():
                path = getattr(member.workload.release, attribute, "") if member.workload.release else ""
                if path and test(path):
                    return member, field
    return None


def render(runner, release: dict, chart: Path, out_dir: Path, own_values_only: bool = False) -> tuple[int, str, str]:
    """``helm template`` of one release as helmfile would install it: (exit code, stdout, stderr). With
    ``own_values_only`` without compose's inline values (the chart's defaults and the user's files)."""
    from composer.files.yamlio import dump

    with tempfile.TemporaryDirectory(prefix="compose-render-") as tmp:
        argv = ["helm", "template", str(release["name"]), str(chart), "--namespace", str(release["namespace"])]
        argv += ["--skip-tests"]
        for index, value in enumerate(release.get("values") or []):
            if isinstance(value, str):
                argv += ["--values", str((out_dir / value).resolve())]
            elif own_values_only:
                continue
            else:
                path = Path(tmp) / f"inline-{index}.yaml"
                path.write_text(dump(value))
                argv += ["--values", str(path)]
        out: list[str] = []
        err: list[str] = []
        code = runner(argv, lambda stream, line: (out if stream == "out" else err).append(line), timeout=120)
        return code, "\n".join(out), "\n".join(err)


def check_plan(plan, runner) -> tuple[list[Problem], list[str]]:
    """(problems, notes) for every release of ``plan``; notes say what could not be checked and why."""
    from composer.cluster.runner import TimedOut, ToolNotFound
    from composer.files.yamlio import load_all

    placements = {p.workload.key: p for p in plan.placements}
    team: dict[str, list[Placement]] = {}  # owner's namespace/name → the release's other workloads
    for p in plan.placements:
        if p.workload.release is not None and p.workload.release.part_of:
            team.setdefault(f"{p.workload.namespace}/{p.workload.release.part_of}", []).append(p)
    problems, notes = [], []
    helm_missing = False
    for release in plan.helmfile.get("releases", []):
        key = f"{release['namespace']}/{release['name']}"
        placement = placements.get(key)
        if placement is None:  # compose's own releases (the log router)
            continue
        chart = local_chart(release, plan.out_dir)
        if chart is None:
            notes.append(
                f"{key}: chart {release['chart']} is not on disk; not rendered (compose does not fetch charts)"
            )
            continue
        if helm_missing:
            continue
        try:
            code, out, err = render(runner, release, chart, plan.out_dir)
        except ToolNotFound:
            helm_missing = True
            notes.append("helm is not installed: no release was rendered (install helm to check charts)")
            continue
        except TimedOut as exc:
            notes.append(f"{key}: {exc}")
            continue
        if code != 0:
            blamed = schema_blame([placement, *team.get(key, [])], err)
            who, field = blamed if blamed else (placement, "")
            problems.append(
                _at(
                    who,
                    f"release.{field}" if field else "release.chart",
                    f"helm template failed (exit {code}): {err.strip()[-300:]}",
                    f"the chart's values schema refuses the value compose writes for release.{field}; set it to a "
                    "key the chart has"
                    if field
                    else "fix the chart or its values",
                )
            )
            continue
        objects = load_all(out, f"helm template {key}", max_nodes=1_000_000)
        keys = value_keys(chart)
        defaults = None
        for member, own in by_workload(placement, team.get(key, []), objects):
            if member is not placement and not pod_templates(own):
                problems.append(
                    _at(
                        member,
                        "release.partOf",
                        f"the chart of {key} rendered no workload named {member.workload.name}",
                        "name the profile after the workload the chart renders (its metadata.name)",
                    )
                )
                continue
            want = expected(member, plan.settings.routing_label, plan.routing.labelled)
            problems += problems_of(member, want, own, keys)
            if want.tolerations:  # compose writes a tolerations value: did it drop the chart's own?
                if defaults is None:
                    code, out, _ = render(runner, release, chart, plan.out_dir, own_values_only=True)
                    defaults = load_all(out, f"helm template {key}", max_nodes=1_000_000) if code == 0 else []
                problems += dropped_tolerations(member, defaults, own)
    return problems, notes


def by_workload(owner: Placement, members: list[Placement], objects: list) -> list[tuple[Placement, list]]:
    """Each workload of a release with the rendered objects that are its own: a member's are those named
    as the member's workload; the owner's are all the rest (a chart's one profile stands for all its pods)."""
    names = {m.workload.name: m for m in members}
    claimed: dict[str, list] = {m.workload.name: [] for m in members}
    rest = []
    for obj in objects:
        name = (obj.get("metadata") or {}).get("name") if isinstance(obj, dict) else None
        if isinstance(obj, dict) and obj.get("kind") in POD_TEMPLATE and name in names:
            claimed[name].append(obj)
        else:
            rest.append(obj)
    return [(owner, rest)] + [(m, claimed[m.workload.name]) for m in members]
