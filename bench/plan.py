"""Benchmark `compose plan` / `compose validate`: the example estate and N generated profiles.

    python bench/plan.py            # N = 1000
    python bench/plan.py 1000 5000  # several sizes, to check linear scaling

Prints the median wall time of several runs of the real CLI (a subprocess per run, as users run it).
Not a test: numbers depend on the machine.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from estate import generate

ROOT = Path(__file__).resolve().parent.parent


def timed(args: list[str], cwd: Path, runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        result = subprocess.run([sys.executable, "-m", "composer", *args], cwd=cwd, capture_output=True, text=True)
        samples.append(time.perf_counter() - start)
        if result.returncode not in (0, 2):
            raise SystemExit(f"compose {' '.join(args)} failed:\n{result.stderr[-2000:]}")
    return statistics.median(samples)


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [1000]
    print(f"compose --help            {timed(['--help'], ROOT, 7) * 1000:7.0f} ms")
    print(f"plan, example estate (20) {timed(['plan', '--no-diff'], ROOT, 5) * 1000:7.0f} ms")
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            generate(folder, n)
            plan = timed(["plan", "--no-diff", "-o", "json"], folder, 3)
            validate = timed(["validate"], folder, 3)
            print(f"plan, {n:>5} profiles      {plan * 1000:7.0f} ms  ({plan / n * 1e6:.0f} µs/profile)")
            print(f"validate, {n:>5} profiles  {validate * 1000:7.0f} ms  ({validate / n * 1e6:.0f} µs/profile)")


if __name__ == "__main__":
    main()
