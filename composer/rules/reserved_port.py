"""Port 10250 is taken on Fargate: its kubelet listens there.

Every Fargate pod runs in its own VM with its own kubelet, on port 10250. A container that
listens on 10250 itself (a ``containerPort``, or a ``--secure-port=10250``-style argument, which
scan turns into a port) cannot run there. Webhooks and metrics servers often default to it: AWS's
metrics-server page says to move metrics-server off 10250 when it runs on Fargate (the EKS add-on
uses 10251). Change the port in the chart's values, and this rule no longer applies.
"""

from composer.rules._docs import METRICS_SERVER as URL  # noqa: F401 (read by the registry)

ID, NAME, SEVERITY = "FG022", "reserved-port", "block"
EVIDENCE = "documented"

PORT = 10250


def check(w):
    for c in w.all_containers:
        if PORT in c.ports:
            yield c.field, f"container '{c.name}' listens on port {PORT}, which Fargate's kubelet uses"
