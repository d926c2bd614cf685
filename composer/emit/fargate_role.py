"""Can Fargate's log router write to CloudWatch Logs? The pod execution role decides, and eksctl cannot say.

Fargate's built-in log router (``logging.fargate``) sends logs with the pod execution role, which needs
``logs:CreateLogStream``, ``logs:CreateLogGroup``, ``logs:DescribeLogStreams`` and ``logs:PutLogEvents``
(EKS user guide, Fargate logging). Without them no log arrives and nothing fails. eksctl creates that role
with ``AmazonEKSFargatePodExecutionRolePolicy`` only, and its ClusterConfig has no field to attach another
policy to it (``iam.fargatePodExecutionRoleARN`` only names a role of your own). So compose cannot put the
permissions into cluster.yaml; instead:

* the plan writes the policy document (``iam/fargate-logging-policy.json`` in the output folder) to attach;
* ``compose apply`` asks IAM, read-only, whether each role the Fargate profiles use allows the four
  actions (``aws iam simulate-principal-policy``), and refuses before anything runs when one does not,
  naming the role, the missing actions and the command that attaches the policy;
* a new cluster without ``fargate.podExecutionRoleARN`` would get eksctl's role, which lacks them: apply
  refuses that too, and says to bring a role.
"""

from __future__ import annotations

import json
import shlex
from typing import Sequence

ACTIONS = ("logs:CreateLogStream", "logs:CreateLogGroup", "logs:DescribeLogStreams", "logs:PutLogEvents")
POLICY_FILE = "iam/fargate-logging-policy.json"
URL = "https://docs.aws.amazon.com/eks/latest/userguide/fargate-logging.html"


def policy_document() -> str:
    """The IAM policy that gives a pod execution role what the log router needs."""
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": list(ACTIONS), "Resource": "*"}]}
    return json.dumps(policy, indent=2) + "\n"


def simulate_command(role_arn: str, region: str) -> tuple[str, ...]:
    return (
        "aws",
        "iam",
        "simulate-principal-policy",
        "--policy-source-arn",
        role_arn,
        "--action-names",
        *ACTIONS,
        "--region",
        region,
        "--output",
        "json",
    )


def denied(output: str) -> list[str] | None:
    """The actions ``simulate-principal-policy`` did not allow; None when its output is not what IAM returns."""
    try:
        found = json.loads(output)
    except ValueError:
        return None
    results = found.get("EvaluationResults") if isinstance(found, dict) else None
    if not isinstance(results, list):
        return None
    allowed = {r.get("EvalActionName") for r in results if isinstance(r, dict) and r.get("EvalDecision") == "allowed"}
    return [a for a in ACTIONS if a not in allowed]


def attach_hint(role_arn: str, policy_path: str) -> str:
    role = role_arn.rsplit("/", 1)[-1]
    return shlex.join(
        (
            "aws",
            "iam",
            "put-role-policy",
            "--role-name",
            role,
            "--policy-name",
            "fargate-logging",
            "--policy-document",
            f"file://{policy_path}",
        )
    )


def roles_to_check(exists: bool, profiles: dict, own_role: str) -> tuple[list[str], list[str]]:
    """(role ARNs to ask IAM about, problems already known). ``profiles``: eksctl's Fargate profiles."""
    roles = sorted(
        {str(p.get("podExecutionRoleARN")) for p in profiles.values() if p.get("podExecutionRoleARN")}
        | ({own_role} if own_role else set())
    )
    if not roles and not exists:
        return [], [
            "logging.fargate is on, but eksctl would create the Fargate pod execution role with "
            "AmazonEKSFargatePodExecutionRolePolicy only, so no log would arrive: create a role with that "
            f"policy and the one in {POLICY_FILE}, and name it in fargate.podExecutionRoleARN"
        ]
    return roles, []


def problems(results: Sequence[tuple[str, int, str, str]], policy_path: str) -> list[str]:
    """Problems from (role, exit code, stdout, stderr) of each simulate command."""
    out = []
    for role, code, stdout, stderr in results:
        missing = denied(stdout) if code == 0 else None
        if code != 0 or missing is None:
            out.append(
                f"could not check the CloudWatch Logs permissions of {role}: `aws iam simulate-principal-policy` "
                f"exited {code}: {stderr.strip()[-300:]} (it needs iam:SimulatePrincipalPolicy)"
            )
        elif missing:
            out.append(
                f"the Fargate pod execution role {role} lacks {', '.join(missing)}: the log router could not "
                f"send logs. Attach the policy compose wrote: {attach_hint(role, policy_path)}"
            )
    return out
