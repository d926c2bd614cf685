"""Cluster Autoscaler, so that node groups really scale between their minSize and maxSize, down to zero.

Without an autoscaler a managed node group stays at its desired size: ``minSize: 0`` and the headroom up to
``maxSize`` do nothing. When ``autoscaling.autoscaler`` is ``cluster-autoscaler`` (the default) and the
plan has node groups, compose adds a ``kube-system/cluster-autoscaler`` release:

* the kubernetes/autoscaler chart at the last release made for the cluster's Kubernetes minor, with that
  release's image (Cluster Autoscaler releases one minor per Kubernetes minor and supports only that one).
  The table comes from the chart's history (``charts/cluster-autoscaler/Chart.yaml`` in
  kubernetes/autoscaler, ``version`` and ``appVersion``, read up to 2026-07); a minor newer than the table
  gets its newest chart with the image ``v<minor>.0``, an older one its oldest chart likewise;
* ``awsRegion`` and ``autoDiscovery.clusterName`` set explicitly, so it needs no instance metadata and can
  run on Fargate, where it is placed like any other workload;
* an IRSA service account with eksctl's ``autoScaler`` well-known policy (``iam.serviceAccounts``);
* node groups with ``propagateASGTags: true``: EKS tags managed node groups' Auto Scaling groups for
  auto-discovery, and eksctl then also copies their labels and taints to the groups as
  ``k8s.io/cluster-autoscaler/node-template/…`` tags, which Cluster Autoscaler needs to scale a group up
  from zero nodes (it cannot read labels from a node that does not exist);
* its routing labels (and the Fargate profile pin) in the chart's ``additionalLabels``, which the chart
  puts on the pod template but not in the Deployment's selector, unlike ``podLabels``, which it copies into
  both (``cluster-autoscaler/charts/cluster-autoscaler/templates/deployment.yaml``, the same in every chart
  of the table): a selector cannot change, so routing through ``podLabels`` made every later change of
  routing (a new ``fargate.routingLabel``, a move between Fargate and nodes) fail ``helm upgrade``. An
  autoscaler installed that way is moved over by apply: its Deployment is deleted with
  ``--cascade=orphan`` (its ReplicaSet and pod keep running) and a sync of the release re-creates it
  with the selector below, adopting them (composer.cluster.reconcile.selector_actions).

Why Cluster Autoscaler rather than Karpenter as the default: compose already plans managed node groups
per node class, with sizes; Cluster Autoscaler scales exactly those groups and needs nothing else.
Karpenter replaces node groups with its own NodePools and an SQS interruption queue, a different
compute model that compose does not generate. ``autoscaling.autoscaler: none`` leaves scaling to you.
https://docs.aws.amazon.com/eks/latest/best-practices/cas.html
"""

from __future__ import annotations

from dataclasses import replace

from composer.core.model import ClusterSettings, Placement, Source, Workload
from composer.load.profiles import build_workload

RELEASE, NAMESPACE, SERVICE_ACCOUNT = "cluster-autoscaler", "kube-system", "cluster-autoscaler"
CHART, REPOSITORY = "autoscaler/cluster-autoscaler", "https://kubernetes.github.io/autoscaler"
URL = "https://docs.aws.amazon.com/eks/latest/best-practices/cas.html"
# the Deployment the chart makes (its fullname: <release>-<cloudProvider>-cluster-autoscaler, cloudProvider
# aws by default) and its selector when no podLabels are set (the "instance-name" labels of _helpers.tpl)
DEPLOYMENT = f"{RELEASE}-aws-cluster-autoscaler"
SELECTOR = (("app.kubernetes.io/instance", RELEASE), ("app.kubernetes.io/name", "aws-cluster-autoscaler"))

# Kubernetes minor -> (last chart release for it, the Cluster Autoscaler image that chart ships)
CHARTS = {
    29: ("9.36.0", "v1.29.0"),
    30: ("9.37.0", "v1.30.0"),
    31: ("9.44.0", "v1.31.0"),
    32: ("9.46.6", "v1.32.0"),
    33: ("9.51.0", "v1.33.0"),
    34: ("9.53.0", "v1.34.2"),
    35: ("9.59.0", "v1.35.0"),
}


def chart_and_image(version: str) -> tuple[str, str]:
    """The chart version and image tag for a cluster at Kubernetes ``version`` ("1.33")."""
    minor = int(version.split(".")[1])
    if minor in CHARTS:
        return CHARTS[minor]
    nearest = max(CHARTS) if minor > max(CHARTS) else min(CHARTS)
    return CHARTS[nearest][0], f"v1.{minor}.0"


def wanted(settings: ClusterSettings, placements: list[Placement]) -> bool:
    return (
        settings.autoscaler == "cluster-autoscaler"
        and any(p.target == "nodegroup" for p in placements)
        and not any(p.workload.key == f"{NAMESPACE}/{RELEASE}" for p in placements)
    )


def workload(settings: ClusterSettings) -> Workload:
    """The autoscaler as a workload, placed by the same rules as the estate's."""
    chart_version, tag = chart_and_image(settings.version or "1.33")
    requests = {"cpu": "100m", "memory": "600Mi"}
    # the requests the plan sizes and prices it by are the ones the chart sets (its top-level ``resources``
    # value): Fargate bills a pod by its requests (+256 MiB), 0.25 vCPU / 1 GB here, not its smallest size
    values = {
        "autoDiscovery": {"clusterName": settings.name},
        "awsRegion": settings.region,
        "image": {"tag": tag},
        "resources": {"requests": dict(requests)},
    }
    doc = {
        "metadata": {"name": RELEASE, "namespace": NAMESPACE},
        "release": {
            "chart": CHART,
            "version": chart_version,
            "repository": REPOSITORY,
            "podLabelsValue": "additionalLabels",  # (not podLabels: see the module's docstring)
            "serviceAccountValue": "rbac.serviceAccount",
        },
        "workload": {
            "kind": "Deployment",
            "replicas": 1,
            "containers": [{"name": "cluster-autoscaler", "resources": {"requests": requests}}],
            "awsCredentials": "irsa",
            "serviceAccount": {"name": SERVICE_ACCOUNT, "wellKnownPolicies": {"autoScaler": True}},
        },
    }
    source = Source(settings.source.path)  # problems point at composer.yaml
    built = build_workload(doc, source, settings.output_dir)
    release = replace(built.release, inline_values=(values,), controller=DEPLOYMENT, selector=SELECTOR)
    return replace(built, release=release)
