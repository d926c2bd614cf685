"""`compose validate --check-generated`, `compose schema`, and the published pre-commit hooks."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from composer.files import schema, yamlio
from tests import real
from tests.conftest import REPO, ROOT, profile_doc, write_estate
from tests.conftest import run_cli as run


@pytest.fixture
def estate(tmp_path):
    return write_estate(tmp_path, [profile_doc("api", "shop", release={"chart": "acme/api", "repository": REPO})])


def test_check_generated_fails_until_written_and_again_after_a_profile_change(estate, capsys, monkeypatch):
    code, out, err = run(["validate", "--check-generated"], estate, capsys, monkeypatch)
    assert (
        code == 1 and "generated/cluster.yaml:1:1: does not exist (run `compose plan --write`) [check-generated]" in err
    )
    assert run(["plan", "--write"], estate, capsys, monkeypatch)[0] == 0
    code, out, err = run(["validate", "--check-generated"], estate, capsys, monkeypatch)
    assert code == 0 and "Generated files are up to date." in out
    profile = estate / "profiles" / "shop-api.yaml"
    profile.write_text(
        profile.read_text().replace("replicas: 2", "replicas: 5").replace("kind: Deployment", "kind: DaemonSet")
    )
    code, out, err = run(["validate", "--check-generated"], estate, capsys, monkeypatch)
    assert code == 1
    first = re.search(r"generated/cluster.yaml:(\d+):1: differs from what the profiles produce", err)
    lines = (estate / "generated" / "cluster.yaml").read_text().splitlines()
    assert first and lines[int(first.group(1)) - 1] in [
        row[1:] for row in out.splitlines() if row.startswith("-") and not row.startswith("---")
    ]
    assert out.startswith("--- a/cluster.yaml\n+++ b/cluster.yaml\n") and re.search(r"-  - name: fp-[0-9a-f]{8}\n", out)
    code, out, _ = run(["validate", "--check-generated", "-o", "json"], estate, capsys, monkeypatch)
    data = json.loads(out)
    assert code == 1 and data["valid"] is False and {s["status"] for s in data["stale"]} == {"changed"}
    # plain validate does not look at generated files
    assert run(["validate"], estate, capsys, monkeypatch)[0] == 0


def test_check_generated_with_an_invalid_profile_reports_the_problem_not_a_diff(estate, capsys, monkeypatch):
    (estate / "profiles" / "bad.yaml").write_text(yamlio.dump(profile_doc("bad", replicaz=1)))
    code, out, err = run(["validate", "--check-generated"], estate, capsys, monkeypatch)
    assert code == 1 and "unknown field 'workload.replicaz'" in err and out == ""


@pytest.mark.parametrize("draft", ["2020-12", "7"])
def test_schema_command_prints_a_schema_that_accepts_the_examples(draft, capsys, monkeypatch, tmp_path):
    from jsonschema import Draft7Validator, Draft202012Validator

    code, out, _ = run(["schema", "profile", "--draft", draft], tmp_path, capsys, monkeypatch)
    printed = json.loads(out)
    assert code == 0
    cls = Draft7Validator if draft == "7" else Draft202012Validator
    cls.check_schema(printed)
    assert ("definitions" in printed) == (draft == "7") and ("$defs" in printed) == (draft == "2020-12")
    validator = cls(printed)
    for path in sorted((ROOT / "profiles").rglob("*.yaml")):
        assert not list(validator.iter_errors(json.loads(json.dumps(yamlio.load_file(path))))), path
    bad = profile_doc("x", replicaz=1)
    assert not validator.is_valid(bad)
    code, out, _ = run(["schema", "composer"], tmp_path, capsys, monkeypatch)
    assert json.loads(out) == schema.schema("composer")


def _patterns(doc):
    if isinstance(doc, dict):
        if isinstance(doc.get("pattern"), str):
            yield doc["pattern"]
        yield from (k for k in (doc.get("patternProperties") or {}))
        for value in doc.values():
            yield from _patterns(value)
    elif isinstance(doc, list):
        for value in doc:
            yield from _patterns(value)


# what ECMA-262 has and Go's RE2 (kubeconform, other validators) refuses: lookaround, backreferences,
# named-group and flag syntax of one side only
NOT_RE2 = re.compile(r"\(\?[=!<]|\\[1-9]|\\k<|\(\?P|\(\?[a-z]")


def test_every_published_pattern_is_in_the_subset_ecma_262_and_re2_share():
    """A lookahead (``^(?!-)…``) made ``compose schema profile`` unloadable in Go validators (RE2 has none)."""
    found = [
        (f.name, p) for f in sorted((ROOT / "schemas").glob("*.json")) for p in _patterns(json.loads(f.read_text()))
    ]
    assert len(found) > 30
    assert [(name, p) for name, p in found if NOT_RE2.search(p)] == []
    assert NOT_RE2.search("^(?!eks-)[a-z]+$") and NOT_RE2.search("(a)\\1")  # (the check can fail)


def _mutants() -> list[tuple[str, dict]]:
    """Invalid profiles, each wrong in one way our schema forbids (types, bounds, patterns, unknown keys)."""
    import copy

    base = json.loads(json.dumps(yamlio.load_file(ROOT / "profiles" / "shop" / "checkout-api.yaml")))
    cases = []
    for name, change in [
        ("unknown key", lambda d: d["workload"].update(replicaz=1)),
        ("negative replicas", lambda d: d["workload"].update(replicas=-1)),
        ("bad container name", lambda d: d["workload"]["containers"][0].update(name="Not_A_Name")),
        ("bad quantity", lambda d: d["workload"]["containers"][0].update(resources={"requests": {"cpu": "lots"}})),
        ("bad toleration effect", lambda d: d["workload"].update(tolerations=[{"effect": "Sometimes"}])),
        ("bad namespace", lambda d: d["metadata"].update(namespace="-shop")),
        ("string replicas", lambda d: d["workload"].update(replicas="2")),
    ]:
        doc = copy.deepcopy(base)
        change(doc)
        cases.append((name, doc))
    return cases


@real.needs("kubeconform")
@pytest.mark.parametrize("draft", ["2020-12", "7"])
def test_a_second_validator_kubeconform_loads_the_schemas_and_agrees_on_the_estate(
    draft, tmp_path, capsys, monkeypatch
):
    """kubeconform (Go, RE2 patterns, its own JSON Schema library) loads what `compose schema` prints and
    agrees with compose: every example profile and composer.yaml valid, each mutant invalid."""
    schemas = tmp_path / "schemas"
    schemas.mkdir()
    for which, kind in (("profile", "workloadprofile"), ("composer", "clustersettings")):
        code, out, _ = run(["schema", which, "--draft", draft], tmp_path, capsys, monkeypatch)
        assert code == 0
        (schemas / f"{kind}.json").write_text(out)
    bad = tmp_path / "bad"
    bad.mkdir()
    for index, (_, doc) in enumerate(_mutants()):
        assert schema.validate("profile", doc, "mutant"), doc  # (ours refuses each)
        (bad / f"m{index}.yaml").write_text(yamlio.dump(doc))
    argv = [real.BIN / "kubeconform", "-strict", "-summary", "-verbose", "-output", "json", "-schema-location"]
    argv += [f"{schemas}/{{{{ .ResourceKind }}}}.json"]
    done = real.run([*map(str, argv), str(ROOT / "composer.yaml"), str(ROOT / "profiles")], dict(os.environ))
    summary = json.loads(done.stdout)["summary"]
    assert done.returncode == 0 and summary["valid"] == 1 + len(list((ROOT / "profiles").rglob("*.yaml"))), done.stdout
    done = real.run([*map(str, argv), str(bad)], dict(os.environ))
    verdicts = {Path(r["filename"]).name: r["status"] for r in json.loads(done.stdout)["resources"]}
    assert verdicts == {f"m{i}.yaml": "statusInvalid" for i in range(len(_mutants()))}, done.stdout


@pytest.mark.parametrize(
    "name, ok",
    [
        ("web", True),
        ("e", True),
        ("ek", True),
        ("eks", True),
        ("eksa", True),
        ("e-ks", True),
        ("eks-x", False),
        ("EKS-x", True),
        ("1a", False),
        ("a-", True),
    ],
)
def test_the_eks_prefix_pattern_without_lookahead_refuses_exactly_eks_dash(name, ok):
    """eksctl refuses a Fargate profile named eks-… (case-sensitive); the RE2-safe pattern says the same."""
    doc = json.loads((ROOT / "schemas" / "clusterconfig.schema.json").read_text())
    pattern = next(p for p in _patterns(doc) if "eks" in p)
    assert bool(re.fullmatch(pattern.rstrip("$").lstrip("^"), name)) is ok


# ---------------------------------------------------------------- pre-commit, as users run it


def test_pre_commit_hooks_file_follows_the_conventions():
    hooks = yamlio.load_file(ROOT / ".pre-commit-hooks.yaml")
    by_id = {h["id"]: h for h in hooks}
    assert set(by_id) == {"compose-validate", "compose-check-generated"}
    for hook in hooks:
        assert hook["language"] == "python" and hook["entry"].startswith("compose ")
        assert hook["pass_filenames"] is False and hook["require_serial"] is True  # whole-estate checks
        assert {"name", "description", "files"} <= set(hook)
    import re

    files = re.compile(by_id["compose-validate"]["files"])
    assert files.search("profiles/shop/api.yaml") and files.search("composer.yaml")
    assert not files.search("README.md") and not files.search("generated/cluster.yaml")
    assert re.compile(by_id["compose-check-generated"]["files"]).search("generated/helmfile.yaml")


def _pre_commit() -> str | None:
    found = shutil.which("pre-commit", path=str(Path(sys.executable).parent)) or shutil.which("pre-commit")
    return found


@pytest.mark.skipif(_pre_commit() is None, reason="pre-commit is not installed (pip install -e '.[test]')")
def test_pre_commit_hooks_pass_a_good_estate_and_fail_a_bad_one(tmp_path):
    """pre-commit installs this project into its own environment (once) and runs the published hooks."""
    pre_commit = _pre_commit()
    work = write_estate(
        tmp_path / "estate", [profile_doc("api", "shop", release={"chart": "acme/api", "repository": REPO})]
    )
    env = {
        **os.environ,
        "PRE_COMMIT_HOME": str(tmp_path / "cache"),
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@x",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@x",
        "NO_COLOR": "1",
    }
    env.pop("VIRTUAL_ENV", None)

    def git(*args):
        subprocess.run(["git", *args], cwd=work, env=env, check=True, capture_output=True)

    git("init", "-q")
    git("add", "-A")
    # This checkout as pre-commit sees a hook repository (as `try-repo` does, but once): its files as they are
    # now, committed in a repository of their own, so every run below reuses one installed environment.
    hooks = tmp_path / "hooks-repo"
    listed = (
        subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, listed):
        if (ROOT / name).is_file():
            (hooks / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, hooks / name)
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "hooks"]):
        subprocess.run(["git", *args], cwd=hooks, env=env, check=True, capture_output=True)
    rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=hooks, capture_output=True, text=True, check=True).stdout
    config = {
        "repos": [
            {
                "repo": str(hooks),
                "rev": rev.strip(),
                "hooks": [{"id": "compose-validate"}, {"id": "compose-check-generated"}],
            }
        ]
    }
    (work / ".pre-commit-config.yaml").write_text(yamlio.dump(config))
    git("add", "-A")

    def try_repo(hook):
        result = subprocess.run(
            [pre_commit, "run", hook, "--all-files", "--color", "never"],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        return result.returncode, result.stdout + result.stderr

    code, output = try_repo("compose-validate")
    assert code == 0, output
    assert "compose validate" in output and "Passed" in output

    (work / "profiles" / "bad.yaml").write_text(yamlio.dump(profile_doc("bad", "shop", replicaz=2)))
    git("add", "-A")
    code, output = try_repo("compose-validate")
    assert code == 1, output
    assert "Failed" in output
    assert (
        "profiles/bad.yaml:" in output
        and "unknown field 'workload.replicaz'" in output
        and "did you mean 'replicas'?" in output
    )

    (work / "profiles" / "bad.yaml").unlink()
    git("add", "-A")
    code, output = try_repo("compose-check-generated")
    assert code == 1 and "generated/cluster.yaml:1:1: does not exist" in output, output

    # generated files committed, as the README says: the hook passes, and fails on a stale one
    subprocess.run(
        [sys.executable, "-m", "composer", "plan", "--write"], cwd=work, env=env, check=True, capture_output=True
    )
    git("add", "-A")
    code, output = try_repo("compose-check-generated")
    assert code == 0 and "Passed" in output, output
    api = work / "profiles" / "shop-api.yaml"
    api.write_text(api.read_text().replace("namespace: shop", "namespace: store"))  # a new Fargate namespace
    git("add", "-A")
    code, output = try_repo("compose-check-generated")
    assert code == 1 and re.search(r"generated/(cluster|helmfile)\.yaml:\d+:1: differs", output), output


def test_validate_survives_every_kind_of_hostile_input_in_one_quick_run(estate, capsys, monkeypatch):
    import time

    profiles = estate / "profiles"
    with open(profiles / "huge.yaml", "wb") as handle:  # 50 MB, sparse: rejected by size before reading
        handle.truncate(50 * 1024 * 1024)
    (profiles / "binary.yaml").write_bytes(b"\x7fELF\x02\x01\x01\x00" * 64)
    (profiles / "latin1.yaml").write_bytes("owner: Jos\xe9\n".encode("latin-1"))
    (profiles / "bomb.yaml").write_text(
        "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
        + "".join(
            f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
            f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
            for i in range(9)
        )
    )
    (profiles / "deep.yaml").write_text("a: " + "[" * 100_000 + "]" * 100_000 + "\n")
    (profiles / "loop").mkdir()
    (profiles / "loop" / "again").symlink_to(profiles, target_is_directory=True)
    started = time.perf_counter()
    code, _, err = run(["validate"], estate, capsys, monkeypatch)
    assert time.perf_counter() - started < 5
    assert code == 1
    for name, text in (
        ("huge.yaml", "byte limit"),
        ("binary.yaml", "binary file"),
        ("latin1.yaml", "not valid UTF-8"),
        ("bomb.yaml", "expands to more than"),
        ("deep.yaml", "nests deeper than 64 levels"),
    ):
        assert any(line.startswith(f"profiles/{name}:") and text in line for line in err.splitlines()), (name, err)
    assert "Traceback" not in err and "5 problems found" in err


def test_the_repositorys_committed_generated_files_are_up_to_date(capsys, monkeypatch):
    """The repository commits generated/ for its example estate, as the README tells users to: what the
    compose-check-generated hook checks holds for the repository itself (run `compose plan --write`)."""
    from composer.cli.main import main

    monkeypatch.chdir(ROOT)
    assert not any(line.strip() == "/generated/" for line in (ROOT / ".gitignore").read_text().splitlines())
    assert main(["validate", "--check-generated"]) == 0, capsys.readouterr().err
