"""Availability during day-2 applies, in the simulated EKS of tests/simeks.py (needs the real tools).

    python bench/day2.py                 # this checkout
    python bench/day2.py --at 98809b4    # compose as of an older commit (a temporary git worktree)

Runs the scenarios of tests/test_day2_sim.py and prints, per scenario, how the apply ended and the fewest
ready pods each Deployment had against its floor (PodDisruptionBudget minAvailable, else replicas −
maxUnavailable). Unlike the test it goes on after an apply that fails or leaves the cluster unlike the
plan, so an older compose can be measured too. Not a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import real  # noqa: E402
from tests.simeks import SimEks  # noqa: E402
from tests.test_day2_sim import Estate, figures, run_scenarios  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--at", metavar="COMMIT", help="run compose from this commit instead of the checkout")
    args = parser.parse_args()
    gone = real.missing("helmfile", "helm", "kubectl", "kube-apiserver", "kube-controller-manager", "etcd")
    if gone:
        print(f"bench/day2.py: real {', '.join(gone)} not built (run tests/realtools/build.sh)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="compose-day2-") as tmp:
        work = Path(tmp)
        source = None
        if args.at:
            source = work / "source"
            subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(source), args.at], check=True)
        try:
            with SimEks(work / "sim", work / "cloud") as sim:
                estate = Estate(work, sim, strict=False, composer_source=source)
                run_scenarios(estate, sim)
            print(f"compose at {args.at or 'this checkout'}")
            print("\n".join(figures(estate, sim)))
            print(f"shop's pods untouched: {estate.untouched}")
        finally:
            if source is not None:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(source)], check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
