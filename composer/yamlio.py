"""YAML at the edges: safe loading with positions and limits, stable dumping, atomic writes.

Loading uses ruamel.yaml's round-trip parser because it keeps line/column for every key and item.
It never constructs Python objects from tags; any tag outside the YAML core schema is rejected, and
the loaded tree is walked once with a node budget so an alias "billion laughs" cannot blow up the
consumers (schema validation, rules) that traverse it.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from composer.errors import fail

MAX_BYTES = 1024 * 1024  # a profile or composer.yaml is a few KiB; 1 MiB is generous
MAX_NODES = 100_000  # after alias expansion
MAX_DEPTH = 64


def _yaml(pure: bool = True):
    from ruamel.yaml import YAML

    y = YAML(typ="rt", pure=pure)
    y.allow_duplicate_keys = False
    return y


def read_text(path: Path, *, max_bytes: int = MAX_BYTES) -> str:
    """Read a small UTF-8 text file, refusing binary, oversized and non-UTF-8 files up front."""
    where = str(path)
    try:
        if not path.is_file():
            if path.exists():
                raise fail("not a regular file", where, hint="give a YAML file")
            raise fail("file not found", where)
        size = path.stat().st_size
        if size > max_bytes:
            raise fail(f"file is {size:,} bytes, more than the {max_bytes:,} byte limit", where,
                       hint="profiles are small YAML documents; is this the right file?")
        data = path.read_bytes()
    except OSError as exc:
        raise fail(f"cannot read file: {exc.strerror or exc}", where) from None
    if b"\x00" in data:
        raise fail("binary file (contains NUL bytes)", where, hint="give a UTF-8 YAML file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise fail("file is not valid UTF-8", where, line, col, hint="save it as UTF-8") from None


def load(text: str, where: str) -> Any:
    """Parse one YAML document from ``text``; errors carry ``where`` and the position."""
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    try:
        data = _yaml().load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = (exc.problem or exc.context or "invalid YAML").strip()
        hint = ""
        if "another document" in message:
            message, hint = "more than one YAML document", "put one document in each file"
        elif "duplicate key" in message:
            hint = "remove one of the two keys"
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        raise fail(f"invalid YAML: {message}", where, line, col, hint=hint) from None
    except (YAMLError, RecursionError, ValueError) as exc:
        raise fail(f"invalid YAML: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}", where) from None
    _check_tree(data, where)
    return data


def load_file(path: Path) -> Any:
    return load(read_text(path), str(path))


_CORE_TAGS = {None, "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:str",
              "tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:bool",
              "tag:yaml.org,2002:null"}


def _check_tree(root: Any, where: str) -> None:
    """Reject custom tags, cyclic aliases, and trees too large or deep once aliases are expanded."""
    budget = MAX_NODES
    stack: list[tuple[Any, int, Any]] = [(root, 0, None)]
    active: set[int] = set()
    while stack:
        node, depth, parent = stack.pop()
        if node is _EXIT:
            active.discard(parent)
            continue
        budget -= 1
        if budget < 0:
            raise fail(f"document expands to more than {MAX_NODES:,} nodes", where,
                       hint="too many aliases (*ref) or a very large document")
        if depth > MAX_DEPTH:
            raise fail(f"document nests deeper than {MAX_DEPTH} levels", where)
        tag = getattr(node, "tag", None)
        tag_value = getattr(tag, "value", tag) if tag is not None else None
        if isinstance(node, bytes):  # !!binary is constructed to bytes without keeping its tag
            tag_value = "tag:yaml.org,2002:binary"
        if tag_value not in _CORE_TAGS and not isinstance(node, (str, int, float, bool)):
            line, col = _position_of(parent, node)
            raise fail(f"YAML tag {tag_value!r} is not allowed", where, line, col,
                       hint="profiles use plain YAML: remove the tag")
        if isinstance(node, (dict, list)):
            if id(node) in active:
                raise fail("recursive alias (a node contains itself)", where)
            active.add(id(node))
            stack.append((_EXIT, depth, id(node)))
            children = list(node.values()) + list(node.keys()) if isinstance(node, dict) else node
            stack.extend((child, depth + 1, node) for child in children)


_EXIT = object()


def _position_of(parent: Any, child: Any) -> tuple[int, int]:
    try:
        if isinstance(parent, dict):
            for key, value in parent.items():
                if value is child:
                    line, col = parent.lc.value(key)
                    return line + 1, col + 1
        elif isinstance(parent, list):
            for index, value in enumerate(parent):
                if value is child:
                    line, col = parent.lc.item(index)
                    return line + 1, col + 1
    except (AttributeError, KeyError, TypeError):
        pass
    return 0, 0


def locate(root: Any, path: tuple | list, *, key: bool = False) -> tuple[int, int]:
    """1-based (line, col) of the node at ``path`` inside a loaded document.

    With ``key=True`` the position of the mapping key itself is returned. When the full path does
    not exist, the position of the deepest existing ancestor is returned (never fails).
    """
    node, best = root, (1, 1)
    for step in path:
        try:
            if isinstance(node, dict) and step in node:
                line, col = node.lc.key(step) if key else node.lc.value(step)
                best, node = (line + 1, col + 1), node[step]
            elif isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node):
                line, col = node.lc.item(step)
                best, node = (line + 1, col + 1), node[step]
            else:
                break
        except (AttributeError, KeyError, TypeError):
            break
    return best


# ---------------------------------------------------------------- dumping and writing

# Strings YAML 1.1 readers (Go's yaml.v2/v3 used by helmfile, eksctl) would read as something else.
_AMBIGUOUS = re.compile(
    r"^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF"
    r"|null|Null|NULL|~|[-+]?(?:\d[\d_]*)?\.?\d[\d_]*(?:[eE][-+]?\d+)?|0x[0-9a-fA-F]+|0o?[0-7]+|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)"
    r"|\d+:\d+(?::\d+)*|=|<<|)$"
)


def dump(data: Any, header: str = "") -> str:
    """Dump plain data (dicts, lists, scalars) as block YAML, keeping key order; deterministic."""
    from ruamel.yaml import YAML
    from ruamel.yaml.representer import RoundTripRepresenter
    from ruamel.yaml.scalarstring import SingleQuotedScalarString

    class Representer(RoundTripRepresenter):
        pass

    def represent_str(rep, value: str):
        if _AMBIGUOUS.match(value) or value != value.strip() or value[0] in "!&*@`%|>'\"{[#,?-:":
            return rep.represent_scalar("tag:yaml.org,2002:str", value, style="'")
        return rep.represent_scalar("tag:yaml.org,2002:str", value)

    Representer.add_representer(str, represent_str)
    Representer.add_representer(SingleQuotedScalarString, RoundTripRepresenter.represent_single_quoted_scalarstring)
    y = YAML(typ="rt", pure=True)
    y.Representer = Representer
    y.default_flow_style = False
    y.width = 4096
    y.indent(mapping=2, sequence=4, offset=2)
    out = io.StringIO()
    if header:
        out.write("".join(f"# {line}\n" if line else "#\n" for line in header.splitlines()))
    y.dump(data, out)
    return out.getvalue()


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file in the same folder and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
