"""`compose scan`: each derivation on small realistic manifests, the CLI, and agreement with `compose plan`."""

from __future__ import annotations

import io
import json
import textwrap

import pytest

from composer.cli.main import main
from composer.cli.scan_report import classify_scanned
from composer.files import yamlio
from composer.load.claims import ClaimOptions
from composer.load.manifests import read_objects
from composer.load.scan import derive
from composer.place.checks import check_workloads
from tests import real
from tests.conftest import SETTINGS


def scan(text: str, tmp_path, name: str = "m.yaml", options: ClaimOptions = ClaimOptions()):
    """Derive and classify ``text``; returns {namespace/name: (placement, rule ids, profile, workload)}."""
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    objects, problems, _, unread, _ = read_objects([str(path)])
    assert not problems and not unread
    result = derive(objects, options=options)
    items, problems = classify_scanned(result, tmp_path / "profiles")
    assert not problems, problems
    return {
        i.placement.workload.key: (
            i.placement.target,
            [r.rule for r in i.placement.reasons],
            i.scanned.profile,
            i.placement.workload,
        )
        for i in items
    }, result


DEPLOY = """\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: shop}}
spec:
  replicas: 3
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web, tier: front}}}}
    spec:
{pod}
      containers:
      - name: web
        image: nginx:1.27
        resources: {{requests: {{cpu: 250m, memory: 256Mi}}}}
        ports: [{{containerPort: 8080}}]
"""


def deployment(pod: str = "", extra: str = "") -> str:
    return DEPLOY.format(pod=textwrap.indent(textwrap.dedent(pod), " " * 6) if pod else "") + extra


def service(spec: str, annotations: str = "", name: str = "web", namespace: str = "shop") -> str:
    meta = (
        f"{{name: {name}, namespace: {namespace}" + (f", annotations: {{{annotations}}}" if annotations else "") + "}"
    )
    return f"---\napiVersion: v1\nkind: Service\nmetadata: {meta}\nspec: {spec}\n"


def test_a_plain_deployment_fits_fargate_with_its_facts_and_provenance(tmp_path):
    found, _ = scan(deployment(), tmp_path)
    target, rules, profile, w = found["shop/web"]
    assert target == "fargate" and rules == []
    assert profile["workload"]["replicas"] == 3 and profile["workload"]["containers"][0]["ports"] == [8080]
    assert (
        profile["provenance"]["source"].endswith("m.yaml:1")
        and profile["provenance"]["object"] == "Deployment/shop/web"
    )
    assert profile["provenance"]["fields"]["workload.containers"].endswith("m.yaml:11")
    assert w.pod_labels == {"app": "web", "tier": "front"}


@pytest.mark.parametrize(
    "svc,annotations,expected,rule",
    [
        ("{type: NodePort, selector: {app: web}}", "", {"type": "NodePort"}, "FG011"),
        ("{type: LoadBalancer, selector: {app: web}}", "", {"type": "LoadBalancer", "loadBalancer": "clb"}, "FG012"),
        (
            "{type: LoadBalancer, selector: {app: web}}",
            "service.beta.kubernetes.io/aws-load-balancer-type: nlb",
            {"type": "LoadBalancer", "loadBalancer": "nlb", "targetType": "instance"},
            "FG012",
        ),
        (
            "{type: LoadBalancer, selector: {app: web}}",
            "service.beta.kubernetes.io/aws-load-balancer-type: external, "
            "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type: ip",
            {"type": "LoadBalancer", "loadBalancer": "nlb", "targetType": "ip"},
            None,
        ),
        (
            "{type: LoadBalancer, loadBalancerClass: service.k8s.aws/nlb, selector: {app: web}}",
            "",
            {"type": "LoadBalancer", "loadBalancer": "nlb", "targetType": "instance"},
            "FG012",
        ),
        ("{type: ClusterIP, selector: {app: web}}", "", {"type": "ClusterIP"}, None),
    ],
)
def test_services_are_linked_by_selector_and_classified_by_their_annotations(
    svc, annotations, expected, rule, tmp_path
):
    found, _ = scan(deployment(extra=service(svc, annotations)), tmp_path)
    target, rules, profile, w = found["shop/web"]
    assert profile["workload"]["services"] == [{"name": "web", **expected}]
    assert (rule in rules) if rule else (target == "fargate")
    if rule:  # the reason points at the Service in the manifest
        from composer.place.classify import classify

        field = next(r.field for r in classify(w)[0].reasons if r.rule == rule)
        assert w.manifest_line(field) == f"{tmp_path / 'm.yaml'}:20"


def test_services_elsewhere_or_not_matching_are_not_linked(tmp_path):
    text = deployment(
        extra=service("{type: NodePort, selector: {app: web}}", namespace="other")
        + service("{type: NodePort, selector: {app: api}}", name="api")
        + service("{type: ExternalName, externalName: db.example.com}", name="db")
    )
    found, _ = scan(text, tmp_path)
    assert "services" not in found["shop/web"][2]["workload"] and found["shop/web"][0] == "fargate"


INGRESS = """\
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
  namespace: shop
  annotations: {{{annotations}}}
spec:
  ingressClassName: {cls}
  rules:
  - http:
      paths:
      - {{path: /, pathType: Prefix, backend: {{service: {{name: web, port: {{number: 80}}}}}}}}
"""


@pytest.mark.parametrize(
    "cls,annotations,extra,expected,target",
    [
        ("alb", "alb.ingress.kubernetes.io/target-type: ip", "", {"className": "alb", "targetType": "ip"}, "fargate"),
        ("alb", "", "", {"className": "alb", "targetType": "instance"}, "nodegroup"),
        (
            "public",
            "alb.ingress.kubernetes.io/target-type: ip",
            "---\napiVersion: networking.k8s.io/v1\nkind: IngressClass\nmetadata: {name: public}\nspec: "
            "{controller: ingress.k8s.aws/alb}\n",
            {"className": "alb", "targetType": "ip"},
            "fargate",
        ),
        ("nginx", "", "", {"className": "nginx"}, "fargate"),
    ],
)
def test_ingresses_are_followed_to_their_services(cls, annotations, extra, expected, target, tmp_path):
    text = deployment(
        extra=service("{type: NodePort, selector: {app: web}, ports: [{port: 80}]}")
        + INGRESS.format(cls=cls, annotations=annotations)
        + extra
    )
    found, _ = scan(text, tmp_path)
    got_target, rules, profile, _ = found["shop/web"]
    assert profile["workload"]["ingresses"] == [{"name": "web", **expected}]
    # NodePort behind an ALB in IP mode is AWS's own Fargate example; behind nginx it still blocks
    assert got_target == ("nodegroup" if cls == "nginx" else target)


def test_pod_spec_facts(tmp_path):
    pod = """\
    hostNetwork: true
    hostPID: true
    nodeSelector: {kubernetes.io/arch: arm64}
    initContainers:
    - name: setup
      image: busybox
      securityContext: {privileged: true}
      resources: {requests: {cpu: "2", memory: 4Gi}}
    - name: proxy
      image: envoy
      restartPolicy: Always
      resources: {requests: {cpu: 500m, memory: 512Mi}}
      ports: [{containerPort: 9901, hostPort: 9901}]
      securityContext: {capabilities: {add: [NET_ADMIN]}}
    """
    found, _ = scan(deployment(pod), tmp_path)
    target, rules, profile, w = found["shop/web"]
    spec = profile["workload"]
    assert spec["hostNetwork"] and spec["hostPID"] and spec["privileged"] and spec["capabilities"] == ["NET_ADMIN"]
    assert spec["hostPorts"] == [9901] and spec["nodeSelector"] == {"kubernetes.io/arch": "arm64"}
    assert spec["initContainers"][1]["restartPolicy"] == "Always"
    assert {"FG002", "FG003", "FG004", "FG005", "FG006", "FG008"} <= set(rules) and target == "nodegroup"
    assert w.manifest_line("workload.privileged").endswith(":16")
    # sizing sees the init container and the native sidecar: max(2, 0.25 + 0.5) vCPU
    assert float(w.fargate_size.cpu_request) == 2.0


def test_gpu_and_windows(tmp_path):
    gpu = deployment().replace(
        "resources: {requests: {cpu: 250m, memory: 256Mi}}", "resources: {limits: {nvidia.com/gpu: 1}}"
    )
    found, _ = scan(gpu, tmp_path)
    assert found["shop/web"][:2] == ("nodegroup", ["FG007"])
    found, _ = scan(deployment("nodeSelector: {kubernetes.io/os: windows}"), tmp_path)
    assert "FG009" in found["shop/web"][1] and found["shop/web"][3].fargate_size


VOLUMES = """\
volumes:
- {name: cache, emptyDir: {sizeLimit: 200Gi}}
- {name: config, configMap: {name: web}}
- {name: logs, hostPath: {path: /var/log}}
- {name: data, persistentVolumeClaim: {claimName: data}}
- {name: shared, persistentVolumeClaim: {claimName: shared}}
- {name: inline-efs, csi: {driver: efs.csi.aws.com, volumeAttributes: {fileSystemId: fs-1}}}
- {name: nfs, nfs: {server: 10.0.0.1, path: /}}
"""
CLAIMS = """\
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: shop}
spec: {storageClassName: fast, accessModes: [ReadWriteOnce], resources: {requests: {storage: 10Gi}}}
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: fast}
provisioner: ebs.csi.aws.com
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: shared, namespace: shop}
spec: {storageClassName: efs-dynamic, accessModes: [ReadWriteMany], resources: {requests: {storage: 5Gi}}}
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: efs-dynamic}
provisioner: efs.csi.aws.com
parameters: {provisioningMode: efs-ap, fileSystemId: fs-0123456789abcdef0, directoryPerms: "700"}
"""


def test_volumes_resolve_claims_through_storage_classes(tmp_path):
    found, result = scan(deployment(VOLUMES, CLAIMS), tmp_path)
    target, rules, profile, w = found["shop/web"]
    volumes = {v["name"]: v for v in profile["workload"]["volumes"]}
    assert volumes["data"] == {
        "name": "data",
        "type": "persistentVolumeClaim",
        "claimName": "data",
        "storageClass": "fast",
        "provisioning": "dynamic",
        "provisioner": "ebs.csi.aws.com",
    }
    assert volumes["shared"]["provisioner"] == "efs.csi.aws.com"
    assert volumes["inline-efs"] == {"name": "inline-efs", "type": "efs", "provisioning": "static"}
    assert volumes["cache"]["sizeLimit"] == "200Gi" and volumes["logs"]["path"] == "/var/log"
    # a source compose does not model is kept as such: not known to work on Fargate, never silently dropped
    assert volumes["nfs"] == {"name": "nfs", "type": "other", "source": "nfs"}
    assert {"FG014", "FG015", "FG016", "FG021", "FG028"} <= set(
        rules
    )  # EBS, hostPath, dynamic EFS, 200Gi emptyDir (over 175 GiB)
    assert w.manifest_line("workload.volumes[3]").endswith("m.yaml:14")  # the "data" volume


def test_a_claim_not_in_the_input_is_said_so_and_assumptions_are_the_users(tmp_path, capsys, monkeypatch):
    missing = deployment("volumes: [{name: data, persistentVolumeClaim: {claimName: elsewhere}}]")
    found, _ = scan(missing, tmp_path)
    target, rules, profile, w = found["shop/web"]
    assert (target, rules) == ("nodegroup", ["FG017"])
    assert profile["workload"]["volumes"][0] == {
        "name": "data",
        "type": "persistentVolumeClaim",
        "claimName": "elsewhere",
        "unresolved": "claim-not-in-input",
    }
    assert any("claim elsewhere" in e and "not in the input" in e for e in profile["provenance"]["evidence"])
    # the user decides: pre-created EFS (Fargate mounts it) or EBS
    found, _ = scan(missing, tmp_path, options=ClaimOptions("efs-static"))
    assert found["shop/web"][:2] == ("fargate", [])
    assert any("assumed efs-static" in e for e in found["shop/web"][2]["provenance"]["evidence"])
    found, _ = scan(missing, tmp_path, options=ClaimOptions("ebs"))
    assert found["shop/web"][1] == ["FG014"]
    # and the CLI says it in the reason, not "a claim on no storage class"
    (tmp_path / "m.yaml").write_text(textwrap.dedent(missing))
    monkeypatch.chdir(tmp_path)
    assert main(["scan", "m.yaml", "--dry-run", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    message = out["workloads"][0]["reasons"][0]["message"]
    assert "claim 'elsewhere' is not in the input" in message and "--assume-claims" in message
    assert main(["scan", "m.yaml", "--dry-run", "--assume-claims", "efs-static", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["workloads"][0]["placement"] == "fargate"


UNNAMED_CLAIM = (
    deployment("volumes: [{name: data, persistentVolumeClaim: {claimName: data}}]")
    + "---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: data, namespace: shop}\n"
    "spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 8Gi}}}\n"
)


@pytest.mark.parametrize(
    "version,volume,rule,evidence",
    [
        (
            "1.29",
            {"storageClass": "gp2", "provisioning": "dynamic"},
            "FG014",
            "gp2 (EBS), the default of clusters created before 1.30",
        ),
        ("1.33", {"unresolved": "no-default-class"}, "FG017", "created at 1.30 or later have none (Kubernetes 1.33)"),
        ("", {"unresolved": "no-default-class"}, "FG017", "(Kubernetes unknown)"),
    ],
)
def test_a_claim_without_a_class_gets_the_default_of_the_eks_version(version, volume, rule, evidence, tmp_path):
    found, _ = scan(UNNAMED_CLAIM, tmp_path, options=ClaimOptions(kubernetes_version=version))
    target, rules, profile, _ = found["shop/web"]
    assert profile["workload"]["volumes"][0] == {
        "name": "data",
        "type": "persistentVolumeClaim",
        "claimName": "data",
        **volume,
    }
    assert rules == [rule]
    assert any(evidence in e for e in profile["provenance"]["evidence"])


def test_the_beta_class_annotation_names_the_class_as_kubernetes_reads_it(tmp_path):
    text = UNNAMED_CLAIM.replace(
        "metadata: {name: data, namespace: shop}\nspec",
        "metadata: {name: data, namespace: shop, annotations: {volume.beta.kubernetes.io/storage-class: efs-sc}}\nspec",
    )
    text += "---\napiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {name: efs-sc}\n"
    text += "provisioner: efs.csi.aws.com\n"
    found, _ = scan(text, tmp_path, options=ClaimOptions(kubernetes_version="1.29"))
    assert found["shop/web"][2]["workload"]["volumes"][0]["storageClass"] == "efs-sc"
    assert found["shop/web"][:2] == ("fargate", [])  # an EFS class without provisioningMode: static


def test_a_default_class_in_the_input_wins_over_the_version(tmp_path):
    text = UNNAMED_CLAIM + textwrap.dedent("""\
        ---
        apiVersion: storage.k8s.io/v1
        kind: StorageClass
        metadata:
          name: efs-ap
          annotations: {storageclass.kubernetes.io/is-default-class: "true"}
        provisioner: efs.csi.aws.com
        parameters: {provisioningMode: efs-ap, fileSystemId: fs-0a1b2c3d4e5f67890}
        """)
    found, _ = scan(text, tmp_path, options=ClaimOptions(kubernetes_version="1.29"))
    assert found["shop/web"][2]["workload"]["volumes"][0]["storageClass"] == "efs-ap"
    assert found["shop/web"][1] == ["FG016"]  # dynamic EFS


# As in aws-efs-csi-driver's examples/kubernetes/static_provisioning (specs/storageclass.yaml, pv.yaml, claim.yaml):
# a class that names the driver and nothing else, a PV with the file system as volumeHandle, a claim of the class.
EFS_STATIC = """\
---
kind: StorageClass
apiVersion: storage.k8s.io/v1
metadata: {name: efs-sc}
provisioner: efs.csi.aws.com
---
apiVersion: v1
kind: PersistentVolume
metadata: {name: efs-pv}
spec:
  capacity: {storage: 5Gi}
  volumeMode: Filesystem
  accessModes: [ReadWriteMany]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: efs-sc
  csi: {driver: efs.csi.aws.com, volumeHandle: fs-4af69aab}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: efs-claim, namespace: shop}
spec:
  accessModes: [ReadWriteMany]
  storageClassName: efs-sc
  resources: {requests: {storage: 5Gi}}
"""
EFS_POD = deployment("volumes: [{name: persistent-storage, persistentVolumeClaim: {claimName: efs-claim}}]")


def test_static_efs_from_the_persistent_volume_runs_on_fargate(tmp_path):
    found, _ = scan(EFS_POD + EFS_STATIC, tmp_path)
    target, rules, profile, _ = found["shop/web"]
    assert profile["workload"]["volumes"][0] == {
        "name": "persistent-storage",
        "type": "persistentVolumeClaim",
        "claimName": "efs-claim",
        "provisioning": "static",
        "storageClass": "efs-sc",
        "provisioner": "efs.csi.aws.com",
    }
    assert (target, rules) == ("fargate", [])
    assert any("bound to PersistentVolume efs-pv" in e for e in profile["provenance"]["evidence"])


@pytest.mark.parametrize(
    "handle,rules",
    [
        ("fs-4af69aab", []),
        ("fs-0123456789abcdef0::fsap-0123456789abcdef0", []),  # an access point of the file system
        ("fs-4af69aab:/exports/data", []),  # a subpath
        ("fs-4af69aab:/data:fsap-0123456789abcdef0", []),
        ("s3files-0123456789abcdef0", ["FG017"]),  # not an EFS file system, though through the EFS driver
        ("arn:aws:s3:::bucket", ["FG017"]),
    ],
)
def test_only_a_handle_that_names_an_efs_file_system_is_efs(handle, rules, tmp_path):
    text = EFS_STATIC.replace("volumeHandle: fs-4af69aab", f"volumeHandle: '{handle}'")
    found, _ = scan(EFS_POD + text, tmp_path)
    assert found["shop/web"][1] == rules
    if rules:
        volume = found["shop/web"][2]["workload"]["volumes"][0]
        assert volume["unresolved"] == "not-an-efs-file-system"


@pytest.mark.parametrize(
    "change,rules,evidence",
    [
        # no PV in the input, and the class has no provisioningMode: it provisions nothing, so the claim is static
        (
            lambda t: t.replace(
                "csi: {driver: efs.csi.aws.com, volumeHandle: fs-4af69aab}",
                "csi: {driver: efs.csi.aws.com, volumeHandle: fs-4af69aab}\n  claimRef: {name: other, namespace: shop}",
            ),
            [],
            "has no provisioningMode",
        ),
        # the class provisions access points: dynamic, which Fargate cannot use
        (
            lambda t: t.replace(
                "provisioner: efs.csi.aws.com\n",
                "provisioner: efs.csi.aws.com\nparameters: {provisioningMode: efs-ap, fileSystemId: fs-4af69aab}\n",
                1,
            ).replace("storageClassName: efs-sc\n  csi", "storageClassName: other\n  csi"),
            ["FG016"],
            "",
        ),
        # the PV names the claim (claimRef), whatever the class says
        (
            lambda t: t.replace(
                "storageClassName: efs-sc\n  csi", "claimRef: {name: efs-claim, namespace: shop}\n  csi"
            ).replace(
                "provisioner: efs.csi.aws.com\n",
                "provisioner: efs.csi.aws.com\nparameters: {provisioningMode: efs-ap, fileSystemId: fs-1}\n",
                1,
            ),
            [],
            "bound to PersistentVolume efs-pv",
        ),
        # the claim names an EBS PV by volumeName
        (
            lambda t: t.replace(
                "csi: {driver: efs.csi.aws.com, volumeHandle: fs-4af69aab}",
                "csi: {driver: ebs.csi.aws.com, volumeHandle: vol-0123456789abcdef0}",
            ).replace(
                "storageClassName: efs-sc\n  resources", "storageClassName: efs-sc\n  volumeName: efs-pv\n  resources"
            ),
            ["FG014"],
            "bound to PersistentVolume efs-pv",
        ),
    ],
)
def test_efs_provisioning_is_read_from_the_objects(change, rules, evidence, tmp_path):
    found, _ = scan(EFS_POD + change(EFS_STATIC), tmp_path)
    profile = found["shop/web"][2]
    assert found["shop/web"][1] == rules, profile["workload"]["volumes"]
    assert not evidence or any(evidence in e for e in profile["provenance"]["evidence"])


def test_statefulset_claim_templates(tmp_path):
    text = """\
    apiVersion: apps/v1
    kind: StatefulSet
    metadata: {name: pg, namespace: data}
    spec:
      serviceName: pg
      replicas: 2
      selector: {matchLabels: {app: pg}}
      template:
        metadata: {labels: {app: pg}}
        spec:
          containers: [{name: pg, image: postgres:16, resources: {requests: {cpu: "1", memory: 2Gi}}}]
      volumeClaimTemplates:
      - metadata: {name: data}
        spec: {storageClassName: gp3, accessModes: [ReadWriteOnce], resources: {requests: {storage: 50Gi}}}
    """
    found, _ = scan(text, tmp_path)
    target, rules, profile, _ = found["data/pg"]
    assert profile["workload"]["volumes"] == [
        {"name": "data", "type": "persistentVolumeClaim", "storageClass": "gp3", "provisioning": "dynamic"}
    ]
    assert (target, rules) == ("nodegroup", ["FG014"])


@pytest.mark.parametrize(
    "container,uses,rule",
    [
        ("env: [{name: METADATA_URL, value: 'http://169.254.169.254/latest/meta-data/'}]", True, "FG018"),
        ("args: [--endpoint=http://169.254.169.254]", True, "FG018"),
        ("env: [{name: AWS_EC2_METADATA_DISABLED, value: 'true'}]", False, None),
        ("env: [{name: LOG_LEVEL, value: debug}]", None, None),
    ],
)
def test_instance_metadata_only_from_evidence(container, uses, rule, tmp_path):
    text = deployment().replace("        image: nginx:1.27\n", f"        image: nginx:1.27\n        {container}\n")
    found, _ = scan(text, tmp_path)
    _, rules, profile, _ = found["shop/web"]
    assert profile["workload"].get("usesInstanceMetadata") is uses
    assert (rule in rules) if rule else ("FG018" not in rules)


@pytest.mark.parametrize(
    "args,env,blocked",
    [
        ("[--cluster-name=prod, --ingress-class=alb]", "", True),
        ("[--cluster-name=prod, --aws-region=eu-west-1]", "", True),
        ("[--cluster-name=prod, --aws-region=eu-west-1, --aws-vpc-id=vpc-0abc]", "", False),
    ],
)
def test_known_controllers_need_imds_unless_configured(args, env, blocked, tmp_path):
    text = deployment().replace(
        "image: nginx:1.27", f"image: public.ecr.aws/eks/aws-load-balancer-controller:v2.8.1\n        args: {args}"
    )
    found, _ = scan(text, tmp_path)
    _, rules, profile, _ = found["shop/web"]
    assert ("FG018" in rules) == blocked
    if blocked:
        assert any("AWS Load Balancer Controller without" in e for e in profile["provenance"]["evidence"])


def test_cluster_autoscaler_needs_imds_without_a_region(tmp_path):
    ca = deployment().replace(
        "image: nginx:1.27",
        "image: registry.k8s.io/autoscaling/cluster-autoscaler:v1.32.1\n"
        "        command: [./cluster-autoscaler, --cloud-provider=aws]",
    )
    assert "FG018" in scan(ca, tmp_path)[0]["shop/web"][1]
    with_region = ca.replace("command:", "env: [{name: AWS_REGION, value: eu-west-1}]\n        command:")
    assert "FG018" not in scan(with_region, tmp_path)[0]["shop/web"][1]
    other_cloud = ca.replace("--cloud-provider=aws", "--cloud-provider=gce")
    assert "FG018" not in scan(other_cloud, tmp_path)[0]["shop/web"][1]


def test_irsa_network_policy_and_jobs(tmp_path):
    text = (
        deployment("serviceAccountName: web")
        + """\
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: web, namespace: shop, annotations: {eks.amazonaws.com/role-arn: "arn:aws:iam::111122223333:role/web"}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: only-front, namespace: shop}
spec: {podSelector: {matchLabels: {tier: front}}, policyTypes: [Ingress]}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: report, namespace: shop}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{name: report, image: report:1, resources: {requests: {cpu: 500m, memory: 1Gi}}}]
"""
    )
    found, _ = scan(text, tmp_path)
    web = found["shop/web"]
    assert web[2]["workload"]["awsCredentials"] == "irsa" and web[2]["workload"]["networkPolicy"] is True
    # the annotated role is the one eksctl gives the account it creates (so plan accepts the profile)
    assert web[2]["workload"]["serviceAccount"] == {
        "name": "web",
        "attachRoleARN": "arn:aws:iam::111122223333:role/web",
    }
    assert not check_workloads([web[3]])
    assert web[1] == ["FA102"] and web[0] == "fargate"
    report = found["shop/report"]
    assert report[2]["workload"]["schedule"] == "0 3 * * *" and report[1] == ["FA101"]


def test_hook_jobs_keep_their_delete_policy_and_helm_test_pods_are_skipped(tmp_path):
    """A chart's admission-patch hook Job, deleted by Helm once it succeeds, needs no TTL (no FA101); a
    `helm.sh/hook: test` pod is run only by `helm test`, never by helmfile apply, so it is not a workload."""
    text = """\
apiVersion: batch/v1
kind: Job
metadata:
  name: admission-patch
  namespace: ingress
  annotations:
    helm.sh/hook: post-install,post-upgrade
    helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
spec:
  template:
    spec:
      restartPolicy: OnFailure
      containers: [{name: patch, image: patch:1, resources: {requests: {cpu: 100m, memory: 128Mi}}}]
---
apiVersion: v1
kind: Pod
metadata:
  name: web-test-connection
  namespace: ingress
  annotations: {helm.sh/hook: test}
spec:
  restartPolicy: Never
  containers: [{name: wget, image: busybox}]
"""
    found, _ = scan(text, tmp_path)
    patch = found["ingress/admission-patch"]
    assert patch[2]["workload"]["hookDeletePolicy"] == ["before-hook-creation", "hook-succeeded"] and patch[1] == []
    assert list(found) == ["ingress/admission-patch"]
    skipped = derive(read_objects([str(tmp_path / "m.yaml")])[0]).skipped
    assert skipped == {"Pod (helm test hook: helmfile never runs it)": 1}


def test_lists_owned_pods_skipped_kinds_and_name_collisions(tmp_path):
    text = """\
    apiVersion: v1
    kind: List
    items:
    - {apiVersion: v1, kind: ConfigMap, metadata: {name: web}}
    - apiVersion: batch/v1
      kind: Job
      metadata: {name: web, namespace: shop}
      spec: {ttlSecondsAfterFinished: 100, template: {spec: {containers: [{name: j, image: j}]}}}
    - apiVersion: v1
      kind: Pod
      metadata: {name: web-abc, namespace: shop, ownerReferences: [{kind: ReplicaSet, name: web-1}]}
      spec: {containers: [{name: c, image: c}]}
    - {apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRole, metadata: {name: x}}
    """
    found, result = scan(deployment() + "---\n" + textwrap.dedent(text), tmp_path)
    assert set(found) == {"shop/web", "shop/web-job"}
    assert found["shop/web-job"][2]["provenance"]["source"].endswith("m.yaml:21")  # the List item
    assert result.skipped == {"ConfigMap": 1, "ClusterRole": 1, "Pod (owned by a controller)": 1}


# ---------------------------------------------------------------- the command


def test_cli_writes_profiles_that_plan_reads_the_same_way(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "manifests").mkdir()
    (tmp_path / "manifests" / "web.yaml").write_text(
        deployment(extra=service("{type: NodePort, selector: {app: web}}"))
    )
    (tmp_path / "manifests" / "jobs.yml").write_text(
        textwrap.dedent("""\
        apiVersion: batch/v1
        kind: Job
        metadata: {name: migrate, namespace: batch}
        spec: {template: {spec: {restartPolicy: Never, containers: [{name: m, image: m:1}]}}}
        """)
    )
    (tmp_path / "composer.yaml").write_text(yamlio.dump(SETTINGS))
    assert main(["scan", "manifests", "--format", "json"]) == 0
    scanned = {(w["namespace"], w["name"]): w for w in json.loads(capsys.readouterr().out)["workloads"]}
    assert {k: w["status"] for k, w in scanned.items()} == {("shop", "web"): "new", ("batch", "migrate"): "new"}
    assert (
        (tmp_path / "profiles" / "shop" / "web.yaml")
        .read_text()
        .startswith("# Workload profile written by `compose scan`")
    )
    assert main(["plan", "-o", "json"]) == 0
    planned = {(w["namespace"], w["release"]): w for w in json.loads(capsys.readouterr().out)["workloads"]}
    for key, w in scanned.items():
        assert planned[key]["placement"] == w["placement"]
        assert [r["rule"] for r in planned[key]["reasons"]] == [r["rule"] for r in w["reasons"]]
        assert [r["manifest"] for r in planned[key]["reasons"]] == [r["manifest"] for r in w["reasons"]]
    assert scanned[("shop", "web")]["reasons"][0]["manifest"] == "manifests/web.yaml:20"  # the Service

    # re-running is a no-op; an edited profile is kept unless --force
    assert main(["scan", "manifests"]) == 0
    assert "2 unchanged" in capsys.readouterr().out
    edited = tmp_path / "profiles" / "batch" / "migrate.yaml"
    edited.write_text(edited.read_text() + "placement: nodegroup\n")
    assert main(["scan", "manifests"]) == 0
    out = capsys.readouterr().out
    assert "1 kept (differs; --force overwrites)" in out and "placement: nodegroup" in edited.read_text()
    assert main(["scan", "manifests", "--force"]) == 0
    assert "placement" not in edited.read_text()


def test_cli_reads_standard_input_like_helm_template(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rendered = "---\n# Source: web/templates/deployment.yaml\n" + deployment()
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(rendered.encode())))
    assert main(["scan", "-", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "1 file(s): 1 workload(s), 1 Fargate, 0 node group" in out and "<stdin>:3" in out
    assert not (tmp_path / "profiles").exists()


def test_cli_broken_yaml_is_located_and_the_rest_is_scanned_as_a_partial_result(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "good.yaml").write_text(deployment())
    (tmp_path / "bad.yaml").write_text("apiVersion: v1\nkind: Service\nmetadata: {name: x\nspec: {}\n")
    assert main(["scan", "good.yaml", "bad.yaml"]) == 6
    err = capsys.readouterr().err
    assert "bad.yaml:4:5: invalid YAML: expected ',' or '}'" in err and "partial: 1 YAML document(s)" in err
    assert (tmp_path / "profiles").is_dir()  # good.yaml's workload, said to be a partial result
    (tmp_path / "binary.yaml").write_bytes(b"kind: \x00")
    assert main(["scan", "good.yaml", "binary.yaml", "-o", "other"]) == 1  # a file unread: nothing written
    assert "nothing was written" in capsys.readouterr().err and not (tmp_path / "other").exists()
    assert main(["scan", "missing.yaml"]) == 1
    assert "missing.yaml: no such file or folder" in capsys.readouterr().err


def test_network_policy_with_match_expressions(tmp_path):
    policy = """\
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: fronts, namespace: shop}
spec: {podSelector: {matchExpressions: [{key: tier, operator: In, values: [front, edge]}]}}
"""
    found, _ = scan(deployment(extra=policy), tmp_path)
    assert found["shop/web"][2]["workload"].get("networkPolicy") is True
    other = policy.replace("values: [front, edge]", "values: [back]")
    found, _ = scan(deployment(extra=other), tmp_path)
    assert "networkPolicy" not in found["shop/web"][2]["workload"]


METRICS_SERVER = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: metrics-server, namespace: kube-system}
spec:
  selector: {matchLabels: {k8s-app: metrics-server}}
  template:
    metadata:
      labels: {k8s-app: metrics-server}
      annotations: {checksum/config: 3f2a9c, eks.amazonaws.com/compute-type: ec2}
    spec:
      containers:
      - name: metrics-server
        image: registry.k8s.io/metrics-server/metrics-server:v0.7.2
        args: [--cert-dir=/tmp, --secure-port=10250, --kubelet-preferred-address-types=InternalIP]
        resources: {requests: {cpu: 100m, memory: 200Mi}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: webhook, namespace: kube-system}
spec:
  selector: {matchLabels: {app: webhook}}
  template:
    metadata: {labels: {app: webhook}}
    spec:
      runtimeClassName: kata-qemu
      containers:
      - name: webhook
        image: example/webhook:1.0
        command: [/webhook, --port, "10251"]
        resources: {requests: {cpu: 100m, memory: 64Mi}}
"""


def test_ports_from_arguments_rule_annotations_and_runtime_classes_are_scanned(tmp_path):
    """metrics-server as upstream deploys it listens on 10250 through --secure-port (no containerPort
    needed for scan to see it), and an annotated pod keeps its compute-type annotation; other
    annotations (checksums) stay out of the profile."""
    found, _ = scan(METRICS_SERVER, tmp_path)
    target, rules, profile, w = found["kube-system/metrics-server"]
    assert profile["workload"]["containers"][0]["ports"] == [10250]
    assert profile["workload"]["podAnnotations"] == {"eks.amazonaws.com/compute-type": "ec2"}
    assert {"FG022", "FG025"} <= set(rules) and target == "nodegroup"
    assert w.manifest_line("workload.podAnnotations").endswith(":9")
    target, rules, profile, _ = found["kube-system/webhook"]
    assert profile["workload"]["containers"][0]["ports"] == [10251]  # --port 10251: not the reserved one
    assert profile["workload"]["runtimeClassName"] == "kata-qemu" and rules == ["FG024"] and target == "nodegroup"


def test_a_replication_controller_is_a_workload_like_a_replica_set_and_skipped_kinds_are_named(
    tmp_path, capsys, monkeypatch
):
    text = """\
    apiVersion: v1
    kind: ReplicationController
    metadata: {name: redis-master, namespace: guestbook}
    spec:
      replicas: 1
      selector: {app: redis, role: master}
      template:
        metadata: {labels: {app: redis, role: master}}
        spec:
          containers:
          - name: master
            image: redis:7
            resources: {requests: {cpu: 100m, memory: 100Mi}}
            ports: [{containerPort: 6379}]
    ---
    apiVersion: v1
    kind: ConfigMap
    metadata: {name: redis-config, namespace: guestbook}
    data: {maxmemory: 2mb}
    """
    found, result = scan(text, tmp_path)
    target, rules, profile, w = found["guestbook/redis-master"]
    assert profile["workload"]["kind"] == "ReplicationController" and profile["workload"]["replicas"] == 1
    assert target == "fargate" and w.kind == "ReplicationController"
    assert result.skipped == {"ConfigMap": 1}
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["scan", "m.yaml", "--dry-run"]) == 0
    assert "1 other object(s) skipped: ConfigMap 1" in capsys.readouterr().out  # by name, not only counted


# Pods as the meshes' injectors leave them (istio's injection template: istio-validation with istio-cni, istio-init
# with NET_ADMIN/NET_RAW without; linkerd's proxy injector: linkerd-network-validator with linkerd-cni, linkerd-init
# otherwise). FG026 catches CNI mode; FG003 the sidecar mode's init container.
@pytest.mark.parametrize(
    "init,annotations,rule",
    [
        (
            "- {name: istio-validation, image: docker.io/istio/proxyv2:1.26.1, "
            "args: [istio-iptables, --run-validation],\n"
            "   securityContext: {capabilities: {drop: [ALL]}, runAsUser: 1337}}",
            'sidecar.istio.io/status: \'{"initContainers":["istio-validation"],"containers":["istio-proxy"]}\'',
            "FG026",
        ),
        (
            "- {name: linkerd-network-validator, image: cr.l5d.io/linkerd/proxy:edge-25.1.1,\n"
            "   securityContext: {capabilities: {drop: [ALL]}, runAsUser: 65534}}",
            "linkerd.io/inject: enabled",
            "FG026",
        ),
        (
            "- {name: istio-init, image: docker.io/istio/proxyv2:1.26.1, args: [istio-iptables, -p, '15001'],\n"
            "   securityContext: {capabilities: {add: [NET_ADMIN, NET_RAW], drop: [ALL]}, runAsUser: 0}}",
            'sidecar.istio.io/status: \'{"initContainers":["istio-init"],"containers":["istio-proxy"]}\'',
            "FG003",
        ),
        (
            "- {name: linkerd-init, image: cr.l5d.io/linkerd/proxy-init:v2.4.1,\n"
            "   securityContext: {capabilities: {add: [NET_ADMIN, NET_RAW]}, privileged: false}}",
            "linkerd.io/inject: enabled",
            "FG003",
        ),
    ],
)
def test_meshed_pods_stay_off_fargate_in_cni_and_sidecar_mode(init, annotations, rule, tmp_path):
    text = deployment().replace(
        "    metadata: {labels: {app: web, tier: front}}\n    spec:\n",
        f"    metadata:\n      labels: {{app: web, tier: front}}\n      annotations:\n        {annotations}\n"
        f"    spec:\n      initContainers:\n{textwrap.indent(init, '      ')}\n",
    )
    found, _ = scan(text, tmp_path)
    target, rules, profile, w = found["shop/web"]
    assert (target, rules) == ("nodegroup", [rule])
    assert "istio" in " ".join(w.pod_annotations) or "linkerd" in w.init_containers[0].name


PDB = """\
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web, namespace: shop}
spec:
  minAvailable: 2
  selector: {matchLabels: {app: web}}
"""


def test_several_replicas_and_a_disruption_budget_count_as_interruptible(tmp_path):
    found, _ = scan(deployment(extra=PDB), tmp_path)  # 3 replicas (the fixture's) and a PDB selecting them
    profile = found["shop/web"][2]
    assert profile["workload"]["interruptible"] is True
    assert any("PodDisruptionBudget web" in e and "Spot" in e for e in profile["provenance"]["evidence"])
    single = deployment(extra=PDB).replace("replicas: 3", "replicas: 1")
    found, _ = scan(single, tmp_path)
    assert "interruptible" not in found["shop/web"][2]["workload"]  # one pod: an interruption is an outage
    other = deployment(extra=PDB.replace("app: web}", "app: api}"))
    found, _ = scan(other, tmp_path)
    assert "interruptible" not in found["shop/web"][2]["workload"]


@pytest.mark.parametrize(
    "spec, where",
    [
        ('containers: [{name: a, image: x, command: "sh -c x", args: [y]}]', "containers[0].command"),
        ("containers: [{name: a, image: x, resources: {requests: [1]}}]", "resources.requests"),
        ("containers: [{name: a, image: x}]\n      volumes: [foo]", "spec.volumes[0]"),
        ("containers: [{name: a, image: x, ports: [{containerPort: eighty}]}]", "ports[0].containerPort"),
        ("containers: [{name: a, image: x}]\n      nodeSelector: {disk: [ssd]}", "nodeSelector.disk"),
    ],
)
def test_a_manifest_kubernetes_would_refuse_is_an_error_at_its_field_and_the_rest_is_scanned(
    spec, where, tmp_path, capsys, monkeypatch
):
    """Wrong types in a manifest (114 of 4,000 mutated ones) ended in TypeError/AttributeError (exit 3) and one
    such file aborted a whole scan without naming itself; now each is an error at its field, every other
    document is still read (their problems are reported too), and nothing is written."""
    from composer.cli.main import main

    bad = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api, namespace: shop}\nspec:\n  template:\n"
        f"    spec:\n      {spec}\n"
    )
    worse = "---\napiVersion: v1\nkind: Pod\nmetadata: {name: p, labels: [a]}\nspec: {containers: [{name: a}]}\n"
    good = "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: ok, namespace: shop}\nspec:\n  template:\n"
    good += "    spec:\n      containers: [{name: a, image: nginx}]\n"
    (tmp_path / "m.yaml").write_text(bad + worse + good)
    monkeypatch.chdir(tmp_path)
    assert main(["scan", "m.yaml"]) == 1
    err = capsys.readouterr().err
    first = 7 + spec.count("\n")  # the line of the field
    assert "internal error" not in err and f"{where}" in err and f"m.yaml:{first}:" in err, err
    labels = bad.count("\n") + 4  # the next document's metadata line: reported too
    assert f"m.yaml:{labels}:" in err and "metadata.labels must be a mapping" in err, err
    assert not (tmp_path / "profiles").exists()


def test_an_object_defined_twice_is_kept_once_as_kubernetes_keeps_it_and_said(tmp_path, capsys, monkeypatch):
    """Deployments api-deployment, api, api: scan wrote 2 profiles with no word; Kubernetes keeps the later
    api (kubectl applies both in order), so does scan, and it says so with both places."""
    from composer.cli.main import main

    def deployment(name, image):
        return (
            f"apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}, namespace: shop}}\n"
            f"spec: {{template: {{spec: {{containers: [{{name: a, image: {image}}}]}}}}}}\n"
        )

    (tmp_path / "m.yaml").write_text(
        "---\n".join([deployment("api-x", "a"), deployment("api", "b"), deployment("api", "c")])
    )
    monkeypatch.chdir(tmp_path)
    assert main(["scan", "m.yaml", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert sorted(w["name"] for w in report["workloads"]) == ["api", "api-x"]
    assert any(
        "shop/api is defined twice (m.yaml:6 and m.yaml:11); Kubernetes keeps the later" in n for n in report["notes"]
    )


def test_two_workloads_that_would_write_one_profile_are_an_error_never_an_overwrite(tmp_path, capsys, monkeypatch):
    from composer.cli.main import main

    docs = [
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web-cronjob, namespace: shop}\n"
        "spec: {template: {spec: {containers: [{name: a, image: x}]}}}\n",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\n"
        "spec: {template: {spec: {containers: [{name: a, image: x}]}}}\n",
        "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: web, namespace: shop}\n"
        "spec: {schedule: '* * * * *', jobTemplate: {spec: {template: {spec: {containers: [{name: a, image: x}]}}}}}\n",
    ]
    (tmp_path / "m.yaml").write_text("---\n".join(docs))
    monkeypatch.chdir(tmp_path)
    assert main(["scan", "m.yaml"]) == 1
    err = " ".join(capsys.readouterr().err.split())
    assert "would both be written as profile shop/web-cronjob" in err and not (tmp_path / "profiles").exists()


# ---------------------------------------------------------------- manifests read as Kubernetes reads them

LENIENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      hostNetwork: true
      containers: [{name: web, image: nginx}]
      hostNetwork: false
"""
BROKEN = "kind: ConfigMap\nmetadata: {name: x\n"


def test_a_repeated_key_keeps_its_last_value_with_a_warning_and_a_broken_document_is_partial(
    tmp_path, capsys, monkeypatch
):
    """One repeated key no longer drops the file; one document that cannot be parsed no longer drops the
    stream: the rest is scanned, the unread document is printed, and the exit code (6) says partial."""
    (tmp_path / "m.yaml").write_text(LENIENT + "---\n" + BROKEN + "---\n" + LENIENT.replace("web", "api"))
    monkeypatch.chdir(tmp_path)
    code = main(["scan", "m.yaml", "--format", "json", "-o", "out"])
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert code == 6 and report["partial"] is True
    assert [(u["line"], u["path"]) for u in report["unread"]] == [(15, "m.yaml")]  # (where the parser stopped)
    assert report["warnings"] == [
        'm.yaml:11:7: duplicate key "hostNetwork" (first on line 9); Kubernetes keeps this one, the last',
        'm.yaml:26:7: duplicate key "hostNetwork" (first on line 24); Kubernetes keeps this one, the last',
    ]
    assert {w["name"]: w["placement"] for w in report["workloads"]} == {"web": "fargate", "api": "fargate"}
    assert (tmp_path / "out" / "default" / "api.yaml").is_file()  # written: the partial result is said, not hidden
    assert "partial: 1 YAML document(s) could not be parsed" in err and "m.yaml:15:" in err
    (tmp_path / "n.yaml").write_text(BROKEN)
    assert main(["scan", "n.yaml", "--dry-run"]) == 6  # never a silent 0 workloads
    assert "the other 0 workload(s)" in capsys.readouterr().err


@real.needs("kubectl", "kube-apiserver", "etcd")
def test_the_repeated_key_leniency_is_what_real_kubectl_and_the_api_server_do(tmp_path):
    """kubectl apply of a Deployment with hostNetwork given twice: the API server stores the last value,
    false, which is what scan read (Fargate, no FG004)."""
    server = real.ApiServer(tmp_path / "kube")
    (tmp_path / "kube").mkdir()
    server.start()
    try:
        (tmp_path / "m.yaml").write_text(LENIENT)
        env = {**real.tool_env(tmp_path / "home"), "KUBECONFIG": str(server.kubeconfig)}
        done = real.run(["kubectl", "apply", "-f", str(tmp_path / "m.yaml")], env)
        assert done.returncode == 0, done.stderr
        stored = server.get("/apis/apps/v1/namespaces/default/deployments/web")
    finally:
        server.stop()
    assert stored["spec"]["template"]["spec"].get("hostNetwork", False) is False
    objects, problems, _, unread, notes = read_objects([str(tmp_path / "m.yaml")])
    assert not problems and not unread and len(notes) == 1
    assert objects[0].doc["spec"]["template"]["spec"]["hostNetwork"] is False


def test_dynamic_resource_allocation_claims_keep_a_pod_off_fargate(tmp_path):
    """A GPU asked for by device class (a ResourceClaimTemplate), not as an extended resource."""
    text = deployment("resourceClaims: [{name: gpu, resourceClaimTemplateName: single-gpu}]")
    found, _ = scan(text, tmp_path)
    target, rules, profile, _ = found["shop/web"]
    assert (target, rules) == ("nodegroup", ["FG030"]) and profile["workload"]["resourceClaims"] == ["gpu"]


def test_scheduling_intent_fargate_ignores_is_advice_with_its_manifest_line(tmp_path):
    """nodeName, another scheduler and Localhost seccomp/AppArmor profiles: advice (inferred), no move."""
    text = deployment(
        """\
        nodeName: ip-10-0-1-7.ec2.internal
        schedulerName: volcano
        securityContext: {seccompProfile: {type: Localhost, localhostProfile: profiles/audit.json}}"""
    ).replace(
        "metadata: {labels: {app: web, tier: front}}",
        "metadata:\n      labels: {app: web, tier: front}\n      annotations: "
        "{container.apparmor.security.beta.kubernetes.io/web: localhost/k8s-deny-write}",
    )
    found, _ = scan(text, tmp_path)
    target, rules, profile, w = found["shop/web"]
    assert (target, rules) == ("fargate", ["FA106", "FA107", "FA108"])
    assert profile["workload"]["localhostProfiles"] == ["seccomp:profiles/audit.json", "apparmor:k8s-deny-write"]
    assert w.manifest_line("workload.nodeName").endswith("m.yaml:12")
