"""Parallel per-profile stages give exactly the sequential result, in the same order."""

from __future__ import annotations

from composer import parallel
from composer.classify import place_profiles
from tests.conftest import profile_doc, write_estate


def test_map_chunks_keeps_order_and_covers_every_item():
    items = list(range(1000))
    chunks = parallel.map_chunks(list, items, jobs=2)
    assert len(chunks) > 2
    assert [x for chunk in chunks for x in chunk] == items
    assert parallel.map_chunks(list, items, jobs=1) == [items]


def test_default_jobs(monkeypatch):
    monkeypatch.delenv("COMPOSE_JOBS", raising=False)
    assert parallel.default_jobs(10) == 1  # small estates stay in one process
    assert 1 <= parallel.default_jobs(5000) <= parallel.MAX_JOBS
    monkeypatch.setenv("COMPOSE_JOBS", "1")
    assert parallel.default_jobs(5000) == 1


def test_parallel_placement_equals_sequential(tmp_path):
    docs = []
    for i in range(60):
        workload = {"kind": "DaemonSet"} if i % 7 == 0 else {"kind": "Deployment", "hostNetwork": i % 5 == 0}
        docs.append(profile_doc(f"app-{i}", namespace=f"team-{i % 4}", **workload))
    docs.append(profile_doc("bad", replicaz=2))
    root = write_estate(tmp_path, docs)
    (root / "profiles" / "broken.yaml").write_text("apiVersion: [\n")
    one = place_profiles([root / "profiles"], jobs=1)
    two = place_profiles([root / "profiles"], jobs=2)

    def key(result):
        placements, problems = result
        return ([(p.workload.name, p.target, [(r.rule, r.line, r.col) for r in p.reasons]) for p in placements],
                [str(problem) for problem in problems])

    assert key(one) == key(two)
    assert len(one[0]) == 60 and len(one[1]) == 2
    assert any(p.target == "nodegroup" for p in one[0]) and any(p.target == "fargate" for p in one[0])
