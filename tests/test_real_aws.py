"""The real AWS CLI (tests/realtools/build.sh aws) against what apply asks of it.

IAM's SimulatePrincipalPolicy cannot run here (no AWS, and moto does not implement it), so the fake
``aws`` in tests/fakebin answers the apply tests. What the real CLI can show here it does: that it
parses every command line compose builds for it, and that preflight reads its version."""

from __future__ import annotations

import socket
from pathlib import Path

from composer.cluster.tools import AWS_CLI, parse_version
from composer.emit import fargate_role
from tests import real


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _aws(argv: list[str], home: Path):
    env = {
        **real.tool_env(home),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_MAX_ATTEMPTS": "1",
        "AWS_RETRY_MODE": "standard",
        "AWS_CONFIG_FILE": str(home / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "none"),
    }
    return real.run(argv + ["--endpoint-url", f"http://127.0.0.1:{_closed_port()}"], env, timeout=120)


@real.needs("aws")
def test_the_real_aws_cli_parses_the_role_check_and_preflight_reads_its_version(tmp_path):
    done = real.run(list(AWS_CLI.version_argv), real.tool_env(tmp_path))
    assert done.returncode == 0 and parse_version(done.stdout + done.stderr) >= AWS_CLI.minimum
    argv = list(fargate_role.simulate_command("arn:aws:iam::123456789012:role/fargate-pods", "us-east-1"))
    done = _aws(argv, tmp_path)
    # parsed and sent: it fails only for want of an endpoint, never with its usage text
    assert "Could not connect to the endpoint URL" in done.stderr and "usage:" not in done.stderr, done.stderr
    bogus = _aws(argv + ["--bogus-flag"], tmp_path)  # the oracle can fail
    assert "Unknown options: --bogus-flag" in bogus.stderr and "Could not connect" not in bogus.stderr, bogus.stderr


@real.needs("aws")
def test_the_real_aws_cli_reads_a_node_groups_ami_release_and_the_newest_one(tmp_path, monkeypatch):
    """moto's EKS holds a managed group on an older AL2023 release; the proxy publishes the newest one as
    EKS does (an SSM public parameter, which moto lacks). compose's own probe, run through the real AWS
    CLI, reads both, and the plan shows the group behind."""
    from composer.cluster import amirelease
    from composer.cluster import apply as ap
    from composer.cluster.runner import sh_runner

    with real.MockEks() as mock:
        eks = mock.client()
        eks.create_cluster(name="shop", roleArn="arn:aws:iam::123456789012:role/eks", resourcesVpcConfig={})
        eks.create_nodegroup(
            clusterName="shop",
            nodegroupName="ng-general",
            nodeRole="arn:aws:iam::123456789012:role/node",
            subnets=["subnet-1"],
            amiType="AL2023_x86_64_STANDARD",
            releaseVersion="1.33.5-20261101",
            version="1.33",
        )
        parameter = amirelease.release_parameter("1.33", "AL2023_x86_64_STANDARD")
        mock.parameters[parameter] = "1.33.5-20261120"
        for key, value in mock.env(tmp_path).items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
        options = ap.ApplyOptions(probe_timeout=120)
        found = ap.probe_ami_releases(sh_runner, "shop", "us-east-1", ["ng-general", "ng-missing"], options)
    assert found["ng-general"] == {"release": "1.33.5-20261101", "latest": "1.33.5-20261120"}
    assert "ResourceNotFoundException" in found["ng-missing"]["error"]  # said, not fatal
    assert amirelease.behind(found["ng-general"]["release"], found["ng-general"]["latest"])
