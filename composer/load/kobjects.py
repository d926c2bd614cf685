"""Kubernetes objects read from manifests, and the index that links them (used by scan and its claims)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from composer.files import yamlio


def get(node: Any, *path: Any, default: Any = None) -> Any:
    """The value at ``path`` (keys and list indices) under ``node``, else ``default``."""
    for step in path:
        if isinstance(node, dict) and step in node:
            node = node[step]
        elif isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node):
            node = node[step]
        else:
            return default
    return node


@dataclass(frozen=True)
class Obj:
    """One Kubernetes object from the input."""

    doc: dict
    file: str
    line: int  # 1-based line where the object starts

    @property
    def kind(self) -> str:
        return str(self.doc.get("kind", ""))

    @property
    def name(self) -> str:
        return str((self.doc.get("metadata") or {}).get("name", ""))

    def namespace(self, default: str) -> str:
        return str((self.doc.get("metadata") or {}).get("namespace") or default)

    def at(self, *path: Any) -> str:
        """``file:line`` of the key at ``path`` inside this object."""
        line, _ = yamlio.locate(self.doc, list(path), key=True)
        return f"{self.file}:{line}"


class Index:
    """Services, Ingresses, claims, classes … by namespace, for linking to workloads."""

    def __init__(self, objects: list[Obj], default_namespace: str) -> None:
        self.ns = default_namespace
        self.by_kind: dict[str, list[Obj]] = {}
        for obj in objects:
            self.by_kind.setdefault(obj.kind, []).append(obj)

    def all(self, kind: str, namespace: str | None = None) -> list[Obj]:
        objs = self.by_kind.get(kind, [])
        return [o for o in objs if namespace is None or o.namespace(self.ns) == namespace]

    def find(self, kind: str, name: str, namespace: str | None = None) -> Obj | None:
        return next((o for o in self.all(kind, namespace) if o.name == name), None)
