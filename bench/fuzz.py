"""Run the CLI fuzz tests at scale: ``python bench/fuzz.py [CASES] [SEED]`` (default 20,000, a new seed):
mutated estates (CASES), mutated manifests through scan (CASES / 2) and schema-valid edge estates (CASES / 4).

The test suite runs a few hundred cases per run from a fresh seed (tests/test_fuzz_cli.py); this runs
as many as asked, prints the seed and the time, and exits non-zero when a case misbehaved (exit 3, a
hang, or validate and plan disagreeing). Repeat a run with the seed it printed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    cases = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    seed = sys.argv[2] if len(sys.argv) > 2 else str(int.from_bytes(os.urandom(4), "big"))
    env = {**os.environ, "COMPOSE_FUZZ_CASES": str(cases), "COMPOSE_FUZZ_SEED": seed}
    started = time.perf_counter()
    test = "tests/test_fuzz_cli.py"  # profiles (CASES), scanned manifests (CASES / 2), edge estates (CASES / 4)
    code = subprocess.call([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", test], cwd=ROOT, env=env)
    outcome = "passed" if code == 0 else "FAILED"
    print(f"{cases:,} cases, seed {seed}: {outcome} in {time.perf_counter() - started:.0f} s")
    return code


if __name__ == "__main__":
    sys.exit(main())
