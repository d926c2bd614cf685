"""Stage 5, place: classify by the rules, route Fargate namespaces, size node groups, Spot, cost.

May import: core, files, rules, load."""
