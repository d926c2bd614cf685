"""The planned cluster, typed: what apply, reconcile and the saved plan read from the generated ClusterConfig.

One reader of the ClusterConfig dict (eksctl.io/v1alpha5, as composer.emit.eksctl writes it), so the rest of
the cluster stage asks ``cluster.name`` or ``cluster.profile_names`` instead of spelling dict paths.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PlannedProfile:
    name: str
    selectors: tuple[dict, ...]  # {namespace, labels?} as in the ClusterConfig
    pod_execution_role: str

    @property
    def namespaces(self) -> frozenset[str]:
        return frozenset(str(s.get("namespace")) for s in self.selectors)


@dataclass(frozen=True)
class PlannedGroup:
    name: str
    min_size: int
    max_size: int
    desired: int
    instance_types: tuple[str, ...]  # one on-demand type, or a Spot group's list
    spot: bool
    ami_family: str


@dataclass(frozen=True)
class PlannedAddon:
    name: str
    configuration: str  # configurationValues ("" when the plan sets none)


@dataclass(frozen=True)
class PlannedAccount:
    namespace: str
    name: str
    role_arn: str  # attachRoleARN: a role the user has ("" when eksctl makes one)
    policies: tuple[str, ...]  # attachPolicyARNs, else the well-known policy names

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class PlannedCluster:
    name: str
    region: str
    version: str  # "" when composer.yaml names none
    profiles: tuple[PlannedProfile, ...]
    groups: tuple[PlannedGroup, ...]
    addons: tuple[PlannedAddon, ...]
    accounts: tuple[PlannedAccount, ...]
    with_oidc: bool
    authentication_mode: str | None
    # EKS Pod Identity associations (iam.podIdentityAssociations): same shape as an IRSA account
    associations: tuple[PlannedAccount, ...] = ()

    @classmethod
    def of(cls, config: dict) -> PlannedCluster:
        meta = config.get("metadata") or {}  # (always there in a generated config; a test may leave it out)
        iam = config.get("iam") or {}
        return cls(
            name=str(meta.get("name", "")),
            region=str(meta.get("region", "")),
            version=str(meta.get("version") or ""),
            profiles=tuple(
                PlannedProfile(str(p["name"]), tuple(p.get("selectors") or ()), str(p.get("podExecutionRoleARN", "")))
                for p in config.get("fargateProfiles") or ()
            ),
            groups=tuple(_group(g) for g in config.get("managedNodeGroups") or ()),
            addons=tuple(
                PlannedAddon(str(a["name"]), str(a.get("configurationValues", ""))) for a in config.get("addons") or ()
            ),
            accounts=tuple(_account(sa) for sa in iam.get("serviceAccounts") or ()),
            with_oidc=bool(iam.get("withOIDC")),
            authentication_mode=(config.get("accessConfig") or {}).get("authenticationMode"),
            associations=tuple(_association(a) for a in iam.get("podIdentityAssociations") or ()),
        )

    @property
    def profile_names(self) -> list[str]:
        return [p.name for p in self.profiles]

    @property
    def group_names(self) -> list[str]:
        return [g.name for g in self.groups]

    @property
    def addon_names(self) -> list[str]:
        return [a.name for a in self.addons]

    @property
    def selected_namespaces(self) -> list[str]:
        """The namespaces the planned Fargate profiles select, sorted."""
        return sorted(frozenset().union(*(p.namespaces for p in self.profiles)))

    def group(self, name: str) -> PlannedGroup:
        return next(g for g in self.groups if g.name == name)


def _group(g: dict[str, Any]) -> PlannedGroup:
    types = tuple(g.get("instanceTypes") or ()) or (str(g.get("instanceType", "")),)
    return PlannedGroup(
        str(g["name"]),
        int(g["minSize"]),
        int(g["maxSize"]),
        int(g.get("desiredCapacity", g["minSize"])),
        types,
        bool(g.get("instanceTypes")),
        str(g.get("amiFamily", "")),
    )


def _account(sa: dict[str, Any]) -> PlannedAccount:
    policies = tuple(sa.get("attachPolicyARNs") or ()) or tuple(sorted(sa.get("wellKnownPolicies") or {}))
    return PlannedAccount(
        str(sa["metadata"]["namespace"]), str(sa["metadata"]["name"]), str(sa.get("attachRoleARN", "")), policies
    )


def _association(a: dict[str, Any]) -> PlannedAccount:
    wanted = tuple(sorted(k for k, v in (a.get("wellKnownPolicies") or {}).items() if v))
    policies = tuple(a.get("permissionPolicyARNs") or ()) or wanted
    return PlannedAccount(str(a["namespace"]), str(a["serviceAccountName"]), str(a.get("roleARN", "")), policies)
