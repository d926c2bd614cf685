"""Read Kubernetes YAML for ``compose scan``: files, folders, multi-document streams, ``kind: List``, stdin.

Manifests are other people's, so they are read as Kubernetes reads them (``yamlio.load_stream``): a
repeated key keeps its last value, with a note (kubectl and the API server take the last one too), and a
document that cannot be parsed is reported on its own while the rest of the stream is read. A file that
cannot be read at all (missing, binary, too large, not UTF-8) is still an error.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterable, NamedTuple

from composer.core.errors import ComposerError, Problem, fail
from composer.files import yamlio
from composer.files.walk import yaml_files
from composer.load.kobjects import Obj

MAX_BYTES = 64 * 1024 * 1024  # `helm template` of a large umbrella chart runs to a few MB
MAX_NODES = 5_000_000  # per document, after alias expansion (large CRDs are big)


def _files(paths: Iterable[str]) -> list[str]:
    out: list[str] = []
    for raw in paths:
        if raw == "-":
            out.append("-")
            continue
        path = Path(raw)
        if path.is_file():
            out.append(raw)
        elif path.is_dir():
            out.extend(str(f) for f in yaml_files(path))
        else:
            raise fail("no such file or folder", raw, hint="give manifest files, folders, or - for standard input")
    return out


def _read_stdin() -> str:
    data = sys.stdin.buffer.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise fail(f"standard input is larger than {MAX_BYTES:,} bytes", "<stdin>")
    if b"\x00" in data:
        raise fail("binary data (contains NUL bytes)", "<stdin>")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise fail("standard input is not valid UTF-8", "<stdin>") from None


class Read(NamedTuple):
    objects: list[Obj]  # in input order
    problems: list[Problem]  # files that could not be read at all
    files: int
    unread: list[Problem]  # documents that could not be parsed (the rest of their stream was read)
    notes: list[str]  # repeated keys, each with the value Kubernetes keeps


def read_objects(paths: Iterable[str]) -> Read:
    """Every object of every file (see the module doc). A broken file is a problem, never a crash."""
    objects: list[Obj] = []
    problems: list[Problem] = []
    unread: list[Problem] = []
    notes: list[str] = []
    files = _files(paths)
    for file in files:
        where = "<stdin>" if file == "-" else file
        try:
            text = _read_stdin() if file == "-" else yamlio.read_text(Path(file), max_bytes=MAX_BYTES)
        except ComposerError as exc:
            problems += exc.problems
            continue
        documents, broken, repeated = yamlio.load_stream(text, where, max_nodes=MAX_NODES)
        unread += broken
        notes += [
            f'{where}:{line}:{col}: duplicate key "{key}" (first on line {first}); Kubernetes keeps this one, the last'
            for key, line, col, first in repeated
        ]
        for doc in documents:
            if not isinstance(doc, dict):
                continue
            line = min((p[0] for p in getattr(doc, "pos", {}).values()), default=0) + 1
            if doc.get("kind") == "List" and isinstance(doc.get("items"), list):
                items = doc["items"]
                for i, item in enumerate(items):
                    if isinstance(item, dict):
                        objects.append(Obj(item, where, items.pos[i][0] + 1))
            else:
                objects.append(Obj(doc, where, line))
    return Read(objects, problems, len(files), unread, notes)
