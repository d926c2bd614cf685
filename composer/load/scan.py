"""``compose scan``: Kubernetes manifests → workload profiles, every fact traced to a manifest line.

Pure derivation: ``derive(objects)`` reads what the Fargate rules need from the manifests
themselves, never from names:

* the pod spec: privileged, added capabilities, hostNetwork/PID/IPC, hostPort, resources
  (init containers and native sidecars too), nodeSelector, affinity, volumes;
* Services whose selector matches the pod labels (same namespace), with the load-balancer kind
  and target type from ``spec.loadBalancerClass`` and the AWS annotations; Ingresses followed to
  those Services, with their class and ALB target type;
* PersistentVolumeClaims resolved to the PersistentVolume they bind to, else their StorageClass and
  its provisioner (``composer.load.claims``: static vs dynamic EFS, the default class by EKS version,
  claims not in the input), and StatefulSet ``volumeClaimTemplates``;
* IRSA from the ServiceAccount's ``eks.amazonaws.com/role-arn``; NetworkPolicies selecting the pods;
* instance-metadata use only from evidence: ``169.254.169.254`` in env/args/command, or a known
  controller (``KNOWN_IMDS_USERS``) started without the flags that spare it IMDS;
  ``AWS_EC2_METADATA_DISABLED=true`` says the opposite.

Each profile carries ``provenance``: the object's file and line, and for every profile field it
set, the manifest line it came from.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from composer.core.errors import Problem
from composer.files.yamltree import plain
from composer.load import claims
from composer.load.kobjects import Index, Obj
from composer.load.kobjects import get as _get

# ReplicationController: ReplicaSet's predecessor, still found in real manifests; the same shape
WORKLOAD_KINDS = (
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "Job",
    "CronJob",
    "ReplicaSet",
    "ReplicationController",
    "Pod",
)
USED_KINDS = {
    "Service",
    "Ingress",
    "IngressClass",
    "PersistentVolumeClaim",
    "PersistentVolume",
    "StorageClass",
    "ServiceAccount",
    "NetworkPolicy",
    "Namespace",
    "PodDisruptionBudget",
}
IMDS_ADDRESSES = ("169.254.169.254", "fd00:ec2::254")
ALB_CONTROLLER = "ingress.k8s.aws/alb"


@dataclass(frozen=True)
class KnownImdsUser:
    """Software that asks IMDS for something unless it is given explicitly."""

    name: str
    images: tuple[str, ...]  # substrings of the container image
    needs_args: tuple[str, ...] = ()  # flags that must all be present to avoid IMDS
    needs_env_any: tuple[str, ...] = ()  # env vars of which one must be set to avoid IMDS
    when_args: tuple[str, ...] = ()  # only when all these flags are present (e.g. the AWS provider)
    source: str = ""


KNOWN_IMDS_USERS = (
    KnownImdsUser(
        "AWS Load Balancer Controller",
        ("aws-load-balancer-controller", "aws-alb-ingress-controller"),
        needs_args=("--aws-region", "--aws-vpc-id"),
        source="https://github.com/kubernetes-sigs/aws-load-balancer-controller/issues/1561, "
        "https://github.com/aws/eks-charts/issues/376",
    ),
    KnownImdsUser(
        "Cluster Autoscaler (AWS provider)",
        ("cluster-autoscaler",),
        needs_env_any=("AWS_REGION", "AWS_DEFAULT_REGION"),
        when_args=("--cloud-provider=aws",),
        source="https://github.com/kubernetes/autoscaler/pull/1288, "
        "https://github.com/kubernetes/autoscaler/issues/3029",
    ),
)


@dataclass
class Scanned:
    """A derived profile document and what it was derived from."""

    profile: dict
    obj: Obj
    evidence: list[str] = field(default_factory=list)


@dataclass
class ScanResult:
    scanned: list[Scanned]
    skipped: Counter
    notes: list[str]
    problems: list[Problem] = field(default_factory=list)  # objects Kubernetes would refuse (wrong types)


# ---------------------------------------------------------------- small helpers

APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"


def _localhost_profiles(spec: dict, annotations: dict) -> list[str]:
    """The seccomp and AppArmor profiles of type Localhost the pod or its containers use (``seccomp:<file>``,
    ``apparmor:<name>``), from securityContext fields and the older AppArmor annotation."""
    found: list[str] = []
    contexts = [spec.get("securityContext")] + [
        c.get("securityContext")
        for key in ("initContainers", "containers", "ephemeralContainers")
        for c in (spec.get(key) if isinstance(spec.get(key), list) else [])
        if isinstance(c, dict)
    ]
    for context in contexts:
        for key, kind in (("seccompProfile", "seccomp"), ("appArmorProfile", "apparmor")):
            profile = context.get(key) if isinstance(context, dict) else None
            if isinstance(profile, dict) and profile.get("type") == "Localhost":
                found.append(f"{kind}:{profile.get('localhostProfile') or '?'}")
    for key, value in annotations.items():
        if str(key).startswith(APPARMOR_ANNOTATION) and str(value).startswith("localhost/"):
            found.append(f"apparmor:{str(value)[len('localhost/') :]}")
    return [text[:300] for text in dict.fromkeys(found)][:64]


_LABEL = re.compile(r"[^a-z0-9-]+")


def profile_name(name: str) -> str:
    """A Kubernetes object name as a Helm release name (DNS-1123 label, at most 53 characters)."""
    clean = _LABEL.sub("-", name.lower()).strip("-") or "workload"
    if len(clean) > 53:
        import hashlib

        clean = clean[:46].rstrip("-") + "-" + hashlib.sha256(name.encode()).hexdigest()[:6]
    return clean


def _quantities(spec: Any) -> dict:
    out = {}
    for key, value in (spec or {}).items():
        key = str(key)
        # (the standard resources, huge pages and any extended resource: FG007 sends the last two to nodes)
        if key in ("cpu", "memory", "ephemeral-storage") or "/" in key or key.startswith("hugepages-"):
            out[key] = value if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)
    return out


def _selects(selector: Any, labels: dict) -> bool:
    """A Service/NetworkPolicy selector (plain map, or matchLabels) matches ``labels``."""
    if not isinstance(selector, dict):
        return False
    structured = "matchLabels" in selector or "matchExpressions" in selector
    match = (selector.get("matchLabels") or {}) if structured else selector
    if "matchExpressions" in selector:
        for expr in selector.get("matchExpressions") or []:
            key, op, values = expr.get("key"), expr.get("operator"), [str(v) for v in expr.get("values") or []]
            present = key in labels
            if (
                (op == "In" and str(labels.get(key)) not in values)
                or (op == "NotIn" and present and str(labels[key]) in values)
                or (op == "Exists" and not present)
                or (op == "DoesNotExist" and present)
            ):
                return False
    return all(str(labels.get(k)) == str(v) for k, v in (match or {}).items())


# ---------------------------------------------------------------- derivation


def _template_path(kind: str) -> tuple:
    if kind == "Pod":
        return ()
    if kind == "CronJob":
        return ("spec", "jobTemplate", "spec", "template")
    return ("spec", "template")


def derive(
    objects: list[Obj], default_namespace: str = "default", options: claims.ClaimOptions = claims.ClaimOptions()
) -> ScanResult:
    """Profiles for every workload object; other kinds are used for linking or counted as skipped. An object
    with a field of the wrong type (composer.load.shapes) is a problem at that field, and left out."""
    objects, problems = well_formed(objects)
    objects, duplicates = _last_of_each(objects, default_namespace)
    index = Index(objects, default_namespace)
    skipped: Counter = Counter()
    notes: list[str] = list(duplicates)
    scanned: list[Scanned] = []
    names: dict[tuple[str, str], Obj] = {}
    for obj in objects:
        if obj.kind in WORKLOAD_KINDS:
            if obj.kind == "Pod" and _get(obj.doc, "metadata", "ownerReferences"):
                skipped["Pod (owned by a controller)"] += 1
                continue
            hooks = str(_get(obj.doc, "metadata", "annotations", "helm.sh/hook") or "").split(",")
            if {h.strip() for h in hooks} & {"test", "test-success", "test-failure"}:  # (helm test only)
                skipped[f"{obj.kind} (helm test hook: helmfile never runs it)"] += 1
                continue
            item = _derive_workload(obj, index, options, notes)
            if item is None:
                skipped[f"{obj.kind} (no pod spec)"] += 1
                continue
            meta = item.profile["metadata"]
            if (meta["namespace"], meta["name"]) in names:  # e.g. a Deployment and a CronJob both named "web"
                meta["name"] = profile_name(f"{meta['name']}-{obj.kind.lower()}")
            other = names.get((meta["namespace"], meta["name"]))
            if other is not None:  # two workloads, one profile path: never one written over the other
                problems.append(
                    Problem(
                        f"{obj.kind} {obj.name!r} and {other.kind} {other.name!r} ({other.file}:{other.line}) "
                        f"would both be written as profile {meta['namespace']}/{meta['name']}",
                        obj.file,
                        obj.line,
                        hint="rename one of them, or scan them separately",
                        check="scan",
                    )
                )
                continue
            names[(meta["namespace"], meta["name"])] = obj
            scanned.append(item)
        elif obj.kind not in USED_KINDS:
            skipped[obj.kind or "(no kind)"] += 1
    group_releases(scanned, index.ns)
    return ScanResult(scanned, skipped, notes, problems)


INSTANCE_LABELS = ("app.kubernetes.io/instance", "release")  # Helm's release name: the chart convention, older


def release_of(obj: Obj) -> str:
    """The Helm release an object belongs to, by the labels charts put on it ("" when none)."""
    labels = _get(obj.doc, "metadata", "labels")
    for key in INSTANCE_LABELS:
        if isinstance(labels, dict) and isinstance(labels.get(key), str) and labels[key]:
            return labels[key]
    return ""


def group_releases(scanned: list[Scanned], default_namespace: str) -> None:
    """Workloads of one Helm release (same namespace and instance label) become one release: the owner's
    profile is named after the release (so `helm template` of it names the others as they are named here)
    and each other workload joins it with release.partOf, placed on its own. The owner is the workload
    named as the release, else the first that is not a Job, else the first."""
    groups: dict[tuple[str, str], list[Scanned]] = {}
    for item in scanned:
        name = release_of(item.obj)
        if name:
            groups.setdefault((item.obj.namespace(default_namespace), name), []).append(item)
    taken = {(i.profile["metadata"]["namespace"], i.profile["metadata"]["name"]) for i in scanned}
    for (namespace, release), items in groups.items():
        if len(items) < 2:
            continue
        owner = next((i for i in items if i.obj.name == release), None) or next(
            (i for i in items if i.obj.kind not in ("Job", "CronJob")), items[0]
        )
        wanted = profile_name(release)
        meta = owner.profile["metadata"]
        if meta["name"] != wanted and (namespace, wanted) not in taken:
            taken.discard((namespace, meta["name"]))
            taken.add((namespace, wanted))
            meta["name"] = wanted
        for item in items:
            if item is not owner:
                _set_release(item, {"partOf": meta["name"]})


def _set_release(item: Scanned, release: dict) -> None:
    """``release`` in the profile, after its metadata (where people look for it)."""
    head = {k: v for k, v in item.profile.items() if k in ("apiVersion", "kind", "metadata")}
    item.profile = {**head, "release": release, **{k: v for k, v in item.profile.items() if k not in head}}


def attach_chart(scanned: list[Scanned], chart: str, version: str, out_dir: Path, default_namespace: str) -> str:
    """The release's chart on the one release of the input (``scan --chart``): on its owner, as
    ``release.chart`` (a local chart's path made relative to the profile's folder). "" or why it cannot."""
    owners = [i for i in scanned if "release" not in i.profile]
    releases = sorted({release_of(i.obj) or i.profile["metadata"]["name"] for i in owners})
    if not owners:
        return "--chart: the input holds no workload to give the chart to (did helm template fail?)"
    if len(owners) != 1:
        return (
            f"--chart names the chart of one release, but the input holds {len(owners)} "
            f"({', '.join(releases[:5])}{', …' if len(releases) > 5 else ''}); scan one release at a time"
        )
    owner = owners[0]
    defaults = chart_values(Path(chart)) if chart.startswith(".") else {}
    if chart.startswith("."):
        folder = out_dir / owner.profile["metadata"]["namespace"]
        chart = os.path.relpath(Path(chart).resolve(), folder.resolve())
        chart = chart if chart.startswith(".") else f"./{chart}"
    _set_release(owner, {"chart": chart, **({"version": version} if version else {}), **_value_keys(defaults, "")})
    release = release_of(owner.obj)
    for item in scanned:
        if item.profile.get("release", {}).get("partOf") == owner.profile["metadata"]["name"]:
            component = item.profile["metadata"]["name"].removeprefix(f"{release}-")
            item.profile["release"].update(_value_keys(defaults, component))
    return ""


# release field → the key charts conventionally give it, under the workload's own part of values.yaml
VALUE_FIELDS = {
    "podLabelsValue": "podLabels",
    "nodeSelectorValue": "nodeSelector",
    "tolerationsValue": "tolerations",
    "serviceAccountValue": "serviceAccount",
}


def _value_keys(defaults: dict, component: str) -> dict:
    """The release fields a local chart's values.yaml answers by convention: the top-level keys for the
    release's own workload (only podLabelsValue, the one without a default), ``<component>.<key>`` for
    another of its workloads (cert-manager's cainjector.podLabels). validate --render checks each guess."""
    if not component:
        return {"podLabelsValue": "podLabels"} if "podLabels" in defaults else {}
    part = defaults.get(component)
    if not isinstance(part, dict):
        return {}
    return {field: f"{component}.{key}" for field, key in VALUE_FIELDS.items() if key in part}


def chart_values(chart: Path) -> dict:
    """A local chart's values.yaml as plain data ({} when it cannot be read)."""
    from composer.core.errors import ComposerError
    from composer.files.yamlio import load_file

    try:
        doc = load_file(chart / "values.yaml")
    except (ComposerError, OSError):
        return {}
    return doc if isinstance(doc, dict) else {}


def _last_of_each(objects: list[Obj], default_namespace: str) -> tuple[list[Obj], list[str]]:
    """One object per kind, namespace and name: the last, as Kubernetes keeps it (kubectl applies the
    documents in order, the later replacing the earlier); a note for each one dropped, with both places."""
    last: dict[tuple[str, str, str], int] = {}
    for i, obj in enumerate(objects):
        if obj.kind and obj.name:
            last[(obj.kind, obj.namespace(default_namespace), obj.name)] = i
    kept, notes = [], []
    for i, obj in enumerate(objects):
        key = (obj.kind, obj.namespace(default_namespace), obj.name)
        if key in last and last[key] != i:
            later = objects[last[key]]
            notes.append(
                f"{obj.kind} {key[1]}/{obj.name} is defined twice ({obj.file}:{obj.line} and {later.file}:"
                f"{later.line}); Kubernetes keeps the later one, and so does scan"
            )
            continue
        kept.append(obj)
    return kept, notes


def well_formed(objects: list[Obj]) -> tuple[list[Obj], list[Problem]]:
    """The objects whose fields scan reads have the types Kubernetes gives them, and a problem for each other."""
    from composer.files.yamlio import locate
    from composer.load import shapes

    kept, problems = [], []
    for obj in objects:
        found = shapes.mismatch(obj.doc, shapes.shape_of(str(obj.doc.get("kind", "")), WORKLOAD_KINDS))
        if found is None:
            kept.append(obj)
            continue
        path, expected, value = found
        line, col = locate(obj.doc, list(path))
        name = _get(obj.doc, "metadata", "name")
        what = f"{obj.kind or 'object'} {name!r}" if isinstance(name, str) else (obj.kind or "object")
        problems.append(
            Problem(
                f"{what}: {shapes.dotted(path)} must be {expected}, not {shapes.describe(value)} (Kubernetes "
                "refuses this object, so it is not scanned)",
                obj.file,
                line,
                col,
                hint="fix the manifest (kubectl apply --dry-run=server shows the same error), or leave it out",
                check="scan",
            )
        )
    return kept, problems


def _derive_workload(obj: Obj, index: Index, options: claims.ClaimOptions, notes: list[str]) -> Scanned | None:
    kind, doc = obj.kind, obj.doc
    tpath = _template_path(kind)
    template = _get(doc, *tpath) if tpath else doc
    spec = _get(template, "spec")
    if not isinstance(spec, dict) or not isinstance(spec.get("containers"), list):
        return None
    namespace = obj.namespace(index.ns)
    fields: dict[str, str] = {}
    evidence: list[str] = []
    w: dict[str, Any] = {"kind": kind}
    fields["workload.kind"] = obj.at("kind")

    def mark(profile_field: str, *path: Any) -> None:
        fields[profile_field] = obj.at(*tpath, *path) if path and path[0] == "spec" else obj.at(*path)

    if kind in ("Deployment", "StatefulSet", "ReplicaSet", "ReplicationController"):
        w["replicas"] = _int(_get(doc, "spec", "replicas"), 1)
    elif kind == "Job":
        w["replicas"] = _int(_get(doc, "spec", "parallelism"), 1)
    elif kind == "CronJob":
        w["replicas"] = _int(_get(doc, "spec", "jobTemplate", "spec", "parallelism"), 1)
        if _get(doc, "spec", "schedule") is not None:
            w["schedule"] = str(doc["spec"]["schedule"])
        for limit in ("successfulJobsHistoryLimit", "failedJobsHistoryLimit"):
            if isinstance(_get(doc, "spec", limit), int) and not isinstance(doc["spec"][limit], bool):
                w[limit] = max(0, doc["spec"][limit])
    if kind in ("Job", "CronJob"):
        job = _get(doc, "spec") if kind == "Job" else _get(doc, "spec", "jobTemplate", "spec")
        if isinstance(job, dict) and job.get("ttlSecondsAfterFinished") is not None:
            w["ttlSecondsAfterFinished"] = _int(job["ttlSecondsAfterFinished"], 0)
    policy = str(_get(doc, "metadata", "annotations", HOOK_DELETE_POLICY) or "")
    policies = [p for p in dict.fromkeys(p.strip() for p in policy.split(",")) if p in HOOK_POLICIES]
    if kind == "Job" and policies:
        w["hookDeletePolicy"] = policies
        mark("workload.hookDeletePolicy", "metadata", "annotations", HOOK_DELETE_POLICY)

    # containers, init containers (native sidecars), ports, security
    containers, init = _containers(spec.get("containers")), _containers(spec.get("initContainers"), init=True)
    w["containers"] = containers
    fields["workload.containers"] = obj.at(*tpath, "spec", "containers")
    if init:
        w["initContainers"] = init
        fields["workload.initContainers"] = obj.at(*tpath, "spec", "initContainers")
    privileged, capabilities, host_ports = False, [], []
    for group in ("containers", "initContainers"):
        for i, c in enumerate(spec.get(group) or []):
            if not isinstance(c, dict):
                continue
            if _get(c, "securityContext", "privileged") is True:
                privileged = True
                mark("workload.privileged", "spec", group, i, "securityContext", "privileged")
            for cap in _get(c, "securityContext", "capabilities", "add", default=[]) or []:
                name = str(cap).upper()
                if re.fullmatch(r"(CAP_)?[A-Z][A-Z_]*", name) and name not in capabilities:
                    capabilities.append(name)
                    mark("workload.capabilities", "spec", group, i, "securityContext", "capabilities", "add")
            for j, port in enumerate(c.get("ports") or []):
                if (
                    isinstance(port, dict)
                    and isinstance(port.get("hostPort"), int)
                    and port["hostPort"] not in host_ports
                ):
                    host_ports.append(port["hostPort"])
                    mark("workload.hostPorts", "spec", group, i, "ports", j, "hostPort")
    if privileged:
        w["privileged"] = True
    if capabilities:
        w["capabilities"] = capabilities
    if host_ports:
        w["hostPorts"] = host_ports
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(key) is True:
            w[key] = True
            mark(f"workload.{key}", "spec", key)
    if isinstance(spec.get("nodeSelector"), dict) and spec["nodeSelector"]:
        w["nodeSelector"] = {str(k): str(v) for k, v in spec["nodeSelector"].items()}
        mark("workload.nodeSelector", "spec", "nodeSelector")
    annotations = _get(template, "metadata", "annotations", default={}) or {}
    kept = {k: str(v) for k, v in annotations.items() if k in RULE_ANNOTATIONS} if isinstance(annotations, dict) else {}
    if kept:
        w["podAnnotations"] = kept
        fields["workload.podAnnotations"] = obj.at(*tpath, "metadata", "annotations")
    tolerations = [t for t in (_toleration(t) for t in spec.get("tolerations") or []) if t]
    if tolerations:
        w["tolerations"] = tolerations
        mark("workload.tolerations", "spec", "tolerations")
    if isinstance(spec.get("runtimeClassName"), str) and spec["runtimeClassName"]:
        w["runtimeClassName"] = spec["runtimeClassName"]
        mark("workload.runtimeClassName", "spec", "runtimeClassName")
    for key in ("nodeName", "schedulerName"):
        if isinstance(spec.get(key), str) and spec[key]:
            w[key] = spec[key][:253]
            mark(f"workload.{key}", "spec", key)
    local = _localhost_profiles(spec, annotations if isinstance(annotations, dict) else {})
    if local:
        w["localhostProfiles"] = local
        mark("workload.localhostProfiles", "spec")
    dra = spec.get("resourceClaims")  # (Dynamic Resource Allocation; ``claims`` is the PVC module)
    names = [str(c["name"]) for c in dra if isinstance(c, dict) and c.get("name")] if isinstance(dra, list) else []
    if names:
        w["resourceClaims"] = list(dict.fromkeys(names))[:64]
        mark("workload.resourceClaims", "spec", "resourceClaims")
    if isinstance(spec.get("affinity"), dict) and spec["affinity"]:
        w["affinity"] = plain(spec["affinity"])
        mark("workload.affinity", "spec", "affinity")

    # volumes
    volumes = []
    for i, v in enumerate(spec.get("volumes") or []):
        volume = _volume(v, namespace, index, options, evidence, f"{obj.at(*tpath, 'spec', 'volumes', i)}")
        if volume is None:
            notes.append(
                f"{obj.at(*tpath, 'spec', 'volumes', i)}: volume {v.get('name')!r} of {kind} "
                f"{namespace}/{obj.name}: type not modelled, left out"
            )
            continue
        fields[f"workload.volumes[{len(volumes)}]"] = obj.at(*tpath, "spec", "volumes", i)
        volumes.append(volume)
    if kind == "StatefulSet":
        for i, claim in enumerate(_get(doc, "spec", "volumeClaimTemplates", default=[]) or []):
            fields, why = claims.storage_class(claims.claim_class(claim), index, options)
            volume = _claim_volume(
                profile_name(str(_get(claim, "metadata", "name", default=f"claim-{i}"))), fields, why, evidence
            )
            fields[f"workload.volumes[{len(volumes)}]"] = obj.at("spec", "volumeClaimTemplates", i)
            volumes.append(volume)
    if volumes:
        w["volumes"] = volumes

    # services and the ingresses that reach them
    labels = {str(k): str(v) for k, v in (_get(template, "metadata", "labels", default={}) or {}).items()}
    if labels:
        w["podLabels"] = labels
    services, service_names = [], []
    for svc in index.all("Service", namespace):
        if _selects(_get(svc.doc, "spec", "selector"), labels) and _get(svc.doc, "spec", "selector"):
            services.append(_service(svc))
            fields[f"workload.services[{len(services) - 1}]"] = (
                svc.at("spec", "type") if _get(svc.doc, "spec", "type") else svc.at("spec", "selector")
            )
            service_names.append(svc.name)
    if services:
        w["services"] = services
    ingresses = []
    for ing in index.all("Ingress", namespace):
        if set(_ingress_backends(ing.doc)) & set(service_names):
            ingresses.append(_ingress(ing, index))
            fields[f"workload.ingresses[{len(ingresses) - 1}]"] = ing.at("spec")
    if ingresses:
        w["ingresses"] = ingresses

    # credentials, network policy, instance metadata
    account = str(spec.get("serviceAccountName") or spec.get("serviceAccount") or "default")
    sa = index.find("ServiceAccount", account, namespace)
    role = _get(sa.doc, "metadata", "annotations", "eks.amazonaws.com/role-arn") if sa is not None else None
    if role:
        w["awsCredentials"] = "irsa"
        fields["workload.awsCredentials"] = sa.at("metadata", "annotations", "eks.amazonaws.com/role-arn")
        if ROLE_ARN.fullmatch(str(role)):  # the role exists: eksctl only has to make the account with it
            w["serviceAccount"] = {"name": profile_name(account)[:253], "attachRoleARN": str(role)}
            fields["workload.serviceAccount"] = fields["workload.awsCredentials"]
    for policy in index.all("NetworkPolicy", namespace):
        if _selects(_get(policy.doc, "spec", "podSelector", default={}) or {}, labels):
            w["networkPolicy"] = True
            fields["workload.networkPolicy"] = policy.at("spec", "podSelector")
            evidence.append(f"NetworkPolicy {policy.name} selects these pods ({policy.at('spec', 'podSelector')})")
            break
    if kind == "Deployment" and w.get("replicas", 1) >= 2:  # what counts as tolerating interruption (Spot)
        for pdb in index.all("PodDisruptionBudget", namespace):
            if _selects(_get(pdb.doc, "spec", "selector", default={}) or {}, labels) and _get(
                pdb.doc, "spec", "selector"
            ):
                w["interruptible"] = True
                fields["workload.interruptible"] = pdb.at("spec", "selector")
                evidence.append(
                    f"{w['replicas']} replicas and PodDisruptionBudget {pdb.name} "
                    f"({pdb.at('spec', 'selector')}): taken as tolerating interruption (Spot nodes)"
                )
                break
    uses, where, why = _instance_metadata(obj, tpath, spec)
    if uses is not None:
        w["usesInstanceMetadata"] = uses
        fields["workload.usesInstanceMetadata"] = where
        evidence.append(why)

    profile = {
        "apiVersion": "composer/v1alpha1",
        "kind": "WorkloadProfile",
        "metadata": {"name": profile_name(obj.name), "namespace": profile_name(namespace)[:63]},
        "workload": w,
        "provenance": {
            "source": f"{obj.file}:{obj.line}",
            "object": f"{kind}/{namespace}/{obj.name}",
            "fields": fields,
            **({"evidence": evidence} if evidence else {}),
        },
    }
    return Scanned(profile, obj, evidence)


HOOK_DELETE_POLICY = "helm.sh/hook-delete-policy"
HOOK_POLICIES = ("before-hook-creation", "hook-succeeded", "hook-failed")
_TOLERATION_KEY = re.compile(r"([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")
_TOLERATION_VALUE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?")


def _toleration(t: Any) -> dict | None:
    """A pod toleration as the profile holds it (the fields Kubernetes defines, each well formed); None for
    one that is not (the API server would refuse the pod)."""
    if not isinstance(t, dict):
        return None
    out: dict[str, Any] = {}
    if isinstance(t.get("key"), str) and t["key"]:
        if len(t["key"]) > 316 or not _TOLERATION_KEY.fullmatch(t["key"]):
            return None
        out["key"] = t["key"]
    if t.get("operator") is not None:
        if t["operator"] not in ("Equal", "Exists"):
            return None
        out["operator"] = t["operator"]
    if t.get("value") is not None and str(t["value"]) != "":
        if len(str(t["value"])) > 63 or not _TOLERATION_VALUE.fullmatch(str(t["value"])):
            return None
        out["value"] = str(t["value"])
    if t.get("effect"):
        if t["effect"] not in ("NoSchedule", "PreferNoSchedule", "NoExecute"):
            return None
        out["effect"] = t["effect"]
    if isinstance(t.get("tolerationSeconds"), int) and not isinstance(t["tolerationSeconds"], bool):
        out["tolerationSeconds"] = max(0, t["tolerationSeconds"])
    return out


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else default


ROLE_ARN = re.compile(r"arn:aws[-a-z]*:iam::\d{12}:role/.+")
# The pod annotations a rule reads; other annotations (checksums, prometheus.io/…) stay out of profiles.
RULE_ANNOTATIONS = frozenset(
    {
        "eks.amazonaws.com/compute-type",
        "sidecar.istio.io/status",
        "k8s.v1.cni.cncf.io/networks",
        "iam.amazonaws.com/role",  # kube2iam / kiam
    }
)
# Flags that make a server listen on a port (--secure-port=10250, --port 10250, --metrics-port=…).
_PORT_FLAG = re.compile(r"--(?:[a-z]+-)*port(?:=|$)")


def _arg_ports(c: dict) -> list[int]:
    """Ports a container's command line makes it listen on: ``--secure-port=10250`` or ``--port 10250``."""
    args = [str(a) for a in (c.get("command") or []) + (c.get("args") or []) if isinstance(a, (str, int))]
    ports = []
    for i, arg in enumerate(args):
        if _PORT_FLAG.match(arg):
            value = arg.split("=", 1)[1] if "=" in arg else (args[i + 1] if i + 1 < len(args) else "")
            if value.isdigit() and 0 < int(value) < 65536:
                ports.append(int(value))
    return ports


def _containers(items: Any, init: bool = False) -> list[dict]:
    out = []
    for c in items or []:
        if not isinstance(c, dict) or not c.get("name"):
            continue
        entry: dict[str, Any] = {"name": profile_name(str(c["name"]))[:63]}
        resources = {k: _quantities(_get(c, "resources", k)) for k in ("requests", "limits")}
        resources = {k: v for k, v in resources.items() if v}
        if resources:
            entry["resources"] = resources
        ports = [
            p["containerPort"]
            for p in c.get("ports") or []
            if isinstance(p, dict) and isinstance(p.get("containerPort"), int) and 0 < p["containerPort"] < 65536
        ]
        ports += [p for p in _arg_ports(c) if p not in ports]
        if ports:
            entry["ports"] = ports
        if init and c.get("restartPolicy") == "Always":
            entry["restartPolicy"] = "Always"
        out.append(entry)
    return out


CSI_TYPES = {"ebs.csi.aws.com": "awsElasticBlockStore", "efs.csi.aws.com": "efs", "fsx.csi.aws.com": "fsxLustre"}


def _volume(
    v: Any, namespace: str, index: Index, options: claims.ClaimOptions, evidence: list[str], where: str
) -> dict | None:
    if not isinstance(v, dict):
        return None
    name = profile_name(str(v.get("name", "volume")))[:63]
    for simple in ("configMap", "secret", "projected", "downwardAPI"):
        if simple in v:
            return {"name": name, "type": simple}
    if "emptyDir" in v:
        out = {"name": name, "type": "emptyDir"}
        size = _get(v, "emptyDir", "sizeLimit")
        if size is not None:
            out["sizeLimit"] = str(size)
        return out
    if "hostPath" in v:
        return {"name": name, "type": "hostPath", "path": str(_get(v, "hostPath", "path", default=""))}
    if "awsElasticBlockStore" in v:
        return {"name": name, "type": "awsElasticBlockStore"}
    if "csi" in v:
        driver = str(_get(v, "csi", "driver", default=""))
        if driver in CSI_TYPES:
            out = {"name": name, "type": CSI_TYPES[driver]}
            if driver == "efs.csi.aws.com":
                out["provisioning"] = "static"  # an inline CSI volume names an existing file system
            return out
        return {"name": name, "type": "csi", "driver": driver[:253]}
    if "ephemeral" in v:  # generic ephemeral volume: a PVC per pod
        template = _get(v, "ephemeral", "volumeClaimTemplate", default={})
        fields, why = claims.storage_class(claims.claim_class(template), index, options)
        return _claim_volume(name, fields, why, evidence)
    if "persistentVolumeClaim" in v:
        claim_name = str(_get(v, "persistentVolumeClaim", "claimName", default=""))
        fields, why = claims.claim(claim_name, namespace, index, options, where)
        return _claim_volume(name, fields, why, evidence)
    sources = sorted(k for k in v if k != "name" and isinstance(k, str))
    if sources:  # a source compose does not model (nfs, iscsi, cephfs, …): unknown is not safe on Fargate
        return {"name": name, "type": "other", "source": sources[0][:63]}
    return None


def _claim_volume(name: str, fields: dict, why: str, evidence: list[str]) -> dict:
    if why:
        evidence.append(f"volume {name}: {why}")
    return {"name": name, "type": "persistentVolumeClaim", **fields}


def _service(svc: Obj) -> dict:
    spec = svc.doc.get("spec") or {}
    annotations = _get(svc.doc, "metadata", "annotations", default={}) or {}
    kind = str(spec.get("type") or "ClusterIP")
    out: dict[str, Any] = {
        "name": profile_name(svc.name)[:63],
        "type": kind if kind in ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName") else "ClusterIP",
    }
    if kind == "LoadBalancer":
        lb_type = str(annotations.get("service.beta.kubernetes.io/aws-load-balancer-type", "")).lower()
        controller = spec.get("loadBalancerClass") == "service.k8s.aws/nlb" or lb_type in ("external", "nlb-ip")
        if controller:
            target = str(annotations.get("service.beta.kubernetes.io/aws-load-balancer-nlb-target-type", "")).lower()
            out["loadBalancer"] = "nlb"
            out["targetType"] = "ip" if target == "ip" or lb_type == "nlb-ip" else "instance"
        elif lb_type == "nlb":
            out["loadBalancer"], out["targetType"] = "nlb", "instance"  # the in-tree provider's NLB
        else:
            out["loadBalancer"] = "clb"
    return out


def _ingress_backends(doc: dict) -> Iterator[str]:
    spec = doc.get("spec") or {}
    backends = [spec.get("defaultBackend"), spec.get("backend")]
    for rule in spec.get("rules") or []:
        for path in _get(rule, "http", "paths", default=[]) or []:
            backends.append(_get(path, "backend"))
    for backend in backends:
        if isinstance(backend, dict):
            name = _get(backend, "service", "name") or backend.get("serviceName")
            if name:
                yield str(name)


def _ingress(ing: Obj, index: Index) -> dict:
    annotations = _get(ing.doc, "metadata", "annotations", default={}) or {}
    class_name = str(_get(ing.doc, "spec", "ingressClassName") or annotations.get("kubernetes.io/ingress.class") or "")
    ingress_class = index.find("IngressClass", class_name) if class_name else None
    if class_name == "alb" or (
        ingress_class is not None and _get(ingress_class.doc, "spec", "controller") == ALB_CONTROLLER
    ):
        target = str(annotations.get("alb.ingress.kubernetes.io/target-type", "instance")).lower()
        return {
            "name": profile_name(ing.name)[:63],
            "className": "alb",
            "targetType": "ip" if target == "ip" else "instance",
        }
    return {"name": profile_name(ing.name)[:63], "className": class_name or "default"}


def _instance_metadata(obj: Obj, tpath: tuple, spec: dict) -> tuple[bool | None, str, str]:
    """(uses IMDS?, manifest line, evidence) — ``None`` when the manifests say nothing either way."""
    for group in ("initContainers", "containers"):
        for i, c in enumerate(spec.get(group) or []):
            if not isinstance(c, dict):
                continue
            env = {str(e.get("name")): e for e in c.get("env") or [] if isinstance(e, dict)}
            for j, e in enumerate(c.get("env") or []):
                if (
                    isinstance(e, dict)
                    and e.get("name") == "AWS_EC2_METADATA_DISABLED"
                    and str(e.get("value", "")).lower() == "true"
                ):
                    where = obj.at(*tpath, "spec", group, i, "env", j)
                    return False, where, f"container {c.get('name')} sets AWS_EC2_METADATA_DISABLED=true ({where})"
            for key in ("command", "args"):
                for j, arg in enumerate(c.get(key) or []):
                    if any(address in str(arg) for address in IMDS_ADDRESSES):
                        where = obj.at(*tpath, "spec", group, i, key, j)
                        return True, where, f"container {c.get('name')} {key} mentions the metadata address ({where})"
            for j, e in enumerate(c.get("env") or []):
                if isinstance(e, dict) and any(address in str(e.get("value", "")) for address in IMDS_ADDRESSES):
                    where = obj.at(*tpath, "spec", group, i, "env", j)
                    return (
                        True,
                        where,
                        f"container {c.get('name')} env {e.get('name')} points at the metadata address ({where})",
                    )
            image = str(c.get("image", ""))
            args = [str(a) for a in (c.get("command") or []) + (c.get("args") or [])]
            for known in KNOWN_IMDS_USERS:
                if not any(part in image for part in known.images) or not all(
                    any(a.startswith(w) for a in args) for w in known.when_args
                ):
                    continue
                missing = [
                    flag for flag in known.needs_args if not any(a == flag or a.startswith(flag + "=") for a in args)
                ]
                if known.needs_env_any and not any(
                    str(_get(env.get(n, {}), "value", default="")).strip() or _get(env.get(n, {}), "valueFrom")
                    for n in known.needs_env_any
                ):
                    missing.append(" or ".join(known.needs_env_any))
                if missing:
                    where = obj.at(*tpath, "spec", group, i, "image")
                    return (
                        True,
                        where,
                        (
                            f"container {c.get('name')} runs the {known.name} without {', '.join(missing)}, "
                            f"so it asks IMDS ({where}; see {known.source})"
                        ),
                    )
    return None, "", ""
