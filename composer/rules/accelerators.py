"""GPUs, Inferentia/Trainium and other device-plugin resources are not available on Fargate.

Fargate offers vCPU and memory only. A container that requests an extended resource such as
``nvidia.com/gpu`` or ``aws.amazon.com/neuron`` needs a node with that device and its device
plugin (a DaemonSet), i.e. a GPU or Neuron managed node group; so do huge pages (``hugepages-2Mi``),
which a node must have reserved.
"""

from composer.core.model import key_field
from composer.rules._docs import FARGATE as URL  # noqa: F401 (read by the registry)

ID, NAME, SEVERITY = "FG007", "accelerators", "block"
EVIDENCE = "documented"

STANDARD = {"cpu", "memory", "ephemeral-storage"}


def check(w):
    for c in w.all_containers:
        for kind in ("limits", "requests"):
            names = sorted(r for r in getattr(c, kind) if r not in STANDARD)
            if names:
                yield (
                    key_field(f"{c.field}.resources.{kind}", names[0]),
                    f"container '{c.name}' requests {', '.join(names)}; Fargate has no GPUs or other devices",
                )
                break
