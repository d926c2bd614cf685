"""Random instances of our own JSON Schemas, with values at their bounds: profiles a user could write that
the schema accepts, for the fuzz test of schema-valid edge estates (tests/test_fuzz_cli.py).

Each optional property is present or not at random; numbers are the schema's minimum, maximum or a value
just inside; strings are the longest and shortest a pattern allows from a list of candidates; arrays have
zero, one or ``maxItems`` (capped) entries. Instances are checked against the schema afterwards and the
few that miss (a pattern no candidate fits, an if/then) are dropped by the caller.
"""

from __future__ import annotations

import random
import re
from typing import Any

CANDIDATES = [
    "a",
    "a" * 63,
    "app-1",
    "x" * 253,
    "1",
    "0",
    "100m",
    "1Gi",
    "16",
    "120Gi",
    "175Gi",
    "0.25",
    "1.33",
    "1.29",
    "1.34",
    "us-east-1",
    "us-east-1a",
    "10.0.0.0/16",
    "arn:aws:iam::123456789012:role/r",
    "arn:aws:iam::aws:policy/ReadOnlyAccess",
    "https://charts.example.com",
    "acme/app",
    "./charts/app",
    "values/app.yaml",
    "composer/v1alpha1",
    "WorkloadProfile",
    "ClusterSettings",
    "example.com/key",
    "key",
    "value",
    "true",
    "NoSchedule",
    "ip",
    "nlb",
    "NET_ADMIN",
    "SYS_TIME",
    "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess",
    "/var/log",
]


def instance(schema: dict, rng: random.Random, root: dict | None = None, depth: int = 0) -> Any:
    root = root or schema
    if "$ref" in schema:
        return instance(_resolve(root, schema["$ref"]), rng, root, depth)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return rng.choice(schema["enum"])
    for key in ("oneOf", "anyOf"):
        if key in schema:
            return instance(rng.choice(schema[key]), rng, root, depth)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = rng.choice(kind)
    if kind is None and "properties" in schema:
        kind = "object"
    if kind == "object":
        out = {}
        required = set(schema.get("required", ()))
        for name, sub in (schema.get("properties") or {}).items():
            if name in required or (depth < 6 and rng.random() < 0.35):
                out[name] = instance(sub, rng, root, depth + 1)
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict) and rng.random() < 0.3:
            out[rng.choice(["example.com/key", "key", "a"])] = instance(extra, rng, root, depth + 1)
        return out
    if kind == "array":
        items = schema.get("items") or {}
        low, high = schema.get("minItems", 0), min(schema.get("maxItems", 3), 3)
        return [
            instance(items, rng, root, depth + 1) for _ in range(rng.choice(sorted({low, min(low + 1, high), high})))
        ]
    if kind in ("integer", "number"):
        low = schema.get("minimum", schema.get("exclusiveMinimum", 0) + (1 if "exclusiveMinimum" in schema else 0))
        high = schema.get("maximum", low + 100)
        value = rng.choice([low, high, low + (high - low) // 2 if kind == "integer" else (low + high) / 2])
        return int(value) if kind == "integer" else value
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "string":
        pattern = schema.get("pattern")
        fitting = [
            c
            for c in CANDIDATES
            if (pattern is None or re.search(pattern, c))
            and len(c) <= schema.get("maxLength", 10**6)
            and len(c) >= schema.get("minLength", 0)
        ]
        return rng.choice(fitting) if fitting else "a"
    return None


def _resolve(root: dict, ref: str) -> dict:
    node: Any = root
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node
