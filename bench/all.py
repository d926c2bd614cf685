"""Every figure the README's performance section quotes, side by side, in one run.

    pip install check-jsonschema        # only for the validate comparison (skipped without it)
    python bench/all.py                 # N = 1,000 and 10,000
    python bench/all.py 500 2000        # other sizes

Times the real CLI, a fresh process per run as a user or a pre-commit hook runs it, and reports the
median of several runs and the peak memory (maximum resident set size) of the slowest of them:

* ``compose --help`` (start-up);
* ``compose plan --no-diff -o json`` and the default human ``compose plan --no-diff`` on N generated
  profiles (bench/estate.py);
* ``compose validate`` of one profile at the schema's maximum, 100,000 replicas of a pod that needs a
  node of its own (node-group packing);
* ``compose validate`` against ``check-jsonschema`` (schema only) on the same profiles;
* ``compose scan`` of N generated manifests, one Deployment or Job per file, writing N profiles.

Python's bytecode cache is on (``PYTHONDONTWRITEBYTECODE`` is dropped and each command runs once
before it is timed), as it is for an installed package. Before each scan the file system is synced,
so that one run's writes are not billed to the next. Not a test: figures depend on the machine.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from estate import generate, generate_manifests

ROOT = Path(__file__).resolve().parent.parent
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
COMPOSE = [sys.executable, "-m", "composer"]


def run(argv: list[str], cwd: Path, before=None) -> tuple[float, int]:
    """(seconds, peak KiB) of one run; a failure stops the benchmark."""
    if before:
        before()
    start = time.perf_counter()
    process = subprocess.Popen(argv, cwd=cwd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode not in (0, 2):
        raise SystemExit(
            f"{' '.join(argv[:4])} … failed ({process.returncode}):\n{process.stderr.read().decode()[-2000:]}"
        )
    process.stderr.close()
    return elapsed, usage.ru_maxrss


def measure(argv: list[str], cwd: Path, runs: int, before=None) -> tuple[float, int]:
    run(argv, cwd, before)  # warm: bytecode cache, file system cache
    samples = [run(argv, cwd, before) for _ in range(runs)]
    return statistics.median(s for s, _ in samples), max(m for _, m in samples)


def row(what: str, n: int | None, seconds: float, kib: int, note: str = "") -> None:
    per = f"{seconds / n * 1e6:6.0f} µs each" if n else " " * 14
    print(f"{what:<34} {seconds:8.3f} s  {kib / 1024:6.0f} MiB  {per}  {note}")


def fresh_scan_output(folder: Path):
    def reset() -> None:
        shutil.rmtree(folder / "out", ignore_errors=True)
        os.sync()
        time.sleep(1)

    return reset


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [1000, 10000]
    checker = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent)) or shutil.which(
        "check-jsonschema"
    )
    print(
        f"{time.strftime('%Y-%m-%d')}, {platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )
    print(f"{'command':<34} {'median':>10}  {'peak':>10}")
    row("compose --help", None, *measure([*COMPOSE, "--help"], ROOT, 9))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        generate(folder, 1)
        profile = next((folder / "profiles").glob("*.yaml"))
        text = profile.read_text()
        profile.write_text(
            re.sub(r"kind: \w+\n  replicas: \d+", "kind: Deployment\n  replicas: 100000\n  hostNetwork: true", text)
        )
        row("compose validate, 100,000 replicas", None, *measure([*COMPOSE, "validate", "profiles"], folder, 3))
    for n in sizes:
        runs = 5 if n <= 2000 else 3
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            generate(folder, n)
            row(
                f"compose plan -o json, {n:,} profiles",
                n,
                *measure([*COMPOSE, "plan", "--no-diff", "-o", "json"], folder, runs),
            )
            row(f"compose plan (human), {n:,}", n, *measure([*COMPOSE, "plan", "--no-diff"], folder, runs))
            ours = measure([*COMPOSE, "validate", "profiles"], folder, runs)
            if checker:
                files = sorted(str(p.relative_to(folder)) for p in (folder / "profiles").glob("*.yaml"))
                theirs = measure(
                    [checker, "--schemafile", str(ROOT / "schemas/profile.schema.json"), *files], folder, runs
                )
                row(f"compose validate, {n:,} profiles", n, *ours, f"{theirs[0] / ours[0]:.1f}× check-jsonschema")
                row(f"check-jsonschema, {n:,} profiles", n, *theirs, "(schema only)")
            else:
                row(f"compose validate, {n:,} profiles", n, *ours, "(check-jsonschema not installed)")
            generate_manifests(folder, n)
            row(
                f"compose scan, {n:,} manifests",
                n,
                *measure(
                    [*COMPOSE, "scan", "manifests", "-o", "out", "--format", "json"],
                    folder,
                    runs,
                    fresh_scan_output(folder),
                ),
            )


if __name__ == "__main__":
    main()
