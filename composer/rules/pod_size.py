"""The pod is larger than the largest Fargate size.

Fargate sizes a pod as the larger of (a) the biggest init container request and (b) the sum of
the long-running containers' requests (native sidecars count as long-running), per resource, then
adds 256 MB of memory for kubelet, kube-proxy and containerd and rounds up to a valid vCPU/memory
combination. The largest is 16 vCPU with 120 GB; anything above cannot be scheduled.
"""

from composer.rules._docs import POD_CONFIG as URL  # noqa: F401 (read by the registry)

ID, NAME, SEVERITY = "FG020", "pod-size", "block"
EVIDENCE = "documented"


def check(w):
    size = w.fargate_size
    if not size.fits:
        yield (
            "workload.containers",
            f"needs {float(size.cpu_request):.4g} vCPU / {float(size.memory_request) / 2**30:.4g} GiB "
            "(+0.25 GB Fargate overhead), more than the largest Fargate size, 16 vCPU / 120 GB",
        )
