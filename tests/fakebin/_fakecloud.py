"""Shared state of the fake eksctl / helmfile / helm used by the end-to-end apply tests.

The fakes keep a tiny "cloud" in $FAKE_CLOUD_DIR (cluster.json, releases.json), append every argv to
calls.jsonl, and behave like the real tools where compose depends on it: exit codes, the
"No cluster found" message, skipping existing Fargate profiles, refusing an invalid ClusterConfig.
$FAKE_FAIL="eksctl create nodegroup" makes the command whose argv starts with those words fail once;
with $FAKE_FAIL_AFTER=1 it does its work first and then dies as if interrupted (exit 130), which is
what a Ctrl-C or a lost connection after the cloud acted looks like to compose.
"""

from __future__ import annotations

import os
import sys

STATE = os.environ["FAKE_CLOUD_DIR"]  # (plain os.path: pathlib's import, which brings re, is a fake's start-up again)


def _read(path: str, mode: str = "r"):
    with open(path, mode) as handle:
        return handle.read()


def _write(path: str, text: str) -> None:
    with open(path, "w") as handle:
        handle.write(text)


class json:  # noqa: N801 (the fakes use it as they would the json module)
    """json.loads / json.dumps without importing the json module, whose import (it brings re) was a third
    of a fake's start-up, thousands of starts a test run. The work is done by CPython's own C scanner and
    encoder, the ones json itself uses (the _json module); dumps with an indent falls back to json."""

    class _Decoding:  # the settings json.JSONDecoder gives the C scanner
        strict, object_hook, object_pairs_hook, parse_float, parse_int = True, None, None, float, int
        parse_constant = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}.__getitem__

    @staticmethod
    def loads(text):
        import _json

        text = (text.decode() if isinstance(text, bytes) else text).strip()
        try:
            value, end = _json.make_scanner(json._Decoding)(text, 0)
        except StopIteration:
            raise ValueError(f"not JSON: {text[:60]!r}") from None
        if end != len(text):
            raise ValueError(f"not JSON: extra data at character {end}")
        return value

    @staticmethod
    def dumps(value, indent=None, sort_keys=False) -> str:
        if indent is not None:
            import json as module

            return module.dumps(value, indent=indent, sort_keys=sort_keys)
        import _json

        def refuse(o):
            raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")

        encode = _json.make_encoder(
            None, refuse, _json.encode_basestring_ascii, None, ": ", ", ", sort_keys, False, True
        )
        return "".join(encode(value, 0))


def record(tool: str, argv: list[str]) -> None:
    os.makedirs(STATE, exist_ok=True)
    with open(os.path.join(STATE, "calls.jsonl"), "a") as handle:
        handle.write(json.dumps([tool, *argv]) + "\n")


def maybe_fail(tool: str, argv: list[str]) -> None:
    hang = os.environ.get("FAKE_HANG", "").split()
    if hang and [tool, *argv][: len(hang)] == hang:  # a tool that ignores SIGTERM, with a child of its own
        import signal
        import subprocess
        import time

        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        child = subprocess.Popen(["sleep", "300"])
        _write(os.path.join(STATE, "hang-child-pid"), str(child.pid))
        time.sleep(300)
    wanted = os.environ.get("FAKE_FAIL", "").split()
    marker = os.path.join(STATE, "failed-once")
    if wanted and [tool, *argv][: len(wanted)] == wanted and not os.path.exists(marker):
        _write(marker, "1")
        if os.environ.get("FAKE_FAIL_AFTER"):
            import atexit

            atexit.register(lambda: (sys.stdout.flush(), print("^C interrupted", file=sys.stderr), os._exit(130)))
            return
        print("Error: waiter state transitioned to Failure", file=sys.stderr)
        print(
            "Error: failed to create nodegroup: AccessDenied: not authorized to perform ec2:RunInstances",
            file=sys.stderr,
        )
        sys.exit(1)


def load(name: str, default):
    path = os.path.join(STATE, name)
    return json.loads(_read(path)) if os.path.exists(path) else default


def save(name: str, value) -> None:
    """Atomically (compose runs its read-only probes side by side: a reader never sees half a file)."""
    temporary = os.path.join(STATE, f".{name}.{os.getpid()}")
    _write(temporary, json.dumps(value, sort_keys=True))
    os.replace(temporary, os.path.join(STATE, name))


def flag(argv: list[str], name: str) -> str | None:
    for i, arg in enumerate(argv):
        if arg == name and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def die(message: str, code: int = 1) -> None:
    print(f"Error: {message}", file=sys.stderr)
    sys.exit(code)


# The fakes start without site-packages (``python3 -S``: a fake is called dozens of times per test, and
# importing ruamel and jsonschema costs far more than what the fake does). A parsed file and a schema
# check that passed are kept by content hash, so the libraries are imported only on a cache miss.
# (hashlib and tempfile are imported only here: a fake that needs no cache starts without them)


def _cache_dir() -> str:
    import tempfile

    return os.environ.get("FAKE_CACHE_DIR") or os.path.join(tempfile.gettempdir(), f"compose-fake-cache-{os.getuid()}")


def _libraries() -> None:
    if sys.flags.no_site:
        import site

        site.main()


def _cached(kind: str, *parts: bytes) -> str:
    import hashlib

    digest = hashlib.sha256(b"\0".join(parts)).hexdigest()
    return os.path.join(_cache_dir(), f"{kind}-{digest}.json")


def read_yaml(path: str):
    if not path or not os.path.isfile(path):
        die(f"reading config file {path!r}: no such file")
    text = _read(path, "rb")
    cached = _cached("yaml", text)
    if os.path.isfile(cached):
        return json.loads(_read(cached))
    _libraries()
    from ruamel.yaml import YAML

    doc = YAML(typ="safe", pure=True).load(text.decode())
    try:
        _store(cached, json.dumps(doc))
    except (TypeError, ValueError):
        pass  # (a value JSON cannot hold, e.g. a date: not cached)
    return doc


def _store(path: str, text: str) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    partial = f"{os.path.splitext(path)[0]}.{os.getpid()}.tmp"
    _write(partial, text)
    os.replace(partial, path)


def check_schema(env: str, doc, what: str) -> None:
    schema_file = os.environ.get(env)
    if not schema_file:
        return
    schema_text = _read(schema_file, "rb")
    try:
        passed = _cached("valid", schema_text, json.dumps(doc, sort_keys=True).encode())
    except (TypeError, ValueError):
        passed = None
    if passed is not None and os.path.isfile(passed):
        return
    _libraries()
    from jsonschema import Draft7Validator, Draft202012Validator  # noqa: F401

    schema = json.loads(schema_text)
    cls = Draft7Validator if "draft-07" in schema.get("$schema", "draft-07") else Draft202012Validator
    errors = sorted(cls(schema).iter_errors(doc), key=lambda e: list(e.absolute_path))
    if errors:
        die(f"{what} is invalid: {errors[0].message} at {list(errors[0].absolute_path)}")
    if passed is not None:
        _store(passed, "true")


def ami_type(group: dict) -> str:
    """EKS's amiType for a fake managed group (what DescribeNodegroup reports), from its ImageID (eksctl's
    amiFamily) and instance type: Graviton types are ARM, g/p types NVIDIA."""
    import re

    instance = group.get("InstanceType", "")
    if str(group.get("ImageID", "")).startswith("Windows"):
        return "WINDOWS_FULL_2022_x86_64"
    arch = "ARM_64" if re.match(r"[a-z]+\d+g", instance) else "x86_64"
    return f"AL2023_{arch}_{'NVIDIA' if instance[:1] in ('g', 'p') else 'STANDARD'}"


def latest_release(version: str, amitype: str) -> str:
    """The newest AMI release the fake EKS publishes for ``version`` (releases.json-like amis.json:
    {"<version>/<amiType>" or "<version>": release}; by default <version>.0-20261101)."""
    amis = load("amis.json", {})
    return amis.get(f"{version}/{amitype}") or amis.get(version) or f"{version}.0-20261101"
