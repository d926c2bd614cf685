"""Presenting a plan: a rich table for people, stable JSON for machines."""

from __future__ import annotations

from typing import Any

from composer.core.model import Placement
from composer.emit.plan import Plan, owners, owners_line, summary

FORMAT_VERSION = "1"
SYMBOL = {"new": "+", "changed": "~", "unchanged": "="}


def as_json(plan: Plan) -> dict[str, Any]:
    def reason(r, w):
        return {
            "rule": r.rule,
            "name": r.name,
            "severity": r.severity,
            "evidence": r.evidence,
            "message": r.message,
            "field": r.field,
            "url": r.url,
            "path": w.source.path,
            "line": r.line,
            "column": r.col,
            "manifest": w.manifest_line(r.field) or None,
        }

    workloads = []
    for p in plan.placements:
        s = p.fargate_size
        workloads.append(
            {
                "release": p.workload.name,
                "namespace": p.workload.namespace,
                "kind": p.workload.kind,
                "source": p.workload.source.path,
                "placement": p.target,
                "node_class": p.node_class,
                "capacity": ("spot" if p.spot else "on-demand") if p.target == "nodegroup" else None,
                "forced": p.forced,
                "routing_label": p.workload.key in plan.routing.labelled,
                "fargate_size": {
                    "vcpu": float(s.vcpu) if s.fits else None,
                    "memory_gb": float(s.memory_gib) if s.fits else None,
                    "ephemeral_gib": float(s.ephemeral_gib),
                    "fits": s.fits,
                    "defaulted": s.defaulted,
                },
                "reasons": [reason(r, p.workload) for r in p.reasons],
            }
        )
    return {
        "format_version": FORMAT_VERSION,
        "summary": summary(plan),
        "workloads": workloads,
        "fargate_profiles": [
            {"name": fp.name, "selectors": [{"namespace": s.namespace, "labels": dict(s.labels)} for s in fp.selectors]}
            for fp in plan.routing.profiles
        ],
        "coredns_on_fargate": plan.routing.coredns_on_fargate,
        "owners": owners(plan),
        "node_groups": [
            {
                "name": g.name,
                "node_class": g.node_class,
                "instance_type": g.instance_type,
                "capacity": "spot" if g.spot else "on-demand",
                "instance_types": list(g.instance_types) or None,
                "min_size": g.min_size,
                "desired_capacity": g.desired,
                "max_size": g.max_size,
                "workloads": list(g.workloads),
            }
            for g in plan.node_groups
        ],
        "changes": [
            {
                "file": str(c.path),
                "actions": [{"new": "create", "changed": "update", "unchanged": "no-op"}[c.status]],
                "status": c.status,
            }
            for c in plan.changes
        ],
        "has_changes": plan.has_changes,
        "cost": cost_json(plan.cost) if plan.cost else None,
        "advice": advice_json(plan.advice),
    }


def _money(value: float | None) -> float | None:
    return round(value, 2) if value is not None else None


def cost_json(report) -> dict[str, Any]:
    return {
        "currency": "USD",
        "period": "month (730 hours)",
        "prices": report.prices.source,
        "region": report.prices.region,
        "spot_prices": report.prices.spot_source,
        "workloads": [
            {
                "workload": c.key,
                "kind": c.kind,
                "placement": c.placement,
                "monthly": _money(c.monthly),
                "spot_monthly": _money(c.spot_monthly),
                "other_placement": c.other,
                "other_monthly": _money(c.other_monthly),
                "hours_per_day": round(c.hours_per_day, 2),
                "break_even_hours_per_day": round(c.break_even_hours, 2) if c.break_even_hours else None,
                "note": c.note or None,
            }
            for c in report.workloads
        ],
        "node_groups": [
            {
                "name": g.name,
                "instance_type": g.instance_type,
                "desired": g.desired,
                "monthly": _money(g.monthly),
                "autoscaled_monthly": _money(g.autoscaled),
                "busy_hours_per_day": round(g.busy_hours, 2),
            }
            for g in report.groups
        ],
        "fargate_monthly": _money(report.fargate_monthly),
        "node_groups_monthly": _money(report.nodegroups_monthly),
        "node_groups_autoscaled_monthly": _money(report.nodegroups_autoscaled),
        "total_autoscaled_monthly": _money(report.fargate_monthly + report.nodegroups_autoscaled),
        "total_monthly": _money(report.total_monthly),
        "advice": advice_json(report.advice),
        "missing_prices": report.missing,
    }


PLACED = {"fargate": "Fargate", "nodegroup": "nodes", "spot": "Spot"}


def print_cost(report, console, per_workload: bool = True) -> None:
    """A compact cost table: each workload where it is placed and where it could otherwise go (only the
    totals with ``per_workload`` false: the plan of a large estate)."""
    from rich.markup import escape
    from rich.table import Table

    def money(value: float | None) -> str:
        return f"{value:,.2f}" if value is not None else "–"

    table = Table(
        title=f"Cost, USD/month on demand ({escape(report.prices.source)}, {report.prices.region})",
        title_justify="left",
    )
    for column, justify in (
        ("workload", "left"),
        ("placed", "left"),
        ("$/month", "right"),
        ("otherwise", "left"),
        ("$/month ", "right"),
        ("h/day", "right"),
        ("break-even h/day", "right"),
    ):
        table.add_column(column, justify=justify, no_wrap=True, overflow="ellipsis")
    for c in sorted(report.workloads, key=lambda c: (c.placement != "fargate", c.key)) if per_workload else ():
        table.add_row(
            escape(c.key),
            PLACED[c.placement],
            money(c.monthly),
            PLACED.get(c.other or "", "[dim]not allowed[/]"),
            money(c.other_monthly),
            f"{c.hours_per_day:.1f}" + ("*" if c.note else ""),
            f"{c.break_even_hours:.1f}" if c.break_even_hours else "",
        )
    if not per_workload:
        console.print(f"{table.title}: {len(report.workloads):,} workloads (each in `-o json`)", highlight=False)
    elif fits(table, console):
        console.print(table)
    else:  # a narrow terminal: one line per workload rather than cells cut short
        console.print(table.title)
        for c in sorted(report.workloads, key=lambda c: (c.placement != "fargate", c.key)):
            other = PLACED.get(c.other or "")
            line = (
                f"  {escape(c.key)}: {PLACED[c.placement]} ${money(c.monthly)}"
                + (f", on {other} ${money(c.other_monthly)}" if other else ", no other placement allowed")
                + f", {c.hours_per_day:.1f}{'*' if c.note else ''} h/day"
                + (f", break-even {c.break_even_hours:.1f} h/day" if c.break_even_hours else "")
            )
            console.print(line, highlight=False, soft_wrap=True)
    groups = ", ".join(
        f"{g.name} {g.desired} × {g.instance_type}{' Spot' if g.spot else ''} ${money(g.monthly)}"
        for g in report.groups
    )
    console.print(
        f"Fargate ${money(report.fargate_monthly)} + node groups ${money(report.nodegroups_monthly)}"
        f" ({escape(groups) or 'none'}) = [bold]${money(report.total_monthly)}[/] a month",
        highlight=False,
        soft_wrap=True,
    )
    scaled = [
        g for g in report.groups if g.autoscaled is not None and g.monthly is not None and g.autoscaled < g.monthly
    ]
    if scaled:
        detail = ", ".join(f"{g.name} ${money(g.autoscaled)} (busy {g.busy_hours:.1f} h/day)" for g in scaled)
        console.print(
            f"With the autoscaler: node groups ${money(report.nodegroups_autoscaled)} ({escape(detail)}) = "
            f"[bold]${money(report.fargate_monthly + report.nodegroups_autoscaled)}[/] a month; the figure "
            "above is always on",
            highlight=False,
            soft_wrap=True,
        )
    if any(g.spot for g in report.groups) or any(a.rule == "FA207" for a in report.advice):
        console.print(f"  Spot prices: {escape(report.prices.spot_source)}", highlight=False, soft_wrap=True)
    if any(c.note for c in report.workloads):
        console.print(
            "  * a Job without runsPerDay/runMinutes, priced as if it ran all day", highlight=False, soft_wrap=True
        )
    for m in report.missing:
        console.print(f"  [yellow]no price: {escape(m)}[/]", highlight=False)


def placement_cell(p: Placement) -> str:
    """The placement column of the plan and scan tables (rich markup)."""
    return (
        "[green]Fargate[/]" if p.target == "fargate" else f"[yellow]nodes[/] {p.node_class}{' Spot' if p.spot else ''}"
    )


def reasons_cell(p: Placement, shown: int) -> str:
    """The first ``shown`` rule ids (blocking ones bold), and how many more there are."""
    cell = " ".join(f"[bold]{r.rule}[/]" if r.severity == "block" else f"[dim]{r.rule}[/]" for r in p.reasons[:shown])
    return (cell + (f" +{len(p.reasons) - shown}" if len(p.reasons) > shown else "")) or "–"


def advice_json(advice) -> list[dict[str, str]]:
    return [{"rule": a.rule, "target": a.key, "message": a.message} for a in advice]


def print_advice(advice, console, grouped: bool = False) -> None:
    """Each piece of advice; ``grouped``: one line per rule, counted, with the first in full and examples."""
    from rich.markup import escape

    if not grouped:
        for a in advice:
            console.print(f"  {a.rule} {escape(a.key)}: {escape(a.message)}", highlight=False, soft_wrap=True)
        return
    by_rule: dict[str, list] = {}
    for a in advice:
        by_rule.setdefault(a.rule, []).append(a)
    for rule, items in by_rule.items():
        first = items[0]
        if len(items) == 1:
            console.print(f"  {rule} {escape(first.key)}: {escape(first.message)}", highlight=False, soft_wrap=True)
            continue
        others = ", ".join(escape(a.key) for a in items[1 : 1 + EXAMPLES])
        more = f", … {len(items) - 1 - EXAMPLES:,} more" if len(items) > 1 + EXAMPLES else ""
        console.print(
            f"  {rule} ×{len(items):,}, e.g. {escape(first.key)}: {escape(first.message)}"
            f" [dim](also {others}{more})[/]",
            highlight=False,
            soft_wrap=True,
        )


def evidence_mark(r) -> str:
    """Rich markup before a reason's message: which reasons rest on inference or field reports only."""
    return {"inferred": "[magenta](inferred)[/] ", "observed": "[cyan](observed)[/] "}.get(r.evidence, "")


def fits(table, console) -> bool:
    """Does ``table`` fit the terminal whole? A narrower one (80 columns) gets one line per row instead
    of a table whose every cell is cut to "Farga…"."""
    from rich.measure import Measurement

    return Measurement.get(console, console.options.update(width=10_000), table).maximum <= console.width


def _print_stacked(ordered: list[Placement], title: str, console) -> None:
    """The plan table for narrow terminals: a heading per placement, one line per workload."""
    from rich.markup import escape

    console.print(title)
    for target, heading in (("fargate", "[green]Fargate[/]"), ("nodegroup", "[yellow]Node groups[/]")):
        rows = [p for p in ordered if p.target == target]
        if not rows:
            continue
        console.print(f"{heading} ({len(rows)})")
        for p in rows:
            where = (
                p.fargate_size.label() if target == "fargate" else f"nodes {p.node_class}{' Spot' if p.spot else ''}"
            )
            reasons = reasons_cell(p, 3) if p.reasons else ""
            console.print(
                f"  {escape(p.workload.key)} · {p.workload.kind} · {where}" + (f" · {reasons}" if reasons else ""),
                highlight=False,
                soft_wrap=True,
            )


# Past this many workloads the human output groups them (nobody reads 10,000 rows, and measuring such a
# table costs more than planning): counts per placement and namespace, reasons counted per rule with a few
# examples. `-o json` (plan) or `--format json` (scan), or --full, lists every workload.
SCREENFUL = 60
EXAMPLES = 3


def where_placed(p: Placement) -> str:
    return "Fargate" if p.target == "fargate" else f"nodes {p.node_class or 'general'}{' Spot' if p.spot else ''}"


def print_grouped(placements: list[Placement], console, noun: str, listing_hint: str) -> None:
    """Placements grouped: per placement, how many workloads in how many namespaces (the busiest named)."""
    from collections import Counter, defaultdict

    from rich.markup import escape

    by_place: dict[str, Counter] = defaultdict(Counter)
    for p in placements:
        by_place[where_placed(p)][p.workload.namespace] += 1
    console.print(
        f"{len(placements):,} {noun}, grouped (more than {SCREENFUL}; {listing_hint} lists each one)", highlight=False
    )
    for place in sorted(by_place, key=lambda k: (k != "Fargate", k)):
        spaces = by_place[place]
        busiest = ", ".join(f"{escape(ns)} {n:,}" for ns, n in spaces.most_common(EXAMPLES))
        more = f", … {len(spaces) - EXAMPLES:,} more" if len(spaces) > EXAMPLES else ""
        console.print(
            f"  {place}: {sum(spaces.values()):,} in {len(spaces):,} namespace(s) ({busiest}{more})", highlight=False
        )


def print_reasons_counted(placements: list[Placement], console) -> None:
    """Every rule that fired, counted, with a few example workloads each; blocking rules first."""
    from collections import defaultdict

    from rich.markup import escape

    seen: dict[tuple[str, str], list] = defaultdict(list)
    for p in sorted(placements, key=lambda p: p.workload.key):
        for r in p.reasons:
            seen[(r.rule, r.severity)].append((p, r))
    if not seen:
        return
    console.print("\n[bold]Why[/], counted per rule (block: moves the workload to a node group; advice: shown only)")
    for (rule, severity), hits in sorted(seen.items(), key=lambda kv: (kv[0][1] != "block", kv[0][0])):
        first = hits[0][1]
        examples = ", ".join(escape(p.workload.key) for p, _ in hits[:EXAMPLES])
        more = f", … {len(hits) - EXAMPLES:,} more" if len(hits) > EXAMPLES else ""
        console.print(
            f"  {rule} {severity:<6} ×{len(hits):,}  {evidence_mark(first)}{escape(first.message)}"
            f" [dim](e.g. {examples}{more})[/]",
            highlight=False,
            soft_wrap=True,
        )


def print_plan(plan: Plan, console, *, show_diff: bool = True, full: bool = False) -> None:
    from rich.markup import escape
    from rich.table import Table

    title = f"Plan for cluster {plan.settings.name} ({plan.settings.region})"
    if len(plan.placements) > SCREENFUL and not full:
        _print_plan_grouped(plan, title, console, show_diff)
        return
    ordered = sorted(plan.placements, key=lambda p: (p.target != "fargate", p.workload.namespace, p.workload.name))
    table = Table(title=title, title_justify="left")
    for column in ("release", "namespace", "kind", "placement", "reasons", "Fargate size"):
        table.add_column(column, no_wrap=True, overflow="ellipsis")
    for p in ordered:
        size = p.fargate_size.label() if p.target == "fargate" else "[dim]–[/]"
        table.add_row(
            escape(p.workload.name),
            escape(p.workload.namespace),
            p.workload.kind,
            placement_cell(p),
            reasons_cell(p, 2),
            size,
        )
    narrow = not fits(table, console)
    if narrow:
        _print_stacked(ordered, title, console)
    else:
        console.print(table)
    console.print(summary(plan))
    console.print(owners_line(plan))

    explained = sorted(
        (p for p in plan.placements if p.reasons), key=lambda p: (p.target != "nodegroup", p.workload.key)
    )
    if explained:
        console.print("\n[bold]Why[/] (block: moves the workload to a node group; advice: shown only)")
        if any(r.evidence == "inferred" for p in explained for r in p.reasons):
            console.print(
                "  [magenta](inferred)[/]: follows from what AWS documents but is not stated by AWS: double-check it"
            )
        for p in explained:
            console.print(f"  [bold]{escape(p.workload.key)}[/] [dim]{escape(p.workload.source.path)}[/]")
            grid = Table.grid(padding=(0, 1))  # (narrow: messages wrap under themselves, not at column 0)
            grid.add_column(no_wrap=True)
            grid.add_column()
            for r in p.reasons:
                loc = f":{r.line}:{r.col}" if r.line else ""
                scanned = p.workload.manifest_line(r.field)
                loc += f" ← {scanned}" if scanned else ""
                message = evidence_mark(r) + escape(r.message)
                if narrow:
                    grid.add_row(f"   {r.rule} {r.severity:<6}", f"{message} [dim]{escape(loc)}[/]")
                else:
                    console.print(f"    {r.rule} {r.severity:<6} {message} [dim]{escape(loc)}[/]")
            if narrow:
                console.print(grid)

    _print_tail(plan, console, show_diff)


def _print_tail(plan: Plan, console, show_diff: bool, per_workload_cost: bool = True) -> None:
    """Fargate profiles, node groups, cost, advice and files: what does not grow with the number of
    workloads (the per-workload cost table is left out when the plan is grouped)."""
    from rich.markup import escape

    console.print("\n[bold]Fargate profiles[/]")
    for fp in plan.routing.profiles:
        selectors = ", ".join(
            s.namespace + ("{" + ",".join(f"{k}={v}" for k, v in s.labels) + "}" if s.labels else "")
            for s in fp.selectors
        )
        console.print(f"  {fp.name}: {escape(selectors)}", highlight=False)
    if not plan.routing.profiles:
        console.print("  (none)")
    console.print("[bold]Managed node groups[/]")
    for g in plan.node_groups:
        types = f"Spot {'/'.join(g.instance_types)}" if g.spot else g.instance_type
        console.print(
            f"  {g.name}: {types} × {g.min_size}–{g.max_size} (desired {g.desired}); {len(g.workloads)} workload(s)",
            highlight=False,
        )
    if not plan.node_groups:
        console.print("  (none)")

    if plan.cost is not None:
        console.print()
        print_cost(plan.cost, console, per_workload_cost)
    if plan.advice:
        console.print("\n[bold]Advice[/] (cluster-wide; nothing is moved)")
        print_advice(plan.advice, console, grouped=not per_workload_cost)

    console.print(f"\n[bold]Files[/] in {escape(str(plan.out_dir))}:")
    for c in plan.changes:
        colour = {"new": "green", "changed": "yellow", "unchanged": "dim"}[c.status]
        console.print(f"  [{colour}]{SYMBOL[c.status]} {c.name} ({c.status})[/]")
        if show_diff and c.diff:
            from rich.syntax import Syntax

            console.print(Syntax(c.diff, "diff", theme="ansi_dark", background_color="default"))
    new = sum(c.status == "new" for c in plan.changes)
    changed = sum(c.status == "changed" for c in plan.changes)
    console.print(f"Files: {new} to create, {changed} to change, {len(plan.changes) - new - changed} unchanged.")


def _print_plan_grouped(plan: Plan, title: str, console, show_diff: bool) -> None:
    console.print(title, highlight=False)
    print_grouped(plan.placements, console, "workloads", "`compose plan -o json` or --full")
    console.print(summary(plan))
    console.print(owners_line(plan))
    print_reasons_counted(plan.placements, console)
    _print_tail(plan, console, show_diff, per_workload_cost=False)
