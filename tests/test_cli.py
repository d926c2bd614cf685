"""End-to-end: `compose plan` / `compose validate` on real files, good and bad."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import pytest

from tests.conftest import REPO, ROOT, profile_doc, write_estate
from tests.conftest import run_cli as run


@pytest.fixture
def estate(tmp_path):
    return write_estate(
        tmp_path,
        [
            profile_doc("api", "shop", release={"chart": "acme/api", "repository": REPO}),
            profile_doc(
                "pg",
                "data",
                kind="StatefulSet",
                release={"chart": "acme/pg", "repository": REPO},
                volumes=[{"name": "d", "type": "persistentVolumeClaim", "storageClass": "gp3"}],
            ),
        ],
    )


def test_plan_write_then_no_changes(estate, capsys, monkeypatch):
    code, out, _ = run(["plan", "--detailed-exitcode"], estate, capsys, monkeypatch)
    assert code == 2 and "2 workloads: 1 Fargate, 1 node group" in out and "+ cluster.yaml (new)" in out
    assert not (estate / "generated").exists()  # plan alone writes nothing
    code, out, _ = run(["plan", "--write"], estate, capsys, monkeypatch)
    assert code == 0 and "Wrote 2 file(s)" in out
    first = (estate / "generated" / "cluster.yaml").read_bytes()
    code, out, _ = run(["plan", "--detailed-exitcode"], estate, capsys, monkeypatch)
    assert code == 0 and "= cluster.yaml (unchanged)" in out
    # a change in a profile shows up as a diff and exit 2
    (estate / "profiles" / "shop-api.yaml").write_text(
        (estate / "profiles" / "shop-api.yaml")
        .read_text()
        .replace("replicas: 2", "replicas: 3")
        .replace("kind: Deployment", "kind: DaemonSet")
    )
    code, out, _ = run(["plan", "--detailed-exitcode"], estate, capsys, monkeypatch)
    assert code == 2 and "~ cluster.yaml (changed)" in out and re.search(r"-  - name: fp-[0-9a-f]{8}\n", out)
    assert (estate / "generated" / "cluster.yaml").read_bytes() == first


def test_plan_json(estate, capsys, monkeypatch):
    code, out, _ = run(["plan", "-o", "json"], estate, capsys, monkeypatch)
    data = json.loads(out)
    assert code == 0 and data["format_version"] == "1" and data["has_changes"] is True
    pg = next(w for w in data["workloads"] if w["release"] == "pg")
    assert pg["placement"] == "nodegroup" and pg["reasons"][0]["rule"] == "FG014"
    assert pg["reasons"][0]["line"] > 0 and pg["reasons"][0]["url"].startswith("https://docs.aws.amazon.com/")
    assert [c["actions"] for c in data["changes"]] == [["create"], ["create"]]


def test_output_is_deterministic(estate, tmp_path, capsys, monkeypatch):
    run(["plan", "--write", "--out-dir", "one"], estate, capsys, monkeypatch)
    run(["plan", "--write", "--out-dir", "two"], estate, capsys, monkeypatch)
    for name in ("cluster.yaml", "helmfile.yaml"):
        assert (estate / "one" / name).read_bytes() == (estate / "two" / name).read_bytes()


BAD = {
    "malformed": ("metadata: {name: a\n", "invalid YAML"),
    "duplicate-key": ("apiVersion: composer/v1alpha1\napiVersion: composer/v1alpha1\n", "duplicate key"),
    "wrong-type": (None, "'workload.replicas' must be an integer, not a string"),
    "unknown-field": (None, "unknown field 'workload.replica'"),
    "missing-field": (
        "apiVersion: composer/v1alpha1\nkind: WorkloadProfile\nmetadata: {name: a, namespace: b}\n",
        "missing required field 'workload'",
    ),
    "bad-name": (None, "'metadata.name' has an invalid value 'Checkout_API'"),
    "negative-quantity": (None, "not a valid quantity: '-1'"),
    "impossible-quantity": (None, "not a valid quantity: '5Zi'"),
}


def _bad_profile(kind: str) -> str:
    from composer.files.yamlio import dump

    doc = profile_doc("a", "shop")
    if kind == "wrong-type":
        doc["workload"]["replicas"] = "three"
    elif kind == "unknown-field":
        doc["workload"]["replica"] = 3
    elif kind == "bad-name":
        doc["metadata"]["name"] = "Checkout_API"
    elif kind == "negative-quantity":
        doc["workload"]["containers"][0]["resources"]["requests"]["cpu"] = "-1"
    elif kind == "impossible-quantity":
        doc["workload"]["containers"][0]["resources"]["requests"]["memory"] = "5Zi"
    return dump(doc)


@pytest.mark.parametrize("kind", sorted(BAD))
def test_bad_profile_is_one_clear_line(kind, estate, capsys, monkeypatch):
    text, expected = BAD[kind]
    bad = estate / "profiles" / "bad.yaml"
    bad.write_text(text if text is not None else _bad_profile(kind))
    code, out, err = run(["plan", "--write"], estate, capsys, monkeypatch)
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 2, err
    assert lines[0].startswith("profiles/bad.yaml:") and expected in lines[0], lines[0]
    assert lines[0].split(":")[1].isdigit() and lines[0].split(":")[2].isdigit()
    assert "Traceback" not in err and not (estate / "generated").exists()


def test_release_twice_and_unknown_needs(estate, capsys, monkeypatch):
    from composer.files.yamlio import dump

    (estate / "profiles" / "again.yaml").write_text(
        dump(profile_doc("api", "shop", release={"chart": "acme/api", "repository": REPO, "needs": ["ghost"]}))
    )
    code, _, err = run(["plan"], estate, capsys, monkeypatch)
    assert code == 1 and "defined twice" in err and "needs 'shop/ghost', which no profile defines" in err


def test_empty_and_missing_profile_folders(tmp_path, capsys, monkeypatch):
    write_estate(tmp_path, [])
    code, _, err = run(["plan"], tmp_path, capsys, monkeypatch)
    assert code == 1 and "no workload profiles found" in err
    code, _, err = run(["plan", "does-not-exist"], tmp_path, capsys, monkeypatch)
    assert code == 1 and "does-not-exist: no such file or folder" in err


def test_missing_config(estate, capsys, monkeypatch):
    code, _, err = run(["plan", "--config", "nope.yaml"], estate, capsys, monkeypatch)
    assert code == 1 and "nope.yaml: cluster settings file not found" in err


def test_validate_reports_every_problem(estate, capsys, monkeypatch):
    (estate / "profiles" / "x.yaml").write_text(_bad_profile("unknown-field"))
    (estate / "profiles" / "y.yaml").write_text(_bad_profile("bad-name").replace("name: a", "name: b"))
    code, out, err = run(["validate"], estate, capsys, monkeypatch)
    assert code == 1 and "x.yaml" in err and "y.yaml" in err and "[schema]" in err
    code, out, _ = run(["validate", "-o", "json"], estate, capsys, monkeypatch)
    assert code == 1 and len(json.loads(out)["problems"]) == 2


def test_validate_clean(estate, capsys, monkeypatch):
    code, out, _ = run(["validate"], estate, capsys, monkeypatch)
    assert code == 0 and "3 file(s) valid" in out


def test_example_estate_plans_and_is_stable(tmp_path, capsys, monkeypatch):
    for name in ("composer.yaml", "profiles", "values"):
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, tmp_path / name)
    code, out, err = run(["plan", "--write"], tmp_path, capsys, monkeypatch)
    assert code == 0, err
    assert "23 workloads: 8 Fargate, 15 node group" in out
    code, _, _ = run(["plan", "--detailed-exitcode"], tmp_path, capsys, monkeypatch)
    assert code == 0


def test_help_and_module_entry_point():
    result = subprocess.run([sys.executable, "-m", "composer", "--help"], capture_output=True, text=True, check=True)
    assert "exit codes:" in result.stdout and "plan" in result.stdout
    result = subprocess.run(
        [sys.executable, "-m", "composer", "plan", "--help"], capture_output=True, text=True, check=True
    )
    assert "--detailed-exitcode" in result.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["plan", "--detailed-exitcode", "--wirte"],
        ["plan", "--out-dir"],
        ["nonsense"],
        ["apply", "--probe-timeout", "soon"],
    ],
)
def test_a_usage_error_never_exits_2_which_means_changes(args, capsys):
    from composer.cli.main import main

    with pytest.raises(SystemExit) as exit_:
        main(args)
    assert exit_.value.code == 64 and "error:" in capsys.readouterr().err


@pytest.mark.parametrize("columns", [80, 120])
def test_the_plan_stays_readable_on_narrow_terminals(columns, monkeypatch, capsys):
    """No cell cut to "Farga…": a terminal narrower than the table gets one line per workload, and the
    reasons wrap under themselves. Every workload appears in full, with its placement."""
    from composer.cli.main import main

    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("COLUMNS", str(columns))
    assert main(["plan", "--no-diff"]) == 0
    out = capsys.readouterr().out
    head = out.split("\nWhy", 1)[0]
    assert "…" not in head and "┃" not in head  # stacked, nothing truncated
    assert "Fargate (8)" in head and "Node groups (15)" in head
    assert "  analytics/spark-aggregate-32g · Job · 8 vCPU / 36 GB + 49 GiB disk" in head
    assert "  legacy/windows-reporting · Deployment · nodes windows · FG009" in head
    why = out.split("\nWhy", 1)[1].split("\nFargate profiles", 1)[0]
    assert all(len(line.rstrip()) <= columns for line in why.splitlines())
    assert not any(line.startswith("the largest") for line in why.splitlines())  # never wrapped to column 0


def test_a_wide_terminal_keeps_the_plan_table(monkeypatch, capsys):
    from composer.cli.main import main

    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["plan", "--no-diff"]) == 0
    head = capsys.readouterr().out.split("\nWhy", 1)[0]
    assert "┃ release" in head and "…" not in head and "8 vCPU / 36 GB + 49 GiB disk" in head


def test_compose_is_also_installed_under_an_unambiguous_name():
    """Debian's mailcap has a `compose` too: fargate-compose is the same command."""
    import tomllib

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["compose"] == scripts["fargate-compose"] == "composer.cli.main:run"
    done = subprocess.run([sys.executable, "-m", "composer", "--version"], capture_output=True, text=True)
    assert done.returncode == 0 and "(fargate-composer)" in done.stdout
    done = subprocess.run([sys.executable, "-m", "composer", "--help"], capture_output=True, text=True)
    assert "fargate-compose" in done.stdout and "mailcap" in done.stdout


def test_past_a_screenful_the_plan_is_grouped_and_full_lists_each_workload(tmp_path, capsys, monkeypatch):
    """10,000 rows took 17 s to render (json 2.9 s): past SCREENFUL workloads the plan shows counts per
    placement and namespace and each rule counted with examples; --full and -o json list every workload."""
    from composer.cli.main import main
    from composer.cli.render import SCREENFUL
    from tests.conftest import profile_doc, write_estate

    docs = [profile_doc(f"app{i:03d}", f"team{i % 3}") for i in range(SCREENFUL + 1)]
    docs.append(profile_doc("agent", "ops", kind="DaemonSet"))
    work = write_estate(tmp_path, docs)
    monkeypatch.chdir(work)
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["plan", "--no-diff"]) == 0
    out = capsys.readouterr().out
    assert f"{SCREENFUL + 2} workloads, grouped (more than {SCREENFUL}" in out
    assert "Fargate: 61 in 3 namespace(s)" in out and "nodes general: 1 in 1 namespace(s) (ops 1)" in out
    assert "FG001 block  ×1" in out and "team0/app000" not in out.split("Why")[0]
    assert main(["plan", "--no-diff", "--full"]) == 0
    full = capsys.readouterr().out
    assert all(f"app{i:03d}" in full for i in range(SCREENFUL + 1)) and "grouped" not in full
