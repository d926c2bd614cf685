"""What each command is given: its options as a typed record, built from the parsed command line in one
place (``of``), so that a command reads named fields, never the argparse namespace, and can be called
directly (tests, other front ends) with exactly the arguments it uses."""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path


@dataclass(frozen=True)
class Common:
    config: Path = Path("composer.yaml")
    profiles: tuple[str, ...] = ()
    no_color: bool = False

    @classmethod
    def of(cls, namespace) -> Common:
        values = {}
        for f in fields(cls):
            value = getattr(namespace, f.name, f.default)
            values[f.name] = tuple(value) if isinstance(value, list) else value
        return cls(**values)


@dataclass(frozen=True)
class PlanOptions(Common):
    out_dir: Path | None = None
    write: bool = False
    refresh: bool = False
    output: str = "table"
    no_diff: bool = False
    full: bool = False
    detailed_exitcode: bool = False
    out: Path | None = None
    probe_timeout: float = 120.0
    upgrade_nodes: bool = False


@dataclass(frozen=True)
class CostOptions(Common):
    output: str = "table"


@dataclass(frozen=True)
class ValidateOptions(Common):
    out_dir: Path | None = None
    output: str = "table"
    check_generated: bool = False
    render: bool = False


@dataclass(frozen=True)
class ApplyCommandOptions(Common):
    out_dir: Path | None = None
    output: str = "table"
    yes: bool = False
    dry_run: bool = False
    diff: bool = False
    prune: bool = False
    allow_disruption: bool = False
    upgrade_nodes: bool = False
    wait_for_jobs: float | None = None
    migrate_addons: bool = False
    kube_context: str | None = None
    concurrency: int | None = None
    selector: tuple[str, ...] = ()
    probe_timeout: float = 120.0
    log_file: Path | None = None
    saved_plan: Path | None = None


@dataclass(frozen=True)
class ScanOptions(Common):
    inputs: tuple[str, ...] = ()
    out_dir: Path = Path("profiles")
    dry_run: bool = False
    force: bool = False
    full: bool = False
    format: str = "table"
    namespace: str = "default"
    assume_claims: str | None = None
    kubernetes_version: str | None = None
    chart: str | None = None
    chart_version: str = ""


@dataclass(frozen=True)
class SchemaOptions(Common):
    name: str = "profile"
    draft: str = "2020-12"


BY_COMMAND = {
    "plan": PlanOptions,
    "cost": CostOptions,
    "validate": ValidateOptions,
    "apply": ApplyCommandOptions,
    "scan": ScanOptions,
    "schema": SchemaOptions,
}
