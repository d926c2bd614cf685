"""Real public charts (../shared/corpus/charts, see SOURCES.md there) through the real helm.

A chart is other people's code with its own defaults and its own values schema; these tests hold compose to
what it does with them: a node exporter keeps the tolerations its chart gives it when compose adds a node
class's, a chart whose values schema refuses a key compose wrote is blamed on the profile field that named
the key. Skipped without ../shared/ or helm.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from composer.files.yamlio import dump, load_all
from tests import real
from tests.conftest import ROOT, profile_doc, run_cli, write_estate

CHARTS = ROOT.parent / "shared" / "corpus" / "charts"
needs_charts = pytest.mark.skipif(not CHARTS.is_dir(), reason="../shared/corpus/charts not present")
DEFAULT_TOLERATION = {"effect": "NoSchedule", "operator": "Exists"}  # prometheus-node-exporter's values.yaml


def _estate(tmp_path, chart: str, doc: dict):
    shutil.copytree(CHARTS / chart, tmp_path / "charts" / chart)
    return write_estate(tmp_path, [doc])


def _exporter(**workload) -> dict:
    return profile_doc(
        "node-exporter",
        "monitoring",
        release={"chart": "../charts/prometheus-node-exporter", "podLabelsValue": "podLabels"},
        kind="DaemonSet",
        replicas=1,
        hostNetwork=True,
        hostPID=True,
        **workload,
    )


@needs_charts
@real.needs("helm")
def test_scan_keeps_a_charts_own_tolerations_and_validate_render_catches_them_dropped(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PATH", f"{real.BIN}{os.pathsep}{os.environ['PATH']}")
    rendered = subprocess.run(
        ["helm", "template", "node-exporter", str(CHARTS / "prometheus-node-exporter"), "--namespace", "monitoring"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    (tmp_path / "rendered.yaml").write_text(rendered)
    code, out, err = run_cli(["scan", "rendered.yaml"], tmp_path, capsys, monkeypatch)
    assert code == 0, err
    written = tmp_path / "profiles" / "monitoring" / "node-exporter-prometheus-node-exporter.yaml"
    assert load_all(written.read_text(), "profile")[0]["workload"]["tolerations"] == [DEFAULT_TOLERATION]

    root = _estate(tmp_path / "without", "prometheus-node-exporter", _exporter())
    code, _, err = run_cli(["validate", "--render"], root, capsys, monkeypatch)
    problems = [line for line in err.splitlines() if "[render]" in line]
    assert code == 1 and len(problems) == 1, err
    assert "workload.tolerations" in err and "replace the chart's own ({effect: NoSchedule, operator: Exists})" in err

    root = _estate(tmp_path / "with", "prometheus-node-exporter", _exporter(tolerations=[DEFAULT_TOLERATION]))
    code, _, err = run_cli(["validate", "--render"], root, capsys, monkeypatch)
    assert code == 0, err
    assert run_cli(["plan", "--write"], root, capsys, monkeypatch)[0] == 0
    helmfile = load_all((root / "generated" / "helmfile.yaml").read_text(), "helmfile")[0]
    written = [v["tolerations"] for v in helmfile["releases"][0]["values"] if "tolerations" in v][0]
    assert written[0] == DEFAULT_TOLERATION and len(written) > 1  # the chart's, then the node classes'


@needs_charts
@real.needs("helm")
def test_a_value_the_charts_schema_refuses_is_blamed_on_the_profile_field_that_named_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PATH", f"{real.BIN}{os.pathsep}{os.environ['PATH']}")
    doc = profile_doc(
        "cert-manager",
        "cert-manager",
        release={"chart": "../charts/cert-manager", "podLabelsValue": "labels"},
        replicas=1,
    )
    root = _estate(tmp_path, "cert-manager", doc)
    code, _, err = run_cli(["validate", "--render"], root, capsys, monkeypatch)
    problems = [line for line in err.splitlines() if "[render]" in line]
    assert code == 1 and len(problems) == 1, err
    assert "helm template failed" in err and "release.podLabelsValue" in err, err
    assert "values schema refuses the value compose writes for release.podLabelsValue" in " ".join(err.split())


def _scan_release(tmp_path, chart: str, namespace: str, capsys, monkeypatch) -> tuple:
    """`helm template <chart> | compose scan - --chart ./charts/<chart>` into a fresh estate: (root, profiles)."""
    root = write_estate(tmp_path, [])
    shutil.copytree(CHARTS / chart, root / "charts" / chart)
    rendered = subprocess.run(
        ["helm", "template", chart, str(root / "charts" / chart), "--namespace", namespace],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    (root / "rendered.yaml").write_text(rendered)
    code, _, err = run_cli(["scan", "rendered.yaml", "--chart", f"./charts/{chart}"], root, capsys, monkeypatch)
    assert code == 0, err
    profiles = {p.stem: load_all(p.read_text(), "profile")[0] for p in (root / "profiles" / namespace).glob("*.yaml")}
    return root, profiles


@needs_charts
@real.needs("helm")
@pytest.mark.parametrize(
    "chart, members, on_nodes",
    [
        # the admission hook Jobs have no pod-label key of their own: on nodes (PL003), like the controller
        ("ingress-nginx", {"ingress-nginx-admission-create", "ingress-nginx-admission-patch"}, 3),
        # the webhook listens on 10250 (FG022): on nodes; the others on Fargate, routed by label
        ("cert-manager", {"cert-manager-cainjector", "cert-manager-webhook", "cert-manager-startupapicheck"}, 1),
    ],
)
def test_a_multi_workload_chart_scans_into_one_release_that_plans_and_renders_clean(
    chart, members, on_nodes, tmp_path, capsys, monkeypatch
):
    monkeypatch.setenv("PATH", f"{real.BIN}{os.pathsep}{os.environ['PATH']}")
    root, profiles = _scan_release(tmp_path, chart, chart, capsys, monkeypatch)
    assert set(profiles) == {chart, *members}
    assert profiles[chart]["release"]["chart"] == f"../../charts/{chart}"
    assert all(profiles[m]["release"]["partOf"] == chart for m in members)
    code, out, err = run_cli(["plan", "--write", "-o", "json"], root, capsys, monkeypatch)
    assert code == 0, err
    placed = {w["release"]: w["placement"] for w in json.loads(out)["workloads"] if w["namespace"] == chart}
    assert sum(p == "nodegroup" for p in placed.values()) == on_nodes, placed
    helmfile = load_all((root / "generated" / "helmfile.yaml").read_text(), "helmfile")[0]
    assert [r["name"] for r in helmfile["releases"] if r["namespace"] == chart] == [chart]  # one release
    code, _, err = run_cli(["validate", "--render"], root, capsys, monkeypatch)
    assert code == 0, err


@needs_charts
@real.needs("helm")
def test_validate_render_holds_each_workload_of_a_release_to_its_own_placement(tmp_path, capsys, monkeypatch):
    """cert-manager with IRSA on its controller: the injector, webhook and start-up check run as accounts of
    their own and are not reported for it; a member whose pod-label key the chart's values schema refuses
    is blamed on its own release.podLabelsValue, not on the owner's chart."""
    monkeypatch.setenv("PATH", f"{real.BIN}{os.pathsep}{os.environ['PATH']}")
    root, profiles = _scan_release(tmp_path, "cert-manager", "cert-manager", capsys, monkeypatch)
    owner = profiles["cert-manager"]
    owner["workload"].update(
        awsCredentials="irsa",
        serviceAccount={
            "name": "cert-manager",
            "attachPolicyARNs": ["arn:aws:iam::aws:policy/AmazonRoute53FullAccess"],
        },
    )
    owner["release"]["serviceAccountValue"] = "serviceAccount"
    injector = profiles["cert-manager-cainjector"]
    injector["release"]["podLabelsValue"] = "cainjector.labels"
    for name, doc in (("cert-manager", owner), ("cert-manager-cainjector", injector)):
        (root / "profiles" / "cert-manager" / f"{name}.yaml").write_text(
            __import__("composer.files.yamlio").files.yamlio.dump(doc)
        )
    code, _, err = run_cli(["validate", "--render"], root, capsys, monkeypatch)
    assert code == 1 and err.count("[render]") == 1, err
    assert err.startswith("profiles/cert-manager/cert-manager-cainjector.yaml:"), err
    assert "cert-manager-cainjector: helm template failed" in err and "'labels' not allowed" in err
    assert "writes for release.podLabelsValue" in " ".join(err.split())
    del owner["release"]["serviceAccountValue"]  # (the default: the IRSA check stays on)
    injector["release"]["podLabelsValue"] = "cainjector.podLabels"
    for name, doc in (("cert-manager", owner), ("cert-manager-cainjector", injector)):
        (root / "profiles" / "cert-manager" / f"{name}.yaml").write_text(dump(doc))
    code, _, err = run_cli(["validate", "--render"], root, capsys, monkeypatch)
    assert code == 0, err
