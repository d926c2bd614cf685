"""``compose apply --dry-run``: every command apply may run, grouped by the condition that decides it.

Built from the same argv builders apply runs (composer.cluster.apply), so the outline cannot drift from
what apply does; runs nothing."""

from __future__ import annotations

import shlex
from pathlib import Path

from composer.cluster.apply import (
    OFF_FARGATE,
    ApplyOptions,
    Step,
    _kubectl_args,
    _path_arg,
    access_check,
    deployment_argv,
    helmfile_steps,
    orphan_steps,
    probe_commands,
    wanted,
)
from composer.cluster.planned import PlannedCluster
from composer.cluster.reconcile import Action
from composer.emit import access, fargate_role
from composer.emit.helmfile import PIN_LABEL


def dry_run_outline(
    cluster_config: dict,
    cluster_path: Path,
    helmfile_path: Path,
    options: ApplyOptions,
    log_router_planned: bool = False,
    selectors: dict[str, tuple[str, dict]] | None = None,
) -> list[tuple[str, list[tuple[str, str]]]]:
    """Every command apply may run, grouped by the condition that decides it; runs nothing."""
    cluster = PlannedCluster.of(cluster_config)
    name, region = cluster.name, cluster.region
    commands = probe_commands(name, region)
    profiles, groups = wanted(cluster_config)
    join = shlex.join
    helmfile = [(step.command, step.title) for step in helmfile_steps(helmfile_path, options, name, region)]
    fixed = sorted((selectors or {}).items())
    read_selectors = [
        (
            Step("", deployment_argv(key.split("/", 1)[0], deployment, options, name)).command,
            "when its release is installed: the Deployment's selector (the chart's is immutable)",
        )
        for key, (deployment, _) in fixed
    ]
    notes = (
        "when its live selector is not the one the chart now renders: its pods keep running (not with "
        "--selector: listed only)",
        "right after, or when that Deployment is missing: re-creates it, and it adopts the running pods",
    )
    orphan = [
        (step.command, note)
        for key, (deployment, _) in fixed
        for step, note in zip(
            orphan_steps(
                [Action("replace", "Deployment", f"{key.split('/', 1)[0]}/{deployment}", target=key)],
                options,
                name,
                helmfile_path,
            ),
            notes,
        )
    ]
    outline = [
        (
            "first, read-only: does the cluster exist",
            [(join(commands["cluster"]), "exit 1 'No cluster found' = absent")]
            + (
                [
                    (
                        join(fargate_role.simulate_command("<pod execution role>", region)),
                        "logging.fargate: may each Fargate pod execution role write CloudWatch Logs? (if not, "
                        "nothing runs)",
                    )
                ]
                if log_router_planned
                else []
            ),
        ),
        (
            "if the cluster does not exist",
            [
                (
                    join(("eksctl", "create", "cluster", "-f", _path_arg(cluster_path))),
                    f"creates {len(groups)} node group(s) and {len(profiles)} Fargate profile(s)",
                )
            ]
            + [
                (step.command, step.title + ", after the profiles are created") for step in access_check(cluster_config)
            ],
        ),
        (
            "if it exists (read-only first, then only what differs)",
            [
                (join(commands["fargate"]), "existing Fargate profiles (selectors, tags, status)"),
                (join(commands["nodegroups"]), "existing node groups (instance type, sizes, status)"),
                *(
                    [
                        (
                            join(("eksctl", "upgrade", "cluster", "--name", name, "--region", region, "--version"))
                            + f" {cluster.version} --approve",
                            "when the cluster runs the minor before metadata.version (from `get cluster`); a skipped "
                            "minor, a downgrade or node groups too far behind stop the run before anything changes",
                        ),
                        (
                            f"eksctl update addon --name <addon> --cluster {name} --region {region} --version latest "
                            "--wait",
                            "after a control-plane upgrade: each listed add-on, to the newest version for the minor",
                        ),
                        (
                            f"eksctl upgrade nodegroup --name <group> --cluster {name} --region {region} "
                            f"--kubernetes-version {cluster.version} --wait",
                            "after a control-plane upgrade: each planned node group behind it, node by node, "
                            "before the releases; Fargate pods are restarted after them",
                        ),
                    ]
                    if cluster.version
                    else []
                ),
                *(
                    [
                        (
                            f"aws eks describe-nodegroup --cluster-name {name} --nodegroup-name <group> --region "
                            f"{region} --output json",
                            "with --upgrade-nodes (plan --refresh always): each planned node group's AMI release "
                            "(read-only; without the AWS CLI the plan says it was not read)",
                        ),
                        (
                            f"aws ssm get-parameter --name /aws/service/eks/optimized-ami/<version>/<ami>/recommended/"
                            f"release_version --region {region} --output json",
                            "the newest release EKS publishes for that version and AMI type",
                        ),
                        (
                            f"eksctl upgrade nodegroup --name <group> --cluster {name} --region {region} "
                            "--release-version <newest> --wait",
                            "with --upgrade-nodes: each group behind the newest release, node by node under "
                            "PodDisruptionBudgets, before the releases"
                            + ("" if options.upgrade_nodes else " (not this run: listed only)"),
                        ),
                    ]
                    if groups
                    else []
                ),
                (
                    f"eksctl get labels --cluster {name} --region {region} --nodegroup <unwanted>",
                    "is an unwanted node group compose's? (its composer.io/node-class label)",
                ),
                *(
                    [
                        (
                            join(access.mode_command(name, region, "API_AND_CONFIG_MAP")),
                            "when the cluster is still in CONFIG_MAP mode (from `get cluster`): one way, "
                            "before any profile; "
                            "never on to API, which would drop aws-auth",
                        )
                    ]
                    if access.planned_mode(cluster_config) not in (None, "CONFIG_MAP")
                    else []
                ),
                (
                    join(("eksctl", "create", "fargateprofile", "-f", _path_arg(cluster_path))),
                    f"when one of {', '.join(profiles) or '-'} is missing (names carry content: a change is a "
                    f"new name)",
                ),
                *[(step.command, step.title + ", after creating a profile") for step in access_check(cluster_config)],
                (join(commands["addons"]), "existing add-ons (status, configuration)"),
                (
                    join(("eksctl", "create", "addon", "-f", _path_arg(cluster_path))),
                    f"when one of {', '.join(cluster.addon_names) or '-'} is missing (eksctl skips those present)",
                ),
                (
                    join(("eksctl", "update", "addon", "-f", _path_arg(cluster_path))),
                    "when an add-on lacks the configuration the plan sets (CoreDNS's computeType: Fargate)",
                ),
                *(
                    [
                        (
                            f"eksctl get podidentityassociation --cluster {name} --region {region} -o json",
                            "existing EKS Pod Identity associations",
                        ),
                        (
                            f"eksctl create podidentityassociation --cluster {name} --region {region} --namespace "
                            "<namespace> --service-account-name <account> --well-known-policies|"
                            "--permission-policy-arns|--role-arn …",
                            f"for each of {', '.join(a.key for a in cluster.associations)} that is missing (eksctl "
                            "makes its role), after the Pod Identity agent add-on",
                        ),
                    ]
                    if cluster.associations
                    else []
                ),
                *(
                    [
                        (
                            "kubectl patch configmap amazon-vpc-cni --namespace kube-system --type merge --patch "
                            '\'{"data":{"enable-windows-ipam":"true"}}\' …',
                            "before the cluster's first Windows node group, when the VPC CNI's Windows IPAM is off "
                            "(read with kubectl get configmaps; eksctl turns it on only in create cluster)",
                        )
                    ]
                    if any(g.ami_family.startswith("Windows") for g in cluster.groups)
                    else []
                ),
                (
                    join(("eksctl", "create", "nodegroup", "-f", _path_arg(cluster_path), "--include"))
                    + " <missing,...>",
                    f"when one of {', '.join(groups) or '-'} is missing",
                ),
                (
                    f"eksctl scale nodegroup --cluster {name} --region {region} --name <group> --nodes N --nodes-min N "
                    "--nodes-max N --wait",
                    "when a group's planned sizes differ",
                ),
                (
                    Step(
                        "",
                        (
                            "kubectl",
                            "get",
                            "serviceaccounts",
                            "--namespace",
                            "<ns>",
                            "--output",
                            "json",
                            *_kubectl_args(options, name),
                        ),
                    ).command,
                    "each namespace of a planned IAM service account: does it exist with its role annotation",
                ),
                (
                    join(("eksctl", "create", "iamserviceaccount", "-f", _path_arg(cluster_path), "--include"))
                    + " <missing,...> --override-existing-serviceaccounts --approve",
                    "when one of " + (", ".join(a.key for a in cluster.accounts) or "-") + " has no role yet",
                ),
                (
                    join(("eksctl", "get", "iamserviceaccount", "--cluster", name, "--region", region, "-o", "json")),
                    "the roles eksctl made for service accounts (it will not --include one of those again)",
                ),
                (
                    Step(
                        "",
                        ("kubectl", "annotate", "serviceaccount", "<name>", "eks.amazonaws.com/role-arn=<role>")
                        + ("--overwrite", "--namespace", "<ns>", *_kubectl_args(options, name)),
                    ).command,
                    "an account whose eksctl role exists but which is missing (kubectl create serviceaccount first) "
                    "or lacks the annotation; a chart-made one also gets helm.sh/resource-policy=keep",
                ),
                (
                    Step(
                        "",
                        (
                            "kubectl",
                            "get",
                            "pods",
                            "--field-selector",
                            OFF_FARGATE,
                            "--namespace",
                            "<ns>",
                            "--output",
                            "json",
                            *_kubectl_args(options, name),
                        ),
                    ).command,
                    "each namespace a Fargate profile selects: pods still on EC2 (and their ReplicaSets' owners)",
                ),
                *read_selectors,
            ],
        ),
        (
            "then",
            helmfile[:-1]
            + orphan
            + helmfile[-1:]
            + [
                (
                    Step(
                        "",
                        ("kubectl", "get", "pods", "--all-namespaces", "--selector", f"{PIN_LABEL}=<old>")
                        + ("--field-selector", "status.phase=Running", "--output", "json")
                        + _kubectl_args(options, name),
                    ).command,
                    "before a profile is deleted: the pods still on it (EKS would delete them all at once); any "
                    "left stop the run unless --allow-disruption",
                ),
                (
                    f"eksctl delete fargateprofile --cluster {name} --region {region} --name <old> --wait",
                    "each profile compose made that the plan no longer has, once its pods have rolled onto the "
                    "new ones (pinned by their eks.amazonaws.com/fargate-profile label)",
                ),
            ]
            + [
                (
                    Step(
                        "",
                        (
                            "kubectl",
                            "rollout",
                            "restart",
                            "<deployment/x>",
                            "--namespace",
                            "<ns>",
                            *_kubectl_args(options, name),
                        ),
                    ).command,
                    "Deployments and StatefulSets with pods on EC2 that a Fargate profile selects (never Jobs)",
                ),
                (
                    f"eksctl delete nodegroup --cluster {name} --region {region} --name <old> --drain --wait",
                    "each group compose made that a new one replaces"
                    + (", and (--prune) each one no longer wanted" if options.prune else ""),
                ),
            ],
        ),
    ]
    return outline
