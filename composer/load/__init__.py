"""Stage 4, load: composer.yaml, workload profiles and Kubernetes manifests into the model (scan's input too).

May import: core, files, rules."""
