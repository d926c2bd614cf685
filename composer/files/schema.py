"""The bundled JSON Schemas (profile, composer) and schema errors mapped to file:line:col."""

from __future__ import annotations

import difflib
import hashlib
import json
import marshal
import os
import sys
import types
from functools import cache
from pathlib import Path
from typing import Any

from composer.core import inert
from composer.core.errors import Problem
from composer.files.yamlio import locate

SCHEMAS = ("profile", "composer", "clusterconfig")

_HINTS = {
    "name": "use a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit",
    "namespace": "use a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit",
}


def schema_path(name: str) -> Path:
    """Location of a bundled schema: inside the installed package, or the repo's schemas/ folder."""
    packaged = Path(__file__).parent.parent / "schemas" / f"{name}.schema.json"
    if packaged.is_file():
        return packaged
    return Path(__file__).resolve().parent.parent.parent / "schemas" / f"{name}.schema.json"


@cache
def schema(name: str) -> dict:
    if name not in SCHEMAS:
        raise KeyError(name)
    return json.loads(schema_path(name).read_text(encoding="utf-8"))


@cache
def validator(name: str):
    """A Draft 2020-12 validator for a bundled schema, built once per process.

    Local ``$ref``s are inlined first: resolving a reference costs more than the check it leads to,
    and a profile passes through a dozen of them. (The schemas themselves are checked against the
    2020-12 meta-schema by the tests, not on every run.)
    """
    from jsonschema import Draft202012Validator

    return Draft202012Validator(for_python(inline_refs(schema(name))), format_checker=None)


def for_draft(name: str, draft: str = "2020-12") -> dict:
    """A bundled schema as published; ``draft="7"`` rewrites it for draft-07 tools.

    The bundled schemas use no keyword newer than draft-07, so only ``$schema`` and the location of
    the definitions (``$defs`` → ``definitions``) change.
    """
    doc = schema(name)
    if draft == "2020-12":
        return doc
    text = json.dumps(doc).replace('"#/$defs/', '"#/definitions/')
    out = json.loads(text)
    out["$schema"] = "http://json-schema.org/draft-07/schema#"
    if "$defs" in out:
        out["definitions"] = out.pop("$defs")
    return out


def for_python(doc: Any) -> Any:
    """``doc`` with each ``pattern`` made to mean in Python's ``re`` what it means in JSON Schema.

    JSON Schema patterns are ECMA-262, where a final ``$`` matches only at the end of the text;
    Python's also matches before a final newline, so ``"api\\n"`` would pass ``^[a-z]+$``.
    """
    if isinstance(doc, list):
        return [for_python(item) for item in doc]
    if not isinstance(doc, dict):
        return doc

    def anchored(pattern: str) -> str:
        return pattern[:-1] + "\\Z" if pattern.endswith("$") and not pattern.endswith("\\$") else pattern

    out = {k: for_python(v) for k, v in doc.items()}
    if isinstance(doc.get("pattern"), str):
        out["pattern"] = anchored(doc["pattern"])
    if isinstance(doc.get("patternProperties"), dict):
        out["patternProperties"] = {anchored(k): for_python(v) for k, v in doc["patternProperties"].items()}
    return out


_ANNOTATIONS = {"$ref", "description", "title", "$comment", "examples"}


def inline_refs(doc: dict) -> dict:
    """``doc`` with every ``{"$ref": "#/$defs/x"}`` replaced by that definition (non-recursive ones)."""
    defs = doc.get("$defs", {})

    def walk(node: Any, seen: tuple[str, ...]) -> Any:
        if isinstance(node, list):
            return [walk(item, seen) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if (
            isinstance(ref, str)
            and ref.startswith("#/$defs/")
            and ref[8:] in defs
            and ref not in seen
            and set(node) <= _ANNOTATIONS
        ):
            target = walk(defs[ref[8:]], seen + (ref,))
            return {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return {k: (v if k == "$defs" else walk(v, seen)) for k, v in node.items()}

    return walk(doc, ())


@cache
def compiled(name: str):
    """fastjsonschema's compiled check of a bundled schema (its draft-07 form), built once.

    jsonschema stays the authority and the explainer: this only lets valid documents through
    quickly (about eight times faster per profile, and jsonschema is not even imported when
    everything is valid). Turning the schema into Python takes ~60 ms, so the compiled code is
    cached in the user's cache folder (see ``cache_dir``), like Python's own ``__pycache__``.
    """
    import fastjsonschema

    definition = for_python(for_draft(name, "7"))
    key = hashlib.sha256(json.dumps([definition, fastjsonschema.VERSION, sys.version], sort_keys=True).encode())
    folder = cache_dir()
    path = folder / f"{name}-schema-{key.hexdigest()[:20]}.marshal" if folder else None
    code = None
    if path is not None and _trusted(path):
        try:
            code = marshal.loads(path.read_bytes())
        except (OSError, ValueError, EOFError, TypeError):
            code = None
    if not isinstance(code, types.CodeType):
        code = compile(fastjsonschema.compile_to_code(definition), f"<{name} schema check>", "exec")
        if path is not None:
            _store(path, marshal.dumps(code))
    namespace: dict[str, Any] = {}
    exec(code, namespace)  # defines the check functions; the first one is the entry point
    entry = next(c.co_name for c in code.co_consts if isinstance(c, types.CodeType))
    return namespace[entry]


def cache_dir() -> Path | None:
    """``$COMPOSE_CACHE_DIR``, else ``$XDG_CACHE_HOME/fargate-composer``, else ``~/.cache/…``; "off" disables."""
    configured = os.environ.get("COMPOSE_CACHE_DIR")
    if configured == "off":
        return None
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "fargate-composer"


def _owned(path: Path, folder: bool = False) -> bool:
    """``path`` is a plain file (or a folder) of this user's that nobody else can write."""
    import stat

    try:
        st = path.lstat()
    except OSError:
        return False
    kind = stat.S_ISDIR(st.st_mode) if folder else stat.S_ISREG(st.st_mode)
    mine = not hasattr(os, "getuid") or st.st_uid == os.getuid()
    return kind and mine and not st.st_mode & 0o022


def _trusted(path: Path) -> bool:
    """The cached code is executed, so it is read only from a file and folder that this user owns and
    nobody else can write (as ssh treats its keys); anything else is ignored and compiled afresh."""
    return _owned(path.parent, folder=True) and _owned(path)


def _store(path: Path, data: bytes) -> None:
    """Best effort and atomic: a read-only or full disk only means compiling again next time."""
    import tempfile

    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _owned(path.parent, folder=True):
            return
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")  # created 0600
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except OSError:
        pass


def accepts(name: str, data: Any) -> bool:
    """Whether the compiled check accepts ``data`` (never more than jsonschema accepts; tested)."""
    from fastjsonschema import JsonSchemaException

    try:
        compiled(name)(data)
    except JsonSchemaException:
        return False
    except TypeError:  # (a key that is not text meets a key pattern: validate says which)
        return False
    return True


def validate(name: str, data: Any, where: str) -> list[Problem]:
    """All schema problems of ``data``, each located in the source YAML, in document order.

    The compiled check answers first; jsonschema runs only when it rejects, to explain why.
    """
    if accepts(name, data):
        return []
    odd = list(_non_string_keys(data, ()))
    if odd:  # (JSON Schema has string keys only: these would not even reach its checks)
        return [
            Problem(
                f"the key {key!r} of '{'.'.join(map(str, path)) or '(top level)'}' is not text",
                where,
                *locate(data, (*path, key), key=True),
                hint="write the key as text (quote it), or remove it",
                check="schema",
            )
            for path, key in odd
        ]
    problems: list[Problem] = []
    for error in validator(name).iter_errors(data):
        problems.extend(_explain(error, data, where))
    problems.sort(key=lambda p: (p.line, p.col, p.message))
    return problems


def _non_string_keys(data: Any, path: tuple):
    """(path, key) of every mapping key in ``data`` that is not a string (YAML allows ``1:``, ``~:``, …)."""
    if isinstance(data, dict):
        for key, value in data.items():
            if not isinstance(key, str):
                yield path, key
            else:
                yield from _non_string_keys(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _non_string_keys(value, (*path, index))


def _short(value: Any) -> Any:
    """A value fit to print: credentials redacted, at most 80 characters."""
    if not isinstance(value, str):
        return value
    value = inert.redact(value)
    return value if len(value) <= 80 else value[:77] + "..."


def _describe(value: Any) -> str:
    """What a YAML value is, in words (loaded mappings and lists are dict and list subclasses)."""
    for kind, words in (
        (bool, "a boolean"),
        (dict, "a mapping"),
        (list, "a list"),
        (str, "a string"),
        (int, "an integer"),
        (float, "a number"),
    ):
        if isinstance(value, kind):
            return words
    return "null" if value is None else "a value of another kind"


def _show(value: Any) -> str:
    """A value as a message shows it: short, credentials redacted."""
    if isinstance(value, (dict, list)):
        return _describe(value)
    if isinstance(value, float):
        return f"{value:.6g}"
    text = repr(_short(value))
    return text if len(text) <= 40 else f"{text[:20]}…{text[-10:]} ({len(text)} characters)"


def _bound_message(field: str, validator_name: str, instance: Any, limit: Any) -> str:
    if validator_name in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        word = {
            "minimum": "at least",
            "exclusiveMinimum": "more than",
            "maximum": "at most",
            "exclusiveMaximum": "less than",
        }[validator_name]
        return f"'{field}' is {_show(instance)}; it must be {word} {limit:,}"
    if validator_name in ("minItems", "maxItems"):
        bound = "at least" if validator_name == "minItems" else "at most"
        return f"'{field}' has {len(instance)} item(s); it needs {bound} {limit}"
    if validator_name in ("minLength", "maxLength"):
        return (
            f"'{field}' is {len(instance)} characters long; it must be "
            f"{'at least' if validator_name == 'minLength' else 'at most'} {limit}"
        )
    return f"'{field}' lists the same item more than once"


def _field(path: list) -> str:
    parts = ""
    for step in path:
        parts += f"[{step}]" if isinstance(step, int) else (f".{step}" if parts else str(step))
    return parts or "document"


def _explain(error, root: Any, where: str) -> list[Problem]:
    path = list(error.absolute_path)
    field = _field(path)
    instance, validator_name, schema_part = error.instance, error.validator, error.schema

    def at(p: list, msg: str, hint: str = "", key: bool = False) -> Problem:
        line, col = locate(root, p, key=key)
        return Problem(msg, where, line, col, hint, "schema")

    if validator_name == "additionalProperties" and isinstance(instance, dict):
        known = list(schema_part.get("properties", {}))
        import re

        patterns = [re.compile(p) for p in schema_part.get("patternProperties", {})]
        out = []
        for extra in instance:
            if extra in known or any(p.search(str(extra)) for p in patterns):
                continue
            close = difflib.get_close_matches(str(extra), known, n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"known fields: {', '.join(known)}"
            out.append(at(path + [extra], f"unknown field '{_field(path + [extra])}'", hint, key=True))
        return out
    if validator_name == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        target = "top level" if not path else f"'{field}'"
        return [at(path, f"missing required field '{missing}' in {target}", key=bool(path))]
    if validator_name == "type":
        expected = schema_part.get("type")
        wanted = " or ".join(expected) if isinstance(expected, list) else expected
        article = "an " if str(wanted)[0] in "aeiou" else "a "
        return [at(path, f"'{field}' must be {article}{wanted}, not {_describe(instance)}")]
    if validator_name in ("enum", "const"):
        allowed = schema_part.get("enum") or [schema_part.get("const")]
        close = difflib.get_close_matches(str(instance), [str(a) for a in allowed], n=1)
        hint = f"did you mean '{close[0]}'?" if close else ""
        return [at(path, f"'{field}' is {_show(instance)}; expected one of: {', '.join(map(str, allowed))}", hint)]
    if validator_name == "anyOf" and "quantity" in str(schema_part.get("description", "")).lower():
        return [
            at(
                path,
                f"'{field}' is not a valid quantity: {_show(instance)}",
                "use a non-negative Kubernetes quantity such as 500m, 2, 512Mi or 1Gi",
            )
        ]
    if validator_name == "pattern":
        last = path[-1] if path else ""
        hint = _HINTS.get(str(last)) or schema_part.get("description", "") or f"must match {schema_part['pattern']}"
        if isinstance(instance, str) and inert.has_credentials(instance):
            return [
                at(
                    path,
                    f"'{field}' has credentials in it: {inert.redact(instance)!r}",
                    "never put user:password in a URL (it ends up in files and logs); helmfile reads a "
                    "repository's username and password from the environment, see docs/profile.md",
                )
            ]
        if isinstance(instance, str) and any(m in instance for m in inert.TEMPLATE_MARKERS):
            return [at(path, f"'{field}' contains template syntax ({{{{ or }}}}), which helmfile would execute", hint)]
        return [at(path, f"'{field}' has an invalid value {_short(instance)!r}", hint)]
    if validator_name == "propertyNames":
        return [at(path, f"'{field}' has an invalid key {_show(instance)}", "keys must be valid Kubernetes label keys")]
    if validator_name in (
        "minimum",
        "exclusiveMinimum",
        "maximum",
        "exclusiveMaximum",
        "minItems",
        "maxItems",
        "minLength",
        "maxLength",
        "uniqueItems",
    ):
        return [at(path, _bound_message(field, validator_name, instance, error.validator_value))]
    message = error.message if len(error.message) <= 200 else error.message[:150] + " …"
    return [at(path, f"'{field}': {message}")]
