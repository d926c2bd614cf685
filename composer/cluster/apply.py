"""``compose apply``: turn a plan into eksctl and helmfile steps, and run them resumably.

Three parts, in the order they run:

* ``probe`` asks eksctl (read-only) what exists: the cluster, its Fargate profiles and node groups.
* ``plan_steps`` is pure: from the plan and that state it lists the exact commands still needed.
  A new cluster gets ``eksctl create cluster -f``. For an existing one, eksctl creates only what is
  missing: ``create fargateprofile -f`` skips existing names (eksctl >= 0.128.0) and
  ``create nodegroup -f --include`` names the missing groups. ``create cluster`` is not
  idempotent, which is why it only runs when the probe found no cluster. Then ``helmfile apply``,
  which only touches releases that differ. A re-run therefore resumes where a failed run stopped.
* ``execute`` runs the steps in order, stops at the first failure, and records what ran.

Nothing is deleted unless asked (``prune``): Fargate profiles and node groups that exist but are
no longer wanted are listed, and deleted last, after the releases have moved.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Sequence

from composer.cluster import amirelease, reconcile
from composer.cluster.planned import PlannedCluster
from composer.cluster.runner import OnLine, Runner, TimedOut, ToolNotFound, signum_of
from composer.core.errors import ComposerError
from composer.core.model import DEFAULT_ESTATE
from composer.core.terminal import printable
from composer.emit import access, fargate_role
from composer.emit.eksctl import ESTATE_KEY, GENERATOR_TAG, MANAGED_TAG
from composer.emit.helmfile import MANAGED_LABEL, MANAGED_VALUE, PIN_LABEL
from composer.place.nodegroups import CLASS_LABEL

# Names that reach a command line: no leading '-', nothing a shell or flag parser would misread.
# (used with fullmatch: Python's "$" would also accept a trailing newline)
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
_CONTEXT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:@/+-]{0,252}")
_SELECTOR = re.compile(
    r"[A-Za-z0-9][A-Za-z0-9_./-]*!?=[A-Za-z0-9_./-]*(,[A-Za-z0-9][A-Za-z0-9_./-]*!?=[A-Za-z0-9_./-]*)*"
)
_MINOR = re.compile(r"1\.[0-9]{1,3}")
_ABSENT = re.compile(r"ResourceNotFoundException|No cluster found")


def _path_arg(path: Path) -> str:
    """A path as a command-line argument that no tool can mistake for an option."""
    text = str(path)
    return f"./{text}" if text.startswith("-") else text


class ApplyError(Exception):
    """Apply cannot start (bad option, failed probe); nothing has been run or written."""


class ToolAbsent(ApplyError):
    """A probe's tool is not on PATH (an optional read catches it)."""


@dataclass(frozen=True)
class ApplyOptions:
    kube_context: str | None = None
    concurrency: int | None = None
    selectors: tuple[str, ...] = ()
    diff: bool = False
    prune: bool = False
    allow_disruption: bool = False  # delete a Fargate profile although pods still run on it
    upgrade_nodes: bool = False  # roll managed node groups onto the newest AMI release for their version
    migrate_addons: bool = False  # make self-managed vpc-cni, kube-proxy, CoreDNS EKS add-ons (eksctl --force)
    # seconds to wait for Jobs and bare pods on a Fargate profile to go to finish (None: do not wait)
    wait_for_jobs: float | None = None
    probe_timeout: float = 120.0  # seconds for each version check and read-only probe

    def check(self) -> None:
        if self.kube_context is not None and not _CONTEXT.fullmatch(self.kube_context):
            raise ApplyError(f"--kube-context {self.kube_context!r} is not a valid context name")
        for selector in self.selectors:
            if not _SELECTOR.fullmatch(selector):
                raise ApplyError(f"--selector {selector!r} is not a helmfile selector (key=value[,key!=value])")
        if self.concurrency is not None and self.concurrency < 0:
            raise ApplyError("--concurrency must be 0 (unlimited) or more")
        if not 1 <= self.probe_timeout <= 3600:
            raise ApplyError("--probe-timeout must be between 1 and 3600 seconds")
        if self.wait_for_jobs is not None and not 10 <= self.wait_for_jobs <= 86400:
            raise ApplyError("--wait-for-jobs must be between 10 and 86400 seconds")


@dataclass(frozen=True)
class ClusterState:
    exists: bool
    fargate: dict = field(default_factory=dict)  # name → eksctl's Fargate profile object
    nodegroups: dict = field(default_factory=dict)  # name → eksctl's nodegroup summary
    # node groups known to carry compose's node-class label (eksctl get labels; filled for unwanted ones)
    owned_groups: frozenset[str] = frozenset()
    # namespace/name of the Helm releases compose installed (helm list by its label); None: not read
    releases: frozenset[str] | None = None
    # the cluster lacks the IAM OIDC provider its config asks for (a `create cluster` stopped halfway)
    oidc_missing: bool = False
    # pods off Fargate in the namespaces the planned Fargate profiles select (kubectl get pods)
    pods: tuple[reconcile.Pod, ...] = ()
    # name → eksctl's add-on summary (eksctl get addon -o json); None: not read (the plan names none)
    addons: dict | None = None
    # namespace/name → annotations of the planned service accounts that exist (kubectl); None: not read (the
    # plan names none)
    service_accounts: dict[str, dict] | None = None
    # namespace/name → role ARN of the IAM roles eksctl made for service accounts (eksctl get
    # iamserviceaccount: its CloudFormation stacks); None: not read
    irsa_roles: dict[str, str] | None = None
    # namespace/name → role ARN of the cluster's EKS Pod Identity associations (eksctl get
    # podidentityassociation); None: not read (the plan names none)
    associations: dict[str, str] | None = None
    # accessConfig.authenticationMode as eksctl get cluster reports it; None: not reported
    authentication_mode: str | None = None
    # the estate this state was read for: only its own profiles and groups are ever deleted
    estate: str = DEFAULT_ESTATE
    # the control plane's Kubernetes version (eksctl get cluster: Version); None: not reported
    version: str | None = None
    # pods running on Fargate in the planned profiles' namespaces: read only when the plan upgrades the
    # cluster (each keeps the kubelet of the version it started with, so they are restarted after)
    fargate_pods: tuple[reconcile.Pod, ...] = ()
    # the running pods on each of this estate's profiles that the plan no longer has (EKS labels every
    # Fargate pod with its profile); None: not read
    on_old_profiles: dict[str, tuple[reconcile.Pod, ...]] | None = None
    # annotations of the log router's namespace when it exists (None: absent, or not read: no log router)
    log_namespace: dict | None = None
    # namespace/deployment/name → how it rolls ("maxUnavailable 1", "Recreate: all 3 at once"), for the
    # Deployments with pods on a profile to go (kubectl get deployments)
    strategies: dict[str, str] = field(default_factory=dict)
    # core add-ons the cluster runs self-managed (no EKS add-on, their workload in kube-system), which
    # apply leaves so (out of the ClusterConfig it writes) unless --migrate-addons
    self_managed: frozenset[str] = frozenset()
    # (all of them, migrated or not: what the plan lists as differing)
    runs_self_managed: dict[str, str] = field(default_factory=dict)
    # the VPC CNI's enable-windows-ipam setting ("true", "false" or "absent": no amazon-vpc-cni ConfigMap),
    # read when the plan creates the cluster's first Windows node group; None: not read
    windows_ipam: str | None = None
    # planned managed node group → {"release": its AMI release, "latest": the newest for its version} (aws
    # eks describe-nodegroup, aws ssm get-parameter; amirelease); None: the AWS CLI is not on PATH
    ami_releases: dict[str, dict] | None = field(default_factory=dict)
    # namespace/name of an installed release whose Deployment selector compose knows → (Deployment, the
    # selector it has in the cluster; None: no such Deployment)
    selectors: dict[str, tuple[str, dict | None]] = field(default_factory=dict)

    @property
    def fargate_profiles(self) -> frozenset[str]:
        return frozenset(self.fargate)

    @property
    def node_groups(self) -> frozenset[str]:
        return frozenset(self.nodegroups)

    @property
    def owned_profiles(self) -> frozenset[str]:
        """Fargate profiles whose tags say this estate's compose created them (eksctl shows profile tags)."""
        return frozenset(
            n for n, p in self.fargate.items() if isinstance(p.get("tags"), dict) and owns(self.estate, p["tags"])
        )


def onto_cluster(plan, state: ClusterState):
    """The plan again, keeping the Fargate layout this estate has *in the cluster* when it is not the one
    the plan started from (the last written ClusterConfig: absent on this machine, or out of date), so
    that apply replaces no profile whose selectors still hold (composer.place.routing)."""
    from composer.emit.plan import plan_for
    from composer.place.routing import prior_groups

    if not state.exists:
        return plan
    have = prior_groups({"fargateProfiles": [state.fargate[n] for n in sorted(state.owned_profiles)]})
    if (not have or {frozenset(g) for g in have} == {frozenset(g) for g in plan.prior}) and not state.self_managed:
        return plan
    return plan_for(plan.settings, plan.placements, plan.out_dir, prior=have or None, self_managed=state.self_managed)


def owns(estate: str, marks: dict) -> bool:
    """Whether tags or labels ``marks`` say ``estate`` made the object: compose's mark and this estate's id.

    An object compose made before estates had ids (its mark, no estate) counts as the default estate's, so an
    estate without an id keeps managing what it made; one with an id never touches it."""
    if marks.get(MANAGED_TAG) != GENERATOR_TAG and CLASS_LABEL not in marks:
        return False
    return marks.get(ESTATE_KEY, DEFAULT_ESTATE) == estate


@dataclass(frozen=True)
class Step:
    title: str
    argv: tuple[str, ...] = ()  # empty: the step that writes the generated files
    ok: tuple[int, ...] = (0,)
    changed: tuple[int, ...] = ()  # exit codes meaning "succeeded and changed something"
    destructive: bool = False
    # a check of the step's stdout once it succeeded: a problem (the step then fails with it) or None
    expect: Callable[[str], str | None] | None = field(default=None, compare=False)
    poll: float = 0.0  # > 0: rerun the command every poll seconds while the check finds a problem,
    limit: float = 0.0  # for at most limit seconds (then the step fails with the problem)

    @property
    def command(self) -> str:
        """The command line as shown to people: paths under the current folder shown relative to it."""
        here = str(Path.cwd()) + os.sep
        return shlex.join(a.removeprefix(here) if a.startswith(here) else a for a in self.argv)


@dataclass
class StepResult:
    step: Step
    status: str = "not started"  # done | failed | interrupted | not started
    code: int | None = None
    signal: int | None = None  # for "interrupted": the signal that stopped the run (2 = Ctrl-C)
    seconds: float = 0.0
    changed: bool = False
    tail: list[str] = field(default_factory=list)  # last lines of stderr
    output_tail: list[str] = field(default_factory=list)  # last lines of stdout and stderr as they came


# ---------------------------------------------------------------- one apply per cluster at a time


# ---------------------------------------------------------------- probing (read-only)


def probe_commands(name: str, region: str) -> dict[str, tuple[str, ...]]:
    return {
        "cluster": ("eksctl", "get", "cluster", "--name", name, "--region", region, "-o", "json"),
        "fargate": ("eksctl", "get", "fargateprofile", "--cluster", name, "--region", region, "-o", "json"),
        "nodegroups": ("eksctl", "get", "nodegroup", "--cluster", name, "--region", region, "-o", "json"),
        "addons": ("eksctl", "get", "addon", "--cluster", name, "--region", region, "-o", "json"),
    }


def _capture(
    runner: Runner, argv: Sequence[str], on_line: OnLine | None, timeout: float | None = None
) -> tuple[int, str, str]:
    out: list[str] = []
    err: list[str] = []

    def collect(stream: str, line: str) -> None:
        line = printable(line)
        (out if stream == "out" else err).append(line)
        if on_line and stream == "err":
            on_line(stream, line)

    try:
        code = runner(list(argv), collect, timeout=timeout)
    except ToolNotFound as exc:
        raise ToolAbsent(f"{exc} is not installed (not found on PATH)") from None
    except TimedOut as exc:
        raise ApplyError(
            f"{exc}: `{shlex.join(argv)}` (a network or credentials problem? --probe-timeout sets the limit)"
        ) from None
    return code, "\n".join(out), "\n".join(err)


MAX_PROBE_BYTES = 8 * 1024 * 1024


def _json(text: str, command: str):
    """A probe's JSON answer, bounded in size; anything else is an ``ApplyError`` naming ``command``."""
    if len(text) > MAX_PROBE_BYTES:
        raise ApplyError(f"`{command}` printed more than {MAX_PROBE_BYTES:,} bytes; refusing to read it")
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        raise ApplyError(f"`{command}` printed something that is not JSON: {text[:200]!r}") from None


def _items(text: str, argv: Sequence[str]) -> dict[str, dict]:
    """{name: object} of eksctl's ``get … -o json`` answer: a list of objects, each with a string name
    (``[]`` when there are none). Any other shape is an error, never "nothing exists"."""
    command = " ".join(argv)
    items = _json(text, command)
    if not isinstance(items, list):
        raise ApplyError(f"`{command}` printed {type(items).__name__}, not a list of objects; is this eksctl?")
    named = {}
    for item in items:
        value = item.get("name", item.get("Name")) if isinstance(item, dict) else None
        if not isinstance(value, str) or not value:
            raise ApplyError(f"`{command}` printed an entry without a name: {json.dumps(item)[:200]}")
        named[value] = item
    return named


def probe(
    runner: Runner, name: str, region: str, on_line: OnLine | None = None, timeout: float | None = None
) -> ClusterState:
    """What exists now. A missing cluster is an answer; any other failure is an ``ApplyError``."""
    commands = probe_commands(name, region)
    code, described, err = _capture(runner, commands["cluster"], on_line, timeout)
    if code != 0:
        if _ABSENT.search(err):
            return ClusterState(exists=False)
        raise ApplyError(
            f"could not tell whether cluster {name!r} exists: `{' '.join(commands['cluster'])}` "
            f"exited {code}: {err.strip()[-300:]} (check AWS credentials and region)"
        )
    found = {}
    for key in ("fargate", "nodegroups"):
        code, out, err = _capture(runner, commands[key], on_line, timeout)
        if code != 0:
            raise ApplyError(f"`{' '.join(commands[key])}` exited {code}: {err.strip()[-300:]}")
        found[key] = _items(out, commands[key])
    return ClusterState(
        True,
        found["fargate"],
        found["nodegroups"],
        authentication_mode=access.reported_mode(described),
        version=reported_version(described),
    )


def reported_version(get_cluster_json: str) -> str | None:
    """The control plane's version in ``eksctl get cluster -o json`` (``Version``; access.described_cluster)."""
    version = access.described_cluster(get_cluster_json).get("Version")
    return version if isinstance(version, str) and re.fullmatch(r"1\.[0-9]{1,3}", version) else None


def upgrading(cluster_config: dict, state: ClusterState) -> bool:
    planned = PlannedCluster.of(cluster_config).version
    return bool(state.version and planned and planned != state.version)


def probe_owned_groups(
    runner: Runner,
    name: str,
    region: str,
    groups: Sequence[str],
    on_line: OnLine | None = None,
    timeout: float | None = None,
    estate: str = DEFAULT_ESTATE,
) -> frozenset[str]:
    """Which of ``groups`` this estate's compose made: its node-class label and the estate's label (``eksctl
    get labels``, one call each). A group eksctl cannot show labels for (self-managed, or an error) is not
    compose's."""
    owned = set()
    for group in groups:
        if not _NAME.fullmatch(group):
            continue
        argv = ("eksctl", "get", "labels", "--cluster", name, "--region", region, "--nodegroup", group)
        code, out, _ = _capture(runner, argv, on_line, timeout)
        labels = dict(pair.partition("=")[::2] for pair in _labels_cell(out, group).split(",") if "=" in pair)
        if code == 0 and owns(estate, labels):
            owned.add(group)
    return frozenset(owned)


def _labels_cell(table: str, group: str) -> str:
    """The LABELS cell of ``group``'s row in eksctl's ``get labels`` table (CLUSTER NODEGROUP LABELS)."""
    for line in table.splitlines():
        cells = line.split()
        if len(cells) == 3 and cells[1] == group:
            return cells[2]
    return ""


# ---------------------------------------------------------------- planning (pure)


def wanted(cluster_config: dict) -> tuple[list[str], list[str]]:
    """Names of the Fargate profiles and managed node groups the ClusterConfig declares."""
    cluster = PlannedCluster.of(cluster_config)
    return cluster.profile_names, cluster.group_names


def unwanted_groups(cluster_config: dict, state: ClusterState) -> list[str]:
    """Node groups that exist but are no longer declared (whose they are is asked next)."""
    return sorted(state.node_groups - set(wanted(cluster_config)[1]))


def _kube_args(options: ApplyOptions, cluster: str) -> tuple[str, ...]:
    """How helm reaches this cluster: --kube-context when given, else the kubeconfig apply writes."""
    if options.kube_context:
        return ("--kube-context", options.kube_context)
    return ("--kubeconfig", _path_arg(kubeconfig_path(cluster)))


def probe_releases(
    runner: Runner, cluster: str, region: str, options: ApplyOptions, on_line: OnLine | None = None
) -> frozenset[str]:
    """namespace/name of every Helm release in the cluster that carries compose's label (helm list).
    Writes this cluster's kubeconfig first (a local file), unless --kube-context names one."""
    if not options.kube_context:
        write = (
            "eksctl",
            "utils",
            "write-kubeconfig",
            "--cluster",
            cluster,
            "--region",
            region,
            "--kubeconfig",
            _path_arg(kubeconfig_path(cluster)),
        )
        code, _, err = _capture(runner, write, on_line, options.probe_timeout)
        if code != 0:
            raise ApplyError(f"`{shlex.join(write)}` exited {code}: {err.strip()[-300:]}")
    argv = (
        "helm",
        "list",
        "--all-namespaces",
        "--selector",
        f"{MANAGED_LABEL}={MANAGED_VALUE}",
        "--output",
        "json",
        *_kube_args(options, cluster),
    )
    code, out, err = _capture(runner, argv, on_line, options.probe_timeout)
    if code != 0:
        raise ApplyError(
            f"could not list the Helm releases compose installed: `{shlex.join(argv)}` exited {code}: "
            f"{err.strip()[-300:]}"
        )
    found = _items(out or "[]", argv)
    return frozenset(f"{item.get('namespace')}/{name}" for name, item in found.items())


def read_cluster(
    runner: Runner,
    cluster_config: dict,
    options: ApplyOptions,
    estate: str = DEFAULT_ESTATE,
    log_router: bool = False,
    ami_releases: bool = False,
    selectors: dict[str, tuple[str, dict]] | None = None,
) -> ClusterState:
    """Everything apply decides from, read-only: the cluster, its Fargate profiles and node groups, whose
    the unwanted node groups are, and the Helm releases compose installed. ``estate``: the estate applying,
    whose own profiles and groups are the only ones it may delete; ``ami_releases``: also read the node
    groups' AMI releases (plan --refresh, and apply --upgrade-nodes: AWS CLI calls per group);
    ``selectors``: release → (Deployment, selector) the plan knows (Plan.fixed_selectors), whose live
    selectors are read where the release is installed."""
    import dataclasses

    cluster = PlannedCluster.of(cluster_config)
    name, region = cluster.name, cluster.region
    state = dataclasses.replace(probe(runner, name, region, timeout=options.probe_timeout), estate=estate)
    if not state.exists:
        return state
    old_groups = unwanted_groups(cluster_config, state)
    if old_groups:  # whose are they? only this estate's own may ever be pruned
        owned = probe_owned_groups(runner, name, region, old_groups, timeout=options.probe_timeout, estate=estate)
        state = dataclasses.replace(state, owned_groups=owned)
    if cluster.addons:
        argv = probe_commands(name, region)["addons"]
        code, out, err = _capture(runner, argv, None, options.probe_timeout)
        if code != 0:
            raise ApplyError(f"`{shlex.join(argv)}` exited {code}: {err.strip()[-300:]}")
        state = dataclasses.replace(state, addons=_items(out or "[]", argv))
    missing = [a for a in SELF_MANAGED if a in cluster.addon_names and a not in (state.addons or {})]
    state = dataclasses.replace(state, releases=probe_releases(runner, name, region, options))
    if missing:  # (after probe_releases: kubectl needs the kubeconfig it writes)
        found = probe_self_managed(runner, name, options, missing)
        kept = frozenset() if options.migrate_addons else frozenset(found)
        state = dataclasses.replace(state, runs_self_managed=found, self_managed=kept)
    # the remaining reads are independent of each other (and all after probe_releases, which writes the
    # kubeconfig): they run side by side, each a field of the state
    reads: dict[str, Callable[[], object]] = {}
    if log_router:
        reads["log_namespace"] = lambda: _log_namespace(runner, name, options)
    if cluster.profiles:
        going = sorted(n for n in state.owned_profiles if n not in cluster.profile_names and _NAME.fullmatch(n))
        reads["pods"] = lambda: probe_pods(runner, cluster_config, options)
        reads["on_old_profiles"] = lambda: {n: probe_profile_pods(runner, cluster_config, options, n) for n in going}
        if upgrading(cluster_config, state):
            reads["fargate_pods"] = lambda: probe_pods(runner, cluster_config, options, ON_FARGATE)
    if any(g.ami_family.startswith("Windows") and g.name not in state.nodegroups for g in cluster.groups):
        reads["windows_ipam"] = lambda: probe_windows_ipam(runner, name, options)
    present = [g for g in cluster.group_names if g in state.nodegroups]
    if present and ami_releases:
        reads["ami_releases"] = lambda: probe_ami_releases(runner, name, region, present, options)
    if cluster.with_oidc:
        reads["oidc_missing"] = lambda: probe_oidc_missing(runner, name, region, options)
    if cluster.associations:
        reads["associations"] = lambda: probe_associations(runner, name, region, options)
    installed = {k: v for k, v in (selectors or {}).items() if k in (state.releases or ())}
    if installed:
        reads["selectors"] = lambda: probe_selectors(runner, name, options, installed)
    if cluster.accounts:
        reads["service_accounts"] = lambda: probe_service_accounts(runner, cluster_config, options)
        reads["irsa_roles"] = lambda: probe_irsa_roles(runner, name, region, options)
    state = dataclasses.replace(state, **side_by_side(reads))
    # (Deployments' strategies only where their pods sit on a profile to go)
    rolling = {
        p.namespace
        for pods in (state.on_old_profiles or {}).values()
        for p in pods
        if p.owner.startswith("deployment/")
    }
    if rolling:
        state = dataclasses.replace(state, strategies=probe_strategies(runner, name, options, sorted(rolling)))
    return state


def probe_ami_releases(
    runner: Runner, name: str, region: str, groups: Sequence[str], options: ApplyOptions
) -> dict[str, dict] | None:
    """Each managed group's AMI release and the newest one EKS publishes for its version and AMI type
    (composer.cluster.amirelease), with the AWS CLI; None when it is not on PATH. A group either read
    cannot answer for gets ``error`` instead, so the plan says so (it never stops apply)."""

    def ask(argv: tuple[str, ...]) -> Callable[[], tuple[str, object, str]]:
        """A read of one AWS CLI command: (its command line, its JSON answer or None, why not)."""

        def read() -> tuple[str, object, str]:
            code, out, err = _capture(runner, argv, None, options.probe_timeout)
            command = shlex.join(argv)
            return command, (_json(out, command) if code == 0 else None), f"exited {code}: {err.strip()[-200:]}"

        return read

    def nodegroup(answer: object) -> dict:
        found = answer.get("nodegroup") if isinstance(answer, dict) else None
        return found if isinstance(found, dict) else {}

    def parameter(group: dict) -> str | None:
        return amirelease.release_parameter(str(group.get("version") or ""), str(group.get("amiType")))

    where = ("--region", region, "--output", "json")
    describe = ("aws", "eks", "describe-nodegroup", "--cluster-name", name, "--nodegroup-name")
    try:  # (each command waits on the network, and the AWS CLI starts slowly: all groups at once)
        described = side_by_side({g: ask((*describe, g, *where)) for g in groups if _NAME.fullmatch(g)})
        wanted = sorted({p for _, answer, _ in described.values() if (p := parameter(nodegroup(answer)))})
        newest = side_by_side({p: ask(("aws", "ssm", "get-parameter", "--name", p, *where)) for p in wanted})
    except ToolAbsent:
        return None
    releases: dict[str, dict] = {}
    for group, (command, answer, why) in described.items():
        found = nodegroup(answer)
        if not found:
            releases[group] = {"error": f"`{command}` {why}"}
            continue
        release = str(found.get("releaseVersion") or "")
        if parameter(found) is None or not amirelease.RELEASE_TEXT.fullmatch(release):
            continue  # (a custom or Windows AMI: no published release to compare with)
        command, answer, why = newest[parameter(found)]
        value = answer.get("Parameter") if isinstance(answer, dict) else None
        latest = str(value.get("Value") or "") if isinstance(value, dict) else ""
        if not amirelease.RELEASE_TEXT.fullmatch(latest):
            releases[group] = {"error": f"`{command}` {why}"}
            continue
        releases[group] = {"release": release, "latest": latest}
    return releases


def probe_selectors(
    runner: Runner, name: str, options: ApplyOptions, releases: dict[str, tuple[str, dict]]
) -> dict[str, tuple[str, dict | None]]:
    """release → (its Deployment, that Deployment's selector in the cluster, or None when it has none)."""
    found: dict[str, tuple[str, dict | None]] = {}
    for key, (deployment, _) in releases.items():
        namespace = key.split("/", 1)[0]
        if not (_NAME.fullmatch(namespace) and _NAME.fullmatch(deployment)):
            continue
        items = _kubectl_items(runner, deployment_argv(namespace, deployment, options, name), options)
        spec = items[0].get("spec") if items and isinstance(items[0].get("spec"), dict) else {}
        selector = spec.get("selector") if isinstance(spec.get("selector"), dict) else {}
        labels = selector.get("matchLabels")
        found[key] = (deployment, dict(labels) if isinstance(labels, dict) else None)
    return found


def deployment_argv(namespace: str, deployment: str, options: ApplyOptions, cluster: str) -> tuple[str, ...]:
    """kubectl's read of one Deployment (an empty list when there is none)."""
    argv = ("kubectl", "get", "deployments", "--namespace", namespace, "--field-selector")
    return argv + (f"metadata.name={deployment}", "--output", "json", *_kubectl_args(options, cluster))


def probe_strategies(runner: Runner, name: str, options: ApplyOptions, namespaces: list[str]) -> dict[str, str]:
    """How each Deployment in ``namespaces`` rolls its pods (reconcile.rollout_text), read with kubectl."""
    found = {}
    for namespace in namespaces:
        if not _NAME.fullmatch(namespace):
            continue
        argv = ("kubectl", "get", "deployments", "--namespace", namespace, "--output", "json")
        for dep in _kubectl_items(runner, argv + _kubectl_args(options, name), options):
            meta = dep.get("metadata") or {}
            found[f"{namespace}/deployment/{meta.get('name')}"] = reconcile.rollout_text(dep)
    return found


def side_by_side(reads: dict[str, Callable[[], object]]) -> dict[str, object]:
    """Run independent read-only probes at the same time (each waits on a tool, not the CPU); their results
    by name. A failure is raised as the first failing read in ``reads`` order, after all have ended."""
    from concurrent.futures import ThreadPoolExecutor

    if len(reads) < 2:
        return {key: read() for key, read in reads.items()}
    with ThreadPoolExecutor(max_workers=min(len(reads), 6), thread_name_prefix="probe") as pool:
        futures = {key: pool.submit(read) for key, read in reads.items()}
    return {key: future.result() for key, future in futures.items()}


# the core add-ons and the workload each runs in kube-system when it is installed without EKS (the manifests
# EKS clusters shipped with before EKS add-ons; eksctl v0.215.0 pkg/addons/default: aws-node, kube-proxy,
# coredns)
SELF_MANAGED = {"vpc-cni": "daemonset/aws-node", "kube-proxy": "daemonset/kube-proxy", "coredns": "deployment/coredns"}


def probe_self_managed(runner: Runner, name: str, options: ApplyOptions, addons: list[str]) -> dict[str, str]:
    """Of ``addons`` (planned, not EKS add-ons on the cluster): add-on → its workload, for each that runs
    self-managed in kube-system (kubectl get daemonsets,deployments)."""
    argv = ("kubectl", "get", "daemonsets,deployments", "--namespace", "kube-system", "--output", "json")
    found = _kubectl_items(runner, (*argv, *_kubectl_args(options, name)), options)
    present = {f"{str(i.get('kind', '')).lower()}/{(i.get('metadata') or {}).get('name')}" for i in found}
    return {a: SELF_MANAGED[a] for a in addons if SELF_MANAGED[a] in present}


VPC_CNI_CONFIG = "amazon-vpc-cni"  # kube-system ConfigMap of the VPC CNI (eksctl v0.215.0 pkg/windows/ipam.go)
WINDOWS_IPAM = "enable-windows-ipam"


def probe_windows_ipam(runner: Runner, name: str, options: ApplyOptions) -> str:
    """The VPC CNI's enable-windows-ipam: "true", "false", or "absent" (no amazon-vpc-cni ConfigMap)."""
    argv = ("kubectl", "get", "configmaps", "--namespace", "kube-system", "--field-selector")
    argv += (f"metadata.name={VPC_CNI_CONFIG}", "--output", "json", *_kubectl_args(options, name))
    found = _kubectl_items(runner, argv, options)
    if not found:
        return "absent"
    data = found[0].get("data") if isinstance(found[0].get("data"), dict) else {}
    return "true" if data.get(WINDOWS_IPAM) == "true" else "false"


def windows_ipam_steps(todo: list[reconcile.Action], options: ApplyOptions, cluster: str) -> list[Step]:
    """What eksctl's create cluster does for a Windows node group and create nodegroup does not (eksctl
    v0.215.0 pkg/eks/tasks.go lines 281-288, pkg/windows/ipam.go Enable): enable-windows-ipam: "true" in
    the VPC CNI's ConfigMap, creating it when absent. Before the Windows group, whose pods need it."""
    kube = _kubectl_args(options, cluster)
    steps = []
    for a in todo:
        if a.detail.startswith("absent"):
            argv = ("kubectl", "create", "configmap", VPC_CNI_CONFIG, "--namespace", "kube-system")
            argv += (f"--from-literal={WINDOWS_IPAM}=true", *kube)
        else:
            argv = ("kubectl", "patch", "configmap", VPC_CNI_CONFIG, "--namespace", "kube-system", "--type", "merge")
            argv += ("--patch", json.dumps({"data": {WINDOWS_IPAM: "true"}}, separators=(",", ":")), *kube)
        steps.append(Step(f"enable Windows IP address management in kube-system/{VPC_CNI_CONFIG}", argv, changed=(0,)))
    return steps


def _log_namespace(runner: Runner, name: str, options: ApplyOptions) -> dict | None:
    """The log router's namespace's annotations, or None when it does not exist."""
    argv = ("kubectl", "get", "namespaces", "--field-selector", f"metadata.name={LOG_NAMESPACE}")
    found = _kubectl_items(runner, (*argv, "--output", "json", *_kubectl_args(options, name)), options)
    meta = (found[0].get("metadata") or {}) if found else None
    notes = meta.get("annotations") if meta and isinstance(meta.get("annotations"), dict) else {}
    return None if meta is None else notes


def log_role_problems(
    runner: Runner, state: ClusterState, cluster_config: dict, own_role: str, policy_path: Path, options: ApplyOptions
) -> list[str]:
    """With Fargate logging on: every pod execution role the Fargate profiles use (those that exist, and
    ``fargate.podExecutionRoleARN``) must allow the log router's CloudWatch Logs actions; read-only."""
    region = PlannedCluster.of(cluster_config).region
    roles, problems = fargate_role.roles_to_check(state.exists, state.fargate, own_role)
    results = []
    for role in roles:
        argv = fargate_role.simulate_command(role, region)
        code, out, err = _capture(runner, argv, None, options.probe_timeout)
        results.append((role, code, out, err))
    return problems + fargate_role.problems(results, _path_arg(policy_path))


def probe_service_accounts(runner: Runner, cluster_config: dict, options: ApplyOptions) -> dict[str, dict]:
    """namespace/name → annotations of the planned service accounts that exist, read with kubectl in each
    of their namespaces (eksctl lists only the roles it made, not the accounts)."""
    cluster = PlannedCluster.of(cluster_config)
    name, planned = cluster.name, {a.key for a in cluster.accounts}
    found: dict[str, dict] = {}
    for namespace in sorted({key.split("/")[0] for key in planned}):
        if not _NAME.fullmatch(namespace):
            continue
        argv = (
            "kubectl",
            "get",
            "serviceaccounts",
            "--namespace",
            namespace,
            "--output",
            "json",
            *_kubectl_args(options, name),
        )
        for item in _kubectl_items(runner, argv, options):
            meta = item.get("metadata") or {}
            key = f"{namespace}/{meta.get('name')}"
            if key in planned:
                found[key] = meta.get("annotations") if isinstance(meta.get("annotations"), dict) else {}
    return found


def _eksctl_list(runner: Runner, argv: tuple[str, ...], options: ApplyOptions) -> list:
    """The list an ``eksctl get … -o json`` prints ([] for none: eksctl prints null for an empty one); a
    failure or any other shape is an ``ApplyError``."""
    code, out, err = _capture(runner, argv, None, options.probe_timeout)
    if code != 0:
        raise ApplyError(f"`{shlex.join(argv)}` exited {code}: {err.strip()[-300:]}")
    found = _json(out or "null", shlex.join(argv)) or []
    if not isinstance(found, list):
        raise ApplyError(f"`{shlex.join(argv)}` printed {type(found).__name__}, not a list; is this eksctl?")
    return found


def probe_irsa_roles(runner: Runner, name: str, region: str, options: ApplyOptions) -> dict[str, str]:
    """namespace/name → role ARN of each IAM role eksctl made for a service account (its stacks): eksctl's
    create iamserviceaccount refuses to name one of those again (composer.cluster.reconcile)."""
    argv = ("eksctl", "get", "iamserviceaccount", "--cluster", name, "--region", region, "-o", "json")
    roles = {}
    for item in _eksctl_list(runner, argv, options):
        meta = item.get("metadata") if isinstance(item, dict) else None
        status = item.get("status") if isinstance(item, dict) else None
        if not isinstance(meta, dict) or not isinstance(status, dict):
            raise ApplyError(f"`{shlex.join(argv)}` printed an entry without metadata and status: {str(item)[:200]}")
        roles[f"{meta.get('namespace')}/{meta.get('name')}"] = str(status.get("roleARN") or "")
    return roles


def probe_associations(runner: Runner, name: str, region: str, options: ApplyOptions) -> dict[str, str]:
    """namespace/name → role ARN of each EKS Pod Identity association of the cluster (eksctl v0.215.0
    pkg/actions/podidentityassociation/getter.go Summary: AssociationARN, Namespace, ServiceAccountName,
    RoleARN, OwnerARN)."""
    argv = ("eksctl", "get", "podidentityassociation", "--cluster", name, "--region", region, "-o", "json")
    present = {}
    for item in _eksctl_list(runner, argv, options):
        if not isinstance(item, dict) or not item.get("Namespace") or not item.get("ServiceAccountName"):
            raise ApplyError(f"`{shlex.join(argv)}` printed an entry without Namespace and ServiceAccountName")
        present[f"{item['Namespace']}/{item['ServiceAccountName']}"] = str(item.get("RoleARN") or "")
    return present


def association_steps(todo: list[reconcile.Action], cluster_config: dict, cluster: str, region: str) -> list[Step]:
    """``eksctl create podidentityassociation`` by flags for each missing association: with the config
    file eksctl would create every one it lists and fail on those that exist (CreatePodIdentityAssociation's
    ResourceInUseException is not ignored there: pkg/actions/podidentityassociation/creator.go line 41)."""
    wanted = {
        a["namespace"] + "/" + a["serviceAccountName"]: a
        for a in (cluster_config.get("iam") or {}).get("podIdentityAssociations") or ()
    }
    steps = []
    for action in todo:
        entry = wanted[action.name]
        argv = ("eksctl", "create", "podidentityassociation", "--cluster", cluster, "--region", region)
        argv += ("--namespace", entry["namespace"], "--service-account-name", entry["serviceAccountName"])
        if entry.get("roleARN"):
            argv += ("--role-arn", entry["roleARN"])
        if entry.get("permissionPolicyARNs"):
            argv += ("--permission-policy-arns", ",".join(entry["permissionPolicyARNs"]))
        well_known = sorted(k for k, v in (entry.get("wellKnownPolicies") or {}).items() if v)
        if well_known:
            argv += ("--well-known-policies", ",".join(well_known))
        steps.append(
            Step(
                f"create the EKS Pod Identity association of {action.name} ({action.detail}; eksctl makes the role)",
                argv,
                changed=(0,),
            )
        )
    return steps


# Pods EKS's Fargate scheduler did not place, and that still run (what probe_pods reads); and those it did.
OFF_FARGATE = "spec.schedulerName!=fargate-scheduler,status.phase!=Succeeded,status.phase!=Failed"
ON_FARGATE = "spec.schedulerName=fargate-scheduler,status.phase!=Succeeded,status.phase!=Failed"


def _kubectl_args(options: ApplyOptions, cluster: str) -> tuple[str, ...]:
    if options.kube_context:
        return ("--context", options.kube_context)
    return ("--kubeconfig", _path_arg(kubeconfig_path(cluster)))


def _kubectl_items(runner: Runner, argv: tuple[str, ...], options: ApplyOptions) -> list[dict]:
    code, out, err = _capture(runner, argv, None, options.probe_timeout)
    if code != 0:
        raise ApplyError(f"`{shlex.join(argv)}` exited {code}: {err.strip()[-300:]}")
    found = _json(out, shlex.join(argv))
    items = found.get("items") if isinstance(found, dict) else None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ApplyError(f"`{shlex.join(argv)}` printed no list of items; is this kubectl?")
    return items


def _controller(obj: dict) -> tuple[str, str] | None:
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if isinstance(ref, dict) and ref.get("controller") and isinstance(ref.get("name"), str):
            return str(ref.get("kind", "")), ref["name"]
    return None


def probe_pods(
    runner: Runner, cluster_config: dict, options: ApplyOptions, fields: str = OFF_FARGATE
) -> tuple[reconcile.Pod, ...]:
    """Pods that are not on Fargate (``spec.schedulerName`` is not EKS's fargate-scheduler) and still run,
    in each namespace a planned Fargate profile selects, each with the workload that would recreate it
    (a ReplicaSet's pods belong to its Deployment). Read with kubectl, one namespace at a time."""
    cluster = PlannedCluster.of(cluster_config)
    name, namespaces = cluster.name, cluster.selected_namespaces
    pods = []
    for namespace in namespaces:
        if not _NAME.fullmatch(namespace):
            continue
        where = ("--namespace", namespace, "--output", "json", *_kubectl_args(options, name))
        found = _kubectl_items(runner, ("kubectl", "get", "pods", "--field-selector", fields, *where), options)
        if not found:
            continue
        owners: dict[str, str] = {}
        if any((_controller(p) or ("",))[0] == "ReplicaSet" for p in found):
            for rs in _kubectl_items(runner, ("kubectl", "get", "replicasets", *where), options):
                owner = _controller(rs)
                if owner and owner[0] == "Deployment":
                    owners[str((rs.get("metadata") or {}).get("name"))] = f"deployment/{owner[1]}"
        for pod in found:
            meta = pod.get("metadata") or {}
            labels = meta.get("labels") if isinstance(meta.get("labels"), dict) else {}
            kind, owner = _controller(pod) or ("Pod", str(meta.get("name", "?")))
            workload = owners.get(owner) if kind == "ReplicaSet" else None
            pods.append(
                reconcile.Pod(
                    namespace,
                    tuple(sorted((str(k), str(v)) for k, v in labels.items())),
                    workload or f"{kind.lower()}/{owner}",
                )
            )
    return tuple(pods)


def probe_profile_pods(
    runner: Runner, cluster_config: dict, options: ApplyOptions, profile: str
) -> tuple[reconcile.Pod, ...]:
    """The running pods on Fargate profile ``profile``, each with its workload: a ReplicaSet's pods belong to
    the Deployment whose name the ReplicaSet's is, less the pod-template-hash the pods carry."""
    argv = ("kubectl", "get", "pods", "--all-namespaces", "--selector", f"{PIN_LABEL}={profile}")
    argv += ("--field-selector", "status.phase=Running", "--output", "json")
    pods = []
    for pod in _kubectl_items(runner, argv + _kubectl_args(options, PlannedCluster.of(cluster_config).name), options):
        meta = pod.get("metadata") or {}
        if meta.get("deletionTimestamp"):
            continue
        labels = meta.get("labels") if isinstance(meta.get("labels"), dict) else {}
        kind, owner = _controller(pod) or ("Pod", str(meta.get("name", "?")))
        suffix = f"-{labels.get('pod-template-hash')}"
        if kind == "ReplicaSet" and labels.get("pod-template-hash") and owner.endswith(suffix):
            kind, owner = "Deployment", owner[: -len(suffix)]
        pods.append(
            reconcile.Pod(
                str(meta.get("namespace", "")),
                tuple(sorted((str(k), str(v)) for k, v in labels.items())),
                f"{kind.lower()}/{owner}",
            )
        )
    return tuple(pods)


def oidc_command(cluster: str, region: str, approve: bool) -> tuple[str, ...]:
    return (
        "eksctl",
        "utils",
        "associate-iam-oidc-provider",
        "--cluster",
        cluster,
        "--region",
        region,
        *(("--approve",) if approve else ()),
    )


def probe_oidc_missing(runner: Runner, cluster: str, region: str, options: ApplyOptions) -> bool:
    """Does the cluster lack its IAM OIDC provider? eksctl's associate command without --approve only says
    what it would do (and that it is already associated when it is)."""
    argv = oidc_command(cluster, region, approve=False)
    code, out, err = _capture(runner, argv, None, options.probe_timeout)
    if code != 0:
        raise ApplyError(f"`{shlex.join(argv)}` exited {code}: {err.strip()[-300:]}")
    return "already associated" not in out + err


def kubeconfig_path(cluster: str) -> Path:
    """Where apply writes the kubeconfig of ``cluster`` for helmfile (beside its logs and locks). Absolute:
    helmfile runs helm from the helmfile's own folder, where a relative path would name nothing, and helm
    would silently fall back to localhost (found by the real-helmfile end-to-end test)."""
    return Path.cwd() / ".compose" / f"kubeconfig-{cluster}"


def helmfile_base(helmfile_path: Path, options: ApplyOptions, cluster: str) -> tuple[str, ...]:
    argv: tuple[str, ...] = ("helmfile", "--file", _path_arg(helmfile_path))
    if options.kube_context:
        argv += ("--kube-context", options.kube_context)
    else:
        argv += ("--kubeconfig", _path_arg(kubeconfig_path(cluster)))
    for selector in options.selectors:
        argv += ("--selector", selector)
    return argv


def helmfile_steps(helmfile_path: Path, options: ApplyOptions, cluster: str, region: str) -> list[Step]:
    """helmfile's steps, against this cluster only: with --kube-context, that context; otherwise a
    kubeconfig eksctl writes for this cluster first, so the user's current context never decides."""
    base = helmfile_base(helmfile_path, options, cluster)
    steps = []
    if not options.kube_context:
        path = kubeconfig_path(cluster)
        steps.append(
            Step(
                f"write a kubeconfig for cluster {cluster} to .compose/{path.name} (helmfile uses it, not "
                "your current context)",
                (
                    "eksctl",
                    "utils",
                    "write-kubeconfig",
                    "--cluster",
                    cluster,
                    "--region",
                    region,
                    "--kubeconfig",
                    _path_arg(path),
                ),
            )
        )
    if options.diff:
        steps.append(
            Step(
                "show what helmfile would change",
                base + ("diff", "--suppress-secrets", "--detailed-exitcode"),
                ok=(0, 2),
                changed=(),
            )
        )
    apply = base + ("apply", "--suppress-secrets", "--detailed-exitcode")
    if options.concurrency is not None:
        apply += ("--concurrency", str(options.concurrency))
    steps.append(Step("install or upgrade the Helm releases", apply, ok=(0, 2), changed=(2,)))
    return steps


def actions(
    cluster_config: dict,
    state: ClusterState,
    options: ApplyOptions,
    releases: frozenset[str] = frozenset(),
    pinned: frozenset[str] = frozenset(),
    selectors: dict[str, tuple[str, dict]] | None = None,
) -> list[reconcile.Action]:
    """Per Fargate profile, node group and (removed) Helm release, what apply will do
    (``composer.cluster.reconcile``); [] for a new cluster. ``releases``: the planned namespace/name keys;
    ``selectors``: Plan.fixed_selectors."""
    if not state.exists:
        return []
    try:
        from composer.core.model import KUBERNETES_VERSIONS

        minors = [int(v.split(".")[1]) for v in KUBERNETES_VERSIONS]
        upgrades = reconcile.version_actions(
            cluster_config, state.version, state.nodegroups, range(min(minors), max(minors) + 1)
        )
        moved = reconcile.restart_actions(cluster_config, state.pods)
        known = {a.name for a in moved}
        kept_old = [
            reconcile.Action(
                a.kind, a.what, a.name, a.detail.replace("on EC2 nodes that", "on Fargate, with the old kubelet;")
            )
            for a in reconcile.restart_actions(cluster_config, state.fargate_pods)
            if a.name not in known
        ]
        kept = (
            frozenset()
            if options.prune
            else frozenset(k.split("/", 1)[0] for k in (state.releases or frozenset()) - releases)
        )
        return (
            upgrades
            + reconcile.fargate_actions(
                cluster_config,
                state.fargate,
                state.owned_profiles,
                state.on_old_profiles,
                pinned,
                kept,
                state.strategies,
                options.wait_for_jobs is not None,
            )
            + reconcile.nodegroup_actions(cluster_config, state.nodegroups, state.owned_groups, options.prune)
            + amirelease.ami_actions(
                cluster_config,
                state.ami_releases,
                options.upgrade_nodes,
                frozenset(a.name for a in upgrades if a.what == "node group"),
            )
            + reconcile.authentication_actions(cluster_config, state.authentication_mode)
            + reconcile.windows_ipam_actions(state.windows_ipam)
            + reconcile.addon_actions(cluster_config, state.addons, state.runs_self_managed, options.migrate_addons)
            + reconcile.service_account_actions(cluster_config, state.service_accounts, state.irsa_roles or {})
            + reconcile.association_actions(cluster_config, state.associations)
            + reconcile.log_namespace_actions(state.log_namespace)
            + reconcile.release_actions(releases, state.releases, options.prune)
            + reconcile.selector_actions(selectors or {}, state.selectors, partial=bool(options.selectors))
            + moved
            + (kept_old if upgrades else [])
        )
    except reconcile.NotReady as exc:
        raise ApplyError(str(exc)) from None


def plan_steps(
    cluster_config: dict,
    state: ClusterState,
    cluster_path: Path,
    helmfile_path: Path,
    options: ApplyOptions,
    write_title: str | None,
    releases: frozenset[str] = frozenset(),
    selectors: dict[str, tuple[str, dict]] | None = None,
) -> list[Step]:
    """The commands still needed to reach the plan from ``state``, in order: new Fargate profiles before
    the ones they replace are deleted, node groups created and scaled before the releases move onto
    them, replaced node groups drained and deleted after."""
    cluster = PlannedCluster.of(cluster_config)
    name, region = cluster.name, cluster.region
    for value in (name, region):
        if not _NAME.fullmatch(value):
            raise ApplyError(f"refusing to pass {value!r} to eksctl: not a valid name")
    steps = [Step(write_title)] if write_title else []
    profiles, groups = wanted(cluster_config)
    if not state.exists:
        steps.append(
            Step(
                f"create cluster {name} ({len(groups)} node group(s), {len(profiles)} Fargate profile(s))",
                ("eksctl", "create", "cluster", "-f", _path_arg(cluster_path)),
                changed=(0,),
            )
        )
        return steps + access_check(cluster_config) + helmfile_steps(helmfile_path, options, name, region)
    todo = actions(cluster_config, state, options, releases, selectors=selectors)
    for a in todo:
        parts = (
            a.name.split("/")
            if a.what in ("Helm release", "workload", "IAM service account", "Pod Identity association", "Deployment")
            else [a.name]
        )
        if a.kind in ("replace", "delete", "resize", "restart", "annotate", "upgrade") and not all(
            _NAME.fullmatch(p) for p in parts
        ):
            tool = {"Helm release": "helm", "workload": "kubectl"}.get(a.what, "eksctl")
            raise ApplyError(f"refusing to pass {a.name!r} (reported by {tool}) to a {tool} command")
    by = {kind: [a for a in todo if a.kind == kind] for kind in ("create", "replace", "resize", "update", "delete")}
    where = ("--cluster", name, "--region", region)
    new_profiles = [a.name for a in by["create"] if a.what == "Fargate profile"]
    old_profiles = [a for a in by["replace"] + by["delete"] if a.what == "Fargate profile"]
    if state.oidc_missing:  # an interrupted `create cluster` leaves it out, and no later create step adds it
        steps.append(
            Step(
                f"create the IAM OIDC provider of cluster {name} (IRSA needs it)",
                oidc_command(name, region, approve=True),
                changed=(0,),
            )
        )
    for a in [a for a in by["update"] if a.what == "authentication mode"]:  # before the profiles that need it
        steps.append(
            Step(
                f"switch cluster {name} to authentication mode API_AND_CONFIG_MAP ({a.detail}), so that "
                "EKS grants Fargate and node roles through access entries",
                access.mode_command(name, region, "API_AND_CONFIG_MAP"),
                changed=(0,),
            )
        )
    upgrades = [a for a in todo if a.kind == "upgrade"]
    steps += upgrade_steps([a for a in upgrades if a.what in ("control plane", "add-on")], name, region)
    if new_profiles:
        note = (
            f"; {', '.join(a.name for a in old_profiles)} stays until the releases have rolled their pods over "
            "(pinned by the eks.amazonaws.com/fargate-profile label)"
            if old_profiles
            else ""
        )
        steps.append(
            Step(
                f"create Fargate profile(s) {', '.join(new_profiles)}{note}",
                ("eksctl", "create", "fargateprofile", "-f", _path_arg(cluster_path)),
                changed=(0,),
            )
        )
        steps += access_check(cluster_config)
    new_addons = [a.name for a in by["create"] if a.what == "add-on"]
    if new_addons:  # (after the profiles: CoreDNS on Fargate needs its profile to run)
        migrating = [a for a in new_addons if a in state.runs_self_managed]
        steps.append(
            Step(
                f"create add-on(s) {', '.join(new_addons)} (eksctl skips those present)"
                + (f"; --force makes the self-managed {', '.join(migrating)} EKS add-ons" if migrating else ""),
                ("eksctl", "create", "addon", "-f", _path_arg(cluster_path)) + (("--force",) if migrating else ()),
                changed=(0,),
            )
        )
    changed_addons = [a for a in by["update"] if a.what == "add-on"]
    if changed_addons:
        steps.append(
            Step(
                "update add-on configuration: " + "; ".join(f"{a.name} {a.detail}" for a in changed_addons),
                ("eksctl", "update", "addon", "-f", _path_arg(cluster_path)),
                changed=(0,),
            )
        )
    new_groups = [a.name for a in by["create"] if a.what == "node group"]
    steps += windows_ipam_steps([a for a in by["update"] if a.what == "VPC CNI setting"], options, name)
    if new_groups:
        steps.append(
            Step(
                f"create node group(s) {', '.join(new_groups)}",
                ("eksctl", "create", "nodegroup", "-f", _path_arg(cluster_path), "--include", ",".join(new_groups)),
                changed=(0,),
            )
        )
    # (after the add-ons: eksctl refuses an association while the Pod Identity agent is not installed)
    steps += association_steps(
        [a for a in by["create"] if a.what == "Pod Identity association"], cluster_config, name, region
    )
    new_accounts = [a.name for a in by["create"] if a.what == "IAM service account"]
    if new_accounts:  # before the releases whose pods use them
        steps.append(
            Step(
                f"create IAM service account(s) {', '.join(new_accounts)} (eksctl makes each role and "
                "annotates the account)",
                (
                    "eksctl",
                    "create",
                    "iamserviceaccount",
                    "-f",
                    _path_arg(cluster_path),
                    "--include",
                    ",".join(new_accounts),
                    "--override-existing-serviceaccounts",
                    "--approve",
                ),
                changed=(0,),
            )
        )
    for a in [a for a in todo if a.what == "namespace" and a.kind == "annotate"]:  # before the release owns it
        kube = ("--overwrite", *_kubectl_args(options, name))
        steps.append(
            Step(
                f"let the log-router release adopt namespace {a.name} (made outside Helm)",
                ("kubectl", "annotate", "namespace", a.name, *ADOPT_ANNOTATIONS, *kube),
                changed=(0,),
            )
        )
        steps.append(
            Step(f"label namespace {a.name} as Helm's", ("kubectl", "label", "namespace", a.name, ADOPT_LABEL, *kube))
        )
    steps += account_steps(
        [
            a
            for a in todo
            if a.what == "IAM service account"
            and (a.kind == "annotate" or (a.kind == "create" and (state.service_accounts or {}).get(a.name)))
        ],
        state,
        options,
        name,
    )
    for a in by["resize"]:
        desired, low, high = reconcile.scale_target(cluster_config, a.name, state.nodegroups[a.name])
        steps.append(
            Step(
                f"resize node group {a.name} ({a.detail})",
                (
                    "eksctl",
                    "scale",
                    "nodegroup",
                    *where,
                    "--name",
                    a.name,
                    "--nodes",
                    str(desired),
                    "--nodes-min",
                    str(low),
                    "--nodes-max",
                    str(high),
                    "--wait",
                ),
                changed=(0,),
            )
        )
    steps += upgrade_steps([a for a in upgrades if a.what == "node group"], name, region)
    helmfile = helmfile_steps(helmfile_path, options, name, region)
    # (right before the upgrade that re-creates it: its ReplicaSet keeps the pods running meanwhile)
    moved = [a for a in by["create"] + by["replace"] if a.what == "Deployment"]
    steps += helmfile[:-1] + orphan_steps(moved, options, name, helmfile_path)
    steps += helmfile[-1:]
    # pruned releases go first: their pods are wanted gone, and may still run on a profile about to go
    for a in [a for a in by["delete"] if a.what == "Helm release"]:
        namespace, release = a.name.split("/", 1)
        steps.append(
            Step(
                f"uninstall Helm release {a.name} (its profile is gone; --prune)",
                ("helm", "uninstall", release, "--namespace", namespace, "--wait", *_kube_args(options, name)),
                changed=(0,),
                destructive=True,
            )
        )
    # (after the releases: pinned pods have rolled onto the successor by now; before the restarts, so that
    # pods moving from nodes onto Fargate cannot land on a profile about to go)
    for a in old_profiles:
        why = (
            f"replaced by {a.successor}" if a.kind == "replace" else "no Fargate workload uses its namespaces any more"
        )
        running = ("kubectl", "get", "pods", "--all-namespaces", "--selector", f"{PIN_LABEL}={a.name}")
        running += ("--field-selector", "status.phase=Running", "--output", "json", *_kubectl_args(options, name))
        if options.wait_for_jobs is not None and not options.allow_disruption:
            steps.append(
                Step(
                    f"wait (up to {options.wait_for_jobs:g} s) for the Jobs and bare pods on Fargate profile "
                    f"{a.name} to finish",
                    running,
                    expect=lambda out, old=a.name: left_on_profile(out, old, RUN_TO_END),
                    poll=JOB_POLL_SECONDS,
                    limit=options.wait_for_jobs,
                )
            )
        if not options.allow_disruption:
            steps.append(
                Step(
                    f"check that no running pod is left on Fargate profile {a.name}",
                    running,
                    expect=lambda out, old=a.name: left_on_profile(out, old),
                )
            )
        steps.append(
            Step(
                f"delete Fargate profile {a.name} ({why})",
                ("eksctl", "delete", "fargateprofile", *where, "--name", a.name, "--wait"),
                changed=(0,),
                destructive=True,
            )
        )
    restarts: dict[str, list[str]] = {}
    for a in todo:
        if a.kind == "restart":
            namespace, workload = a.name.split("/", 1)
            restarts.setdefault(namespace, []).append(workload)
    for namespace, workloads in restarts.items():
        steps.append(
            Step(
                f"restart {', '.join(workloads)} in namespace {namespace} (pods on EC2 nodes that a Fargate "
                "profile selects; EKS places a pod only when it is created)",
                ("kubectl", "rollout", "restart", *workloads, "--namespace", namespace, *_kubectl_args(options, name)),
                changed=(0,),
            )
        )
    for a in [a for a in by["replace"] + by["delete"] if a.what == "node group"]:
        why = f"replaced by {a.successor}" if a.kind == "replace" else "no longer wanted (--prune)"
        steps.append(
            Step(
                f"delete node group {a.name} ({why}; its nodes are drained first)",
                ("eksctl", "delete", "nodegroup", *where, "--name", a.name, "--drain", "--wait"),
                changed=(0,),
                destructive=True,
            )
        )
    return steps


def orphan_steps(todo: list[reconcile.Action], options: ApplyOptions, cluster: str, helmfile_path: Path) -> list[Step]:
    """A Deployment whose selector the next upgrade changes (immutable: helm's patch would fail) is
    deleted with --cascade=orphan: its ReplicaSets and pods stay and keep running. Right after, a sync of
    its release alone (helmfile's own name and namespace labels: helmfile v1.8.0 pkg/state/state.go lines
    3529-3534) re-creates it, and it adopts them (the ReplicaSets match its selector) and rolls them under
    its strategy. A sync, not apply: apply upgrades only releases whose manifest changed, and a missing
    Deployment (an earlier run stopped in between) is not a change to it."""
    steps = []
    for a in todo:
        namespace, deployment = a.name.split("/", 1)
        if a.kind == "replace":
            argv = ("kubectl", "delete", "deployment", deployment, "--namespace", namespace, "--cascade=orphan")
            steps.append(
                Step(
                    f"delete Deployment {a.name} but not its pods (--cascade=orphan): its selector changes",
                    (*argv, *_kubectl_args(options, cluster)),
                    changed=(0,),
                )
            )
        ns, release = a.target.split("/", 1)
        if not (_NAME.fullmatch(ns) and _NAME.fullmatch(release)):
            raise ApplyError(f"refusing to pass {a.target!r} to a helmfile selector: not a valid release name")
        base = helmfile_base(helmfile_path, replace(options, selectors=()), cluster)
        steps.append(
            Step(
                f"re-create Deployment {a.name}: sync Helm release {a.target} alone",
                (*base, "--selector", f"name={release},namespace={ns}", "sync"),
                changed=(0,),
            )
        )
    return steps


JOB_POLL_SECONDS = 10.0
RUN_TO_END = ("Job", None)  # controllers whose pods finish by themselves (None: a bare pod)


def left_on_profile(out: str, profile: str, only: tuple[str | None, ...] | None = None) -> str | None:
    """A problem when pods (not already terminating) still run on ``profile`` (EKS labels each pod it runs
    on Fargate with the profile that placed it: PIN_LABEL): deleting the profile would delete them
    all at once (EKS DeleteFargateProfile), where a rolling move could have kept them. ``only``: count
    just the pods whose controller is one of these kinds (None: a bare pod)."""
    try:
        items = json.loads(out).get("items") or []
    except (ValueError, AttributeError):
        return f"could not read the pods on Fargate profile {profile}"
    live = sorted(
        f"{(i.get('metadata') or {}).get('namespace')}/{(i.get('metadata') or {}).get('name')}"
        for i in items
        if isinstance(i, dict)
        and not (i.get("metadata") or {}).get("deletionTimestamp")
        and (only is None or (_controller(i) or (None,))[0] in only)
    )
    if not live:
        return None
    if only is not None:
        return (
            f"{len(live)} Job or bare pod(s) still run on Fargate profile {profile} ({', '.join(live[:5])}"
            f"{', …' if len(live) > 5 else ''}); deleting it would cut them off. Nothing was deleted: rerun apply "
            "when they have finished (a longer --wait-for-jobs), or accept it with --allow-disruption"
        )
    return (
        f"{len(live)} pod(s) still run on Fargate profile {profile} ({', '.join(live[:5])}"
        f"{', …' if len(live) > 5 else ''}); deleting it would delete them all at once. Their releases could not "
        "be rolled onto the new profile (no release.podLabelsValue, or a Job or bare pod). Give the charts "
        "release.podLabelsValue, let the Jobs finish (--wait-for-jobs waits for them), or accept the disruption "
        "with --allow-disruption; "
        "rerun apply either way"
    )


# Helm adopts an object that carries its release's ownership marks (helm 3.2+): the namespace a kubectl
# apply made, as the AWS logging guide does, instead of refusing the install ("invalid ownership metadata")
LOG_NAMESPACE = "aws-observability"
ADOPT_ANNOTATIONS = ("meta.helm.sh/release-name=aws-observability", "meta.helm.sh/release-namespace=kube-system")
ADOPT_LABEL = "app.kubernetes.io/managed-by=Helm"


def upgrade_steps(todo: list[reconcile.Action], cluster: str, region: str) -> list[Step]:
    """A Kubernetes version upgrade in the documented order (EKS user guide, "Update existing cluster to new
    Kubernetes version"): the control plane (eksctl checks it is one minor up), the add-ons to the newest
    version for the new minor, and (placed by the caller after new node groups exist) each managed node
    group, rolled node by node under the pods' PodDisruptionBudgets."""
    where = ("--cluster", cluster, "--region", region)
    steps = []
    for a in todo:
        if a.what == "control plane":
            version = a.target
            steps.append(
                Step(
                    f"upgrade the control plane of {cluster} ({a.detail})",
                    ("eksctl", "upgrade", "cluster", "--name", cluster, "--region", region, "--version", version)
                    + ("--approve",),
                    changed=(0,),
                )
            )
        elif a.what == "add-on":
            steps.append(
                Step(
                    f"upgrade add-on {a.name} {a.detail}",
                    ("eksctl", "update", "addon", "--name", a.name, *where, "--version", "latest", "--wait"),
                    changed=(0,),
                )
            )
        else:  # (eksctl takes one of the two: pkg/actions/nodegroup/upgrade.go lines 177-179)
            to = ("--kubernetes-version", a.target) if _MINOR.fullmatch(a.target) else ("--release-version", a.target)
            steps.append(
                Step(
                    f"upgrade node group {a.name} ({a.detail})",
                    ("eksctl", "upgrade", "nodegroup", "--name", a.name, *where, *to, "--wait"),
                    changed=(0,),
                )
            )
    return steps


_ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}")


def account_steps(todo: list[reconcile.Action], state: ClusterState, options: ApplyOptions, cluster: str) -> list[Step]:
    """For each service account to **annotate**: kubectl writes it (created if absent) with the role eksctl
    made for it, and keeps it from the Helm release that made it (see reconcile.service_account_actions)."""
    steps = []
    for a in todo:
        namespace, account = a.name.split("/", 1)
        notes = (state.service_accounts or {}).get(a.name)
        role = (state.irsa_roles or {}).get(a.name, "")
        if role and not _ROLE_ARN.fullmatch(role):
            raise ApplyError(f"refusing to pass {role!r} (reported by eksctl as the role of {a.name}) to kubectl")
        where = ("--namespace", namespace, *_kubectl_args(options, cluster))
        if notes is None:
            steps.append(
                Step(
                    f"create service account {a.name} (eksctl's IAM role for it exists; eksctl will not make the "
                    "account again)",
                    ("kubectl", "create", "serviceaccount", account, *where),
                    changed=(0,),
                )
            )
        marks = []
        if role and not (notes or {}).get(reconcile.ROLE_ANNOTATION):
            marks.append(f"{reconcile.ROLE_ANNOTATION}={role}")
        if (notes or {}).get(reconcile.HELM_RELEASE_ANNOTATION):
            marks.append(reconcile.KEEP)
        if marks:
            steps.append(
                Step(
                    f"annotate service account {a.name}: {', '.join(m.split('=')[0] for m in marks)}",
                    ("kubectl", "annotate", "serviceaccount", account, *marks, "--overwrite", *where),
                    changed=(0,),
                )
            )
    return steps


def access_check(cluster_config: dict) -> list[Step]:
    """After Fargate profiles are created: their pod execution role has its access entry (composer.emit.access)."""
    cluster = PlannedCluster.of(cluster_config)
    mode = access.planned_mode(cluster_config) or "CONFIG_MAP"
    if mode == "CONFIG_MAP" or not cluster.profiles:
        return []
    name, region, role = cluster.name, cluster.region, cluster.profiles[0].pod_execution_role
    return [
        Step(
            f"check that the Fargate pod execution role has its access entry ({mode} mode)",
            access.entry_command(name, region),
            expect=lambda out: access.missing_entry(out, role, name, region),
        )
    ]


# ---------------------------------------------------------------- execution

TAIL_LINES = 20
MAX_CHECKED_LINES = 100_000  # a checked step's stdout (JSON), kept whole up to this


def execute(
    steps: list[Step],
    runner: Runner,
    write_files: Callable[[], None],
    on_start: Callable[[int, Step], None] = lambda n, s: None,
    on_line: Callable[[Step, str, str], None] = lambda s, stream, line: None,
) -> list[StepResult]:
    """Run ``steps`` in order; stop at the first failure. Ctrl-C marks the running step interrupted."""
    results = [StepResult(step) for step in steps]
    for index, result in enumerate(results):
        step = result.step
        on_start(index, step)
        started = time.monotonic()
        tail: list[str] = []
        both = result.output_tail  # eksctl logs CloudFormation's failure reasons on stdout
        stdout: list[str] = []  # kept whole only for a step whose output is checked

        def line(
            stream: str,
            text: str,
            step: Step = step,
            tail: list[str] = tail,
            both: list[str] = both,
            stdout: list[str] = stdout,
        ) -> None:
            if stream == "out" and step.expect is not None and len(stdout) < MAX_CHECKED_LINES:
                stdout.append(text)
            text = printable(text)
            if stream == "err":
                tail.append(text)
                del tail[:-TAIL_LINES]
            both.append(text)
            del both[:-TAIL_LINES]
            on_line(step, stream, text)

        try:
            if not step.argv:
                write_files()
                code = 0
            else:
                code = runner(list(step.argv), line)
                # a waiting step: its check reruns every step.poll seconds until it passes or step.limit is up
                while step.poll and code in step.ok and step.expect is not None:
                    pending = step.expect("\n".join(stdout))
                    if not pending or time.monotonic() - started + step.poll > step.limit:
                        break
                    on_line(step, "out", f"still waiting ({time.monotonic() - started:.0f} s): {pending}")
                    time.sleep(step.poll)
                    stdout.clear()
                    code = runner(list(step.argv), line)
        except KeyboardInterrupt as interrupt:
            result.status, result.seconds, result.tail = "interrupted", time.monotonic() - started, tail
            result.signal = signum_of(interrupt)
            return results
        except ToolNotFound as exc:
            code, tail[:] = 127, [f"{exc}: not found on PATH"]
        except OSError as exc:
            what = "cannot run" if step.argv else "cannot write the generated files"
            code, tail[:] = (126 if step.argv else 1), [f"{what}: {exc}"]
        except ComposerError as exc:  # the generated files could not be written; nothing was replaced
            code, tail[:] = 1, [str(p) for p in exc.problems]
        result.code, result.seconds, result.tail = code, time.monotonic() - started, tail
        problem = step.expect("\n".join(stdout)) if code in step.ok and step.expect is not None else None
        if problem:  # (shown last, whichever of the tails the report prints)
            result.status, result.tail = "failed", [*tail, problem]
            result.output_tail.append(problem)
            return results
        if code in step.ok:
            result.status, result.changed = "done", (code in step.changed) or not step.argv
        else:
            result.status = "failed"
            return results
    return results


def outcome(results: list[StepResult]) -> str:
    """succeeded | failed | interrupted."""
    statuses = {r.status for r in results}
    return "interrupted" if "interrupted" in statuses else "failed" if "failed" in statuses else "succeeded"
