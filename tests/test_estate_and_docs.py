"""The bundled example estate covers every rule and both outcomes; generated docs are current."""

from __future__ import annotations

import json

import pytest

from composer import rules
from composer.cli.docs import rules_markdown
from composer.emit.plan import build_plan
from composer.files import schema
from tests.conftest import ROOT


def test_example_estate_covers_every_rule_and_both_outcomes(tmp_path):
    plan = build_plan(ROOT / "composer.yaml", [ROOT / "profiles"], tmp_path)
    fired = {r.rule for p in plan.placements for r in p.reasons}
    assert {r.id for r in rules.RULES} <= fired, sorted({r.id for r in rules.RULES} - fired)
    assert {p.target for p in plan.placements} == {"fargate", "nodegroup"}
    assert {p.spot for p in plan.placements if p.target == "nodegroup"} == {True, False}  # three placements
    assert 12 <= len(plan.placements) <= 24
    by_name = {p.workload.name: p for p in plan.placements}
    assert by_name["spark-aggregate-32g"].target == "fargate"
    assert (
        by_name["spark-aggregate-32g"].fargate_size.label() == "8 vCPU / 36 GB + 49 GiB disk"
    )  # 40Gi scratch: +10% +5
    assert by_name["spark-aggregate-200g"].target == "nodegroup"
    assert by_name["ci-build-jobs"].target == "fargate" and by_name["gitlab-runner"].forced


def test_rules_doc_is_generated_from_metadata():
    committed = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    assert committed == rules_markdown(), "docs/rules.md is stale: run `python -m composer.cli.docs > docs/rules.md`"


def test_every_rule_is_documented_in_profile_doc():
    text = (ROOT / "docs" / "profile.md").read_text(encoding="utf-8")
    import json

    schema = json.loads((ROOT / "schemas" / "profile.schema.json").read_text())
    for field in schema["properties"]["workload"]["properties"]:
        assert f"`{field}`" in text, f"docs/profile.md does not document workload.{field}"


@pytest.mark.parametrize("name", schema.SCHEMAS)
def test_bundled_schemas_are_valid_2020_12_and_inlining_keeps_their_meaning(name):
    from jsonschema import Draft202012Validator

    Draft202012Validator.check_schema(schema.schema(name))
    inlined = schema.inline_refs(schema.schema(name))
    Draft202012Validator.check_schema(inlined)
    assert "#/$defs/" not in json.dumps({k: v for k, v in inlined.items() if k != "$defs"})


BAD_VARIANTS = [
    ("workload", "replicas", True),
    ("workload", "replicas", 1.5),
    ("workload", "replicas", "2"),
    ("workload", "replicaz", 2),
    ("metadata", "name", "Api"),
    ("metadata", "name", "api\n"),
    ("workload", "kind", "Deployments"),
    ("workload", "hostNetwork", "yes"),
    ("workload", "containers", []),
    ("workload", "services", [{"type": "NodePorts"}]),
    ("workload", "nodeSelector", {"a": 1}),
]


@pytest.mark.parametrize("section,key,value", BAD_VARIANTS)
def test_fast_schema_check_rejects_whatever_jsonschema_rejects(section, key, value):
    from tests.conftest import profile_doc

    doc = (
        profile_doc(containers=[{"name": "app", "resources": {"requests": {"cpu": "5Zi"}}}])
        if key == "cpu"
        else profile_doc()
    )
    doc[section][key] = value
    assert schema.validate("profile", doc, "p.yaml")
    assert not schema.accepts("profile", doc)
    assert schema.validator("profile").is_valid(doc) is False  # jsonschema agrees


def test_fast_schema_check_accepts_the_example_estate():
    from composer.files import yamlio

    for path in sorted((ROOT / "profiles").rglob("*.yaml")):
        doc = yamlio.load_file(path)
        assert schema.accepts("profile", doc) and not schema.validate("profile", doc, str(path))


def test_compiled_schema_check_is_cached_and_survives_a_corrupt_cache(tmp_path, monkeypatch):
    import fastjsonschema

    from tests.conftest import profile_doc

    monkeypatch.setenv("COMPOSE_CACHE_DIR", str(tmp_path))
    schema.compiled.cache_clear()
    assert schema.accepts("profile", profile_doc())
    (cached,) = tmp_path.glob("profile-schema-*.marshal")
    schema.compiled.cache_clear()
    monkeypatch.setattr(
        fastjsonschema, "compile_to_code", lambda *a: (_ for _ in ()).throw(AssertionError("recompiled"))
    )
    assert schema.accepts("profile", profile_doc()) and not schema.accepts("profile", profile_doc(replicaz=1))
    monkeypatch.undo()
    monkeypatch.setenv("COMPOSE_CACHE_DIR", str(tmp_path))
    cached.write_bytes(b"garbage")
    schema.compiled.cache_clear()
    assert schema.accepts("profile", profile_doc())
    monkeypatch.setenv("COMPOSE_CACHE_DIR", "off")
    schema.compiled.cache_clear()
    assert schema.accepts("profile", profile_doc())
    schema.compiled.cache_clear()


def test_readme_shows_the_real_apply_dry_run(capsys, monkeypatch, tmp_path):
    import shutil

    from composer.cli.main import main

    readme = (ROOT / "docs" / "apply.md").read_text()
    shown = readme.split("$ compose apply --dry-run\n", 1)[1].split("```", 1)[0]
    for name in ("profiles", "values"):
        shutil.copytree(ROOT / name, tmp_path / name)
    shutil.copy(ROOT / "composer.yaml", tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "100")
    assert main(["apply", "--dry-run"]) == 0
    out = capsys.readouterr().out
    actual = "\n".join(line for line in out.splitlines() if not line.startswith("Not found on PATH")).strip()
    assert shown.strip() == actual


def test_readme_shows_the_real_offline_scan_of_the_shipped_rendered_chart(capsys, monkeypatch):
    """The README's scan example runs offline on examples/storefront-rendered.yaml and prints exactly
    what the README shows (at 100 columns, without colour)."""
    from composer.cli.main import main

    readme = (ROOT / "docs" / "scan.md").read_text()
    shown = readme.split("$ compose scan examples/storefront-rendered.yaml --dry-run\n", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.setenv("NO_COLOR", "1")
    assert main(["scan", "examples/storefront-rendered.yaml", "--dry-run"]) == 0
    assert capsys.readouterr().out.strip() == shown.strip()
