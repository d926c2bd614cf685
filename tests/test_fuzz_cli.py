"""Mutated estates through ``compose validate`` and ``compose plan``, in-process, spread
over forked workers: none may end in exit 3 (a bug in compose), none may hang, and validate must
refuse exactly what plan refuses (validate passing what plan then rejects is a bug too).

Each case is the example estate's composer.yaml and three of its profiles, one file of which gets
one to three mutations: text edits (lines deleted, duplicated, swapped, re-indented, truncated,
characters inserted) and hostile values put in place of a scalar (huge and non-finite numbers,
template syntax, aliases, tags, deep nesting, long strings, bad CIDRs). ``COMPOSE_FUZZ_CASES`` sets
the count (default 400 per test run, from a new seed each run: see ``conftest.FUZZ_SEED``) and
``COMPOSE_FUZZ_SEED`` the seed; ``python bench/fuzz.py 20000`` runs a large batch.
"""

from __future__ import annotations

import contextlib
import io
import os
import random
import re
import shutil
import signal
import tempfile
from pathlib import Path

from composer.core import parallel
from tests.conftest import ROOT

CASES = int(os.environ.get("COMPOSE_FUZZ_CASES", "200"))  # (bench/fuzz.py runs many more)
SEED = int(os.environ["COMPOSE_FUZZ_SEED"])  # set by conftest (a new one each run unless given)
# (profiles that name no other release in `needs`, so any three of them make a valid estate)
PROFILES = sorted(p.relative_to(ROOT) for p in (ROOT / "profiles").rglob("*.yaml") if "needs:" not in p.read_text())
HOSTILE = [
    "1e999",
    ".nan",
    "-.inf",
    "0x" + "f" * 600,
    "9" * 500,
    "-1",
    "0",
    "99999999999999999999",
    "1.5",
    '"{{ exec \\"id\\" }}"',
    "'{{ env \"AWS_SECRET_ACCESS_KEY\" }}'",
    "*nope",
    "&a x",
    "[[[[",
    "{a: [b",
    "!!python/object:os.system x",
    "!!binary aGk=",
    "~",
    "true",
    "''",
    "a" * 5000,
    "10.0.0.1/99",
    "999.999.999.999/99",
    "eks-x",
    "- - - - x",
    "\t",
    "ünïcødé",
    ":",
    "|",
    ">-",
    "[]",
    "{}",
    "12E",
    "1Ei",
    "100000000Gi",
    "-5Gi",
    "https://u:p@x.example",
    "../../../../etc/passwd",
    "--post-renderer=x",
    "null",
    "[1, [2, [3, [4]]]]",
    "{x: {y: {z: 1}}}",
    "DaemonSet",
    "NodePort",
    "hostPath",
    "arm64",
    "windows",
]
SCALAR = re.compile(r"(:\s+|-\s+)([^\s#{}\[\],][^#\n]*)$", re.M)


def mutate(text: str, rng: random.Random) -> str:
    for _ in range(rng.randint(1, 3)):
        lines = text.split("\n")
        kind = rng.randrange(6) if rng.random() < 0.4 else 6  # most often a hostile value (reaches deeper)
        i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
        if kind == 0:
            del lines[i]
        elif kind == 1:
            lines.insert(i, lines[j])
        elif kind == 2:
            lines[i], lines[j] = lines[j], lines[i]
        elif kind == 3:
            lines[i] = ("  " + lines[i]) if rng.random() < 0.5 else lines[i][2:]
        elif kind == 4:
            text = text[: rng.randrange(len(text) + 1)]
            continue
        elif kind == 5:
            at = rng.randrange(len(text) + 1)
            text = text[:at] + rng.choice(":-[]{}&*!|>'\"#%@`\t\n ") + text[at:]
            continue
        else:  # a hostile value in place of a scalar
            found = list(SCALAR.finditer(text))
            if found:
                m = rng.choice(found)
                value = rng.choice(HOSTILE)
                if rng.random() < 0.5:  # quoted: a string that passes YAML and meets the schema and rules
                    value = "'" + value.replace("'", "''") + "'"
                text = text[: m.start(2)] + value + text[m.end(2) :]
            continue
        text = "\n".join(lines)
    return text


def quietly(argv: list[str], seconds: int) -> tuple[int | str, str]:
    """``compose ARGV`` in-process with its output captured: (exit code, or "hang" past ``seconds``; stderr)."""
    from composer.cli.main import main

    def timeout(signum, frame):
        raise TimeoutError

    signal.signal(signal.SIGALRM, timeout)
    err = io.StringIO()
    signal.alarm(seconds)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
            return main(argv), err.getvalue()
    except TimeoutError:
        return "hang", err.getvalue()
    finally:
        signal.alarm(0)


def run_cases(indices: list[int]) -> list[tuple[int, str]]:
    """Each case in a temporary estate: [(case, what went wrong)] (empty when all behaved)."""

    bad = []
    home = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        for case in indices:
            rng = random.Random(SEED * 1_000_003 + case)
            root = Path(tmp) / str(case)
            (root / "profiles").mkdir(parents=True)
            shutil.copytree(ROOT / "values", root / "values")
            chosen = rng.sample(PROFILES, 3)
            files = {Path("composer.yaml"): (ROOT / "composer.yaml").read_text()}
            files.update({p: (ROOT / p).read_text() for p in chosen})
            target = rng.choice(sorted(files))
            files[target] = mutate(files[target], rng)
            for path, text in files.items():
                (root / path).parent.mkdir(parents=True, exist_ok=True)
                (root / path).write_text(text)
            os.chdir(root)
            codes = {}
            try:
                for command in (["validate"], ["plan", "-o", "json"]):
                    codes[command[0]], err = quietly(command, 20)
                    if codes[command[0]] not in (0, 1):
                        bad.append((case, f"{target}: {command[0]} gave {codes[command[0]]}: {err[-300:]}"))
                if (
                    codes.get("validate") in (0, 1)
                    and codes.get("plan") in (0, 1)
                    and codes["validate"] != codes["plan"]
                ):
                    bad.append((case, f"{target}: validate exit {codes['validate']} but plan exit {codes['plan']}"))
            finally:
                os.chdir(home)
                shutil.rmtree(root, ignore_errors=True)
    return bad


def test_mutated_estates_never_crash_hang_or_disagree():
    indices = list(range(CASES))
    found = [
        item for chunk in parallel.map_chunks(run_cases, indices, jobs=parallel.default_jobs(10_000)) for item in chunk
    ]
    assert not found, f"{len(found)} of {CASES} cases misbehaved (COMPOSE_FUZZ_SEED={SEED}):\n" + "\n".join(
        f"case {case}: {what}" for case, what in found[:20]
    )


# ---------------------------------------------------------------- scan: mutated manifests written by others

MANIFEST = ROOT / "examples" / "storefront-rendered.yaml"
ODD_VALUES = ["x", 1, -1, 1.5, True, None, [], ["a"], [1, [2]], {}, {"a": "b"}, {"a": [1]}, "sh -c x", "1e999"]


def retype(text: str, rng: random.Random) -> str:
    """One field somewhere in the stream given a value of another type (what the API server would refuse,
    and what a hand-edited or generated manifest holds now and then)."""
    import json

    from composer.files.yamlio import load_all

    try:
        docs = [d for d in load_all(text, "fuzz", max_nodes=200_000) if isinstance(d, dict)]
    except Exception:
        return text
    if not docs:
        return text
    doc = json.loads(json.dumps(rng.choice(docs), default=str))
    node, path = doc, []
    while isinstance(node, (dict, list)) and node and rng.random() < 0.85:
        key = rng.choice(list(node)) if isinstance(node, dict) else rng.randrange(len(node))
        path.append(key)
        parent, node = node, node[key]
    if path:
        parent[path[-1]] = rng.choice(ODD_VALUES)
    return text + "\n---\n" + json.dumps(doc)


def run_scan_cases(indices: list[int]) -> list[tuple[int, str]]:

    bad, home, source = [], os.getcwd(), MANIFEST.read_text()
    with tempfile.TemporaryDirectory() as tmp:
        for case in indices:
            rng = random.Random(SEED * 1_000_033 + case)
            text = retype(source, rng) if rng.random() < 0.6 else mutate(source, rng)
            root = Path(tmp) / str(case)
            root.mkdir()
            (root / "m.yaml").write_text(text)
            os.chdir(root)
            try:
                code, err = quietly(["scan", "m.yaml", "--format", "json"], 20)
            finally:
                os.chdir(home)
                shutil.rmtree(root, ignore_errors=True)
            if code not in (0, 1, 6):  # (6: a document could not be parsed, the rest was scanned)
                bad.append((case, f"scan gave {code}: {err[-300:]}"))
    return bad


def test_mutated_manifests_never_crash_or_hang_scan():
    """Scan reads other people's manifests: mutated text and fields of the wrong type are an error for that
    document or are read, never an exit 3 or a hang (COMPOSE_FUZZ_CASES / 2 cases per run)."""
    indices = list(range(max(1, CASES // 2)))
    found = [
        item
        for chunk in parallel.map_chunks(run_scan_cases, indices, jobs=parallel.default_jobs(10_000))
        for item in chunk
    ]
    assert not found, f"{len(found)} of {len(indices)} scans misbehaved (COMPOSE_FUZZ_SEED={SEED}):\n" + "\n".join(
        f"case {case}: {what}" for case, what in found[:20]
    )


def test_odd_environment_values_are_input_errors_or_ignored_never_crashes(tmp_path, capsys, monkeypatch):
    """COLUMNS, NO_COLOR, COMPOSE_HEARTBEAT_SECONDS, COMPOSE_LOCK_DIR, XDG_STATE_HOME with odd values."""
    from composer.cli.main import main
    from tests.conftest import profile_doc, write_estate

    work = write_estate(tmp_path, [profile_doc("api", "shop")])
    monkeypatch.chdir(work)
    rng = random.Random(SEED)
    odd = ["", "abc", "-1", "0", "1e999", "nan", "\x1b[2J", "/dev/null", "/nonexistent/x", "9" * 50, "ünï"]
    for _ in range(12):
        for name in ("COLUMNS", "NO_COLOR", "COMPOSE_HEARTBEAT_SECONDS", "COMPOSE_LOCK_DIR", "XDG_STATE_HOME"):
            monkeypatch.setenv(name, rng.choice(odd))
        for argv in (["plan", "--no-diff"], ["validate"], ["apply", "--dry-run"]):
            code = main(argv)
            err = capsys.readouterr().err
            assert code in (0, 1) and "internal error" not in err, (argv, code, err[-300:])


# ---------------------------------------------------------------- schema-valid edge estates


UPSTREAM_FILES = (("eksctl-clusterconfig.schema.json", "cluster.yaml"), ("helmfile.schema.json", "helmfile.yaml"))


def run_edge_cases(indices: list[int]) -> list[tuple[int, str]]:
    """Estates of 2-4 profiles the profile schema accepts, values at its bounds (tests/schema_instances.py):
    validate and plan agree, never exit 3 or hang, and a plan that succeeds writes a ClusterConfig and a
    helmfile.yaml that eksctl's and helmfile's published schemas accept (when ../shared/reference is here)."""
    import json

    from jsonschema import Draft7Validator, Draft202012Validator

    from composer.files.yamlio import dump, load_file
    from tests.conftest import REFERENCE
    from tests.schema_instances import instance

    schema = json.loads((ROOT / "schemas" / "profile.schema.json").read_text())
    ours = Draft202012Validator(schema)
    upstream = {
        name: Draft7Validator(json.loads((REFERENCE / name).read_text()))
        for name in ("eksctl-clusterconfig.schema.json", "helmfile.schema.json")
        if (REFERENCE / name).is_file()
    }

    bad, home = [], os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        for case in indices:
            rng = random.Random(SEED * 1_000_037 + case)
            root = Path(tmp) / str(case)
            (root / "profiles").mkdir(parents=True)
            (root / "composer.yaml").write_text((ROOT / "composer.yaml").read_text())
            written = 0
            for n in range(rng.randint(2, 4)):
                doc = instance(schema, rng)
                doc["metadata"] = {**doc.get("metadata", {}), "name": f"w{n}", "namespace": rng.choice(["a", "b"])}
                doc.pop("release", None) if rng.random() < 0.5 else None
                if isinstance(doc.get("release"), dict):
                    doc["release"] = {"chart": "acme/app", "repository": "https://charts.example.com"}
                doc.pop("provenance", None)
                if not ours.is_valid(doc):
                    continue
                (root / "profiles" / f"w{n}.yaml").write_text(dump(doc, "edge case"))
                written += 1
            if not written:
                continue
            os.chdir(root)
            codes = {}
            try:
                for command in (["validate"], ["plan", "--write", "-o", "json"]):
                    codes[command[0]], err = quietly(command, 30)
                    if codes[command[0]] not in (0, 1):
                        bad.append((case, f"{command[0]} gave {codes[command[0]]}: {err[-300:]}"))
                if (
                    codes.get("validate") in (0, 1)
                    and codes.get("plan") in (0, 1)
                    and codes["validate"] != codes["plan"]
                ):
                    bad.append((case, f"validate exit {codes['validate']} but plan exit {codes['plan']}"))
                if codes.get("plan") == 0:
                    for name, file in (
                        ("eksctl-clusterconfig.schema.json", "cluster.yaml"),
                        ("helmfile.schema.json", "helmfile.yaml"),
                    ):
                        if name in upstream:
                            errors = [
                                e.message for e in upstream[name].iter_errors(load_file(root / "generated" / file))
                            ]
                            if errors:
                                bad.append((case, f"generated {file} fails {name}: {errors[:2]}"))
            finally:
                os.chdir(home)
                shutil.rmtree(root, ignore_errors=True)
    return bad


def test_schema_valid_edge_estates_plan_or_fail_cleanly_and_emit_what_upstream_accepts():
    indices = list(range(max(1, CASES // 4)))
    found = [
        item
        for chunk in parallel.map_chunks(run_edge_cases, indices, jobs=parallel.default_jobs(10_000))
        for item in chunk
    ]
    assert not found, (
        f"{len(found)} of {len(indices)} edge estates misbehaved (COMPOSE_FUZZ_SEED={SEED}):\n"
        + "\n".join(f"case {case}: {what}" for case, what in found[:20])
    )
