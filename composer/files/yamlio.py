"""YAML at the edges: safe loading with positions and limits, stable dumping, atomic writes.

Loading composes the YAML node graph and builds plain data from it with ``composer.files.yamltree``,
which keeps the line and column of every key and item and enforces the limits (core tags only,
bounded alias expansion and depth, no duplicate keys). Composing uses libyaml through
ruamel.yaml.clib when it is installed (about five times faster than pure Python) and ruamel's
pure YAML 1.2 scanner otherwise, and for anything libyaml rejects or would read differently:
YAML 1.1 syntax or a ``%YAML`` directive. Deep nesting, flow (``[[[[…``) or block (``- - - …``,
ever deeper indentation), is refused before a node graph is composed: composing recurses per level,
in C with libyaml, where some 40,000 levels crash the interpreter.
"""

from __future__ import annotations

import functools
import io
import os
import re
from pathlib import Path
from typing import Any

from composer.core.errors import ComposerError, fail
from composer.core.model import Source, parse_field

MAX_BYTES = 1024 * 1024  # a profile or composer.yaml is a few KiB; 1 MiB is generous
MAX_NODES = 100_000  # after alias expansion
MAX_DEPTH = 64
MAX_FLOW_BRACKETS = 2_000  # above this many, measure flow nesting before any parser recurses into it


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
            raise fail(
                f"file is {size:,} bytes, more than the {max_bytes:,} byte limit",
                where,
                hint="profiles are small YAML documents; is this the right file?",
            )
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


_C_COMPOSER: Any = None


def _c_composer() -> Any:
    """libyaml's parser with a YAML 1.2 core-schema resolver, or ``False`` without ruamel.yaml.clib."""
    global _C_COMPOSER
    if _C_COMPOSER is None:
        try:
            from ruamel.yaml.cyaml import CParser
        except ImportError:
            _C_COMPOSER = False
            return _C_COMPOSER
        from ruamel.yaml.nodes import MappingNode, ScalarNode
        from ruamel.yaml.tag import Tag

        from composer.files.yamltree import MAP, SEQ, STR, resolve_plain

        tags: dict[str, Tag] = {}  # one shared Tag per tag: a node would otherwise make (and decode) its own

        class Composer(CParser):  # type: ignore[misc,valid-type]
            def resolve(self, kind: type, value: str, implicit: tuple[bool, bool]) -> Tag:
                if kind is ScalarNode:
                    tag = resolve_plain(value) if implicit[0] else STR
                else:
                    tag = MAP if kind is MappingNode else SEQ
                if tag not in tags:
                    tags[tag] = Tag(suffix=tag)
                return tags[tag]

            def descend_resolver(self, *args: Any) -> None:
                pass

            def ascend_resolver(self, *args: Any) -> None:
                pass

        _C_COMPOSER = Composer
    return _C_COMPOSER


def _compose(text: str, many: bool = False) -> Any:
    """The document's node graph (``None`` when empty); with ``many``, every document's, in order."""
    from ruamel.yaml.error import YAMLError

    composer = _c_composer()
    if composer and "%YAML" not in text and not os.environ.get("COMPOSE_PURE_YAML"):
        parser = composer(text)
        try:
            if not many:
                return parser.get_single_node()
            nodes = []
            while parser.check_node():
                nodes.append(parser.get_node())
            return nodes
        except YAMLError:
            pass  # libyaml speaks YAML 1.1 syntax and explains less: the pure scanner has the last word
        finally:
            parser.dispose()
    from ruamel.yaml import YAML

    pure = YAML(typ="rt", pure=True)
    return list(pure.compose_all(text)) if many else pure.compose(text)


def load(text: str, where: str) -> Any:
    """Parse one YAML document from ``text``; errors carry ``where`` and the position."""
    return _load(text, where, MAX_NODES)


def load_all(text: str, where: str, *, max_nodes: int = MAX_NODES) -> list[Any]:
    """Every document of a multi-document stream (``---``), with positions; empty ones skipped."""
    return [doc for doc in _load(text, where, max_nodes, many=True) if doc is not None]


# a line that starts a new document of a stream (``---``, alone or before content)
_DOCUMENT_START = re.compile(r"^---(?=[ \t]|$)", re.M)


def load_stream(text: str, where: str, *, max_nodes: int = MAX_NODES) -> tuple[list[Any], list, list]:
    """Manifests as Kubernetes reads them: (documents, problems, duplicates). A repeated key keeps its
    last value, as kubectl and the API server do, and is noted in ``duplicates`` (key, line, column, line
    of the first). A document that cannot be read is a problem of its own; the others are still read.
    Profiles and composer.yaml stay strict (``load``, ``load_all``)."""
    duplicates: list = []
    try:
        docs = _load(text, where, max_nodes, many=True, duplicates=duplicates)
        return [d for d in docs if d is not None], [], duplicates
    except ComposerError:
        pass
    documents, problems, duplicates = [], [], []
    starts = [0] + [m.start() for m in _DOCUMENT_START.finditer(text) if m.start() > 0]
    for begin, end in zip(starts, starts[1:] + [len(text)]):
        # (each document alone, after as many empty lines as precede it: positions stay those of the file)
        chunk = "\n" * text.count("\n", 0, begin) + text[begin:end]
        try:
            found = _load(chunk, where, max_nodes, many=True, duplicates=duplicates)
        except ComposerError as exc:
            problems += exc.problems
            continue
        documents += [d for d in found if d is not None]
    return documents, problems, duplicates


def _load(text: str, where: str, max_nodes: int, many: bool = False, duplicates: list | None = None) -> Any:
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    from composer.files import yamltree

    if text.count("[") + text.count("{") > MAX_FLOW_BRACKETS:
        _check_flow_depth(text, where)
    if _DEEP_LINE.search(text):
        _check_block_depth(text, where)
    try:
        node = _compose(text, many)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = (exc.problem or exc.context or "invalid YAML").strip()
        hint = ""
        if "another document" in message:
            message, hint = "more than one YAML document", "put one document in each file"
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        raise fail(f"invalid YAML: {message}", where, line, col, hint=hint) from None
    except (YAMLError, RecursionError, ValueError) as exc:
        raise fail(f"invalid YAML: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}", where) from None
    yaml11 = re.search(r"^%YAML\s+1\.1", text, re.M) is not None
    try:
        if many:
            return [
                yamltree.build(n, max_nodes=max_nodes, max_depth=MAX_DEPTH, yaml11=yaml11, duplicates=duplicates)
                for n in node
            ]
        return yamltree.build(node, max_nodes=max_nodes, max_depth=MAX_DEPTH, yaml11=yaml11, duplicates=duplicates)
    except yamltree.TreeError as exc:
        raise fail(exc.message, where, exc.line, exc.col, hint=exc.hint) from None
    except RecursionError:
        raise fail(f"document nests deeper than {MAX_DEPTH} levels", where) from None


_BRACKET = re.compile(r"[\[\]{}]")


def _check_flow_depth(text: str, where: str) -> None:
    """Refuse flow collections nested deeper than ``MAX_DEPTH`` (counts brackets in strings too)."""
    depth = 0
    for match in _BRACKET.finditer(text):
        depth += 1 if match.group() in "[{" else -1
        if depth > MAX_DEPTH:
            line = text.count("\n", 0, match.start()) + 1
            col = match.start() - (text.rfind("\n", 0, match.start()) + 1) + 1
            raise fail(f"document nests deeper than {MAX_DEPTH} levels", where, line, col)


# A line that starts with this many columns of indentation and block indicators may open more than
# MAX_DEPTH levels (each level takes at least one column, or none for a sequence under a mapping key).
_DEEP_LINE = re.compile(r"^[ \t?:-]{%d,}" % (2 * MAX_DEPTH + 1), re.M)


def _check_block_depth(text: str, where: str) -> None:
    """Refuse collections nested deeper than ``MAX_DEPTH``, counted on the parser's event stream,
    which (unlike composing) keeps its own stack and never recurses."""
    from ruamel.yaml.error import YAMLError
    from ruamel.yaml.events import CollectionEndEvent, CollectionStartEvent

    composer = _c_composer()
    if composer:
        parser = composer(text)
        events = _events(parser)
    else:
        from ruamel.yaml import YAML

        parser, events = None, YAML(typ="rt", pure=True).parse(text)
    depth = 0
    try:
        for event in events:
            if isinstance(event, CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    mark = event.start_mark
                    raise fail(f"document nests deeper than {MAX_DEPTH} levels", where, mark.line + 1, mark.column + 1)
            elif isinstance(event, CollectionEndEvent):
                depth -= 1
    except YAMLError:
        return  # not valid YAML: composing will say where and why
    finally:
        if parser is not None:
            parser.dispose()


def _events(parser: Any) -> Any:
    while parser.check_event():
        yield parser.get_event()


def load_file(path: Path) -> Any:
    return load(read_text(path), str(path))


def locate(root: Any, path: tuple | list, *, key: bool = False) -> tuple[int, int]:
    """1-based (line, col) of the node at ``path`` inside a loaded document.

    With ``key=True`` the position of the mapping key itself is returned. When the full path does
    not exist, the position of the deepest existing ancestor is returned (never fails).
    """
    node, best = root, (1, 1)
    for step in path:
        pos = getattr(node, "pos", None)
        if pos is None:
            break
        if isinstance(node, dict) and step in node and step in pos:
            kl, kc, vl, vc = pos[step]
            best = (kl + 1, kc + 1) if key else (vl + 1, vc + 1)
        elif isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node) and step < len(pos):
            line, col = pos[step]
            best = (line + 1, col + 1)
        else:
            break
        node = node[step]
    return best


def position(source: Source, dotted: str) -> tuple[int, int]:
    """1-based (line, col) of the field ``dotted`` in the file ``source`` came from; (0, 0) if unknown.

    A source sent between processes has no tree; its file is read again (once, cached) when asked.
    """
    doc = source.doc
    if doc is None and source.reload:
        doc = _reread(source.path)
    return locate(doc, parse_field(dotted)) if doc is not None else (0, 0)


@functools.lru_cache(maxsize=64)
def _reread(path: str) -> Any:
    try:
        return load_file(Path(path))
    except ComposerError:
        return None


# ---------------------------------------------------------------- dumping and writing

# Strings YAML 1.1 readers (Go's yaml.v2/v3 used by helmfile, eksctl) would read as something else.
_AMBIGUOUS = re.compile(
    r"^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF"
    r"|null|Null|NULL|~|[-+]?(?:\d[\d_]*)?\.?\d[\d_]*(?:[eE][-+]?\d+)?|0x[0-9a-fA-F]+|0o?[0-7]+|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)"
    r"|\d+:\d+(?::\d+)*|=|<<|)$"
)


def dump(data: Any, header: str = "") -> str:
    """Dump plain data (dicts, lists, scalars) as block YAML, keeping key order; deterministic.

    The shapes compose writes (mappings, lists of scalars or mappings, simple strings, integers and
    booleans) go through a small emitter that writes exactly what ruamel.yaml writes for them, ten
    times faster; anything else (None, floats, nested lists, strings with line breaks or unusual
    characters) goes through ruamel.yaml itself. A test holds the two byte-identical."""
    lines: list[str] = []
    if isinstance(data, dict) and data and _fast_mapping(data, 0, lines):
        return _comment(header) + "\n".join(lines) + "\n"
    return _ruamel_dump(data, header)


def _comment(header: str) -> str:
    """``header`` as YAML comment lines (a blank line becomes a bare ``#``)."""
    return "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines())


# Strings the fast emitter writes plain (ruamel writes them plain too): no spaces, no characters that
# mean something to YAML, short enough never to be folded.
# ("[" and "]" are flow indicators, which only flow context forbids: ruamel writes "volumes[0]" plain.)
_PLAIN = re.compile(r"[A-Za-z0-9_./@+=-][A-Za-z0-9_./@+=:\[\]-]{0,199}")
# Strings it writes single-quoted when dump's rule asks for quotes: printable ASCII, no line breaks.
_QUOTABLE = re.compile(r"[ -~]{0,200}")


def _fast_scalar(value: Any) -> str | None:
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if not isinstance(value, str):
        return None
    if not value or _AMBIGUOUS.match(value) or value != value.strip() or value[0] in "!&*@`%|>'\"{[#,?-:":
        return "'" + value.replace("'", "''") + "'" if _QUOTABLE.fullmatch(value) and value else None
    if _PLAIN.fullmatch(value) and not value.endswith(":") and value[0] not in "-":
        return value
    return None


def _fast_mapping(data: dict, indent: int, lines: list[str], first_prefix: str | None = None, tree: Any = None) -> bool:
    """Append ``data``'s lines at ``indent``; the first line may start with ``first_prefix`` (a list's
    "- "). False when some value needs ruamel.yaml. With ``tree`` (a yamltree ``Map``), also fill it as
    loading the text would: the same values, with the positions where this writes them."""
    pad = " " * indent
    for index, (key, value) in enumerate(data.items()):
        lead = first_prefix if index == 0 and first_prefix is not None else pad
        name = _fast_scalar(key) if isinstance(key, str) else None
        if name is None:
            return False
        line, after = len(lines), indent + len(name) + 2  # the key's line; a scalar value's column
        if isinstance(value, (dict, list)):
            if not value:  # empty collections stay in flow style
                lines.append(f"{lead}{name}: {'{}' if isinstance(value, dict) else '[]'}")
                if tree is not None:
                    tree[key], tree.pos[key] = _branch(value), (line, indent, line, after)
                continue
            lines.append(f"{lead}{name}:")
            child = _branch(value) if tree is not None else None
            if isinstance(value, dict):  # a nested mapping starts at its first key; a list at its "- "
                ok, start = _fast_mapping(value, indent + 2, lines, tree=child), (line + 1, indent + 2)
            else:
                ok, start = _fast_sequence(value, indent + 2, lines, child), (line + 1, indent + 2)
            if not ok:
                return False
            if tree is not None:
                tree[key], tree.pos[key] = child, (line, indent, *start)
        else:
            text = _fast_scalar(value)
            if text is None:
                return False
            lines.append(f"{lead}{name}: {text}")
            if tree is not None:
                tree[key], tree.pos[key] = value, (line, indent, line, after)
    return True


def _fast_sequence(items: list, indent: int, lines: list[str], tree: Any = None) -> bool:
    pad = " " * indent
    for item in items:
        line = len(lines)
        if isinstance(item, dict) and item:
            child = _branch(item) if tree is not None else None
            if not _fast_mapping(item, indent + 2, lines, first_prefix=f"{pad}- ", tree=child):
                return False
            value = child
        elif isinstance(item, (dict, list)):
            return False  # empty mappings and nested lists: ruamel's layout
        else:
            text = _fast_scalar(item)
            if text is None:
                return False
            lines.append(f"{pad}- {text}")
            value = item
        if tree is not None:
            tree.append(value)
            tree.pos.append((line, indent + 2))
    return True


def _branch(value: Any) -> Any:
    from composer.files.yamltree import Map, Seq

    node = Map() if isinstance(value, dict) else Seq()
    node.pos = {} if isinstance(value, dict) else []
    return node


def dump_with_tree(data: dict, header: str = "") -> tuple[str, Any]:
    """``dump(data, header)`` and, when the fast emitter wrote it, the tree ``load`` would build from
    that text (values and positions, the header's lines counted), without parsing it; else ``None``."""
    lines = _comment(header).splitlines()
    tree = _branch(data)
    if data and _fast_mapping(data, 0, lines, tree=tree):
        return "\n".join(lines) + "\n", tree
    return dump(data, header), None


def _ruamel_dump(data: Any, header: str = "") -> str:
    from ruamel.yaml import YAML
    from ruamel.yaml.representer import RoundTripRepresenter
    from ruamel.yaml.scalarstring import SingleQuotedScalarString

    class Representer(RoundTripRepresenter):
        pass

    def represent_str(rep, value: str):
        if _AMBIGUOUS.match(value) or value != value.strip() or value[0] in "!&*@`%|>'\"{[#,?-:":
            return rep.represent_scalar("tag:yaml.org,2002:str", value, style="'")
        return rep.represent_scalar("tag:yaml.org,2002:str", value)

    from composer.files.yamltree import Map, Seq

    Representer.add_representer(str, represent_str)
    Representer.add_representer(Map, RoundTripRepresenter.represent_dict)
    Representer.add_representer(Seq, RoundTripRepresenter.represent_list)
    Representer.add_representer(SingleQuotedScalarString, RoundTripRepresenter.represent_single_quoted_scalarstring)
    y = YAML(typ="rt", pure=True)
    y.Representer = Representer
    y.default_flow_style = False
    y.width = 4096
    y.indent(mapping=2, sequence=4, offset=2)
    out = io.StringIO()
    out.write(_comment(header))
    y.dump(data, out)
    return out.getvalue()


TMP_TAG = "compose-"  # in the names of compose's temporaries, so that only those are ever cleaned up


def stage(path: Path, text: str, sync: bool = True) -> str:
    """Write ``text`` in full to a new temporary beside ``path`` (``.<name>.compose-<8 hex>.tmp``, mode 0644
    less the umask, as any new file), synced unless ``sync`` is false, and return its name; nothing is
    left behind when that fails. The folder is created when missing (tried first: scan writes
    thousands of files into a few folders, and each needless check is a system call)."""
    import secrets

    data = text.encode("utf-8")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    while True:
        tmp = os.path.join(path.parent, f".{path.name}.{TMP_TAG}{secrets.token_hex(4)}.tmp")
        try:
            fd = os.open(tmp, flags, 0o644)
            break
        except FileExistsError:
            continue
        except FileNotFoundError:
            path.parent.mkdir(parents=True, exist_ok=True)
            continue
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            if sync:
                os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException:
        _unlink(tmp)
        raise
    return tmp


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def write_atomic(path: Path, text: str, sync: bool = True) -> None:
    """Write ``text`` to ``path`` via a temporary file in the same folder and ``os.replace``: a reader
    sees the old file or the new one, never part of it. With ``sync`` false the data is not flushed
    here: a caller writing many files syncs their folders once at the end (``sync_folders``)."""
    tmp = stage(path, text, sync)
    try:
        os.replace(tmp, path)
    except BaseException:
        _unlink(tmp)
        raise


def sync_folders(folders) -> None:
    """Make the renames in ``folders`` durable (a folder's entries are synced through the folder itself)."""
    for folder in folders:
        try:
            fd = os.open(folder, os.O_RDONLY)
        except OSError:
            continue
        try:
            os.fsync(fd)
        except OSError:
            pass
        finally:
            os.close(fd)
