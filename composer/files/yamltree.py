"""YAML node graph → plain dicts and lists that remember where each key and item came from.

Both parsers feed this one builder (libyaml through ruamel.yaml.clib, or ruamel's pure-Python
scanner), so they give identical trees. It builds only YAML core types (map, seq, str, int, float,
bool, null; ``<<`` merge keys) and enforces the safety limits while it builds: any other tag is
refused, duplicate keys are refused, aliases are shared rather than copied but their expanded size
is budgeted (a "billion laughs" document fails fast), and nesting depth is bounded.
Timestamps are kept as text: no profile field is a date, and text keeps the schema errors plain.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from composer.core.errors import short

TAG = "tag:yaml.org,2002:"
STR, INT, FLOAT, BOOL, NULL, MAP, SEQ, MERGE = (
    TAG + t for t in ("str", "int", "float", "bool", "null", "map", "seq", "merge")
)
_TEXT_TAGS = {STR, TAG + "timestamp", TAG + "value", "!", None}


class Map(dict):
    """A mapping; ``pos[key]`` is (key line, key column, value line, value column), 0-based."""

    __slots__ = ("pos",)


class Seq(list):
    """A sequence; ``pos[i]`` is (line, column) of item ``i``, 0-based."""

    __slots__ = ("pos",)


@dataclass
class TreeError(Exception):
    message: str
    line: int = 0  # 1-based; 0 when unknown
    col: int = 0
    hint: str = ""


# YAML 1.2 core schema resolution for plain scalars, by first character (ruamel's 1.2 table).
_RESOLVERS: dict[str, list[tuple[str, re.Pattern]]] | None = None


def _resolvers() -> dict[str, list[tuple[str, re.Pattern]]]:
    global _RESOLVERS
    if _RESOLVERS is None:
        from ruamel.yaml.resolver import implicit_resolvers

        table: dict[str, list[tuple[str, re.Pattern]]] = {}
        for versions, tag, regexp, first in implicit_resolvers:
            if (1, 2) in versions:
                for ch in first:
                    table.setdefault(ch, []).append((tag, regexp))
        _RESOLVERS = table
    return _RESOLVERS


def resolve_plain(value: str) -> str:
    """The core-schema tag of a plain (unquoted) scalar."""
    for tag, regexp in _resolvers().get(value[:1], ()):
        if regexp.match(value):
            return tag
    return STR


_BOOLS = {"true": True, "false": False, "yes": True, "no": False, "on": True, "off": False, "y": True, "n": False}


def _int(text: str, yaml11: bool = False) -> int:
    s = text.replace("_", "")
    sign = -1 if s[:1] == "-" else 1
    s = s.lstrip("+-")
    if ":" in s:  # YAML 1.1 sexagesimal (only under a %YAML 1.1 directive)
        value = 0
        for part in s.split(":"):
            value = value * 60 + int(part)
        return sign * value
    for prefix, base in (("0b", 2), ("0x", 16), ("0o", 8)):
        if s[:2].lower() == prefix:
            return sign * int(s[2:], base)
    if yaml11 and len(s) > 1 and s[0] == "0":  # YAML 1.1 octal: 010 is 8
        return sign * int(s, 8)
    return sign * int(s, 10)


def _float(text: str) -> float:
    s = text.replace("_", "").lower()
    if s.endswith(".nan"):
        return math.nan
    if s.endswith(".inf"):
        return -math.inf if s.startswith("-") else math.inf
    return float(s)


def _range_error(node: Any, what: str, hint: str = "use a smaller number, or quote it if you meant text"):
    mark = node.start_mark
    return TreeError(f"{short(node.value)} {what}", mark.line + 1, mark.column + 1, hint=hint)


def _tag(node: Any) -> str | None:
    """``node.tag``, without its cost: ruamel's property renders the Tag object to text on every call
    (a third of scan's parsing time); the text is kept on the Tag, which the composer shares per tag."""
    tag = node.ctag
    if tag is None:
        return None
    try:
        return tag.composer_text
    except AttributeError:
        tag.composer_text = text = str(tag)
        return text


def _scalar(node: Any, yaml11: bool = False) -> Any:
    tag, value = _tag(node), node.value
    if tag in _TEXT_TAGS:
        if node.style == ">":  # ruamel's pure scanner marks fold points with BEL for round-tripping
            return value.replace("\a", "")
        return value
    try:
        if tag == NULL:
            return None
        if tag == BOOL:
            return _BOOLS[value.lower()]
        if tag == INT:
            number = _int(value, yaml11) if len(value) <= 100 else 2**63
            if not -(2**63) <= number < 2**63:
                raise _range_error(node, "is out of range: integers stop at 2^63-1")
            return number
        if tag == FLOAT:
            number = _float(value)
            if not math.isfinite(number):
                raise _range_error(node, "is not a finite number", "compose's inputs take finite numbers only")
            return number
    except (KeyError, ValueError):
        mark = node.start_mark
        raise TreeError(
            f"cannot read {short(value)!r} as {tag.removeprefix(TAG)}",
            mark.line + 1,
            mark.column + 1,
            hint="remove the explicit tag or fix the value",
        ) from None
    if tag == MERGE:
        return "<<"
    raise _tag_error(node)


def _tag_error(node: Any) -> TreeError:
    mark = node.start_mark
    return TreeError(
        f"YAML tag {node.tag!r} is not allowed",
        mark.line + 1,
        mark.column + 1,
        hint="profiles use plain YAML: remove the tag",
    )


class Builder:
    """Builds one document; aliases (the same node object) are built once and shared."""

    def __init__(self, max_nodes: int, max_depth: int, yaml11: bool = False, duplicates: list | None = None) -> None:
        self.max_nodes, self.max_depth, self.yaml11 = max_nodes, max_depth, yaml11
        self.duplicates = duplicates  # a list: a repeated key keeps its last value, noted here (manifests)
        self.done: dict[int, tuple[Any, int]] = {}  # id(node) -> (value, expanded size)
        self.active: set[int] = set()

    def build(self, node: Any, depth: int = 0) -> tuple[Any, int]:
        key = id(node)
        if key in self.done:
            return self.done[key]
        if key in self.active:
            mark = node.start_mark
            raise TreeError("recursive alias (a node contains itself)", mark.line + 1, mark.column + 1)
        if depth > self.max_depth:
            mark = node.start_mark
            raise TreeError(f"document nests deeper than {self.max_depth} levels", mark.line + 1, mark.column + 1)
        kind = node.id
        if kind == "scalar":
            result = (_scalar(node, self.yaml11), 1)
        else:
            self.active.add(key)
            result = self._mapping(node, depth) if kind == "mapping" else self._sequence(node, depth)
            self.active.discard(key)
        if result[1] > self.max_nodes:
            raise TreeError(
                f"document expands to more than {self.max_nodes:,} nodes",
                hint="too many aliases (*ref) or a very large document",
            )
        self.done[key] = result
        return result

    def _sequence(self, node: Any, depth: int) -> tuple[Seq, int]:
        if _tag(node) not in (SEQ, None):
            raise _tag_error(node)
        out, size = Seq(), 1
        out.pos = []
        for item in node.value:
            value, n = self.build(item, depth + 1)
            out.append(value)
            out.pos.append((item.start_mark.line, item.start_mark.column))
            size += n
        return out, size

    def _mapping(self, node: Any, depth: int) -> tuple[Map, int]:
        if _tag(node) not in (MAP, None):
            raise _tag_error(node)
        out, size = Map(), 1
        out.pos = {}
        merges = []
        for key_node, value_node in node.value:
            if key_node.id != "scalar":
                mark = key_node.start_mark
                raise TreeError("mapping keys must be plain scalars", mark.line + 1, mark.column + 1)
            key = _scalar(key_node, self.yaml11)
            value, n = self.build(value_node, depth + 1)
            size += n + 1
            if _tag(key_node) == MERGE:
                merges.append((value_node, value))
                continue
            if key in out and self.duplicates is not None:
                mark = key_node.start_mark
                self.duplicates.append((str(key), mark.line + 1, mark.column + 1, out.pos[key][0] + 1))
                del out[key]  # (the last one wins, in the last one's place)
            elif key in out:
                mark = key_node.start_mark
                first = out.pos[key][0] + 1
                raise TreeError(
                    f'duplicate key "{key}" (first on line {first})',
                    mark.line + 1,
                    mark.column + 1,
                    hint="remove one of the two keys",
                )
            out[key] = value
            out.pos[key] = (
                key_node.start_mark.line,
                key_node.start_mark.column,
                value_node.start_mark.line,
                value_node.start_mark.column,
            )
        for value_node, value in merges:  # explicit keys win over merged ones
            sources = value if isinstance(value, Seq) else [value]
            for source in sources:
                if not isinstance(source, Map):
                    mark = value_node.start_mark
                    raise TreeError(
                        "a merge key (<<) takes a mapping or a list of mappings", mark.line + 1, mark.column + 1
                    )
                for k, v in source.items():
                    if k not in out:
                        out[k], out.pos[k] = v, source.pos[k]
        return out, size


def build(node: Any, *, max_nodes: int, max_depth: int, yaml11: bool = False, duplicates: list | None = None) -> Any:
    """The data of a composed YAML document (``None`` for an empty one).

    ``yaml11``: the document declared ``%YAML 1.1``, so ``010`` is octal (tags were resolved by then).
    ``duplicates``: read a repeated key as Kubernetes does (the last value wins) and note each in this
    list as (key, line, column, line of the first); without it a repeated key is an error.
    """
    return None if node is None else Builder(max_nodes, max_depth, yaml11, duplicates).build(node)[0]


def plain(node: Any) -> Any:
    """A loaded tree (``Map``/``Seq``, positions and all) as plain dicts and lists with string keys."""
    if isinstance(node, dict):
        return {str(k): plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [plain(v) for v in node]
    return node
