"""Shared helpers: build workloads and settings from plain dicts, write estates to disk."""

from __future__ import annotations

import copy
import os
import tempfile
from pathlib import Path

import pytest

# compiled schema checks are cached per user; the tests keep theirs to themselves
os.environ.setdefault("COMPOSE_CACHE_DIR", tempfile.mkdtemp(prefix="compose-test-cache-"))

from composer.core.model import Source
from composer.files import schema
from composer.files.yamlio import dump
from composer.load.profiles import build_workload
from composer.load.settings import build_settings

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _own_apply_locks(tmp_path, monkeypatch):
    """apply's cluster locks live in one place per user (composer.cluster.apply.lock_dir); each test gets
    its own, so tests neither touch the real one nor see each other's."""
    monkeypatch.setenv("COMPOSE_LOCK_DIR", str(tmp_path / "locks"))


REFERENCE = ROOT.parent / "shared" / "reference"
CORPUS = ROOT.parent / "shared" / "corpus" / "real"
needs_reference = pytest.mark.skipif(not REFERENCE.is_dir(), reason="../shared/reference not present")

SETTINGS = {
    "apiVersion": "composer/v1alpha1",
    "kind": "ClusterSettings",
    "metadata": {"name": "test", "region": "us-east-1", "version": "1.33"},
    "availabilityZones": ["us-east-1a", "us-east-1b"],
    # the tests of everything else leave the generated Cluster Autoscaler out (tests/test_autoscaling.py has it)
    "autoscaling": {"autoscaler": "none"},
    # and the access-entry check after Fargate profiles are created (test_apply_e2e.py has it)
    "access": {"authenticationMode": "CONFIG_MAP"},
}


def profile_doc(
    name: str = "app", namespace: str = "apps", release: dict | None = None, placement: str | None = None, **workload
) -> dict:
    """A schema-valid WorkloadProfile document; ``workload`` fields override a small Deployment."""
    spec = {
        "kind": "Deployment",
        "replicas": 2,
        "containers": [{"name": "app", "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}}}],
    }
    spec.update(workload)
    doc = {
        "apiVersion": "composer/v1alpha1",
        "kind": "WorkloadProfile",
        "metadata": {"name": name, "namespace": namespace},
        "workload": spec,
    }
    if release is not None:
        doc["release"] = release
    if placement:
        doc["placement"] = placement
    return doc


def workload(name: str = "app", namespace: str = "apps", **kwargs):
    doc = profile_doc(name, namespace, **kwargs)
    problems = schema.validate("profile", doc, f"{name}.yaml")
    assert not problems, problems  # a test profile must itself be valid
    return build_workload(doc, Source(f"{name}.yaml", None), Path("."))


def settings(**overrides):
    doc = copy.deepcopy(SETTINGS)
    for key, value in overrides.items():
        doc[key] = value
    if (overrides.get("vpc") or {}).get("subnets") and "availabilityZones" not in overrides:
        doc.pop("availabilityZones")  # a brought VPC's zones are its subnets'
    elif "availabilityZones" not in overrides:  # zones of the (possibly overridden) region
        region = doc["metadata"]["region"]
        doc["availabilityZones"] = [f"{region}a", f"{region}b"]
    assert not schema.validate("composer", doc, "composer.yaml")
    return build_settings(doc, Source("composer.yaml", None), Path("."))


def write_estate(root: Path, profiles: list[dict], composer: dict | None = None) -> Path:
    """Write composer.yaml and profiles/<name>.yaml under ``root``; returns ``root``."""
    (root / "profiles").mkdir(parents=True, exist_ok=True)
    (root / "composer.yaml").write_text(dump(composer or SETTINGS))
    for doc in profiles:
        (root / "profiles" / f"{doc['metadata']['namespace']}-{doc['metadata']['name']}.yaml").write_text(dump(doc))
    return root


REPO = "https://charts.acme.example"  # the chart repository the test profiles name


def run_cli(args, cwd, capsys, monkeypatch):
    """``compose ARGS`` in ``cwd`` through ``main``: (exit code, stdout, stderr)."""
    from composer.cli.main import main

    monkeypatch.chdir(cwd)
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


# ---------------------------------------------------------------- every ClusterConfig the suite makes
# Recorded so that tests/test_real_eksctl.py can hand each distinct one to eksctl's own loader at the
# end of the run (a rejection is a composer bug, whichever test produced the config).
GENERATED_CLUSTER_CONFIGS: dict[str, dict] = {}


def _record_cluster_configs() -> None:
    import composer.emit.eksctl
    import composer.emit.plan

    real = composer.emit.eksctl.cluster_config

    def recording(*args, **kwargs):
        config = real(*args, **kwargs)
        GENERATED_CLUSTER_CONFIGS.setdefault(dump(config), config)
        return config

    composer.emit.eksctl.cluster_config = composer.emit.plan.cluster_config = recording


_record_cluster_configs()


def pytest_collection_modifyitems(items):
    """Tests marked ``after_all`` run last, in their own order (they read what the others produced)."""
    items.sort(key=lambda item: item.get_closest_marker("after_all") is not None)


# The fuzz tests draw a new seed each run, so every run covers new ground; the header prints it, and
# COMPOSE_FUZZ_SEED=<it> repeats a run exactly (bench/fuzz.py runs many more cases).
FUZZ_SEED = int(os.environ.get("COMPOSE_FUZZ_SEED") or int.from_bytes(os.urandom(4), "big"))
os.environ["COMPOSE_FUZZ_SEED"] = str(FUZZ_SEED)


def pytest_report_header(config):
    return f"fuzz seed: {FUZZ_SEED} (COMPOSE_FUZZ_SEED={FUZZ_SEED} repeats this run)"


def pytest_configure(config):
    config.addinivalue_line("markers", "after_all: runs after every other test (reads what they produced)")
