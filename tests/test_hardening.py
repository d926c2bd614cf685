"""Issue 10, security: nothing compose writes for helmfile is a template, no credentials are shown,
the schema-check cache is not executed unless it is ours, and paths stay inside the estate."""

from __future__ import annotations

import marshal
import os
from pathlib import Path

import pytest

from composer.cluster.apply import ApplyOptions, helmfile_steps
from composer.core import inert
from composer.files import schema
from tests.conftest import REPO, SETTINGS, profile_doc, write_estate
from tests.conftest import run_cli as run

SMUGGLED = {
    "chart": 'acme/x{{exec"id"(list)}}',
    "version": '{{readFile"/etc/passwd"}}',
    "values": ['x{{env"AWS_SECRET_ACCESS_KEY"}}.yaml'],
    "repository": 'https://charts.acme.example/{{env"HOME"}}',
}


@pytest.mark.parametrize("field", sorted(SMUGGLED))
def test_template_syntax_in_any_release_field_is_refused_with_its_location(field, tmp_path, capsys, monkeypatch):
    release = {"chart": "acme/api", "repository": REPO, field: SMUGGLED[field]}
    estate = write_estate(tmp_path, [profile_doc("api", "shop", release=release)])
    code, out, err = run(["plan", "--write"], estate, capsys, monkeypatch)
    assert code == 1, err
    assert "profiles/shop-api.yaml:" in err and f"release.{field}" in err
    assert not (estate / "generated").exists()


def test_every_string_the_example_estate_emits_for_helmfile_is_inert():
    from composer.emit.plan import build_plan
    from tests.conftest import ROOT

    plan = build_plan(ROOT / "composer.yaml", sorted((ROOT / "profiles").rglob("*.yaml")))
    assert list(inert.template_strings(plan.helmfile)) == []
    assert list(inert.template_strings({"a": [{"b": "x {{ .Values }}"}], "{{k}}": 1})) == [
        ("a[0].b", "x {{ .Values }}"),
        ("{{k}}", "{{k}}"),
    ]


def test_a_template_that_slips_past_the_schema_is_a_bug_never_a_written_file(tmp_path, capsys, monkeypatch):
    from composer.emit import helmfile as emit

    estate = write_estate(tmp_path, [profile_doc("api", "shop", release={"chart": "acme/api", "repository": REPO})])
    real = emit.helmfile

    def leaky(*args, **kwargs):
        doc, problems = real(*args, **kwargs)
        doc["releases"][0]["version"] = '{{ exec "sh" }}'
        return doc, problems

    monkeypatch.setattr("composer.emit.plan.helmfile", leaky)
    code, out, err = run(["plan", "--write"], estate, capsys, monkeypatch)
    assert code == 3 and "template syntax" in err
    assert not (estate / "generated").exists()


def test_gotmpl_values_need_an_explicit_opt_in(tmp_path, capsys, monkeypatch):
    release = {"chart": "acme/api", "repository": REPO, "values": ["api.yaml.gotmpl"]}
    estate = write_estate(tmp_path, [profile_doc("api", "shop", release=release)])
    (estate / "profiles" / "api.yaml.gotmpl").write_text('replicas: {{ env "N" }}\n')
    code, _, err = run(["validate"], estate, capsys, monkeypatch)
    assert code == 1 and "is a template" in err and "release.valuesTemplates: true" in err
    release["valuesTemplates"] = True
    write_estate(tmp_path, [profile_doc("api", "shop", release=release)])
    assert run(["validate"], estate, capsys, monkeypatch)[0] == 0


def test_valid_chart_references_and_versions_still_pass():
    ok = [
        ("acme/api", "1.2.3"),
        ("./charts/api", "~1.2"),
        ("../shared-charts/api", ">=1.2.0, <2.0.0"),
        ("oci://registry.example.com:5000/charts/api", "1.0.0-rc.1+build.5"),
        ("bitnami/postgresql", "16.x"),
    ]
    for chart, version in ok:
        doc = profile_doc(release={"chart": chart, "version": version, "repository": REPO})
        assert schema.validate("profile", doc, "p.yaml") == [], (chart, version)
    for chart in ("--post-renderer=/tmp/x", "-acme/api", "/etc/charts/api", "acme/api/extra{", "acme", "./a/../../b"):
        doc = profile_doc(release={"chart": chart})
        assert schema.validate("profile", doc, "p.yaml"), chart


def test_credentials_in_a_repository_url_are_refused_and_never_printed(tmp_path, capsys, monkeypatch):
    release = {"chart": "acme/api", "repository": "https://deploy:s3cr3t-t0ken@charts.acme.example/stable"}
    estate = write_estate(tmp_path, [profile_doc("api", "shop", release=release)])
    for args in (["validate"], ["validate", "-o", "json"], ["plan"]):
        code, out, err = run(args, estate, capsys, monkeypatch)
        assert code == 1 and "s3cr3t" not in out + err
    assert "has credentials in it" in err and "https://***@charts.acme.example/stable" in err


def test_diffs_of_generated_files_never_show_credentials(tmp_path, capsys, monkeypatch):
    estate = write_estate(tmp_path, [profile_doc("api", "shop", release={"chart": "acme/api", "repository": REPO})])
    assert run(["plan", "--write"], estate, capsys, monkeypatch)[0] == 0
    generated = estate / "generated" / "helmfile.yaml"
    generated.write_text(generated.read_text().replace(REPO, "https://ci:hunter2@charts.acme.example"))
    for args in (["plan"], ["validate", "--check-generated"]):
        code, out, err = run(args, estate, capsys, monkeypatch)
        assert "hunter2" not in out + err and "https://***@charts.acme.example" in out + err


def _plant(folder: Path, marker: Path) -> None:
    """A cache file for every schema whose code writes ``marker`` when executed."""
    code = compile(f"open({str(marker)!r}, 'w').write('pwned')\ndef validate(data): return data\n", "<x>", "exec")
    from composer.files.schema import SCHEMAS

    schema.compiled.cache_clear()
    for name in ("profile", "composer"):
        schema.accepts(name, {})  # creates the genuine cache file, to learn its name
    for cached in folder.glob("*.marshal"):
        cached.write_bytes(marshal.dumps(code))
    assert SCHEMAS


@pytest.mark.parametrize("weakness", ["folder writable by others", "file writable by others", "file of another user"])
def test_a_planted_schema_cache_is_never_executed(weakness, tmp_path, monkeypatch):
    from tests.conftest import profile_doc as doc

    folder, marker = tmp_path / "cache", tmp_path / "marker"
    folder.mkdir(mode=0o700)
    monkeypatch.setenv("COMPOSE_CACHE_DIR", str(folder))
    _plant(folder, marker)
    if weakness == "folder writable by others":
        folder.chmod(0o777)
    elif weakness == "file writable by others":
        for f in folder.glob("*.marshal"):
            f.chmod(0o666)
    else:
        if os.getuid() != 0:
            pytest.skip("changing a file's owner needs root")
        for f in folder.glob("*.marshal"):
            os.chown(f, 65534, 65534)
    schema.compiled.cache_clear()
    assert schema.accepts("profile", doc()) and not schema.accepts("profile", doc(replicaz=1))
    assert not marker.exists()
    schema.compiled.cache_clear()


def test_the_cache_folder_is_created_private(tmp_path, monkeypatch):
    folder = tmp_path / "new" / "cache"
    monkeypatch.setenv("COMPOSE_CACHE_DIR", str(folder))
    schema.compiled.cache_clear()
    schema.accepts("profile", {})
    assert folder.stat().st_mode & 0o777 == 0o700
    assert all(f.stat().st_mode & 0o077 == 0 for f in folder.iterdir())
    schema.compiled.cache_clear()


def test_output_dir_outside_the_estate_needs_the_documented_setting(tmp_path, capsys, monkeypatch):
    estate = tmp_path / "estate"
    profiles = [profile_doc("api", "shop", release={"chart": "acme/api", "repository": REPO})]
    write_estate(estate, profiles, {**SETTINGS, "output": {"dir": "../elsewhere"}})
    code, _, err = run(["plan", "--write"], estate, capsys, monkeypatch)
    assert code == 1 and "outside the estate" in err and "composer.yaml:" in err
    assert not (tmp_path / "elsewhere").exists()
    write_estate(estate, profiles, {**SETTINGS, "output": {"dir": "../elsewhere", "allowOutsideEstate": True}})
    assert run(["plan", "--write"], estate, capsys, monkeypatch)[0] == 0
    assert (tmp_path / "elsewhere" / "helmfile.yaml").is_file()


def test_a_symlinked_generated_folder_that_leaves_the_estate_is_refused(tmp_path, capsys, monkeypatch):
    estate = write_estate(
        tmp_path / "estate", [profile_doc("api", "shop", release={"chart": "acme/api", "repository": REPO})]
    )
    (tmp_path / "victim").mkdir()
    (estate / "generated").symlink_to(tmp_path / "victim")
    code, _, err = run(["plan", "--write"], estate, capsys, monkeypatch)
    assert code == 1 and "outside the estate" in err
    assert list((tmp_path / "victim").iterdir()) == []


@pytest.mark.parametrize("field", ["values", "chart"])
def test_values_files_and_local_charts_stay_inside_the_estate(field, tmp_path, capsys, monkeypatch):
    outside = tmp_path / "outside"
    (outside / "chart").mkdir(parents=True)
    (outside / "values.yaml").write_text("a: 1\n")
    release = {"chart": "acme/api", "repository": REPO}
    if field == "values":
        release["values"] = ["../../outside/values.yaml"]
    else:
        release["chart"] = "../../outside/chart"
    estate = write_estate(tmp_path / "estate", [profile_doc("api", "shop", release=release)])
    code, _, err = run(["validate"], estate, capsys, monkeypatch)
    assert code == 1 and f"release.{field}" in err and "outside the estate" in err
    # the same through a symlink inside the estate
    (estate / "profiles" / "link").symlink_to(outside)
    release.pop("values", None)
    release["chart" if field == "chart" else "values"] = "./link/chart" if field == "chart" else ["link/values.yaml"]
    write_estate(tmp_path / "estate", [profile_doc("api", "shop", release=release)])
    code, _, err = run(["validate"], estate, capsys, monkeypatch)
    assert code == 1 and "outside the estate" in err


def test_a_path_never_reaches_a_command_line_as_an_option():
    (step,) = [
        s for s in helmfile_steps(Path("-evil/helmfile.yaml"), ApplyOptions(), "test", "us-east-1") if "apply" in s.argv
    ][:1]
    assert "./-evil/helmfile.yaml" in step.argv and not any(a.startswith("-evil") for a in step.argv)


def test_an_unreadable_team_folder_is_an_error_not_a_smaller_estate(tmp_path, capsys, monkeypatch):
    estate = write_estate(tmp_path, [profile_doc("api", "shop", release={"chart": "acme/api", "repository": REPO})])
    team = estate / "profiles" / "payments"
    team.mkdir()
    (team / "ledger.yaml").write_text(
        (estate / "profiles" / "shop-api.yaml").read_text().replace("name: api", "name: ledger")
    )
    if os.getuid() == 0:  # root reads anything: make the folder fail the way chmod 000 does for others
        real_scandir = os.scandir

        def scandir(path="."):
            if Path(path).resolve() == team.resolve():
                raise PermissionError(13, "Permission denied", str(path))
            return real_scandir(path)

        monkeypatch.setattr(os, "scandir", scandir)
    else:
        team.chmod(0)
    try:
        for args in (["validate"], ["plan"]):
            code, out, err = run(args, estate, capsys, monkeypatch)
            assert code == 1 and "cannot read folder: Permission denied" in err and "payments" in err
    finally:
        team.chmod(0o755)


# ---------------------------------------------------------------- item 7: the generated set is atomic


def _estate_with_old_set(tmp_path, capsys, monkeypatch) -> dict[str, str]:
    write_estate(tmp_path, [profile_doc("api", "shop"), profile_doc("agent", "logs", kind="DaemonSet")])
    assert run(["plan", "--write"], tmp_path, capsys, monkeypatch)[0] == 0
    write_estate(
        tmp_path,
        [
            profile_doc("api", "shop", replicas=5),
            profile_doc("web", "shop"),
            profile_doc("agent", "logs", kind="DaemonSet"),
        ],
    )
    return {p.name: p.read_text() for p in (tmp_path / "generated").iterdir() if p.is_file()}


def test_a_full_disk_replaces_nothing_and_leaves_no_temporaries(tmp_path, capsys, monkeypatch):
    from composer.files import yamlio

    old = _estate_with_old_set(tmp_path, capsys, monkeypatch)
    real_stage, calls = yamlio.stage, []

    def stage(target, text, sync=True):
        calls.append(target.name)
        if len(calls) == 2:
            raise OSError(28, "No space left on device", str(target))
        return real_stage(target, text, sync)

    monkeypatch.setattr(yamlio, "stage", stage)
    code, _, err = run(["plan", "--write"], tmp_path, capsys, monkeypatch)
    assert code == 1 and "No space left on device; nothing was replaced" in err and "Traceback" not in err
    assert {p.name: p.read_text() for p in (tmp_path / "generated").iterdir()} == old


def test_a_write_killed_between_renames_is_reported_and_completed_next_time(tmp_path, capsys, monkeypatch):
    from composer.files import fileset

    _estate_with_old_set(tmp_path, capsys, monkeypatch)
    real_replace = os.replace
    done = []

    def replace(src, dst):
        if done:
            raise KeyboardInterrupt  # killed after the first file landed
        done.append(dst)
        real_replace(src, dst)

    monkeypatch.setattr(fileset.os, "replace", replace)
    code, _, _ = run(["plan", "--write"], tmp_path, capsys, monkeypatch)
    assert code == 130 and done
    monkeypatch.setattr(fileset.os, "replace", real_replace)
    generated = tmp_path / "generated"
    assert (generated / fileset.MARKER).is_file() and not list(generated.glob(".*.tmp"))
    code, _, err = run(["plan"], tmp_path, capsys, monkeypatch)
    assert "held a torn set of generated files" in err and "`compose plan --write` completes it" in err
    code, _, err = run(["plan", "--write"], tmp_path, capsys, monkeypatch)
    assert code == 0 and "this write completed it" in err and not (generated / fileset.MARKER).exists()
    assert run(["validate", "--check-generated"], tmp_path, capsys, monkeypatch)[0] == 0


def test_temporaries_a_killed_write_left_are_removed_and_nothing_else(tmp_path, capsys, monkeypatch):
    _estate_with_old_set(tmp_path, capsys, monkeypatch)
    generated = tmp_path / "generated"
    (generated / ".cluster.yaml.compose-0a1b2c3d.tmp").write_text("half")
    (generated / ".notes.tmp").write_text("someone else's")
    (generated / ".helmfile.yaml.k3j9x.tmp").write_text("a user's own, named like a temporary")
    assert run(["plan", "--write"], tmp_path, capsys, monkeypatch)[0] == 0
    assert not (generated / ".cluster.yaml.compose-0a1b2c3d.tmp").exists() and (generated / ".notes.tmp").exists()
    assert (generated / ".helmfile.yaml.k3j9x.tmp").read_text() == "a user's own, named like a temporary"


def test_a_log_file_in_a_shared_folder_leaves_the_folder_mode_alone(tmp_path):
    """--log-file /x/logs/f.log turned an existing mode-1777 folder into 0700; folders compose makes for its
    logs are still 0700, the log itself 0600."""
    import stat

    from composer.cluster.apply_session import private_log

    shared = tmp_path / "shared" / "logs"
    shared.mkdir(parents=True)
    shared.chmod(0o1777)
    with private_log(shared / "f.log") as log:
        log.write("x")
    assert stat.S_IMODE(shared.stat().st_mode) == 0o1777
    assert stat.S_IMODE((shared / "f.log").stat().st_mode) == 0o600
    with private_log(tmp_path / "new" / "logs" / "g.log"):
        pass
    assert stat.S_IMODE((tmp_path / "new" / "logs").stat().st_mode) == 0o700


# ---------------------------------------------------------------- item 13: numbers and networks in bounds

BIG = "1" + "0" * 400
TOKENS = {"<BIG>": BIG, "<1e999>": "1e999", "<HEX>": "0x" + "f" * 4000, ".nan": ".nan", "1e400": "1e400"}


def unquote(text: str) -> str:
    """The YAML with the placeholder strings turned into the bare numbers they stand for."""
    for token, value in TOKENS.items():
        text = text.replace(f"'{token}'", value).replace(f"'{token}'", value)
        text = text.replace(f": {token}", f": {value}")
    return text


SETTINGS_CASES = {
    "zone of another region": (
        {"availabilityZones": ["us-east-1a", "eu-west-1b"]},
        "availability zone 'eu-west-1b' is not in the cluster's region us-east-1",
    ),
    "impossible CIDR": ({"vpc": {"cidr": "999.999.999.999/99"}}, "CIDR '999.999.999.999/99' is not an IPv4 network"),
    "VPC wider than eksctl takes": ({"vpc": {"cidr": "10.0.0.0/12"}}, "eksctl takes /16 to /24"),
    "subnets and zones": (
        {"vpc": {"id": "vpc-0abc", "subnets": {"private": {"us-east-1a": {"id": "subnet-0a"}}}}},
        "availabilityZones and vpc.subnets cannot both be set",
    ),
    "subnets without the VPC id": (
        {"availabilityZones": None, "vpc": {"subnets": {"private": {"us-east-1a": {"id": "subnet-0a"}}}}},
        "vpc.subnets is set without vpc.id",
    ),
    "Fargate subnets of a VPC eksctl creates": (
        {"fargate": {"subnets": ["subnet-0abc"]}},
        "eksctl creates this cluster's VPC, so its subnet IDs are not known",
    ),
    "Fargate on a public subnet": (
        {
            "availabilityZones": None,
            "fargate": {"subnets": ["subnet-1a"]},
            "vpc": {
                "id": "vpc-0abc",
                "subnets": {
                    "private": {"us-east-1a": {"id": "subnet-0a"}},
                    "public": {"us-east-1a": {"id": "subnet-1a"}},
                },
            },
        },
        "Fargate subnet subnet-1a is not one of vpc.subnets.private",
    ),
    "a brought VPC in one zone": (
        {
            "availabilityZones": None,
            "vpc": {
                "id": "vpc-0abc",
                "subnets": {
                    "private": {"us-east-1a": {"id": "subnet-0a"}},
                    "public": {"us-east-1a": {"id": "subnet-1a"}},
                },
            },
        },
        "EKS needs the cluster's subnets in at least two availability zones",
    ),
    "the old subnetCidrs": ({"fargate": {"subnetCidrs": ["10.0.0.0/20"]}}, "fargate.subnetCidrs is no longer read"),
    "CIDR with host bits": ({"vpc": {"cidr": "10.0.1.7/16"}}, "did you mean 10.0.0.0/16?"),
    "minSize above maxSize": (
        {"nodeGroups": {"general": {"minSize": 5, "maxSize": 2}}},
        "minSize 5 is larger than maxSize 2",
    ),
    "absurd minSize": ({"nodeGroups": {"general": {"minSize": 10**9}}}, "minSize"),
    "huge timeout": ({"helm": {"fargateTimeout": "<BIG>"}}, "out of range"),
    "NaN price": ({"prices": {"fargate": {"vcpuHour": ".nan"}}}, "not a finite number"),
    "infinite price": ({"prices": {"fargate": {"gbHour": "1e400"}}}, "not a finite number"),
    "price 10^400": ({"prices": {"ec2": {"m6i.xlarge": "<BIG>"}}}, "out of range"),
}


@pytest.mark.parametrize("case", SETTINGS_CASES)
def test_settings_out_of_bounds_are_refused_by_validate_with_a_short_message(case, tmp_path, capsys, monkeypatch):
    from tests.conftest import dump

    change, expected = SETTINGS_CASES[case]
    text = unquote(dump({k: v for k, v in {**SETTINGS, **change}.items() if v is not None}))
    write_estate(tmp_path, [profile_doc("api", "shop")])
    (tmp_path / "composer.yaml").write_text(text)
    for command in (["validate"], ["plan"]):
        code, out, err = run(command, tmp_path, capsys, monkeypatch)
        assert code == 1 and expected in err and "Traceback" not in err, (command, err)
        assert "composer.yaml:" in err and max(len(line) for line in err.splitlines()) < 300


PROFILE_CASES = {
    "quantity 1e999": (
        {"containers": [{"name": "a", "resources": {"requests": {"memory": "<1e999>"}}}]},
        "not a finite number",
    ),
    "hex with 4000 digits": (
        {"containers": [{"name": "a", "resources": {"requests": {"cpu": "<HEX>"}}}]},
        "out of range",
    ),
    "400-digit rolloutsPerDay": ({"rolloutsPerDay": "<BIG>"}, "out of range"),
    "rolloutsPerDay above one a minute": ({"rolloutsPerDay": 5000}, "rolloutsPerDay"),
    "timeout 10^400": ({"ttlSecondsAfterFinished": "<BIG>"}, "out of range"),
    "quantity above 2^63": (
        {"containers": [{"name": "a", "resources": {"requests": {"memory": "12E"}}}]},
        "too large: Kubernetes quantities stop at 2^63-1",
    ),
}


@pytest.mark.parametrize("case", PROFILE_CASES)
def test_profile_numbers_out_of_bounds_are_refused_with_a_short_message(case, tmp_path, capsys, monkeypatch):

    change, expected = PROFILE_CASES[case]
    write_estate(tmp_path, [profile_doc("api", "shop", **change)])
    path = tmp_path / "profiles" / "shop-api.yaml"
    path.write_text(unquote(path.read_text()))
    code, _, err = run(["validate"], tmp_path, capsys, monkeypatch)
    assert code == 1 and expected in err and "Traceback" not in err, err
    assert "shop-api.yaml:" in err and max(len(line) for line in err.splitlines()) < 300


# ---------------------------------------------------------------- item 15: messages name the real culprit


def test_type_errors_say_what_the_value_is_in_words(tmp_path, capsys, monkeypatch):
    write_estate(tmp_path, [profile_doc("api", "shop", replicas={"a": 1}, containers=[{"name": ["x"]}])])
    code, _, err = run(["validate"], tmp_path, capsys, monkeypatch)
    assert code == 1 and "'workload.replicas' must be an integer, not a mapping" in err
    assert "'workload.containers[0].name' must be a string, not a list" in err
    assert "Map" not in err and "Seq" not in err


def test_one_impossible_pod_does_not_make_other_large_pods_look_impossible(tmp_path, capsys, monkeypatch):
    huge = [{"name": "h", "resources": {"requests": {"cpu": "900", "memory": "8Gi"}}}]
    big = [{"name": "b", "resources": {"requests": {"cpu": "40", "memory": "160Gi"}}}]
    write_estate(
        tmp_path,
        [
            profile_doc("impossible", "data", kind="Job", containers=huge),
            profile_doc("big", "data", kind="Job", containers=big),
            profile_doc("api", "shop"),
        ],
    )
    code, _, err = run(["validate"], tmp_path, capsys, monkeypatch)
    sizing = [line for line in err.splitlines() if "[sizing]" in line]
    assert code == 1 and len(sizing) == 1, err
    assert "data-impossible.yaml" in sizing[0] and "data/impossible: a pod needs 900 vCPU" in sizing[0]


def test_a_huge_float_quantity_is_a_short_bound_message(tmp_path, capsys, monkeypatch):
    write_estate(
        tmp_path, [profile_doc("api", "shop", containers=[{"name": "a", "resources": {"requests": {"memory": 1e308}}}])]
    )
    code, _, err = run(["validate"], tmp_path, capsys, monkeypatch)
    assert code == 1 and "1e+308" in err and max(len(line) for line in err.splitlines()) < 250


def test_validate_render_without_helm_or_local_charts_says_what_was_not_checked(tmp_path, capsys, monkeypatch):
    from composer.cli import main as cli

    def no_helm(argv, on_line, timeout=None):
        from composer.cluster.runner import ToolNotFound

        raise ToolNotFound(argv[0])

    (tmp_path / "charts" / "api").mkdir(parents=True)
    (tmp_path / "charts" / "api" / "Chart.yaml").write_text("apiVersion: v2\nname: api\nversion: 1.0.0\n")
    write_estate(
        tmp_path,
        [
            profile_doc("api", "shop", release={"chart": "../charts/api"}),
            profile_doc("web", "shop", release={"chart": "acme/web", "repository": REPO}),
        ],
    )
    monkeypatch.chdir(tmp_path)
    code = cli.main(["validate", "--render"], runner=no_helm)
    _, err = capsys.readouterr()
    assert code == 0
    assert "note: shop/web: chart acme/web is not on disk; not rendered" in err
    assert "note: helm is not installed: no release was rendered" in err


@pytest.mark.parametrize("value", ["abc", "-5", "0", "99999999", ""])
def test_a_columns_variable_that_is_not_a_width_is_ignored(value, tmp_path, capsys, monkeypatch):
    work = write_estate(tmp_path, [profile_doc("api", "shop")])
    monkeypatch.setenv("COLUMNS", value)
    code, out, err = run(["plan", "--no-diff"], work, capsys, monkeypatch)
    assert code == 0 and "internal error" not in err and "1 workloads" in out


@pytest.mark.parametrize("value", ["abc", "0", "0.05", "-1", "nan", "inf", "1e9"])
def test_a_heartbeat_that_is_not_a_sane_number_of_seconds_is_an_input_error(value, tmp_path, capsys, monkeypatch):
    """COMPOSE_HEARTBEAT_SECONDS=abc ended in exit 3; =0 printed thousands of lines a second."""
    work = write_estate(tmp_path, [profile_doc("api", "shop")])
    monkeypatch.setenv("COMPOSE_HEARTBEAT_SECONDS", value)
    code, _, err = run(["apply", "--yes"], work, capsys, monkeypatch)
    assert code == 1, err
    assert "COMPOSE_HEARTBEAT_SECONDS is" in err and "from 0.1 to 86400" in err
    assert not (work / "generated").exists()


def test_a_symlink_out_of_the_estate_or_to_nowhere_is_an_error_never_a_smaller_estate(tmp_path, capsys, monkeypatch):
    work = write_estate(tmp_path / "estate", [profile_doc("api", "shop")])
    team = write_estate(tmp_path / "team", [profile_doc("web", "store")]) / "profiles"
    (work / "profiles" / "team").symlink_to(team)
    code, _, err = run(["validate"], work, capsys, monkeypatch)
    assert code == 1 and "profiles/team: symbolic link leads outside the estate" in err
    (work / "profiles" / "team").unlink()
    (work / "profiles" / "team").symlink_to(work / "gone")
    code, _, err = run(["validate"], work, capsys, monkeypatch)
    assert code == 1 and "profiles/team: symbolic link to" in err and "does not exist" in err
    (work / "profiles" / "team").unlink()
    (work / "team").mkdir()
    (work / "team" / "web.yaml").write_text((team / "store-web.yaml").read_text())
    (work / "profiles" / "team").symlink_to(Path("../team"))
    (work / "profiles" / "loop").symlink_to(Path("."))  # a loop is read once, not forever
    code, out, err = run(["validate"], work, capsys, monkeypatch)
    assert code == 0 and "3 file(s) valid" in out, err


@pytest.mark.parametrize(
    "affinity",
    [
        {"nodeAffinity": "x"},
        {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": ["a"]}},
        {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": "x"}}},
        {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": "x"}]}
            }
        },
    ],
)
def test_an_affinity_of_the_wrong_shape_is_an_input_error_at_its_line(affinity, tmp_path, capsys, monkeypatch):
    """affinity: {nodeAffinity: x} ended in AttributeError (exit 3): the schema accepted any object there
    while a rule read into it. Schema and rule now agree on the shapes the rules read."""
    doc = profile_doc("api", "shop")
    doc["workload"]["affinity"] = affinity
    work = write_estate(tmp_path, [doc])
    code, _, err = run(["validate"], work, capsys, monkeypatch)
    assert code == 1 and "internal error" not in err and "workload.affinity.nodeAffinity" in err, err
    assert ":" in err.split("workload.affinity")[0]  # file:line:col first


def test_an_uncatalogued_instance_type_with_min_size_zero_is_an_input_error(tmp_path, capsys, monkeypatch):
    """nodeGroups.general {instanceType: a1.medium, minSize: 0} and a node-group Job: an AssertionError on
    maxSize 0 (exit 3) before; now the problem that the type cannot be sized, at its line."""
    settings = {**SETTINGS, "nodeGroups": {"general": {"instanceType": "a1.medium", "minSize": 0}}}
    doc = profile_doc("job", "batch", kind="Job")
    doc["workload"]["hostIPC"] = True
    doc["workload"]["containers"][0]["resources"]["requests"]["cpu"] = "6"
    work = write_estate(tmp_path, [doc], settings)
    code, _, err = run(["validate"], work, capsys, monkeypatch)
    assert code == 1 and "internal error" not in err
    assert "composer.yaml:" in err and "instance type 'a1.medium' is not in the sizing catalogue" in err


@pytest.mark.parametrize("fault", ["full disk", "folder in the way"])
def test_scan_writes_its_profiles_as_one_set_or_none(fault, tmp_path, capsys, monkeypatch):
    """A full disk left 16 of 400 profiles written (exit 3); a folder where a profile should go failed after
    earlier files were written. Now all or nothing, with an input error naming the cause."""
    from composer.files import yamlio

    manifests = tmp_path / "m.yaml"
    manifests.write_text(
        "---\n".join(
            f"apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: app{i}, namespace: shop}}\n"
            "spec: {template: {spec: {containers: [{name: a, image: x}]}}}\n"
            for i in range(20)
        )
    )
    if fault == "full disk":
        real_stage, calls = yamlio.stage, []

        def stage(target, text, sync=True):
            calls.append(target)
            if len(calls) == 10:
                raise OSError(28, "No space left on device", str(target))
            return real_stage(target, text, sync)

        monkeypatch.setattr(yamlio, "stage", stage)
    else:
        (tmp_path / "profiles" / "shop" / "app7.yaml").mkdir(parents=True)
    code, _, err = run(["scan", "m.yaml"], tmp_path, capsys, monkeypatch)
    assert code == 1 and "internal error" not in err, err
    assert ("No space left on device" in err and "none of the 20 was written" in err) or "a folder is where" in err
    written = [p for p in (tmp_path / "profiles").rglob("*") if p.is_file()]
    assert written == []  # (no profile, no temporary)


def test_terminal_escapes_from_profiles_manifests_and_markup_never_reach_the_screen(tmp_path, capsys, monkeypatch):
    """runtimeClassName / nodeSelector values in plan's reasons, and manifest kinds and names in scan, printed
    escape sequences as they were (a kind like "[/bold]" even crashed rich after the profiles were written)."""
    doc = profile_doc("api", "shop")
    doc["workload"]["runtimeClassName"] = "gv\x1b[31misor"
    doc["workload"]["nodeSelector"] = {"disk": "ss\x1b]0;pwned\x07d"}
    work = write_estate(tmp_path / "estate", [doc])
    code, out, err = run(["plan", "--no-diff"], work, capsys, monkeypatch)
    assert code == 0 and "\x1b" not in out + err and "gvisor" in out
    manifests = tmp_path / "m.yaml"
    manifests.write_text(
        'apiVersion: v1\nkind: "[/bold]"\nmetadata: {name: x}\n---\napiVersion: v1\nkind: "Evil\\e[31mRED"\n'
        'metadata: {name: "y\\e]0;title\\a"}\n---\napiVersion: apps/v1\nkind: Deployment\n'
        'metadata: {name: "web", namespace: shop}\nspec: {template: {spec: {containers: [{name: a, image: x}]}}}\n'
    )
    code, out, err = run(["scan", str(manifests), "--dry-run"], tmp_path, capsys, monkeypatch)
    assert code == 0 and "internal error" not in err and "\x1b" not in out + err
    assert "[/bold] 1" in out and "EvilRED 1" in out


@pytest.mark.parametrize("key", ["~", "1", "true", "&anchor"])
def test_a_mapping_key_that_is_not_text_is_a_located_error_not_a_crash(key, tmp_path, capsys, monkeypatch):
    """Found by the CLI fuzzer: `{cpu: "3", &memory: 12Gi}` makes a null key, which crashed the schema check
    (exit 3). Any key YAML reads as something other than text is now a problem at its line and column."""
    write_estate(tmp_path, [profile_doc("api", "shop")])
    path = tmp_path / "profiles" / "shop-api.yaml"
    path.write_text(path.read_text().replace("cpu: 500m", f"cpu: 500m\n          {key}: 1"))
    code, _, err = run(["validate"], tmp_path, capsys, monkeypatch)
    assert code == 1 and "is not text" in err and "shop-api.yaml:" in err, err
