"""Finished Job pods keep billing on Fargate until they are deleted.

A completed or failed pod keeps its Fargate capacity, and your bill, until the pod object is
removed. Set ``ttlSecondsAfterFinished`` on the Job (or the CronJob's jobTemplate) so Kubernetes
deletes finished pods. A CronJob that keeps no finished Jobs (``successfulJobsHistoryLimit: 0``
and ``failedJobsHistoryLimit: 0``) has its pods deleted with them and needs no TTL, and so does a
Helm hook Job whose ``helm.sh/hook-delete-policy`` has ``hook-succeeded`` (Helm deletes it once it
succeeds; https://helm.sh/docs/topics/charts_hooks/#hook-deletion-policies).
"""

from composer.rules._docs import FARGATE as URL  # noqa: F401 (read by the registry)

ID, NAME, SEVERITY = "FA101", "job-ttl", "advice"
EVIDENCE = "documented"


def check(w):
    keeps_no_history = w.kind == "CronJob" and w.history_limits == (0, 0)
    deleted_by_helm = "hook-succeeded" in w.hook_delete_policy
    if (
        w.kind in ("Job", "CronJob")
        and w.ttl_seconds_after_finished is None
        and not (keeps_no_history or deleted_by_helm)
    ):
        yield "workload.kind", "set ttlSecondsAfterFinished: finished Job pods are billed on Fargate until deleted"
