"""The ``compose`` command line. Parsing, exit codes and printing only; the work is elsewhere.

Heavy modules (ruamel.yaml, jsonschema, rich) are imported inside the commands, so
``compose --help`` stays fast.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from composer.core.exits import Exit

if TYPE_CHECKING:
    from composer.cluster.runner import Runner

EPILOG = """\
exit codes:
  0    success (with --detailed-exitcode: success and nothing to change)
  1    invalid input: each problem is printed as path:line:col: message (hint) [check];
       with validate --check-generated also: generated files out of date
  2    with --detailed-exitcode: success, and the generated files differ from those on disk
       (with --refresh also: the cluster differs from the plan)
  3    internal error in compose itself (please report it)
  4    apply: a step failed (the report says what ran; re-run to continue)
  5    apply: every step succeeded, but the cluster still differs from the plan where apply does
       not act (the report lists what and how to settle it)
  6    scan: some YAML documents could not be parsed (each printed as path:line:col); the rest
       were scanned (and written)
  64   usage error: an unknown option or a missing argument (never 2, which means "changes")
  130  interrupted (Ctrl-C); apply: 143 SIGTERM, 129 SIGHUP

Run `compose COMMAND --help` for the options of each command. The same command is installed as
`fargate-compose` (Debian's and Ubuntu's mailcap package has a `compose` of its own).
"""


APPLY_EPILOG = """\
exit codes:
  0    applied (or dry run shown)
  1    invalid input, a tool missing or too old, the cluster probe failed, or no confirmation:
       nothing was run or written
  3    internal error in compose itself (please report it)
  4    a step failed: the report names the steps done, the one that failed (exit code, last
       lines of its stderr) and those not started; re-run to continue
  5    every step succeeded, but the cluster still differs from the plan where apply does not act
       (e.g. an authentication mode apply will not raise to API): the report lists each difference
       and the command or setting that settles it
  130  interrupted by Ctrl-C (passed on to the running command, which was waited for)
  143  stopped by SIGTERM, 129 by SIGHUP (handled like Ctrl-C)

apply works on the whole estate: PROFILES that leave out part of ./profiles are refused (the plan
of a part would delete what the rest owns). It deletes only Fargate profiles and node groups this
estate made (tag/label composer.io/estate = metadata.estate in composer.yaml, default "default").

Only one apply per cluster runs at a time, from any folder (lock: ~/.local/state/fargate-composer/locks/
apply-<cluster>-<region>.lock, held until the last tool it started has exited);
a second one is refused (exit 1) with the holder's pid, user, host and start time. Version checks
and the read-only probes stop after --probe-timeout seconds; the create, delete and helmfile steps
have no time limit, and show they are alive (a spinner with the elapsed time on a terminal).
Logs in .compose/logs are created owner-only (0600).

examples:
  compose apply --dry-run                   # what would run, running nothing
  compose apply                             # show the steps, ask, run
  compose apply --yes --kube-context me@shop-prod.us-east-1.eksctl.io -o json
"""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error exits 64, not 2 (2 is "changes" under --detailed-exitcode)."""

    def error(self, message: str):  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(Exit.USAGE, f"{self.prog}: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    from composer import __version__

    parser = _Parser(
        prog="compose",
        description="Place EKS workloads on Fargate or managed node groups, and compose the eksctl "
        "ClusterConfig and helmfile.yaml that put them there.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"compose {__version__} (fargate-composer)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def common(p: argparse.ArgumentParser, formats: tuple[str, ...] = ("table", "json")) -> None:
        p.add_argument(
            "profiles", nargs="*", type=Path, metavar="PROFILES", help="profile files or folders (default: ./profiles)"
        )
        p.add_argument(
            "-c",
            "--config",
            type=Path,
            default=Path("composer.yaml"),
            help="cluster settings file (default: ./composer.yaml)",
        )
        p.add_argument(
            "-o",
            "--output",
            "--format",
            dest="output",
            choices=formats,
            default="table",
            help="table for people (default), json for machines"
            + (", sarif (2.1.0) for code-scanning annotations in CI" if "sarif" in formats else ""),
        )
        p.add_argument("--no-color", action="store_true", help="plain output (also when NO_COLOR is set)")

    plan = sub.add_parser(
        "plan",
        help="show where each workload goes and why, and what would change",
        description="Classify every workload profile as Fargate or node group (with the rules that decided), "
        "compose cluster.yaml (eksctl) and helmfile.yaml, and diff them against the files in the "
        "output folder. Writes nothing unless --write is given.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    common(plan)
    plan.add_argument(
        "--out-dir",
        type=Path,
        help="folder of cluster.yaml and helmfile.yaml (default: output.dir in composer.yaml, else ./generated)",
    )
    plan.add_argument("--write", action="store_true", help="write the generated files (atomically)")
    plan.add_argument(
        "--detailed-exitcode",
        action="store_true",
        help="exit 2 when the generated files differ from those on disk (0 = no changes)",
    )
    plan.add_argument("--no-diff", action="store_true", help="do not print the diff of changed files")
    plan.add_argument(
        "--full",
        action="store_true",
        help="list every workload even past a screenful (by default more than 60 are grouped: counts per "
        "placement and namespace, reasons per rule with examples; -o json always lists each one)",
    )
    plan.add_argument(
        "--refresh",
        action="store_true",
        help="also read the cluster (read-only eksctl get calls; needs eksctl and AWS credentials) and "
        "show what apply would create, replace, resize or delete there, and where the cluster differs in ways "
        "apply does not change; both counted by --detailed-exitcode too. Without it the plan is offline",
    )
    plan.add_argument(
        "--probe-timeout",
        type=float,
        default=120.0,
        metavar="SECONDS",
        help="with --refresh: limit for each read-only eksctl call (default 120)",
    )
    plan.add_argument(
        "--upgrade-nodes",
        action="store_true",
        help="with --refresh: plan node groups behind the newest AMI release for their version as upgrades, "
        "as `compose apply --upgrade-nodes` does (and so save them with --out)",
    )
    plan.add_argument(
        "--out",
        type=Path,
        metavar="FILE",
        help="with --refresh: save the plan (its commands, and fingerprints of the inputs and the cluster) "
        "for `compose apply --plan FILE`, which runs it only if nothing changed since",
    )

    cost = sub.add_parser(
        "cost",
        help="show what each workload costs a month where it is placed, and where it could go",
        description="The cost section of `compose plan` on its own: monthly on-demand cost per workload where it is "
        "placed and where it would otherwise go (if the rules allow), Job hours a day and break-even, "
        "node-group bills and the total. Prices: a bundled, dated table for us-east-1 and "
        "ap-northeast-1, overridden by `prices:` in composer.yaml. See docs/cost.md.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    common(cost)

    validate = sub.add_parser(
        "validate",
        help="check profiles and composer.yaml (schema and cross-profile checks)",
        description="Check the profiles and composer.yaml against the bundled JSON Schemas and the checks a "
        "schema cannot express (duplicate releases, needs, routing, forced placements). Prints every "
        "problem as path:line:col: message [check]. Exit 0 clean, 1 problems.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    common(validate, ("table", "json", "sarif"))
    validate.add_argument(
        "--check-generated",
        action="store_true",
        help="also fail (printing the diff) when cluster.yaml or helmfile.yaml on disk differ from "
        "what the profiles produce, like `terraform fmt -check`",
    )
    validate.add_argument(
        "--render",
        action="store_true",
        help="also render each release whose chart is on disk with `helm template` and check that its "
        "pods carry the Fargate routing label, nodeSelector and tolerations the plan gives them "
        "(a chart that reads another value key places pods elsewhere, silently); needs helm",
    )
    validate.add_argument(
        "--out-dir",
        type=Path,
        help="folder of the generated files for --check-generated "
        "(default: output.dir in composer.yaml, else ./generated)",
    )

    apply = sub.add_parser(
        "apply",
        help="create or update the cluster with eksctl, then the releases with helmfile",
        description="Write cluster.yaml and helmfile.yaml (the same bytes as `compose plan --write`), read what "
        "the cluster has (eksctl get …, helm list), and make it match the plan: `eksctl create cluster "
        "-f` for a new cluster; for an existing one, new Fargate profiles before the ones they replace "
        "are deleted, new node groups, sizes changed in place, then `helmfile apply` (with a kubeconfig "
        "written for this cluster), then replaced node groups drained and deleted. Deletes only what "
        "compose created; unwanted node groups and releases only with --prune. Shows each change and "
        "the exact commands and asks before running them. A failed or interrupted run can be re-run: it "
        "picks up where it stopped. Needs eksctl >= 0.128.0, helmfile >= 1.0, helm >= 3.13 with the "
        "helm-diff plugin on PATH, and AWS credentials.",
        epilog=APPLY_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    common(apply)
    apply.add_argument(
        "--out-dir",
        type=Path,
        help="folder for cluster.yaml and helmfile.yaml (default: output.dir in composer.yaml, else ./generated)",
    )
    apply.add_argument("-y", "--yes", action="store_true", help="run without asking (needed without a terminal)")
    apply.add_argument(
        "--dry-run",
        action="store_true",
        help="print the files and the exact command sequence; run nothing, write nothing",
    )
    apply.add_argument("--diff", action="store_true", help="run `helmfile diff` first and show it")
    apply.add_argument(
        "--prune",
        action="store_true",
        help="delete Fargate profiles and node groups that exist but are no longer wanted "
        "(after the releases are applied); without it they are only listed",
    )
    apply.add_argument(
        "--allow-disruption",
        action="store_true",
        help="delete a replaced Fargate profile even when pods still run on it (EKS deletes them all at once); "
        "without it apply stops before that delete and says which pods are left",
    )
    apply.add_argument(
        "--wait-for-jobs",
        nargs="?",
        type=float,
        const=1800.0,
        metavar="SECONDS",
        help="before deleting a Fargate profile, wait (up to SECONDS, default 1800) for the Jobs and bare pods "
        "still running on it to finish, checking every 10 s; without it they stop the run before the delete",
    )
    apply.add_argument(
        "--migrate-addons",
        action="store_true",
        help="make the vpc-cni, kube-proxy and CoreDNS the cluster runs self-managed EKS add-ons (eksctl create "
        "addon --force: EKS's configuration replaces theirs, and their pods restart); without it they are "
        "listed and left as they are",
    )
    apply.add_argument(
        "--upgrade-nodes",
        action="store_true",
        help="roll each managed node group whose AMI release is older than the newest EKS publishes for its "
        "Kubernetes version onto that release (eksctl upgrade nodegroup: node by node, PodDisruptionBudgets "
        "hold); without it such groups are only listed",
    )
    apply.add_argument(
        "--kube-context", help="kubeconfig context for helmfile (eksctl writes <user>@<cluster>.<region>.eksctl.io)"
    )
    apply.add_argument("--concurrency", type=int, help="helmfile apply --concurrency (0 = unlimited)")
    apply.add_argument(
        "--selector",
        "-l",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="helmfile --selector, repeatable (e.g. namespace=shop)",
    )
    apply.add_argument(
        "--plan",
        type=Path,
        metavar="FILE",
        dest="saved_plan",
        help="run a plan saved by `compose plan --refresh --out FILE`, and only if the inputs and the "
        "cluster are as they were then (else nothing runs)",
    )
    apply.add_argument(
        "--probe-timeout",
        type=float,
        default=120.0,
        metavar="SECONDS",
        help="limit for each tool version check and read-only eksctl probe (default 120)",
    )
    apply.add_argument("--log-file", type=Path, help="log of the whole run (default: .compose/logs/apply-<time>.log)")

    scan = sub.add_parser(
        "scan",
        help="derive workload profiles from Kubernetes manifests (files, folders, or - for stdin)",
        description="Read Kubernetes YAML (files, folders searched for *.yaml/*.yml, multi-document files, "
        "kind: List, or - for standard input, e.g. `helm template my-release chart/ | compose scan -`), "
        "write one workload profile per Deployment, StatefulSet, DaemonSet, Job, CronJob, ReplicaSet, "
        "ReplicationController "
        "or bare Pod, and show where each would run and why, each reason with the manifest line it "
        "comes from. Services, Ingresses, PVCs, PersistentVolumes, StorageClasses, ServiceAccounts, "
        "NetworkPolicies and PodDisruptionBudgets in the input are linked to the workloads; other "
        "objects are skipped and listed by kind. The workloads of one Helm release (same namespace and "
        "app.kubernetes.io/instance) become one release: the owner named after it, the others joining it "
        "with release.partOf; --chart names its chart.",
        epilog="Manifests are read as Kubernetes reads them: a repeated key keeps its last value (a warning "
        "with its line), and a YAML document that cannot be parsed is reported on its own while the rest "
        "are scanned.\n\n"
        "exit codes: 0 scanned; 1 unreadable input (a file missing, binary or too large, or objects "
        "Kubernetes would refuse), nothing written; 6 partial: some documents could not be parsed "
        "(each printed as path:line:col), the rest were scanned and written; 3 internal error; "
        "130 interrupted. See docs/scan.md.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    scan.add_argument("inputs", nargs="+", metavar="PATH", help="manifest files or folders, or - for standard input")
    scan.add_argument(
        "-o",
        "--out-dir",
        type=Path,
        default=Path("profiles"),
        help="where profiles go, as <namespace>/<name>.yaml (default: ./profiles)",
    )
    scan.add_argument("--dry-run", action="store_true", help="show the placements; write no profiles")
    scan.add_argument(
        "--full",
        action="store_true",
        help="list every workload even past a screenful (by default more than 60 are grouped; --format json "
        "always lists each one)",
    )
    scan.add_argument("--force", action="store_true", help="overwrite profiles that differ from what scan derives")
    scan.add_argument(
        "-n",
        "--namespace",
        default="default",
        help="namespace of objects that name none (default: default, as kubectl would)",
    )
    scan.add_argument(
        "--assume-claims",
        choices=("unknown", "efs-static", "ebs"),
        default="unknown",
        help="storage of PersistentVolumeClaims that are not in the input: unknown (default; they keep "
        "the workload off Fargate, saying so), efs-static (pre-created EFS volumes, which Fargate "
        "mounts) or ebs",
    )
    scan.add_argument(
        "--kubernetes-version",
        metavar="X.Y",
        type=_minor_version,
        help="the cluster's Kubernetes version, which decides the default StorageClass of claims that "
        "name none (gp2 on EKS clusters created before 1.30, none after); default: metadata.version "
        "of ./composer.yaml, else taken as a cluster created now",
    )
    scan.add_argument(
        "--format",
        choices=("table", "json", "sarif"),
        default="table",
        help="table for people, json for machines, sarif (2.1.0) for code-scanning annotations in CI",
    )
    scan.add_argument(
        "--chart",
        metavar="REF",
        help="the chart the scanned release comes from (repo/chart, oci://…, or a local ./path): written as "
        "release.chart of its profile, e.g. `helm template web ./charts/web | compose scan - --chart ./charts/web`",
    )
    scan.add_argument("--chart-version", metavar="VERSION", default="", help="with --chart: release.version")
    scan.add_argument("--no-color", action="store_true", help="plain output (also when NO_COLOR is set)")

    schema = sub.add_parser(
        "schema",
        help="print the JSON Schema of profiles or composer.yaml (for editors)",
        description="Print a bundled JSON Schema, e.g. for an editor's YAML language server: "
        "`compose schema profile > .schemas/profile.schema.json`, then start each profile with "
        "`# yaml-language-server: $schema=../.schemas/profile.schema.json` (path relative to the "
        "profile). See docs/editors.md.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    schema.add_argument(
        "name",
        choices=("profile", "composer", "clusterconfig"),
        help="profile: workload profiles; composer: composer.yaml; clusterconfig: the subset of "
        "eksctl's ClusterConfig that compose writes",
    )
    schema.add_argument(
        "--draft",
        choices=("2020-12", "7"),
        default="2020-12",
        help="JSON Schema dialect (default 2020-12; 7 for editors and tools that predate 2019-09)",
    )
    return parser


def _console(opts):
    from rich.console import Console

    no_color = getattr(opts, "no_color", False) or "NO_COLOR" in os.environ
    width = None if sys.stdout.isatty() else _columns()
    return Console(no_color=no_color, width=width, highlight=False, soft_wrap=False)


def _columns() -> int:
    """The width for output that is not a terminal: $COLUMNS when it is a sensible number, else 120
    (the shell's variable, not ours: garbage in it is ignored, as terminals programs do)."""
    value = os.environ.get("COLUMNS", "")
    return int(value) if value.isdigit() and 20 <= int(value) <= 10_000 else 120


def _heartbeat_seconds() -> float:
    """$COMPOSE_HEARTBEAT_SECONDS (default 60): at least 0.1 s, so a CI log is not flooded."""
    from composer.core.errors import fail

    value = os.environ.get("COMPOSE_HEARTBEAT_SECONDS") or "60"
    try:
        seconds = float(value)
    except ValueError:
        seconds = float("nan")
    if not 0.1 <= seconds <= 86_400:
        raise fail(
            f"COMPOSE_HEARTBEAT_SECONDS is {value!r}; it must be a number of seconds from 0.1 to 86400",
            "environment",
            hint="unset it for the default, 60",
        )
    return seconds


def _profile_paths(opts) -> list[Path]:
    return opts.profiles or [Path("profiles")]


def _print_problems(problems, opts) -> None:
    formats = (getattr(opts, "output", None), getattr(opts, "format", None))
    if "sarif" in formats:
        from composer.cli.sarif import from_problems

        print(json.dumps(from_problems(problems), indent=2))
    elif "json" in formats:
        print(
            json.dumps({"format_version": "1", "valid": False, "problems": [p.as_dict() for p in problems]}, indent=2)
        )
    else:
        for problem in problems:
            print(problem, file=sys.stderr)
        print(f"{len(problems)} problem{'s' * (len(problems) != 1)} found; nothing was written.", file=sys.stderr)


def cmd_plan(opts, runner) -> int:
    from composer.cli.render import as_json, print_plan
    from composer.emit.plan import build_plan, write

    if opts.out and not opts.refresh:
        print("error: --out saves what --refresh reads from the cluster; use it with --refresh", file=sys.stderr)
        return Exit.USAGE
    plan = build_plan(opts.config, _profile_paths(opts), opts.out_dir)
    if opts.refresh:
        plan, cloud = _refresh(plan, opts, runner)
    else:
        cloud = None
    was_torn = plan.torn
    written = write(plan) if opts.write else []
    if was_torn:
        print(
            f"note: {plan.out_dir} held a torn set of generated files (a write was stopped halfway); "
            + ("this write completed it." if opts.write else "`compose plan --write` completes it."),
            file=sys.stderr,
        )
    from composer.cluster import reconcile

    cloud_changes = bool(cloud and cloud[0] and any(a.kind in reconcile.OFF_PLAN for a in cloud[1]))
    if opts.output == "json":
        result = as_json(plan)
        result["written"] = [str(p) for p in written]
        result["cluster"] = (
            None
            if cloud is None
            else {
                "exists": cloud[0],
                "summary": reconcile.summary(cloud[1]) if cloud[0] else "cluster does not exist",
                "actions": [
                    {
                        "kind": a.kind,
                        "what": a.what,
                        "name": a.name,
                        "detail": a.detail,
                        "successor": a.successor,
                        "effect": a.effect,
                    }
                    for a in cloud[1]
                ],
            }
        )
        print(json.dumps(result, indent=2))
    else:
        console = _console(opts)
        print_plan(plan, console, show_diff=not opts.no_diff, full=opts.full)
        if cloud is None:
            console.print(
                "Cluster: not checked (offline plan); `compose plan --refresh` reads it and shows what "
                "apply would change there."
            )
        elif not cloud[0]:
            console.print(f"Cluster {plan.settings.name}: does not exist yet; apply creates it with everything above.")
        else:
            console.print(f"Cluster {plan.settings.name} (read just now):")
            for line in reconcile.lines(cloud[1]):
                console.print(line, markup=False, highlight=False)
            console.print(f"Cluster changes: {reconcile.summary(cloud[1])}.")
        if opts.write:
            console.print(f"Wrote {len(written)} file(s)." if written else "Nothing to write.")
        elif plan.has_changes:
            console.print("Run `compose plan --write` to write these files.")
    if (
        opts.detailed_exitcode
        and not opts.write
        and (plan.has_changes or cloud_changes or (cloud is not None and not cloud[0]))
    ):
        return Exit.CHANGES
    return Exit.OK


def _refresh(plan, opts, runner):
    """The plan as apply would make it (on the cluster's own Fargate layout) and (cluster exists, actions)
    from the read-only probes, as apply would decide them."""
    from composer.cluster import apply as ap
    from composer.core.errors import ComposerError, Problem
    from composer.emit.helmfile import pinned_releases

    options = ap.ApplyOptions(probe_timeout=opts.probe_timeout, upgrade_nodes=opts.upgrade_nodes)
    try:
        options.check()
        planned = plan.release_keys
        state = ap.read_cluster(
            runner,
            plan.cluster,
            options,
            plan.settings.estate,
            log_router=bool(plan.settings.fargate_logging),
            ami_releases=True,
            selectors=plan.fixed_selectors,
        )
        plan = ap.onto_cluster(plan, state)
        if opts.out:
            from composer.cluster import savedplan
            from composer.emit.plan import CLUSTER_FILE, HELMFILE_FILE

            steps = ap.plan_steps(
                plan.cluster,
                state,
                plan.out_dir / CLUSTER_FILE,
                plan.out_dir / HELMFILE_FILE,
                options,
                None,
                planned,
                plan.fixed_selectors,
            )
            savedplan.save(opts.out, plan, state, steps)
        pinned = pinned_releases(plan.helmfile)
        return plan, (state.exists, ap.actions(plan.cluster, state, options, planned, pinned, plan.fixed_selectors))
    except ap.ApplyError as exc:
        raise ComposerError(Problem(f"--refresh: {exc}", str(opts.config), check="refresh")) from None


def cmd_cost(opts, runner=None) -> int:
    from composer.cli.render import cost_json, print_advice, print_cost
    from composer.emit.plan import build_plan

    plan = build_plan(opts.config, _profile_paths(opts))
    if opts.output == "json":
        print(json.dumps(cost_json(plan.cost), indent=2))
    else:
        console = _console(opts)
        print_cost(plan.cost, console)
        print_advice(plan.advice, console)
    return Exit.OK


def cmd_validate(opts, runner) -> int:
    from composer.cli.validate import validate

    problems, count, plan = validate(
        opts.config, _profile_paths(opts), need_plan=opts.check_generated or opts.render, out_dir=opts.out_dir
    )
    stale = [c for c in plan.changes if c.status != "unchanged"] if plan and opts.check_generated else []
    notes: list[str] = []
    if plan and opts.render:
        from composer.cluster import rendercheck

        problems, notes = rendercheck.check_plan(plan, runner)
        for note in notes:
            print(f"note: {note}", file=sys.stderr)
    if problems:
        _print_problems(problems, opts)
        return Exit.ERROR
    if opts.output == "sarif":
        from composer.cli.sarif import from_problems
        from composer.core.errors import Problem

        what = {"new": "does not exist", "changed": "differs from what the profiles produce"}
        print(
            json.dumps(
                from_problems(
                    Problem(
                        what.get(c.status, "differs from what the profiles produce"),
                        str(c.path),
                        1 if c.status == "new" else _first_changed_line(c.diff),
                        1,
                        "run `compose plan --write`",
                        "check-generated",
                    )
                    for c in stale
                ),
                indent=2,
            )
        )
    elif opts.output == "json":
        print(
            json.dumps(
                {
                    "format_version": "1",
                    "valid": not stale,
                    "files": count,
                    "problems": [],
                    "notes": notes,
                    "stale": [{"file": str(c.path), "status": c.status, "diff": c.diff} for c in stale],
                },
                indent=2,
            )
        )
    else:
        for change in stale:
            if change.diff:
                sys.stdout.write(change.diff)
        for change in stale:
            what = "does not exist" if change.status == "new" else "differs from what the profiles produce"
            line = 1 if change.status == "new" else _first_changed_line(change.diff)
            print(f"{change.path}:{line}:1: {what} (run `compose plan --write`) [check-generated]", file=sys.stderr)
        if not stale:
            print(f"{count} file(s) valid." + (" Generated files are up to date." if opts.check_generated else ""))
    return Exit.ERROR if stale else Exit.OK


def _first_changed_line(diff: str) -> int:
    """The first line of the file on disk that a unified diff changes (1 when it cannot tell)."""
    import re

    line = 0
    for text in diff.splitlines():
        hunk = re.match(r"@@ -(\d+)", text)
        if hunk:
            line = int(hunk.group(1))
        elif line and text.startswith(" "):
            line += 1
        elif line and text[:1] in ("-", "+"):
            return max(line, 1)
    return 1


def cmd_apply(opts, runner) -> int:
    from composer.cluster.apply import ApplyError, ApplyOptions
    from composer.cluster.apply_session import Session
    from composer.emit.plan import build_plan

    options = ApplyOptions(
        kube_context=opts.kube_context,
        concurrency=opts.concurrency,
        selectors=tuple(opts.selector),
        diff=opts.diff,
        prune=opts.prune,
        allow_disruption=opts.allow_disruption,
        upgrade_nodes=opts.upgrade_nodes,
        wait_for_jobs=opts.wait_for_jobs,
        migrate_addons=opts.migrate_addons,
        probe_timeout=opts.probe_timeout,
    )
    try:
        options.check()
        _whole_estate(opts)
        plan = build_plan(opts.config, _profile_paths(opts), opts.out_dir)
        saved = None
        if opts.saved_plan is not None:
            from composer.cluster import savedplan

            saved = savedplan.load(opts.saved_plan)
        session = Session(
            plan,
            options,
            runner,
            _console(opts),
            json_output=opts.output == "json",
            assume_yes=opts.yes,
            log_path=opts.log_file,
            heartbeat_seconds=_heartbeat_seconds(),
            saved_plan=saved,
        )
        return session.dry_run() if opts.dry_run else session.run()
    except ApplyError as exc:
        print(f"error: {exc}\nNothing was run or written.", file=sys.stderr)
        return Exit.ERROR


def _whole_estate(opts) -> None:
    """apply plans the whole cluster, so it refuses PROFILES that leave part of the estate out: the plan of
    a part would delete the Fargate profiles, node groups and add-on settings the rest needs."""
    from composer.core.errors import fail
    from composer.load.profiles import left_out

    if not opts.profiles:
        return
    missing = left_out(opts.profiles, opts.config.parent)
    if missing:
        shown = ", ".join(str(m) for m in missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
        raise fail(
            f"apply works on the whole estate, and these profiles are left out: {shown}",
            " ".join(str(p) for p in opts.profiles),
            hint="run `compose apply` without PROFILES (plan and validate take a subset; apply must not: "
            "what the rest owns would be deleted)",
        )


def cmd_scan(opts, runner=None) -> int:
    from composer.core.parallel import gc_paused

    with gc_paused():  # many small acyclic trees: the cycle collector would only cost time (a third, at 10,000)
        return _scan(opts)


def _scan(opts) -> int:
    from composer.cli.scan_report import classify_scanned, print_report, report_json, write_profiles
    from composer.core.errors import ComposerError
    from composer.core.terminal import printable
    from composer.load.claims import ClaimOptions
    from composer.load.manifests import read_objects
    from composer.load.scan import derive

    objects, problems, files, unread, notes = read_objects(opts.inputs)
    options = ClaimOptions(opts.assume_claims, opts.kubernetes_version or _settings_version(Path("composer.yaml")))
    result = derive(objects, opts.namespace, options)
    if opts.chart:
        from composer.core.errors import Problem
        from composer.load.scan import attach_chart

        why = attach_chart(result.scanned, opts.chart, opts.chart_version, opts.out_dir, opts.namespace)
        if why:
            raise ComposerError([Problem(why, "<command line>", check="scan")])
    items, found = classify_scanned(result, opts.out_dir)
    out_dir = None if opts.dry_run else opts.out_dir
    problems += result.problems + found
    if problems:
        raise ComposerError(problems)
    if out_dir is not None:
        write_profiles(items, opts.force, out_dir)
    if opts.format == "sarif":
        from composer.cli.sarif import from_scan

        print(json.dumps(from_scan(items, unread), indent=2))
    elif opts.format == "json":
        print(report_json(items, result, files, out_dir, unread, notes))
    else:
        print_report(items, result, files, out_dir, _console(opts), full=opts.full)
    for note in notes:
        print(f"warning: {printable(note)}", file=sys.stderr)
    if not unread:
        return Exit.OK
    for problem in unread:
        print(problem, file=sys.stderr)
    print(
        f"partial: {len(unread)} YAML document(s) could not be parsed and were not scanned; the other "
        f"{len(items)} workload(s) were" + (" (profiles written)" if out_dir is not None else ""),
        file=sys.stderr,
    )
    return Exit.PARTIAL


def _minor_version(text: str) -> str:
    if not re.fullmatch(r"[1-9][0-9]?\.[0-9]{1,3}", text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a Kubernetes version such as 1.33")
    return text


def _settings_version(path: Path) -> str:
    """``metadata.version`` of composer.yaml when it is there and readable; scan does not need it otherwise."""
    from composer.core.errors import ComposerError
    from composer.files import yamlio

    if not path.is_file():
        return ""
    try:
        version = (yamlio.load_file(path).get("metadata") or {}).get("version")
    except (ComposerError, AttributeError, OSError):
        return ""
    return version if isinstance(version, str) and re.fullmatch(r"[0-9]+\.[0-9]+", version) else ""


def cmd_schema(opts, runner=None) -> int:
    from composer.files.schema import for_draft

    print(json.dumps(for_draft(opts.name, opts.draft), indent=2))
    return Exit.OK


def run() -> None:
    """The ``compose`` command: ``main``, then exit without tearing down the heap object by object (a
    plan or scan of 10,000 workloads leaves hundreds of MB that the OS frees at once; freeing them
    one by one took 0.4 s). Output is flushed first; files compose writes are closed where written."""
    code = main()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass  # a closed pipe (| head): nothing left to tell it
    os._exit(code)


def main(argv: list[str] | None = None, runner: Runner | None = None) -> int:
    """Run one command; ``runner`` runs the external tools (default: composer.cluster.runner.sh_runner;
    tests pass their own, since pytest-subprocess cannot see ``sh``, which forks itself)."""
    if runner is None:
        from composer.cluster.runner import sh_runner as runner
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return Exit.ERROR
    from composer.core.errors import ComposerError

    try:
        commands = {
            "plan": cmd_plan,
            "cost": cmd_cost,
            "validate": cmd_validate,
            "apply": cmd_apply,
            "scan": cmd_scan,
            "schema": cmd_schema,
        }
        from composer.cli.options import BY_COMMAND

        return commands[args.command](BY_COMMAND[args.command].of(args), runner)
    except ComposerError as exc:
        _print_problems(exc.problems, args)
        return Exit.ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return Exit.INTERRUPTED
    except BrokenPipeError:
        return Exit.OK
    except Exception as exc:  # a bug in compose, not in the user's input
        if os.environ.get("COMPOSE_DEBUG"):
            raise
        print(
            f"internal error: {type(exc).__name__}: {exc}\n"
            "This is a bug in compose; set COMPOSE_DEBUG=1 for the traceback and please report it.",
            file=sys.stderr,
        )
        return Exit.INTERNAL
