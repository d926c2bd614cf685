"""Stage 7, cluster: what runs against a live cluster: tools, probes, reconcile, apply steps, saved plans.

May import every stage before it; never cli."""
