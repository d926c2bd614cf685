"""Shared helpers: build workloads and settings from plain dicts, write estates to disk."""

from __future__ import annotations

import copy
import os
import tempfile
from pathlib import Path

import pytest

# compiled schema checks are cached per user; the tests keep theirs to themselves
os.environ.setdefault("COMPOSE_CACHE_DIR", tempfile.mkdtemp(prefix="compose-test-cache-"))
# The Python processes the tests start (the fake tools, thousands a run, and compose itself) compiled their
# modules again at every start where PYTHONDONTWRITEBYTECODE is set: they keep bytecode outside the
# checkout instead, compiled once
if os.environ.pop("PYTHONDONTWRITEBYTECODE", None):
    os.environ.setdefault("PYTHONPYCACHEPREFIX", os.path.join(tempfile.gettempdir(), f"compose-pycache-{os.getuid()}"))

from composer.core.model import Source
from composer.files import schema
from composer.files.yamlio import dump
from composer.load.profiles import build_workload
from composer.load.settings import build_settings

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _own_apply_locks(tmp_path, monkeypatch):
    """apply's cluster locks live in one place per user (composer.cluster.apply.lock_dir); each test gets
    its own, so tests neither touch the real one nor see each other's. And every test starts without the
    runner's COLUMNS (pytest-xdist's workers get 80), so output is as wide as compose's default unless
    the test sets it."""
    monkeypatch.setenv("COMPOSE_LOCK_DIR", str(tmp_path / "locks"))
    monkeypatch.delenv("COLUMNS", raising=False)


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
# Each distinct one is kept as a file in a folder all pytest-xdist workers share (the controller makes it
# before they start, and they inherit the variable); when the session ends, the controller hands them all
# to eksctl's own loader in one run (tests/test_real_eksctl.py's helpers): a rejection fails the run,
# whichever test produced the config.
GENERATED_CLUSTER_CONFIGS = Path(
    os.environ.setdefault("COMPOSE_TEST_CONFIGS", tempfile.mkdtemp(prefix="compose-cfgs-"))
)


def _record_cluster_configs() -> None:
    import hashlib

    import composer.emit.eksctl
    import composer.emit.plan

    real = composer.emit.eksctl.cluster_config

    def recording(*args, **kwargs):
        config = real(*args, **kwargs)
        text = dump(config)
        # a config for an existing cluster that runs core add-ons itself (they are left out) is only ever
        # given to the loaders of the commands apply runs there: it goes to its own folder
        existing = bool(kwargs.get("self_managed") or (len(args) > 4 and args[4]))
        folder = GENERATED_CLUSTER_CONFIGS / "existing" if existing else GENERATED_CLUSTER_CONFIGS
        folder.mkdir(exist_ok=True)
        path = folder / f"{hashlib.sha256(text.encode()).hexdigest()[:24]}.yaml"
        if not path.exists():
            partial = path.with_suffix(f".{os.getpid()}.tmp")
            partial.write_text(text)
            os.replace(partial, path)
        return config

    composer.emit.eksctl.cluster_config = composer.emit.plan.cluster_config = recording


_record_cluster_configs()


def pytest_xdist_auto_num_workers(config):
    """`-n auto`: one worker more than the cores this process may use (at most 4). Most of the suite waits
    on tools (helm's readiness polls, the simulated EKS's kubelets, fakes starting): on two cores three
    workers finish in about 3 minutes, two in over 4, four in 3.5 (they start to contend)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return min(4, cpus + 1)


# The longest tests start first, so that none of them is the last to finish while the other workers idle
# (worksteal hands out the rest around them): the simulated EKS alone takes 100-160 s.
LONGEST_FIRST = (
    "tests/test_day2_sim.py::",
    "tests/test_real_helmfile.py::test_installed_pods_land_where_the_plan_says_and_those_left_on_nodes",
    "tests/test_real_eksctl.py::test_compose_apply_gives_irsa_accounts_their_roles_through_the_real_eksctl",
    "tests/test_real_eksctl.py::test_plan_refresh_reads_a_cluster_through_the_real_eksctl",
)


def pytest_collection_modifyitems(session, config, items):
    def rank(item) -> int:
        return next((i for i, prefix in enumerate(LONGEST_FIRST) if item.nodeid.startswith(prefix)), len(LONGEST_FIRST))

    items.sort(key=rank)  # (stable: the rest keep their order)


def pytest_sessionfinish(session, exitstatus):
    """In the controller (or a run without workers), after every test: eksctl's loader on every ClusterConfig
    the tests generated. Skipped without eksctl-validate (a failure under COMPOSER_REQUIRE_REALTOOLS=1)."""
    if hasattr(session.config, "workerinput") or exitstatus not in (0, 1):
        return
    from ruamel.yaml import YAML

    from tests import real

    files = sorted(GENERATED_CLUSTER_CONFIGS.glob("*.yaml"))
    say = session.config.pluginmanager.get_plugin("terminalreporter").write_line
    if not files:
        return
    if real.missing("eksctl-validate"):
        say(f"eksctl-validate not built: the {len(files)} ClusterConfigs the tests generated were not checked")
        if real.REQUIRED:
            session.exitstatus = 1
        return
    from tests.test_real_eksctl import eksctl_verdicts, rejected

    configs = [YAML(typ="safe").load(f.read_text()) for f in files]
    folder = Path(tempfile.mkdtemp(prefix="compose-cfgs-checked-"))
    bad = rejected(eksctl_verdicts(configs, folder), folder)
    # (configs for existing clusters: the loaders of create nodegroup and create fargateprofile)
    existing = [
        YAML(typ="safe").load(f.read_text()) for f in sorted((GENERATED_CLUSTER_CONFIGS / "existing").glob("*.yaml"))
    ]
    for command in ("create-nodegroup", "create-fargateprofile") if existing else ():
        there = folder / command
        bad += rejected(eksctl_verdicts(existing, there, command), there)
    say("")
    say(
        f"eksctl's loader on every ClusterConfig the tests generated: {len(configs)} checked, "
        f"{len(existing)} more for existing clusters, {len(bad)} rejected"
    )
    if bad:
        say("\n".join(bad))
        session.exitstatus = 1


# The fuzz tests draw a new seed each run, so every run covers new ground; the header prints it, and
# COMPOSE_FUZZ_SEED=<it> repeats a run exactly (bench/fuzz.py runs many more cases).
FUZZ_SEED = int(os.environ.get("COMPOSE_FUZZ_SEED") or int.from_bytes(os.urandom(4), "big"))
os.environ["COMPOSE_FUZZ_SEED"] = str(FUZZ_SEED)


def pytest_report_header(config):
    return f"fuzz seed: {FUZZ_SEED} (COMPOSE_FUZZ_SEED={FUZZ_SEED} repeats this run)"


def pytest_terminal_summary(terminalreporter):
    """The seed again at the end, where -q (the default) still shows it, so a failed fuzz case can be rerun."""
    terminalreporter.write_line(f"fuzz seed: {FUZZ_SEED} (COMPOSE_FUZZ_SEED={FUZZ_SEED} repeats this run)")
