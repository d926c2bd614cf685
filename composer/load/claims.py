"""Where a claim's storage comes from: PersistentVolumeClaim → PersistentVolume → StorageClass, from the input.

Kubernetes binds a claim to the PersistentVolume it names (``spec.volumeName``), to one whose ``claimRef``
names it, or to an available PV of the same ``storageClassName``; only when none exists does the class's
provisioner create one (dynamic provisioning). Fargate mounts statically provisioned EFS only, so the
difference decides placement:

* a PV in the input says what backs the claim: its CSI driver (``efs.csi.aws.com`` with a
  ``volumeHandle``: an existing file system, static) or its in-tree source. Only a handle that names
  an EFS file system (``fs-…``, optionally ``:/subpath`` and ``:fsap-…``, the driver's handle format) is
  EFS; any other handle through the EFS driver (an S3-backed file system, say) is not, and is marked
  ``unresolved: not-an-efs-file-system``;
* an EFS StorageClass provisions dynamically only when it sets ``parameters.provisioningMode`` (``efs-ap``:
  an access point per claim; aws-efs-csi-driver's parameter table). A class without it provisions nothing:
  it is a name that pre-created PVs carry, so its claims are static;
* a claim without ``storageClassName`` gets the cluster's default class. EKS marked its ``gp2`` class
  (in-tree EBS) as the default on clusters created before Kubernetes 1.30; clusters created at 1.30 or
  later have no default class (EKS user guide, "Storage classes"), so such a claim waits for one. Which
  case applies follows the Kubernetes version given (composer.yaml or ``--kubernetes-version``);
* a claim that is not in the input is unknown storage unless the user says what to assume
  (``--assume-claims efs-static|ebs``).

Each resolution returns the profile's volume fields and, where something was assumed or looked up,
one line of evidence that says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from composer.load.kobjects import Index, Obj, get

EFS_DRIVER = "efs.csi.aws.com"
# aws-efs-csi-driver's volumeHandle: [FileSystemId]:[Subpath]:[AccessPointId], the last two optional
EFS_HANDLE = re.compile(r"fs-[0-9a-f]{8,40}(:(/[^:]*)?(:fsap-[0-9a-f]{8,40})?)?")
NO_PROVISIONER = "kubernetes.io/no-provisioner"  # local volumes: a class for static PVs only
LEGACY_DEFAULT_CLASS = "gp2"  # the default class of EKS clusters created before 1.30
NO_DEFAULT_SINCE = (1, 30)
BETA_CLASS_ANNOTATION = "volume.beta.kubernetes.io/storage-class"
IN_TREE = {
    "awsElasticBlockStore": "kubernetes.io/aws-ebs",
    "nfs": "nfs",
    "hostPath": "hostPath",
    "local": "local",
    "iscsi": "iscsi",
    "fc": "fc",
}
ASSUMPTIONS = {
    "efs-static": {"provisioner": EFS_DRIVER, "provisioning": "static"},
    "ebs": {"provisioner": "ebs.csi.aws.com", "provisioning": "dynamic"},
}


@dataclass(frozen=True)
class ClaimOptions:
    """What scan assumes where the input is silent."""

    assume: str = "unknown"  # unknown | efs-static | ebs: claims not in the input
    kubernetes_version: str = ""  # "1.33"; "" = not known (taken as a cluster created now: no default class)

    def has_default_gp2(self) -> bool:
        try:
            major, minor = (int(part) for part in self.kubernetes_version.split(".")[:2])
        except ValueError:
            return False
        return (major, minor) < NO_DEFAULT_SINCE


Resolved = tuple[dict, str]  # volume fields (without name), evidence ("" when the input said it all)


def claim(name: str, namespace: str, index: Index, options: ClaimOptions, where: str) -> Resolved:
    """A pod's ``persistentVolumeClaim`` volume naming claim ``name``."""
    obj = index.find("PersistentVolumeClaim", name, namespace)
    base = {"type": "persistentVolumeClaim", "claimName": name}
    if obj is None:
        if options.assume in ASSUMPTIONS:
            return (
                {**base, **ASSUMPTIONS[options.assume]},
                f"claim {name} ({where}) is not in the input: assumed {options.assume} (--assume-claims)",
            )
        return ({**base, "unresolved": "claim-not-in-input"}, f"claim {name} ({where}) is not in the input")
    volume = bound_volume(obj, index)
    if volume is not None:
        return {
            **base,
            **_from_volume(volume),
        }, f"claim {name} is bound to PersistentVolume {volume.name} ({volume.at('spec')})"
    class_name = claim_class(obj.doc)
    if class_name == "":  # explicitly no class: only a pre-created PV without a class can bind it
        return {**base, "provisioning": "static"}, ""
    if get(obj.doc, "spec", "volumeName"):  # bound by name to a PV that is not in the input
        return {**base, **storage_class(str(class_name or ""), index, options)[0], "provisioning": "static"}, ""
    fields, evidence = storage_class(class_name, index, options)
    return {**base, **fields}, evidence


def claim_class(doc: dict) -> str | None:
    """The class a claim (or claim template) asks for: the beta annotation, which Kubernetes still honours
    before ``spec.storageClassName``, else that field; ``None`` when it names none."""
    annotated = get(doc, "metadata", "annotations", BETA_CLASS_ANNOTATION)
    if annotated is not None:
        return str(annotated)
    named = get(doc, "spec", "storageClassName")
    return None if named is None else str(named)


def storage_class(class_name: str | None, index: Index, options: ClaimOptions) -> Resolved:
    """New claims of ``class_name`` (``None``: the claim names no class, so the cluster default applies)."""
    evidence = ""
    if class_name is None:
        class_name, evidence = default_class(index, options)
        if not class_name:
            return {"unresolved": "no-default-class"}, evidence
    fields: dict = {"storageClass": class_name, "provisioning": "dynamic"}
    sc = index.find("StorageClass", class_name)
    if sc is None:
        return fields, evidence
    provisioner = str(get(sc.doc, "provisioner", default=""))
    if provisioner:
        fields["provisioner"] = provisioner
    static_only = provisioner == NO_PROVISIONER or (
        provisioner == EFS_DRIVER and not get(sc.doc, "parameters", "provisioningMode")
    )
    if static_only:
        fields["provisioning"] = "static"
        evidence = (
            f"StorageClass {class_name} ({sc.at('provisioner')}) has no provisioningMode: it provisions "
            "nothing, its claims bind to pre-created PersistentVolumes (static)"
        )
    return fields, evidence


def default_class(index: Index, options: ClaimOptions) -> tuple[str, str]:
    """The class a claim without ``storageClassName`` gets, and what was assumed to find it."""
    for sc in index.all("StorageClass"):
        annotations = get(sc.doc, "metadata", "annotations", default={}) or {}
        if str(annotations.get("storageclass.kubernetes.io/is-default-class", "")).lower() == "true":
            return sc.name, ""
    version = options.kubernetes_version or "unknown"
    if options.has_default_gp2():
        return LEGACY_DEFAULT_CLASS, (
            f"no default StorageClass in the input: assumed EKS's gp2 (EBS), the default of "
            f"clusters created before 1.30 (Kubernetes {version})"
        )
    return "", (
        f"the claim names no StorageClass and none in the input is the default; EKS clusters created at 1.30 "
        f"or later have none (Kubernetes {version}), so the claim waits for one: name its class"
    )


def bound_volume(claim_obj: Obj, index: Index) -> Obj | None:
    """The PersistentVolume in the input that this claim binds to, if any."""
    volumes = index.all("PersistentVolume")
    wanted = get(claim_obj.doc, "spec", "volumeName")
    if wanted:
        return next((pv for pv in volumes if pv.name == wanted), None)
    namespace = claim_obj.namespace(index.ns)
    for pv in volumes:
        ref = get(pv.doc, "spec", "claimRef", default={}) or {}
        if ref.get("name") == claim_obj.name and (ref.get("namespace") or index.ns) == namespace:
            return pv
    class_name = claim_class(claim_obj.doc)
    if class_name is None:
        return None  # the default class decides, and a PV without a class cannot bind such a claim
    return next(
        (
            pv
            for pv in volumes
            if str(get(pv.doc, "spec", "storageClassName", default="")) == class_name
            and not get(pv.doc, "spec", "claimRef")
        ),
        None,
    )


def _from_volume(pv: Obj) -> dict:
    spec = pv.doc.get("spec") or {}
    out: dict = {"provisioning": "static"}
    if spec.get("storageClassName"):
        out["storageClass"] = str(spec["storageClassName"])
    driver = get(spec, "csi", "driver")
    if driver:
        out["provisioner"] = str(driver)
        handle = get(spec, "csi", "volumeHandle")
        if driver == EFS_DRIVER and not EFS_HANDLE.fullmatch(str(handle or "")):
            out["unresolved"] = "not-an-efs-file-system"
    else:
        source = next((IN_TREE[key] for key in IN_TREE if key in spec), "")
        if source:
            out["provisioner"] = source
    return out
