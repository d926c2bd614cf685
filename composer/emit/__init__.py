"""Stage 6, emit: the eksctl ClusterConfig, helmfile.yaml, the log router, IAM and access settings; the plan.

May import: core, files, rules, load, place."""
