"""Pods on Fargate cannot share the host's PID or IPC namespace.

Fargate isolates every pod in its own VM and exposes no host to share; ``hostPID`` and
``hostIPC`` are host-access features in the same family as the documented hostNetwork and
privileged bans, and are refused for the same reason.
"""

from composer.rules._docs import FARGATE as URL  # noqa: F401 (read by the registry)

ID, NAME, SEVERITY = "FG006", "host-namespaces", "block"
EVIDENCE = "inferred"


def check(w):
    if w.host_pid:
        yield "workload.hostPID", "hostPID is not supported on Fargate"
    if w.host_ipc:
        yield "workload.hostIPC", "hostIPC is not supported on Fargate"
