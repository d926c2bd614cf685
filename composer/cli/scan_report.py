"""The I/O edge of ``compose scan``: classify the derived profiles, write them, and show why."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from composer.core.errors import ComposerError, Problem
from composer.core.model import Placement, Source
from composer.files import schema, yamlio
from composer.load.profiles import build_workload
from composer.load.scan import Scanned, ScanResult
from composer.place import members
from composer.place.classify import classify_all

HEADER = (
    "Workload profile written by `compose scan` from {source}.\n"
    "Review it, add a release (chart, version, values) to deploy it with helmfile, and edit freely:\n"
    "scan does not overwrite a changed profile unless run with --force."
)


@dataclass
class Item:
    scanned: Scanned
    path: Path  # where the profile goes
    text: str
    placement: Placement | None = None
    status: str = ""  # new | unchanged | kept (differs, no --force) | overwritten | not written


def classify_scanned(result: ScanResult, out_dir: Path) -> tuple[list[Item], list[Problem]]:
    """Each derived profile as the text ``compose plan`` would read, placed by the same code path."""
    items, problems = [], []
    for scanned in result.scanned:
        meta = scanned.profile["metadata"]
        path = out_dir / meta["namespace"] / f"{meta['name']}.yaml"
        # The profile as plan reads it: the tree loading its text gives, which the emitter records as it
        # writes (a test holds them equal), so that thousands of profiles are not parsed again.
        text, doc = yamlio.dump_with_tree(
            scanned.profile, HEADER.format(source=scanned.profile["provenance"]["source"])
        )
        if doc is None:
            doc = yamlio.load(text, str(path))
        item = Item(scanned, path, text)
        found = schema.validate("profile", doc, str(path))
        if found:  # a manifest value the profile format cannot hold, e.g. an invalid quantity
            source = scanned.profile["provenance"]["source"]
            problems += [
                Problem(f"{p.message} (in the profile derived from {source})", p.path, p.line, p.col, p.hint, "scan")
                for p in found
            ]
            continue
        try:
            workload = build_workload(doc, Source(str(path), doc), path.parent)
        except ComposerError as exc:
            problems += exc.problems
            continue
        placements, found = classify_all([workload])
        item.placement = placements[0]
        problems += found
        items.append(item)
    # (as plan will place them: a release's other workloads that cannot be routed to Fargate go to nodes)
    settled = members.settle([i.placement for i in items])
    for item, placement in zip(items, settled):
        item.placement = placement
    return items, problems


def write_profiles(items: list[Item], force: bool, out_dir: Path) -> None:
    """Write new profiles; rewrite a differing one only with ``force``. All of them as one set
    (composer.files.fileset): a full disk, a folder where a profile should go or any other failure
    replaces nothing, and is an error naming the cause; never some profiles written and others not."""
    from composer.core.errors import ComposerError, Problem
    from composer.files import fileset

    chosen: dict[str, Item] = {}
    blocked = []
    for item in items:
        if item.path.is_dir():
            blocked.append(Problem(f"a folder is where profile {item.path} should go", str(item.path), check="scan"))
            continue
        try:
            old = item.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            old = None
        except (OSError, UnicodeDecodeError) as exc:
            blocked.append(Problem(f"cannot read {item.path}: {exc.strerror or exc}", str(item.path), check="scan"))
            continue
        if old == item.text:
            item.status = "unchanged"
        elif old is not None and not force:
            item.status = "kept (differs; --force overwrites)"
        else:
            chosen[str(item.path.relative_to(out_dir))] = item
            item.status = "new" if old is None else "overwritten"
    if blocked:
        raise ComposerError(blocked)
    if not chosen:
        return
    try:
        fileset.write_set(out_dir, {name: item.text for name, item in chosen.items()}, sync_each=False)
    except OSError as exc:
        where = exc.filename or out_dir
        raise ComposerError(
            Problem(
                f"could not write the profiles ({exc.strerror or exc}); none of the {len(chosen)} was written",
                str(where),
                hint="free space or fix the folder's permissions, then run the scan again",
                check="scan",
            )
        ) from None


def report_json(items: list[Item], result: ScanResult, files: int, out_dir: Path | None, unread=(), notes=()) -> str:
    return json.dumps(
        {
            "format_version": "1",
            "files": files,
            "partial": bool(unread),
            "unread": [p.as_dict() for p in unread],
            "warnings": list(notes),
            "workloads": [
                {
                    "name": i.placement.workload.name,
                    "namespace": i.placement.workload.namespace,
                    "kind": i.placement.workload.kind,
                    "source": i.scanned.profile["provenance"]["source"],
                    "placement": i.placement.target,
                    "node_class": i.placement.node_class,
                    "profile": str(i.path) if out_dir else None,
                    "status": i.status or None,
                    "evidence": i.scanned.evidence,
                    "reasons": [
                        {
                            "rule": r.rule,
                            "name": r.name,
                            "severity": r.severity,
                            "evidence": r.evidence,
                            "message": r.message,
                            "field": r.field,
                            "url": r.url,
                            "manifest": i.placement.workload.manifest_line(r.field) or None,
                        }
                        for r in i.placement.reasons
                    ],
                }
                for i in items
            ],
            "skipped": dict(sorted(result.skipped.items())),
            "notes": result.notes,
        },
        indent=2,
    )


def print_report(
    items: list[Item], result: ScanResult, files: int, out_dir: Path | None, console, full: bool = False
) -> None:
    from rich.markup import escape
    from rich.table import Table

    from composer.cli.render import (
        SCREENFUL,
        evidence_mark,
        fits,
        placement_cell,
        print_grouped,
        print_reasons_counted,
        reasons_cell,
    )
    from composer.core.terminal import printable

    grouped = len(items) > SCREENFUL and not full
    if grouped:  # (a table nobody reads is never built or measured)
        print_grouped([i.placement for i in items], console, "scanned workloads", "--format json or --full")
    table = Table(title="Scanned workloads", title_justify="left")
    for column in ("workload", "namespace", "kind", "placement", "reasons", "manifest"):
        table.add_column(column, no_wrap=True, overflow="ellipsis")
    ordered = sorted(items, key=lambda i: (i.placement.target != "fargate", i.placement.workload.key))
    for i in () if grouped else ordered:
        p = i.placement
        table.add_row(
            escape(p.workload.name),
            escape(p.workload.namespace),
            escape(printable(p.workload.kind)),
            placement_cell(p),
            reasons_cell(p, 3),
            escape(i.scanned.profile["provenance"]["source"]),
        )
    if grouped:
        pass
    elif fits(table, console):
        console.print(table)
    else:  # one line per workload rather than cells cut short
        console.print("Scanned workloads")
        for i in ordered:
            p = i.placement
            reasons = f" · {reasons_cell(p, 3)}" if p.reasons else ""
            console.print(
                f"  {escape(p.workload.key)} · {escape(printable(p.workload.kind))} · {placement_cell(p)}{reasons} "
                f"[dim]← {escape(i.scanned.profile['provenance']['source'])}[/]",
                highlight=False,
                soft_wrap=True,
            )

    def say(text: str) -> None:
        console.print(text, soft_wrap=True, highlight=False)

    fargate = sum(i.placement.target == "fargate" for i in items)
    skipped = sum(result.skipped.values())
    say(
        f"{files} file(s): {len(items)} workload(s), {fargate} Fargate, {len(items) - fargate} node group; "
        f"{skipped} other object(s) skipped"
        + (
            ": " + ", ".join(f"{escape(printable(k))} {v}" for k, v in sorted(result.skipped.items()))
            if skipped
            else ""
        )
    )
    explained = [] if grouped else [i for i in ordered if i.placement.reasons or i.scanned.evidence]
    if grouped:
        print_reasons_counted([i.placement for i in items], console)
    if explained:
        say("\n[bold]Why[/] (each reason with the manifest line it comes from)")
        if any(r.evidence == "inferred" for i in explained for r in i.placement.reasons):
            say("  [magenta](inferred)[/]: follows from what AWS documents but is not stated by AWS: double-check it")
    for i in explained:
        p = i.placement
        say(
            f"  [bold]{escape(p.workload.key)}[/] [dim]{escape(i.scanned.profile['provenance']['object'])} "
            f"at {escape(i.scanned.profile['provenance']['source'])}[/]"
        )
        for r in p.reasons:
            line = p.workload.manifest_line(r.field)
            say(
                f"    {r.rule} {r.severity:<6} {evidence_mark(r)}{escape(r.message)}"
                + (f" [dim]← {escape(line)}[/]" if line else "")
            )
        for fact in i.scanned.evidence:
            say(f"    [dim]evidence: {escape(fact)}[/]")
    for note in result.notes:
        say(f"[dim]note: {escape(note)}[/]")
    if out_dir is None:
        say("\nNothing written (--dry-run). Without it, profiles go to ./profiles/<namespace>/<name>.yaml.")
        return
    counts: dict[str, int] = {}
    for i in items:
        counts[i.status] = counts.get(i.status, 0) + 1
    say(f"\nProfiles in {escape(str(out_dir))}: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())))
    for i in items:
        if i.status.startswith("kept"):
            say(f"  [yellow]{escape(str(i.path))}: {i.status}[/]")
