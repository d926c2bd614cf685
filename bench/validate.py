"""Benchmark `compose validate` against check-jsonschema on the same generated profiles.

    pip install check-jsonschema        # not a project dependency: only this script needs it
    python bench/validate.py            # N = 1,000 and 10,000
    python bench/validate.py 500 2000   # other sizes

For each N it writes N profiles (bench/estate.py) and times, alternating, `compose validate
profiles/` (schema plus the cross-profile checks) and `check-jsonschema --schemafile
schemas/profile.schema.json` over the same files (schema only). Median of several runs of each
real command in a fresh process, as a pre-commit hook runs them. Not a test: figures depend on
the machine. Also times `compose --help` (start-up).
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from estate import generate

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def run(argv: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    result = subprocess.run(argv, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(
            f"{' '.join(argv[:3])} … failed ({result.returncode}):\n{(result.stdout + result.stderr)[-2000:]}"
        )
    return elapsed


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [1000, 10000]
    checker = shutil.which("check-jsonschema", path=str(BIN)) or shutil.which("check-jsonschema")
    if not checker:
        raise SystemExit("check-jsonschema is not installed: pip install check-jsonschema")
    compose = [sys.executable, "-m", "composer"]
    helps = [run([*compose, "--help"], ROOT) for _ in range(9)]
    print(f"compose --help: {statistics.median(helps) * 1000:.0f} ms (median of 9)\n")
    print(f"{'N':>7}  {'compose validate':>17}  {'check-jsonschema':>17}  {'speed-up':>8}  {'µs/profile':>10}")
    for n in sizes:
        runs = 5 if n <= 2000 else 3
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            generate(folder, n)
            files = sorted(str(p.relative_to(folder)) for p in (folder / "profiles").glob("*.yaml"))
            ours, theirs = [], []
            for _ in range(runs):
                ours.append(run([*compose, "validate", "profiles"], folder))
                theirs.append(run([checker, "--schemafile", str(ROOT / "schemas/profile.schema.json"), *files], folder))
            a, b = statistics.median(ours), statistics.median(theirs)
            print(f"{n:>7,}  {a:>15.2f} s  {b:>15.2f} s  {b / a:>7.2f}×  {a / n * 1e6:>10.0f}")


if __name__ == "__main__":
    main()
