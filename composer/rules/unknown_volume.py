"""A volume source compose does not model is not known to work on Fargate.

Fargate documents what it mounts: emptyDir, configMap, secret, projected and downwardAPI volumes, and EFS.
Network and node storage such as nfs, iscsi, cephfs, glusterfs, rbd, fc or flexVolume needs a kernel
module, a mount helper or a plugin on the node, none of which a Fargate pod has. Rather than placing such
a pod on Fargate in silence, it goes to a node group (inferred: AWS lists what works, not every source
that does not).
"""

from composer.rules._docs import POD_CONFIG as URL  # noqa: F401 (read by the registry)

ID, NAME, SEVERITY = "FG028", "unknown-volume", "block"
EVIDENCE = "inferred"


def check(w):
    for v in w.volumes:
        if v.type == "other":
            yield v.field, f"volume '{v.name}' is a {v.source or 'volume source'} volume, not known to work on Fargate"
