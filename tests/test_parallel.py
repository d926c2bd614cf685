"""Parallel per-profile stages give exactly the sequential result, in the same order."""

from __future__ import annotations

import os

import pytest

from composer.core import parallel
from composer.place.classify import _place_files, place_profiles
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
        return (
            [(p.workload.name, p.target, [(r.rule, r.line, r.col) for r in p.reasons]) for p in placements],
            [str(problem) for problem in problems],
        )

    assert key(one) == key(two)
    assert len(one[0]) == 60 and len(one[1]) == 2
    assert any(p.target == "nodegroup" for p in one[0]) and any(p.target == "fargate" for p in one[0])


BAD = {"item": None}


def _crash_stage(items):
    """A stage that dies like a crash in C code when it meets BAD['item'] (module level: picklable)."""
    import signal

    if any(os.path.basename(str(item)) == BAD["item"] for item in items):
        import faulthandler

        faulthandler.disable()  # (pytest's would print this deliberate crash's traceback)
        os.kill(os.getpid(), signal.SIGSEGV)
    return list(items)


def _crash_place(files):
    _crash_stage(files)
    return _place_files(files)


def test_a_worker_that_dies_is_an_error_naming_its_item_not_a_hang(monkeypatch):
    monkeypatch.setitem(BAD, "item", "p42.yaml")
    items = [f"p{i}.yaml" for i in range(100)]
    with pytest.raises(parallel.WorkerDied) as died:
        parallel.map_chunks(_crash_stage, items, jobs=2)
    assert died.value.item == "p42.yaml" and died.value.status == "killed by SIGSEGV"


def test_validate_names_the_file_that_killed_its_worker(tmp_path, monkeypatch, capsys):
    from composer.place import classify
    from tests.conftest import run_cli

    root = write_estate(tmp_path, [profile_doc(f"app-{i}", namespace="shop") for i in range(30)])
    monkeypatch.setitem(BAD, "item", "shop-app-17.yaml")
    monkeypatch.setattr(classify, "_place_files", _crash_place)
    monkeypatch.setenv("COMPOSE_JOBS", "2")
    code, out, err = run_cli(["validate"], root, capsys, monkeypatch)
    assert code == 1 and "shop-app-17.yaml" in err and "crashed" in err and "SIGSEGV" in err
