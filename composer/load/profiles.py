"""Find, load and schema-check workload profiles; turn them into ``Workload`` objects."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any, Iterable

from composer.core import quantity
from composer.core.errors import ComposerError, Problem, fail
from composer.core.model import (
    Container,
    Ingress,
    Release,
    Service,
    ServiceAccount,
    Source,
    Volume,
    Workload,
    key_field,
    parse_field,
)
from composer.files import schema, yamlio
from composer.files.walk import yaml_files
from composer.files.yamltree import plain


def discover(paths: Iterable[Path], root: Path | None = None) -> list[Path]:
    """Profile files under ``paths`` (files as given; folders searched recursively, sorted).

    Hidden files and folders are skipped. Symbolic links are followed inside the estate ``root`` (the
    folder of composer.yaml) and refused when they lead out of it (``composer.files.walk``).
    """
    found: list[Path] = []
    for path in paths:
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            found.extend(yaml_files(path, root))
        elif path.exists():
            raise fail("not a file or folder", str(path))
        else:
            raise fail("no such file or folder", str(path), hint="pass the folder that holds your workload profiles")
    return found


def left_out(paths: Iterable[Path], estate: Path) -> list[Path]:
    """Profiles of the estate's ``profiles/`` folder that ``paths`` do not include (empty when they cover it,
    or when the estate keeps its profiles elsewhere). Apply needs the whole estate: a plan of part of it
    would delete what the rest owns."""
    folder = estate / "profiles"
    if not folder.is_dir():
        return []
    given = {f.resolve() for f in discover(paths, estate)}
    return [f for f in discover([folder], estate) if f.resolve() not in given]


def load_profiles(paths: Iterable[Path], root: Path | None = None) -> tuple[list[Workload], list[Problem]]:
    """Load every profile; returns the good workloads and all problems (never stops at the first)."""
    return load_all(find_profiles(paths, root))


def find_profiles(paths: Iterable[Path], root: Path | None = None) -> list[Path]:
    """``discover``, with a clear error when there is nothing to load."""
    paths = list(paths)
    files = discover(paths, root)
    if not files:
        raise fail(
            "no workload profiles found (*.yaml, *.yml)",
            ", ".join(map(str, paths)),
            hint="add a profile, e.g. profiles/my-app.yaml with kind: WorkloadProfile",
        )
    return files


def load_all(files: list[Path]) -> tuple[list[Workload], list[Problem]]:
    workloads, problems = [], []
    for file in files:
        try:
            workloads.append(load_profile(file))
        except ComposerError as exc:
            problems.extend(exc.problems)
    return workloads, problems


def load_profile(path: Path) -> Workload:
    where = str(path)
    doc = yamlio.load_file(path)
    if doc is None:
        raise fail("empty file", where, hint="a profile needs apiVersion, kind, metadata and workload")
    found = schema.validate("profile", doc, where)
    if found:
        raise ComposerError(found)
    return build_workload(doc, Source(where, doc), path.parent)


def _resources(spec: dict | None, field: str, where: str, doc: Any) -> dict[str, Fraction]:
    out = {}
    for name, value in (spec or {}).items():
        try:
            out[str(name)] = quantity.parse(value)
        except ValueError as exc:
            line, col = yamlio.locate(doc, parse_field(key_field(field, str(name))))
            raise fail(str(exc), where, line, col, check="quantity") from None
    return out


def _containers(items: list, base: str, where: str, doc: Any, init: bool) -> tuple[Container, ...]:
    out = []
    for index, item in enumerate(items or []):
        field = f"{base}[{index}]"
        resources = item.get("resources") or {}
        out.append(
            Container(
                name=str(item["name"]),
                requests=_resources(resources.get("requests"), f"{field}.resources.requests", where, doc),
                limits=_resources(resources.get("limits"), f"{field}.resources.limits", where, doc),
                field=field,
                init=init,
                sidecar=init and item.get("restartPolicy") == "Always",
                ports=tuple(int(p) for p in item.get("ports") or ()),
            )
        )
    return tuple(out)


def build_workload(doc: dict, source: Source, base_dir: Path) -> Workload:
    """A schema-valid profile document → ``Workload`` (pure apart from resolving values paths)."""
    where = source.path
    meta, spec = doc["metadata"], doc["workload"]
    namespace = str(meta["namespace"])
    release = None
    if doc.get("release"):
        r = doc["release"]
        needs = tuple(str(n) if "/" in str(n) else f"{namespace}/{n}" for n in r.get("needs") or ())
        member = bool(r.get("partOf"))
        if member:
            own = [k for k in ("chart", "version", "repository", "values", "needs", "valuesTemplates") if k in r]
            if own:
                line, col = yamlio.position(source, f"release.{own[0]}")
                raise ComposerError(
                    [
                        Problem(
                            f"release.partOf makes this workload part of {namespace}/{r['partOf']}'s release, "
                            f"which has the chart; release.{own[0]} belongs there",
                            where,
                            line,
                            col,
                            hint=f"move release.{own[0]} to the profile {r['partOf']}, or drop release.partOf",
                            check="release",
                        )
                    ]
                )
        release = Release(
            chart=str(r.get("chart", "")),
            part_of=str(r.get("partOf", "")),
            version=str(r.get("version", "")),
            repository=str(r.get("repository", "")),
            values=tuple((base_dir / str(v)).resolve() for v in r.get("values") or ()),
            needs=needs,
            pod_labels_value=str(r.get("podLabelsValue", "")),
            timeout=r.get("timeout"),
            # (a release's other workloads have their own keys, if any: the chart's top-level ones are its owner's)
            node_selector_value=str(r.get("nodeSelectorValue", "" if member else "nodeSelector") or ""),
            tolerations_value=str(r.get("tolerationsValue", "" if member else "tolerations") or ""),
            values_templates=bool(r.get("valuesTemplates", False)),
            service_account_value=str(r.get("serviceAccountValue", "" if member else "serviceAccount") or ""),
        )
    services = tuple(
        Service(
            type=str(s["type"]),
            field=f"workload.services[{i}]",
            name=str(s.get("name", "")),
            load_balancer=str(s.get("loadBalancer", "")),
            target_type=str(s.get("targetType", "")),
        )
        for i, s in enumerate(spec.get("services") or ())
    )
    ingresses = tuple(
        Ingress(
            class_name=str(g["className"]),
            field=f"workload.ingresses[{i}]",
            name=str(g.get("name", "")),
            target_type=str(g.get("targetType", "")),
        )
        for i, g in enumerate(spec.get("ingresses") or ())
    )
    volumes = []
    for i, v in enumerate(spec.get("volumes") or ()):
        field = f"workload.volumes[{i}]"
        default_provisioning = "dynamic" if v["type"] == "persistentVolumeClaim" else "static"
        size_limit = (
            _resources({"sizeLimit": v["sizeLimit"]}, field, where, doc)["sizeLimit"] if "sizeLimit" in v else None
        )
        volumes.append(
            Volume(
                name=str(v["name"]),
                type=str(v["type"]),
                field=field,
                storage_class=str(v.get("storageClass", "")),
                provisioner=str(v.get("provisioner", "")),
                provisioning=str(v.get("provisioning", default_provisioning)),
                size_limit=size_limit,
                claim_name=str(v.get("claimName", "")),
                unresolved=str(v.get("unresolved", "")),
                driver=str(v.get("driver", "")),
                source=str(v.get("source", "")),
            )
        )
    kind = str(spec["kind"])
    return Workload(
        name=str(meta["name"]),
        namespace=namespace,
        kind=kind,
        source=source,
        replicas=int(spec.get("replicas", 1)),
        containers=_containers(spec.get("containers") or [], "workload.containers", where, doc, False),
        init_containers=_containers(spec.get("initContainers") or [], "workload.initContainers", where, doc, True),
        services=services,
        ingresses=ingresses,
        volumes=tuple(volumes),
        privileged=bool(spec.get("privileged", False)),
        capabilities=tuple(str(c) for c in spec.get("capabilities") or ()),
        host_network=bool(spec.get("hostNetwork", False)),
        host_pid=bool(spec.get("hostPID", False)),
        host_ipc=bool(spec.get("hostIPC", False)),
        host_ports=tuple(int(p) for p in spec.get("hostPorts") or ()),
        uses_instance_metadata=bool(spec.get("usesInstanceMetadata", False)),
        aws_credentials=str(spec.get("awsCredentials", "none")),
        service_account=_service_account(spec.get("serviceAccount")),
        interruptible=spec.get("interruptible"),
        node_selector={str(k): str(v) for k, v in (spec.get("nodeSelector") or {}).items()},
        pod_labels={str(k): str(v) for k, v in (spec.get("podLabels") or {}).items()},
        pod_annotations={str(k): str(v) for k, v in (spec.get("podAnnotations") or {}).items()},
        runtime_class=str(spec.get("runtimeClassName", "")),
        resource_claims=tuple(str(c) for c in spec.get("resourceClaims") or ()),
        node_name=str(spec.get("nodeName", "")),
        scheduler_name=str(spec.get("schedulerName", "")),
        localhost_profiles=tuple(str(c) for c in spec.get("localhostProfiles") or ()),
        affinity=plain(spec.get("affinity") or {}),
        network_policy=bool(spec.get("networkPolicy", False)),
        ttl_seconds_after_finished=spec.get("ttlSecondsAfterFinished"),
        hook_delete_policy=tuple(str(p) for p in spec.get("hookDeletePolicy") or ()),
        tolerations=tuple(plain(t) for t in spec.get("tolerations") or ()),
        schedule=str(spec.get("schedule", "")),
        placement=str(doc.get("placement", "auto")),
        provenance={str(k): str(v) for k, v in ((doc.get("provenance") or {}).get("fields") or {}).items()},
        runs_per_day=_number(spec.get("runsPerDay")),
        run_minutes=_number(spec.get("runMinutes")),
        startup_seconds=spec.get("startupSeconds"),
        rollouts_per_day=_number(spec.get("rolloutsPerDay")),
        history_limits=(int(spec.get("successfulJobsHistoryLimit", 3)), int(spec.get("failedJobsHistoryLimit", 1))),
        release=release,
    )


def _service_account(spec: dict | None) -> ServiceAccount | None:
    if not spec:
        return None
    return ServiceAccount(
        str(spec["name"]),
        tuple(str(a) for a in spec.get("attachPolicyARNs") or ()),
        {str(k): bool(v) for k, v in (spec.get("wellKnownPolicies") or {}).items()},
        str(spec.get("attachRoleARN", "")),
    )


def _number(value: Any) -> float | None:
    return float(value) if value is not None else None
