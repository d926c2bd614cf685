"""The package's layout rule: a module's folder says its pipeline stage, and imports point one way.

Each stage may import only itself and the stages before it in ``STAGES``; no two modules import each
other, directly or round a longer loop. Imports inside functions count (a lazy import is still a
dependency); those under ``if TYPE_CHECKING:`` do not (they never run).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "composer"
STAGES = ("core", "files", "rules", "load", "place", "emit", "cluster", "cli")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runtime_imports(tree: ast.AST) -> set[str]:
    """Modules of ours imported anywhere in ``tree`` except under ``if TYPE_CHECKING:``."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "composer":
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "composer")
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _graph() -> dict[str, set[str]]:
    paths = {_module_name(p): p for p in ROOT.rglob("*.py")}
    graph = {}
    for name, path in paths.items():
        imported = _runtime_imports(ast.parse(path.read_text(encoding="utf-8")))
        graph[name] = {m for m in imported if m in paths and m != name and not name.startswith(m + ".")}
    return graph


def _stage(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 and parts[1] in STAGES else None


def test_every_module_sits_in_a_stage_folder():
    loose = sorted(
        m
        for m in _graph()
        if _stage(m) is None and m.count(".") >= 1 and m not in ("composer.__main__",) and m.split(".")[1] not in STAGES
    )
    assert not loose, f"modules outside the stage folders {STAGES}: {loose}"


def test_imports_point_only_to_earlier_stages():
    wrong = []
    for module, imported in sorted(_graph().items()):
        here = _stage(module)
        for target in sorted(imported):
            there = _stage(target)
            if here and there and STAGES.index(there) > STAGES.index(here):
                wrong.append(f"{module} ({here}) imports {target} ({there})")
    assert not wrong, "imports that run back up the pipeline:\n" + "\n".join(wrong)


def test_no_import_circles():
    graph = _graph()
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(path[path.index(nxt) :] + [nxt] if nxt in path else [node, nxt])
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])
    assert not cycles, "import circles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_core_does_no_io():
    """The model and its arithmetic are pure: no files, no processes, no YAML."""
    banned = {"os", "subprocess", "sh", "shutil", "pathlib.Path.read_text", "ruamel", "rich"}
    for path in (ROOT / "core").glob("*.py"):
        if path.name == "parallel.py":  # the worker pool is the one edge core holds (no files, no tools)
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        names |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        calls = {n.func.attr for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)}
        assert not names & banned, f"{path.name} imports {sorted(names & banned)}"
        assert not calls & {"read_text", "read_bytes", "write_text", "open"}, f"{path.name} reads or writes files"
