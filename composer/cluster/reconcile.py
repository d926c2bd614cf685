"""What an existing cluster needs to match the plan: one action per Fargate profile and node group.

Pure: the planned ClusterConfig and what eksctl reported (``eksctl get fargateprofile|nodegroup -o
json``, plus which node groups carry compose's label) in, actions out.

* EKS cannot change a Fargate profile, and eksctl skips any profile or node group whose name exists.
  So names carry content (``composer.place.routing.profile_name``, ``composer.place.nodegroups.content_name``): a
  planned name that does not exist is **create**; an existing one is **unchanged** (a node group whose
  sizes differ is **resize**, done in place with ``eksctl scale nodegroup``).
* A Fargate profile compose created (tagged) that the plan no longer has is **replace**d when a new
  profile takes over one of its namespaces, else **delete**d, in both cases after the new profiles
  exist and without ``--prune``: a stale profile keeps routing pods to Fargate. (One whose namespaces
  still hold a release that compose keeps without ``--prune`` is **keep**: deleting it would delete
  that release's pods; ``--prune`` uninstalls the release, then deletes the profile.) Deleting a profile
  deletes its pods, and their controllers recreate them under the new profile (EKS
  DeleteFargateProfile), so the move needs no restart.
* A node group compose created (labelled) whose slot (``ng-general``, …) has a new group is
  **replace**d: drained and deleted after the releases are applied. One with no successor is
  **delete**d only with ``--prune``; until then it is listed.
* A Deployment or StatefulSet with a pod that runs off Fargate although a planned profile selects it
  is **restart**ed after the releases are applied (``kubectl rollout restart``): EKS matches a pod to a
  profile only when the pod is created, so pods started before their profile existed (a namespace
  that moves from node groups to Fargate, or a run interrupted after creating the profile) stay on
  EC2 until they are recreated. Jobs and bare pods are never restarted, only listed: a Job in flight
  would lose its work.
* A core add-on the plan names (``addons``) that the cluster lacks, or whose creation failed, is
  **create**d (``eksctl create addon -f`` skips those present: an interrupted ``create cluster`` leaves
  them out, and no later step adds them); one whose configuration lacks what the plan sets (CoreDNS's
  ``computeType: Fargate``) is **update**d. Other add-ons are not compose's: never listed or touched,
  except a default add-on the estate installs as a chart instead (metrics-server): both cannot own the
  same objects, so apply stops and says which to remove.
* An authentication mode behind the plan's is **update**d one step, ``CONFIG_MAP`` to
  ``API_AND_CONFIG_MAP`` (composer.emit.access); what apply cannot or will not change (on to ``API``, or
  back, which EKS refuses) is listed as **differs**, and apply's report says so at the end.
* Anything else in the cluster is **foreign**: listed, never touched.
* A status other than ACTIVE on anything compose would build on or touch stops the run with what
  to do (an operation in flight: wait; a failed one: fix or delete it), never "exists" for "ready".
"""

from __future__ import annotations

from dataclasses import dataclass

from composer.cluster.planned import PlannedCluster
from composer.emit.access import MODES, migrate_command, planned_mode
from composer.emit.eksctl import DEFAULT_ADDONS
from composer.place.nodegroups import slot

IN_FLIGHT = {"CREATING", "UPDATING", "DELETING"}
# kinds apply acts on (the rest are listed)
CHANGES = ("upgrade", "create", "replace", "resize", "update", "annotate", "delete", "restart")
OFF_PLAN = (*CHANGES, "differs")  # the cluster is not the plan: apply changes it, or will not


@dataclass(frozen=True)
class Action:
    # create | replace | resize | update (an add-on's configuration) | delete | unchanged | foreign | keep
    # (unwanted, waits for --prune)
    # | restart (a workload's pods move to Fargate) | stays (a Job's or bare pod's, never restarted)
    # | outdated (an add-on with a newer version: listed only)
    # | differs (the cluster differs from the plan where apply does not act: listed, and reported at the end)
    # | aging (a node group behind the newest AMI release for its version: upgraded with --upgrade-nodes)
    # | unread (something apply would have shown could not be read: listed with why)
    kind: str
    what: str  # "Fargate profile" | "node group"
    name: str
    detail: str = ""
    successor: str = ""  # for replace: the new profile or group that takes over
    effect: str = ""  # what it does to running pods ("no pods affected", "rolls 2 pod(s) of …", …)
    # for upgrade: the Kubernetes version, or a node group's AMI release, to go to; for a Deployment: its
    # release (namespace/name)
    target: str = ""


class NotReady(Exception):
    """Something compose would build on or touch is not ACTIVE."""


def _status_problem(what: str, name: str, status: str) -> str:
    if status in IN_FLIGHT:
        return (
            f"{what} {name} is {status}: an earlier operation is still running; wait until it is ACTIVE "
            "(or gone) and run apply again"
        )
    return (
        f"{what} {name} is {status or 'in an unknown state'}: fix it, or delete it with eksctl, and run apply "
        "again (compose does not build on a broken one)"
    )


def fargate_actions(
    config: dict,
    existing: dict[str, dict],
    owned: frozenset[str],
    on_profile: dict[str, tuple[Pod, ...]] | None = None,
    pinned: frozenset[str] = frozenset(),
    kept: frozenset[str] = frozenset(),
    strategies: dict[str, str] | None = None,
    wait_for_jobs: bool = False,
) -> list[Action]:
    """``on_profile``: the running pods on each profile to go (read when there are any); ``pinned``: the
    releases whose pods follow their profile's name (they roll onto a successor, the rest are deleted);
    ``kept``: the namespaces of releases no longer wanted but kept (no --prune): a profile that only they
    still need is kept with them, since deleting it would delete their pods; ``strategies``: how each
    Deployment rolls (``rollout_text``), by namespace/deployment/name; ``wait_for_jobs``: apply waits for
    Jobs and bare pods on a profile to go to finish (--wait-for-jobs)."""
    planned = {p.name: {"selectors": list(p.selectors)} for p in PlannedCluster.of(config).profiles}
    actions, problems = [], []
    for name in planned:
        if name not in existing:
            actions.append(
                Action("create", "Fargate profile", name, _selectors(planned[name]), effect="no pods affected")
            )
        elif existing[name].get("status") != "ACTIVE":
            problems.append(_status_problem("Fargate profile", name, str(existing[name].get("status", ""))))
        else:
            actions.append(Action("unchanged", "Fargate profile", name))
    for name in sorted(set(existing) - set(planned)):
        old = existing[name]
        if name not in owned:
            actions.append(Action("foreign", "Fargate profile", name, _selectors(old)))
            continue
        if old.get("status") == "DELETING":
            continue  # already on its way out
        if old.get("status") != "ACTIVE":
            problems.append(_status_problem("Fargate profile", name, str(old.get("status", ""))))
            continue
        namespaces = {s.get("namespace") for s in old.get("selectors") or []}
        heirs = [n for n, p in planned.items() if namespaces & {s["namespace"] for s in p["selectors"]}]
        detail = _selectors(old) + (f"; {_why_replaced(old, planned)}" if heirs else "")
        effect = _profile_effect(
            (on_profile or {}).get(name), pinned if heirs else frozenset(), strategies or {}, wait_for_jobs
        )
        if not heirs and namespaces & kept:
            why = f"{_selectors(old)}; releases kept in {', '.join(sorted(namespaces & kept))} still run there"
            actions.append(Action("keep", "Fargate profile", name, why))
            continue
        kind = "replace" if heirs else "delete"
        actions.append(Action(kind, "Fargate profile", name, detail, ", ".join(heirs), effect))
    if problems:
        raise NotReady("; ".join(problems))
    return actions


def nodegroup_actions(config: dict, existing: dict[str, dict], owned: frozenset[str], prune: bool) -> list[Action]:
    planned = {g.name: g for g in PlannedCluster.of(config).groups}
    actions, problems = [], []
    for name, g in planned.items():
        have = existing.get(name)
        if have is None:
            types = "Spot " + "/".join(g.instance_types) if g.spot else g.instance_types[0]
            actions.append(Action("create", "node group", name, f"{types} × {g.min_size}–{g.max_size}"))
        elif have.get("Status") != "ACTIVE":
            problems.append(_status_problem("node group", name, str(have.get("Status", ""))))
        elif (have.get("MinSize"), have.get("MaxSize")) != (g.min_size, g.max_size):
            actions.append(
                Action(
                    "resize",
                    "node group",
                    name,
                    f"{have.get('MinSize')}–{have.get('MaxSize')} → {g.min_size}–{g.max_size}",
                )
            )
        else:
            actions.append(Action("unchanged", "node group", name))
    slots = {slot(n): n for n in planned}
    for name in sorted(set(existing) - set(planned)):
        have = existing[name]
        detail = f"{have.get('InstanceType', '?')} × {have.get('MinSize', '?')}–{have.get('MaxSize', '?')}"
        if name not in owned:
            actions.append(Action("foreign", "node group", name, detail))
            continue
        if have.get("Status") == "DELETING":
            continue
        heir = slots.get(slot(name), "")
        if have.get("Status") != "ACTIVE" and (heir or prune):
            problems.append(_status_problem("node group", name, str(have.get("Status", ""))))
            continue
        kind = "replace" if heir else ("delete" if prune else "keep")
        actions.append(Action(kind, "node group", name, detail, heir))
    if problems:
        raise NotReady("; ".join(problems))
    return actions


def addon_actions(
    config: dict, existing: dict[str, dict] | None, self_managed: dict[str, str] | None = None, migrate: bool = False
) -> list[Action]:
    """The planned add-ons against ``eksctl get addon -o json`` (Name, Status, ConfigurationValues).
    ``self_managed``: core add-ons the cluster runs without EKS (add-on → its kube-system workload): apply
    leaves them (they are out of the ClusterConfig it writes, which ``eksctl create addon -f`` reads), and
    lists them with the command that migrates them; with ``migrate`` it creates them with --force."""
    if existing is None:
        return []
    actions, problems = [], []
    cluster = PlannedCluster.of(config)
    for addon in cluster.addons:
        name, wanted = addon.name, _json_object(addon.configuration)
        have = existing.get(name)
        status = str((have or {}).get("Status", ""))
        if have is None and name in (self_managed or {}):  # (only listed when migrating)
            actions.append(
                Action(
                    "create",
                    "add-on",
                    name,
                    f"migrates the self-managed {self_managed[name]} to the EKS add-on (--force: EKS's configuration "
                    "replaces its own; --migrate-addons)",
                    effect=f"restarts {self_managed[name]}",
                )
            )
        elif have is None or status == "CREATE_FAILED":
            actions.append(
                Action(
                    "create",
                    "add-on",
                    name,
                    addon.configuration + (" (its creation failed before)" if have else ""),
                )
            )
        elif status in IN_FLIGHT:
            problems.append(_status_problem("add-on", name, status))
        elif any(_json_object(have.get("ConfigurationValues") or "").get(k) != v for k, v in wanted.items()):
            actions.append(
                Action(
                    "update",
                    "add-on",
                    name,
                    f"{have.get('ConfigurationValues') or 'default'} → {addon.configuration}",
                )
            )
        elif have.get("NewerVersion"):  # listed, not upgraded: an add-on upgrade is the cluster owner's call
            actions.append(Action("outdated", "add-on", name, f"{have.get('Version', '?')} → {have['NewerVersion']}"))
        else:  # (DEGRADED counts as present: e.g. CoreDNS before any node or profile can run it)
            actions.append(Action("unchanged", "add-on", name, status))
    for name, workload in sorted((self_managed or {}).items()):
        if not migrate:
            actions.append(
                Action(
                    "differs",
                    "add-on",
                    name,
                    f"runs self-managed ({workload} in kube-system), not as the EKS add-on the plan has; apply "
                    f"leaves it. `compose apply --migrate-addons` (eksctl create addon --name {name} --cluster "
                    f"{cluster.name} --region {cluster.region} --force) makes it one, with EKS's configuration",
                )
            )
    for name in sorted(set(DEFAULT_ADDONS) - set(cluster.addon_names)):
        if name in existing:
            problems.append(
                f"{name} runs as an EKS add-on, and the estate installs the {name} chart too (helm would refuse "
                f"objects the add-on owns); keep one: delete the add-on (eksctl delete addon --cluster "
                f"{cluster.name} --region {cluster.region} --name {name}) or remove "
                f"the estate's {name} profile"
            )
    if problems:
        raise NotReady("; ".join(problems))
    return actions


# EKS keeps nodes at most this many minors behind the control plane (EKS user guide, "Kubernetes version
# skew": nodes may lag the control plane by up to three minors from 1.28, and never lead it)
MAX_NODE_SKEW = 3


def _minor(version: str) -> int | None:
    head, _, minor = str(version).partition(".")
    return int(minor) if head == "1" and minor.isdigit() else None


def version_actions(config: dict, current: str | None, nodegroups: dict[str, dict], offered: range) -> list[Action]:
    """The planned Kubernetes version against the cluster's (EKS user guide, "Update existing cluster to new
    Kubernetes version"; eksctl upgrade cluster): one minor up is an **upgrade** of the control plane, then
    of the core add-ons and of each planned managed node group behind it; anything else is refused before
    anything runs (a downgrade, which EKS cannot do; a skipped minor; a version EKS does not offer; node
    groups so far behind that the upgrade would break the skew rule)."""
    cluster = PlannedCluster.of(config)
    planned, have = cluster.version, current
    if not planned or not have or planned == have:
        return []
    name = cluster.name
    want, now = _minor(planned), _minor(have)
    if want is None or now is None:
        raise NotReady(f"cannot compare Kubernetes versions {have!r} (cluster) and {planned!r} (composer.yaml)")
    if want < now:
        raise NotReady(
            f"cluster {name} runs Kubernetes {have} and composer.yaml says {planned}: EKS cannot downgrade a "
            f"cluster; set metadata.version to {have}"
        )
    if want not in offered:
        raise NotReady(f"Kubernetes {planned} is not a version EKS offers (1.{offered.start}–1.{offered.stop - 1})")
    if want > now + 1:
        raise NotReady(
            f"cluster {name} runs Kubernetes {have}; EKS upgrades one minor at a time: set metadata.version to "
            f"1.{now + 1}, apply, then {planned}"
        )
    behind = sorted(
        f"{g} ({v.get('Version')})"
        for g, v in nodegroups.items()
        if _minor(str(v.get("Version"))) is not None and want - _minor(str(v.get("Version"))) > MAX_NODE_SKEW
    )
    if behind:
        raise NotReady(
            f"node group(s) {', '.join(behind)} would be more than {MAX_NODE_SKEW} minors behind a {planned} "
            f"control plane; upgrade them first (eksctl upgrade nodegroup --kubernetes-version)"
        )
    planned_groups = set(cluster.group_names)
    actions = [Action("upgrade", "control plane", name, f"{have} → {planned}", target=planned)]
    actions += [
        Action("upgrade", "add-on", name, f"to the newest version for {planned}") for name in cluster.addon_names
    ]
    actions += [
        Action(
            "upgrade",
            "node group",
            g,
            f"{v.get('Version')} → {planned}, node by node (PodDisruptionBudgets hold)",
            target=planned,
        )
        for g, v in sorted(nodegroups.items())
        if g in planned_groups and v.get("Version") != planned
    ]
    return actions


def authentication_actions(config: dict, current: str | None) -> list[Action]:
    """The planned ``accessConfig.authenticationMode`` against the cluster's (None: not reported)."""
    planned = planned_mode(config)
    cluster = PlannedCluster.of(config)
    name, region = cluster.name, cluster.region
    if planned not in MODES or current not in MODES or planned == current:
        return []
    if MODES.index(planned) < MODES.index(current):
        return [
            Action(
                "differs",
                "authentication mode",
                name,
                f"{current}, the plan has {planned}: EKS changes the mode only towards API; set "
                f"access.authenticationMode: {current} in composer.yaml",
            )
        ]
    actions = []
    if current == "CONFIG_MAP":
        actions.append(
            Action(
                "update",
                "authentication mode",
                name,
                "CONFIG_MAP → API_AND_CONFIG_MAP (access entries beside aws-auth; EKS allows no way back)",
            )
        )
    if planned == "API":
        actions.append(
            Action(
                "differs",
                "authentication mode",
                name,
                "API_AND_CONFIG_MAP, the plan has API: apply stops there, since aws-auth stops counting "
                "in API mode and whatever is mapped only there loses access; copy it into access entries "
                f"and switch with `{migrate_command(name, region)}`, or set "
                "access.authenticationMode: API_AND_CONFIG_MAP",
            )
        )
    return actions


ROLE_ANNOTATION = "eks.amazonaws.com/role-arn"  # what eksctl sets on an IRSA service account, and pods read
HELM_RELEASE_ANNOTATION = "meta.helm.sh/release-name"  # helm's mark on what a release made
KEEP = "helm.sh/resource-policy=keep"  # helm deletes no object with it when an upgrade drops it


def service_account_actions(config: dict, present: dict[str, dict] | None, roles: dict[str, str]) -> list[Action]:
    """The planned IRSA service accounts against the cluster. eksctl owns each account (the chart is told
    serviceAccount.create false), so:

    * an account that lacks the role annotation (absent, or made by a chart) and whose role eksctl has not
      made is **create**d by ``eksctl create iamserviceaccount --include`` (role and annotation);
    * one whose role eksctl already made (its stack exists) cannot be: eksctl excludes existing stacks and
      refuses an --include that names one ("should be excluded, but matches include filter"). It is
      **annotate**d: compose writes the account (kubectl create + annotate) with that role's ARN;
    * an account a Helm release made is kept from that release (``helm.sh/resource-policy: keep``) before
      the releases are applied: with serviceAccount.create false, helm would otherwise delete it on upgrade.
    """
    if present is None:
        return []
    actions = []
    for account in PlannedCluster.of(config).accounts:
        key, role = account.key, account.role_arn or ", ".join(account.policies)
        notes = present.get(key)
        helm = (
            notes is not None and notes.get(HELM_RELEASE_ANNOTATION) and notes.get("helm.sh/resource-policy") != "keep"
        )
        if notes is not None and notes.get(ROLE_ANNOTATION):
            kind, detail = "unchanged", role
        elif roles.get(key):
            kind, detail = "annotate", f"eksctl's role {roles[key]} exists; the account is written with it"
        else:
            kind, detail = "create", role
        if helm:
            detail += f"; made by Helm release {notes[HELM_RELEASE_ANNOTATION]}, kept from it on upgrade"
            kind = "annotate" if kind == "unchanged" else kind
        actions.append(Action(kind, "IAM service account", key, detail, successor=roles.get(key, "")))
    return actions


def windows_ipam_actions(setting: str | None) -> list[Action]:
    """The cluster's first Windows node group needs the VPC CNI's Windows IPAM on (EKS user guide, "Deploy
    Windows nodes on EKS clusters"), which eksctl turns on only in create cluster; ``setting`` is read
    only when the plan creates one ("true", "false" or "absent")."""
    if setting in (None, "true"):
        return []
    return [
        Action(
            "update",
            "VPC CNI setting",
            "kube-system/amazon-vpc-cni",
            f"{setting} → enable-windows-ipam: true (the first Windows node group needs it; eksctl sets it only "
            "in create cluster)",
            effect="no pods affected",
        )
    ]


def association_actions(config: dict, present: dict[str, str] | None) -> list[Action]:
    """The planned EKS Pod Identity associations against the cluster's (namespace/name → role ARN, as
    ``eksctl get podidentityassociation`` lists them): a missing one is **create**d (eksctl makes its
    role unless roleARN names one); one that exists is left as it is (compose does not compare its role's
    policies)."""
    if present is None:
        return []
    actions = []
    for a in PlannedCluster.of(config).associations:
        have = present.get(a.key)
        if have is None:
            actions.append(Action("create", "Pod Identity association", a.key, a.role_arn or ", ".join(a.policies)))
        else:
            actions.append(Action("unchanged", "Pod Identity association", a.key, have))
    return actions


def _json_object(text: str) -> dict:
    import json

    try:
        value = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError:
        return {}  # (eksctl also accepts YAML; compose writes JSON and reads what EKS stores, which is JSON)
    return value if isinstance(value, dict) else {}


def log_namespace_actions(annotations: dict | None) -> list[Action]:
    """The log router's namespace, when it exists but no Helm release made it (kubectl, as the AWS logging
    guide shows): **annotate**d so that the log-router release adopts it instead of failing its install."""
    if annotations is None or annotations.get(HELM_RELEASE_ANNOTATION) == "aws-observability":
        return []
    return [
        Action(
            "annotate",
            "namespace",
            "aws-observability",
            "made outside Helm; the log-router release adopts it",
            effect="no pods affected",
        )
    ]


def selector_actions(
    planned: dict[str, tuple[str, dict]], live: dict[str, tuple[str, dict | None]], partial: bool = False
) -> list[Action]:
    """An installed release whose Deployment's selector is not the one its chart now renders (a selector is
    immutable, so helm upgrade would fail): **replace**d, orphaning its pods, which the new one adopts; one
    whose Deployment is missing (an apply stopped between that delete and the upgrade: helmfile's diff,
    which compares releases, not the cluster, would then see nothing to do) is **create**d by a sync of
    the release. ``partial`` (helmfile --selector: the release may not be upgraded in this run): listed,
    not acted on. Each action's ``target`` is the release (namespace/name)."""
    out = []
    for key, (deployment, have) in sorted(live.items()):
        want = planned.get(key, ("", None))[1]
        if want is None or have == want:
            continue
        name = f"{key.split('/', 1)[0]}/{deployment}"
        if have is None:
            change = f"missing, though release {key} is installed"
            kind, how = "create", f"{change}: a sync of the release re-creates it"
        else:
            change = f"its selector ({_label_text(have)}) becomes {_label_text(want)}"
            kind, how = "replace", f"{change}, which cannot change in place: deleted with --cascade=orphan and "
            how += "re-created at once by a sync of its release"
        if partial:
            out.append(
                Action("differs", "Deployment", name, f"{change}; apply without --selector fixes it", target=key)
            )
            continue
        effect = "its pods keep running; the new Deployment adopts them and rolls them under its strategy"
        out.append(Action(kind, "Deployment", name, how, effect=effect, target=key))
    return out


def _label_text(labels: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(labels.items())) or "none"


def release_actions(planned: frozenset[str], installed: frozenset[str] | None, prune: bool) -> list[Action]:
    """Releases compose installed (helm's stored label) whose profile is gone: uninstalled with --prune,
    else listed. A release is never touched on name alone: only with compose's label."""
    if installed is None:
        return []
    return [Action("delete" if prune else "keep", "Helm release", key) for key in sorted(installed - planned)]


@dataclass(frozen=True)
class Pod:
    """A running pod that is not on Fargate, as the probe reduces it: where it is, its labels, and the
    workload that would recreate it (``deployment/x``, ``statefulset/y``, ``job/z``; ``pod/p`` if none)."""

    namespace: str
    labels: tuple[tuple[str, str], ...]
    owner: str

    @property
    def release(self) -> str:
        """namespace/release of the Helm release that made it (the chart convention's instance label)."""
        return f"{self.namespace}/{dict(self.labels).get('app.kubernetes.io/instance', '')}"


RESTARTABLE = ("deployment/", "statefulset/")


def restart_actions(config: dict, pods: tuple[Pod, ...]) -> list[Action]:
    """Workloads with pods off Fargate that a planned Fargate profile selects: restarted (Deployments and
    StatefulSets), or listed (Jobs and bare pods, which a restart would kill mid-run)."""
    selectors = [
        (p.name, s["namespace"], (s.get("labels") or {}).items())
        for p in PlannedCluster.of(config).profiles
        for s in p.selectors
    ]
    found: dict[tuple[str, str], tuple[str, int]] = {}
    for pod in pods:
        labels = dict(pod.labels)
        profile = next(
            (
                name
                for name, namespace, wanted in selectors
                if namespace == pod.namespace and all(labels.get(k) == v for k, v in wanted)
            ),
            None,
        )
        if profile is not None:
            key = (pod.namespace, pod.owner)
            found[key] = (profile, found.get(key, ("", 0))[1] + 1)
    actions = []
    for (namespace, owner), (profile, count) in sorted(found.items()):
        kind = "restart" if owner.startswith(RESTARTABLE) else "stays"
        actions.append(
            Action(
                kind,
                "workload",
                f"{namespace}/{owner}",
                f"{count} pod(s) on EC2 nodes that Fargate profile {profile} selects",
                effect=f"restarts {count} pod(s), rolling" if kind == "restart" else "no pods affected",
            )
        )
    return actions


def scale_target(config: dict, name: str, existing: dict) -> tuple[int, int, int]:
    """(desired, min, max) for ``eksctl scale nodegroup``: the planned bounds, and the current desired
    count kept when it lies within them (an autoscaler may have set it)."""
    g = PlannedCluster.of(config).group(name)
    desired = existing.get("DesiredCapacity", g.desired)
    if not isinstance(desired, int) or not g.min_size <= desired <= g.max_size:
        desired = g.desired
    return desired, g.min_size, g.max_size


SYMBOLS = {
    "create": "+",
    "replace": "-/+",
    "resize": "~",
    "update": "~",
    "upgrade": "~",
    "annotate": "~",
    "delete": "-",
    "keep": "!",
    "foreign": "?",
    "restart": "<>",
    "stays": "!",
    "outdated": "!",
    "differs": "!",
    "aging": "~",
    "unread": "?",
}
WORDS = {
    "create": "create",
    "replace": "replace",
    "resize": "resize",
    "update": "update in place",
    "upgrade": "upgrade",
    "annotate": "write the account with its IAM role annotation",
    "delete": "delete",
    "keep": "no longer wanted, kept (--prune deletes it)",
    "foreign": "not managed by compose, left alone",
    "restart": "rollout restart, so its pods are recreated on Fargate",
    "stays": "left on EC2 until it is recreated (Jobs and bare pods are never restarted)",
    "differs": "differs from the plan; apply does not change it",
    "aging": "upgrade with --upgrade-nodes (rolls its nodes node by node; PodDisruptionBudgets hold)",
    "unread": "not read",
    "outdated": "a newer version exists; compose does not upgrade add-ons by itself "
    "(eksctl update addon --name NAME --version latest)",
}


def lines(actions: list[Action]) -> list[str]:
    """Terraform-style lines for everything that is not unchanged."""
    out = []
    for a in actions:
        if a.kind == "unchanged":
            continue
        tail = f" (replaced by {a.successor})" if a.kind == "replace" and a.successor else ""
        detail = f": {a.detail}" if a.detail else ""
        effect = f" · {a.effect}" if a.effect else ""
        name = f" {a.name}" if a.name else ""
        out.append(f"  {SYMBOLS[a.kind]:>3} {a.what}{name}{detail} — {WORDS[a.kind]}{tail}{effect}")
    return out


def summary(actions: list[Action]) -> str:
    count = {k: sum(a.kind == k for a in actions) for k in OFF_PLAN}
    aging = sum(a.kind == "aging" for a in actions)
    return (
        f"{count['create']} to create, {count['replace']} to replace, {count['resize']} to resize, "
        f"{count['delete']} to delete"
        + "".join(f", {count[k]} to {k}" for k in ("upgrade", "update", "annotate", "restart") if count[k])
        + (f"; {count['differs']} difference(s) apply will not change" if count["differs"] else "")
        + (f"; {aging} node group(s) behind the newest AMI release (--upgrade-nodes)" if aging else "")
    )


def rollout_text(deployment: dict) -> str:
    """How a Deployment replaces its pods, from its spec as the API returns it: ``maxUnavailable N`` for a
    rolling update (a percentage of replicas rounds down, and is 1 when maxSurge is 0 too, as Kubernetes
    resolves them), or ``Recreate: all N at once``."""
    import math

    spec = deployment.get("spec") if isinstance(deployment.get("spec"), dict) else {}
    replicas = spec.get("replicas", 1) if isinstance(spec.get("replicas", 1), int) else 1
    strategy = spec.get("strategy") if isinstance(spec.get("strategy"), dict) else {}
    if strategy.get("type") == "Recreate":
        return f"Recreate: all {replicas} at once"
    rolling = strategy.get("rollingUpdate") if isinstance(strategy.get("rollingUpdate"), dict) else {}

    def resolve(value, up: bool) -> int:
        if isinstance(value, str) and value.endswith("%") and value[:-1].isdigit():
            exact = replicas * int(value[:-1]) / 100
            return math.ceil(exact) if up else math.floor(exact)
        return value if isinstance(value, int) else 0

    unavailable = resolve(rolling.get("maxUnavailable", "25%"), False)
    surge = resolve(rolling.get("maxSurge", "25%"), True)
    return f"maxUnavailable {1 if unavailable == surge == 0 else unavailable}"


RUN_TO_END = ("job/", "pod/")  # pods that finish by themselves: waited for with --wait-for-jobs, never restarted


def _profile_effect(
    pods: tuple[Pod, ...] | None, pinned: frozenset[str], strategies: dict[str, str], wait_for_jobs: bool = False
) -> str:
    """What deleting a profile does to the pods on it: pinned releases' pods roll onto the successor
    before the delete (under their Deployment's strategy); Jobs' and bare pods are waited for with
    --wait-for-jobs; the others are deleted at once by it (EKS DeleteFargateProfile)."""
    if pods is None:
        return ""  # (not read)
    if not pods:
        return "no pods affected"
    rolls: dict[str, int] = {}
    waits: dict[str, int] = {}
    cut: dict[str, int] = {}
    for pod in pods:
        key = f"{pod.namespace}/{pod.owner}"
        if pod.release in pinned and pod.owner.startswith(RESTARTABLE):
            bucket = rolls
        else:
            bucket = waits if wait_for_jobs and pod.owner.startswith(RUN_TO_END) else cut
        bucket[key] = bucket.get(key, 0) + 1
    parts = [
        f"rolls {n} pod(s) of {k} onto the new profile" + (f" ({strategies[k]})" if k in strategies else "")
        for k, n in sorted(rolls.items())
    ]
    parts += [f"waits for {n} pod(s) of {k} to finish (--wait-for-jobs)" for k, n in sorted(waits.items())]
    parts += [
        f"deletes {n} pod(s) of {k} at once (needs "
        + ("--wait-for-jobs to let them finish, or " if k.split("/")[1] + "/" in RUN_TO_END else "")
        + "--allow-disruption)"
        for k, n in sorted(cut.items())
    ]
    return "; ".join(parts)


def _selector_set(profile: dict) -> frozenset[str]:
    return frozenset(_selectors({"selectors": [s]}) for s in profile.get("selectors") or [] if isinstance(s, dict))


def _why_replaced(old: dict, planned: dict[str, dict]) -> str:
    """Why a profile must go (EKS cannot change one): what of its content the plan no longer has."""
    mine = _selector_set(old)
    wanted = frozenset().union(*(_selector_set(p) for p in planned.values()))
    if any(_selector_set(p) == mine for p in planned.values()):
        return "same selectors, but its pod execution role or subnets changed, which EKS cannot change in place"
    gone = sorted(mine - wanted)
    if gone:
        return f"{', '.join(gone)} no longer on Fargate, and EKS cannot remove a selector from a profile"
    return "its selectors were repacked to stay within fargate.profilesPerCluster"


def _selectors(profile: dict) -> str:
    parts = []
    for s in profile.get("selectors") or []:
        labels = ",".join(f"{k}={v}" for k, v in sorted((s.get("labels") or {}).items()))
        parts.append(s.get("namespace", "?") + (f"{{{labels}}}" if labels else ""))
    return ", ".join(parts)
