"""Shared state of the fake eksctl / helmfile / helm used by the end-to-end apply tests.

The fakes keep a tiny "cloud" in $FAKE_CLOUD_DIR (cluster.json, releases.json), append every argv to
calls.jsonl, and behave like the real tools where compose depends on it: exit codes, the
"No cluster found" message, skipping existing Fargate profiles, refusing an invalid ClusterConfig.
$FAKE_FAIL="eksctl create nodegroup" makes the command whose argv starts with those words fail once;
with $FAKE_FAIL_AFTER=1 it does its work first and then dies as if interrupted (exit 130), which is
what a Ctrl-C or a lost connection after the cloud acted looks like to compose.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

STATE = Path(os.environ["FAKE_CLOUD_DIR"])


def record(tool: str, argv: list[str]) -> None:
    STATE.mkdir(parents=True, exist_ok=True)
    with open(STATE / "calls.jsonl", "a") as handle:
        handle.write(json.dumps([tool, *argv]) + "\n")


def maybe_fail(tool: str, argv: list[str]) -> None:
    hang = os.environ.get("FAKE_HANG", "").split()
    if hang and [tool, *argv][: len(hang)] == hang:  # a tool that ignores SIGTERM, with a child of its own
        import signal
        import subprocess
        import time

        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        child = subprocess.Popen(["sleep", "300"])
        (STATE / "hang-child-pid").write_text(str(child.pid))
        time.sleep(300)
    wanted = os.environ.get("FAKE_FAIL", "").split()
    marker = STATE / "failed-once"
    if wanted and [tool, *argv][: len(wanted)] == wanted and not marker.exists():
        marker.write_text("1")
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
    path = STATE / name
    return json.loads(path.read_text()) if path.exists() else default


def save(name: str, value) -> None:
    """Atomically (compose runs its read-only probes side by side: a reader never sees half a file)."""
    temporary = STATE / f".{name}.{os.getpid()}"
    temporary.write_text(json.dumps(value, indent=1, sort_keys=True))
    os.replace(temporary, STATE / name)


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


def _cache_dir() -> Path:
    import tempfile

    return Path(os.environ.get("FAKE_CACHE_DIR") or Path(tempfile.gettempdir()) / f"compose-fake-cache-{os.getuid()}")


def _libraries() -> None:
    if sys.flags.no_site:
        import site

        site.main()


def _cached(kind: str, *parts: bytes) -> Path:
    import hashlib

    digest = hashlib.sha256(b"\0".join(parts)).hexdigest()
    return _cache_dir() / f"{kind}-{digest}.json"


def read_yaml(path: str):
    if not path or not Path(path).is_file():
        die(f"reading config file {path!r}: no such file")
    text = Path(path).read_bytes()
    cached = _cached("yaml", text)
    if cached.is_file():
        return json.loads(cached.read_text())
    _libraries()
    from ruamel.yaml import YAML

    doc = YAML(typ="safe", pure=True).load(text.decode())
    try:
        _store(cached, json.dumps(doc))
    except (TypeError, ValueError):
        pass  # (a value JSON cannot hold, e.g. a date: not cached)
    return doc


def _store(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    partial.write_text(text)
    os.replace(partial, path)


def check_schema(env: str, doc, what: str) -> None:
    schema_file = os.environ.get(env)
    if not schema_file:
        return
    schema_text = Path(schema_file).read_bytes()
    try:
        passed = _cached("valid", schema_text, json.dumps(doc, sort_keys=True).encode())
    except (TypeError, ValueError):
        passed = None
    if passed is not None and passed.is_file():
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
