"""Real public charts (../shared/corpus/charts, see SOURCES.md there) through the real helm.

A chart is other people's code with its own defaults and its own values schema; these tests hold compose to
what it does with them: a node exporter keeps the tolerations its chart gives it when compose adds a node
class's, a chart whose values schema refuses a key compose wrote is blamed on the profile field that named
the key. Skipped without ../shared/ or helm.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from composer.files.yamlio import load_all
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
