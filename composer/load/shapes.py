"""The shapes Kubernetes gives the fields scan reads, checked before anything reads them.

The API server refuses an object whose fields have the wrong type (``metadata: [p]``, ``command: "sh -c x"``,
``requests: [1]``): such a manifest never runs anywhere, so scan reports it as an error at the field's
line and reads the rest of the input, instead of tripping over it. Only types are checked, and only of
the fields scan reads (metadata; the pod template: containers, volumes, node selection); values and
fields scan does not read are left to Kubernetes. Types follow the Kubernetes API reference (core/v1
ObjectMeta, PodSpec, Container, ResourceRequirements, Volume; apps/v1 and batch/v1 templates).
"""

from __future__ import annotations

from typing import Any

STR, INT, BOOL, OBJ, QTY = "string", "integer", "boolean", "object", "quantity"

Shape = Any  # a type name above, ("array", Shape), ("map", Shape) or ("object", {field: Shape})


def _array(item: Shape) -> Shape:
    return ("array", item)


def _map(value: Shape) -> Shape:
    return ("map", value)


def _object(**fields: Shape) -> Shape:
    return ("object", fields)


METADATA = _object(name=STR, namespace=STR, labels=_map(STR), annotations=_map(STR), ownerReferences=_array(OBJ))
_CONTAINER = _object(
    name=STR,
    image=STR,
    command=_array(STR),
    args=_array(STR),
    ports=_array(_object(containerPort=INT, hostPort=INT, name=STR, protocol=STR)),
    env=_array(OBJ),
    envFrom=_array(OBJ),
    resources=_object(requests=_map(QTY), limits=_map(QTY), claims=_array(OBJ)),
    volumeMounts=_array(OBJ),
    securityContext=OBJ,
    restartPolicy=STR,
)
_TERM = _object(matchExpressions=_array(_object(key=STR, operator=STR, values=_array(STR))), matchFields=_array(OBJ))
POD_SPEC = _object(
    containers=_array(_CONTAINER),
    initContainers=_array(_CONTAINER),
    volumes=_array(OBJ),
    nodeSelector=_map(STR),
    affinity=_object(
        nodeAffinity=_object(
            requiredDuringSchedulingIgnoredDuringExecution=_object(nodeSelectorTerms=_array(_TERM)),
            preferredDuringSchedulingIgnoredDuringExecution=_array(OBJ),
        ),
        podAffinity=OBJ,
        podAntiAffinity=OBJ,
    ),
    tolerations=_array(OBJ),
    hostNetwork=BOOL,
    hostPID=BOOL,
    hostIPC=BOOL,
    serviceAccountName=STR,
    runtimeClassName=STR,
    schedulerName=STR,
    nodeName=STR,
    securityContext=OBJ,
    resourceClaims=_array(OBJ),
)
_TEMPLATE = _object(metadata=METADATA, spec=POD_SPEC)
# a workload kind → the shape of its object (the pod template where the kind has one)
WORKLOADS = {
    "Pod": _object(metadata=METADATA, spec=POD_SPEC),
    "CronJob": _object(
        metadata=METADATA,
        spec=_object(jobTemplate=_object(metadata=METADATA, spec=_object(template=_TEMPLATE, parallelism=INT))),
    ),
}
_CONTROLLER = _object(metadata=METADATA, spec=_object(template=_TEMPLATE, replicas=INT, parallelism=INT))
_ANY = _object(metadata=METADATA)

_PYTHON = {STR: (str,), INT: (int,), BOOL: (bool,), OBJ: (dict,), QTY: (str, int, float)}
_NAMES = {STR: "a string", INT: "an integer", BOOL: "true or false", OBJ: "a mapping", QTY: "a quantity"}


def shape_of(kind: str, workload_kinds: tuple[str, ...]) -> Shape:
    if kind in WORKLOADS:
        return WORKLOADS[kind]
    return _CONTROLLER if kind in workload_kinds else _ANY


def mismatch(value: Any, shape: Shape, path: tuple = ()) -> tuple[tuple, str, Any] | None:
    """The first field of ``value`` whose type differs from ``shape``: (path, expected, found), or None.
    An absent field (or an explicit null, which Kubernetes reads as absent) is fine."""
    if value is None:
        return None
    if isinstance(shape, str):
        ok = isinstance(value, _PYTHON[shape]) and not (shape in (INT, QTY) and isinstance(value, bool))
        return None if ok else (path, _NAMES[shape], value)
    form, inner = shape
    if form == "array":
        if not isinstance(value, list):
            return path, "a list", value
        for i, item in enumerate(value):
            if item is None:  # (an empty list entry is not an absent field: the API server refuses it)
                return (*path, i), _expected(inner), None
            found = mismatch(item, inner, (*path, i))
            if found:
                return found
        return None
    if not isinstance(value, dict):
        return path, "a mapping", value
    if form == "map":
        for key, item in value.items():
            found = mismatch(item, inner, (*path, key))
            if found:
                return found
        return None
    for key, sub in inner.items():
        if key in value:
            found = mismatch(value[key], sub, (*path, key))
            if found:
                return found
    return None


def _expected(shape: Shape) -> str:
    if isinstance(shape, str):
        return _NAMES[shape]
    return "a list" if shape[0] == "array" else "a mapping"


def dotted(path: tuple) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if i else str(p)) for i, p in enumerate(path))


def describe(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return "a mapping" if isinstance(value, dict) else "a list"
    text = repr(str(value)) if isinstance(value, str) else str(value)
    return text if len(text) <= 40 else text[:37] + "…"
