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
from composer.files.yamlio import position
from composer.place.nodegroups import pins

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


def problems_of(placement: Placement, want: Expected, objects: list) -> list[Problem]:
    """Each way the rendered pods miss what the plan needs, at the profile field that should have set it."""
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
                )
            )
        selector = spec.get("nodeSelector") or {}
        absent = {k: v for k, v in want.node_selector.items() if selector.get(k) != v}
        if absent:
            out.append(
                _unread(
                    placement,
                    "nodeSelectorValue",
                    "for the pods' nodeSelector",
                    f"{name} renders without nodeSelector {_pairs(absent)}, so its pods are not held to "
                    "their node class",
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
                )
            )
        account = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
        if want.service_account and account != want.service_account:
            out.append(
                _unread(
                    placement,
                    "serviceAccountValue",
                    "for the pods' service account",
                    f"{name} renders with service account {account}, not {want.service_account}, so its "
                    "pods get no IAM role (IRSA)",
                )
            )
    return out


_RELEASE_ATTRIBUTE = {
    "podLabelsValue": "pod_labels_value",
    "nodeSelectorValue": "node_selector_value",
    "tolerationsValue": "tolerations_value",
    "serviceAccountValue": "service_account_value",
}


def _unread(placement: Placement, field: str, purpose: str, what: str) -> Problem:
    """``what`` went wrong because the chart does not read the value key ``release.<field>`` names."""
    release = placement.workload.release
    value = getattr(release, _RELEASE_ATTRIBUTE[field]) if release else ""
    return _at(
        placement,
        f"release.{field}",
        f"{what}: the chart does not read '{value}'",
        f"set release.{field} to the chart value {purpose}",
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


def schema_blame(placement: Placement, err: str) -> str:
    """The release field whose chart value a chart's values schema refused ("" when none of them)."""
    release = placement.workload.release
    named = {n.strip("'\"") for phrase in _SCHEMA_REFUSAL.findall(err) for n in re.split(r"[,\s]+", phrase) if n}
    for field, attribute in _RELEASE_ATTRIBUTE.items():
        path = getattr(release, attribute, "") if release else ""
        if path and named & {path.split(".")[0], path.split(".")[-1]}:
            return field
    return ""


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
            blamed = schema_blame(placement, err)
            problems.append(
                _at(
                    placement,
                    f"release.{blamed}" if blamed else "release.chart",
                    f"helm template failed (exit {code}): {err.strip()[-300:]}",
                    f"the chart's values schema refuses the value compose writes for release.{blamed}; set it to a "
                    "key the chart has"
                    if blamed
                    else "fix the chart or its values",
                )
            )
            continue
        objects = load_all(out, f"helm template {key}", max_nodes=1_000_000)
        want = expected(placement, plan.settings.routing_label, plan.routing.labelled)
        problems += problems_of(placement, want, objects)
        if want.tolerations:  # compose writes a tolerations value: did it drop the chart's own?
            code, out, _ = render(runner, release, chart, plan.out_dir, own_values_only=True)
            if code == 0:
                defaults = load_all(out, f"helm template {key}", max_nodes=1_000_000)
                problems += dropped_tolerations(placement, defaults, objects)
    return problems, notes
