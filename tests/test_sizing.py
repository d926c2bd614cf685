"""Fargate pod sizing, worked from the EKS user guide's table and example; quantities."""

from __future__ import annotations

from fractions import Fraction

import pytest

from composer.core.quantity import GIB, parse
from composer.core.sizing import fargate_size, round_up
from tests.conftest import workload


def size(containers, init=()):
    return fargate_size(workload(containers=list(containers), initContainers=list(init)))


def c(name, cpu=None, memory=None, **extra):
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v is not None}
    item = {"name": name, "resources": {"requests": requests}}
    item.update(extra)
    return item


def test_doc_example_1_vcpu_8_gb_becomes_2_vcpu_9_gb():
    s = size([c("app", "1", "8Gi")])
    assert (s.vcpu, s.memory_gib) == (2, 9)


def test_smallest_size_when_nothing_requested():
    s = size([{"name": "app"}])
    assert (s.vcpu, s.memory_gib, s.defaulted) == (Fraction(1, 4), Fraction(1, 2), True)


@pytest.mark.parametrize(
    "cpu,memory,expected",
    [
        ("250m", "256Mi", (Fraction(1, 4), Fraction(1, 2))),  # 0.25 + 0.25 overhead = 0.5 GB
        ("250m", "300Mi", (Fraction(1, 4), Fraction(1))),
        ("500m", "1Gi", (Fraction(1, 2), Fraction(2))),  # 1.25 GB → 2 GB
        ("4", "32Gi", (Fraction(8), Fraction(36))),  # 32.25 GB > 30 GB max at 4 vCPU; 8 vCPU in 4 GB steps
        ("16", "119Gi", (Fraction(16), Fraction(120))),
        ("3", "2Gi", (Fraction(4), Fraction(8))),
    ],
)
def test_rounding(cpu, memory, expected):
    s = size([c("app", cpu, memory)])
    assert (s.vcpu, s.memory_gib) == expected


def test_too_large():
    assert not size([c("app", "16", "200Gi")]).fits
    assert not size([c("app", "32", "8Gi")]).fits
    assert round_up(Fraction(16), Fraction(120)) == (16, 120)
    assert round_up(Fraction(16), Fraction(121)) is None


def test_sum_of_containers_vs_largest_init_container():
    # app + sidecar = 1.25 vCPU / 1.5 GiB; the init container wants 2 vCPU / 1 GiB → 2 vCPU, 1.5 + .25 GB
    s = size([c("app", "1", "1Gi"), c("proxy", "250m", "512Mi")], init=[c("migrate", "2", "1Gi")])
    assert (s.cpu_request, s.memory_request) == (2, Fraction(3, 2) * GIB)
    assert (s.vcpu, s.memory_gib) == (2, 4)


def test_native_sidecars_count_as_long_running():
    s = size([c("app", "1", "2Gi")], init=[c("log-router", "1", "2Gi", restartPolicy="Always")])
    assert (s.cpu_request, s.memory_request) == (2, 4 * GIB)


def test_limits_stand_in_for_missing_requests():
    s = size([{"name": "app", "resources": {"limits": {"cpu": "2", "memory": "4Gi"}}}])
    assert (s.vcpu, s.memory_gib) == (2, 5)


def test_ephemeral_storage():
    assert size([c("a", "1", "1Gi")]).ephemeral_gib == 20
    s = size([{"name": "a", "resources": {"requests": {"cpu": "1", "ephemeral-storage": "100Gi"}}}])
    assert s.ephemeral_gib == 115  # requests + 10% + 5 GiB


@pytest.mark.parametrize(
    "text,value",
    [
        ("500m", Fraction(1, 2)),
        ("1Gi", GIB),
        ("2", 2),
        ("1e3", 1000),
        ("1.5Gi", Fraction(3, 2) * GIB),
        ("128974848", 128974848),
        ("100M", 10**8),
    ],
)
def test_quantities(text, value):
    assert parse(text) == value


@pytest.mark.parametrize("text", ["-1", "5Zi", "", "1.2.3", "Gi", "one", True])
def test_bad_quantities(text):
    with pytest.raises(ValueError):
        parse(text)


def _first_fit_one_by_one(pods, capacity, max_pods):
    """The reference: first-fit decreasing, one pod at a time (what _pack must equal)."""
    bins = []
    for cpu, memory, devices in sorted(pods, reverse=True):
        for b in bins:
            if b[0] >= cpu and b[1] >= memory and b[2] >= devices and b[3] >= 1:
                b[0], b[1], b[2], b[3] = b[0] - cpu, b[1] - memory, b[2] - devices, b[3] - 1
                break
        else:
            bins.append([capacity[0] - cpu, capacity[1] - memory, capacity[2] - devices, max_pods - 1])
    return len(bins)


def test_packing_replicas_as_runs_gives_exactly_first_fit_and_stays_linear():
    """Node-group packing was quadratic in replicas (100,000 replicas of a 3-vCPU pod: 553 s in validate);
    runs of identical pods on counted identical nodes give the same node count as one-by-one first fit."""
    import random
    import time
    from fractions import Fraction

    from composer.place.nodegroups import _pack

    rng = random.Random(7)
    for _ in range(500):
        capacity = (Fraction(rng.choice([2, 4, 16])), Fraction(rng.choice([4, 16, 64])), rng.choice([0, 1, 4]))
        kinds = [
            (
                Fraction(rng.choice([1, 2, 4, 12, 40])) / 4,
                Fraction(rng.choice([1, 2, 6, 16, 80])) / 2,
                rng.choice([0, 1, 2]),
            )
            for _ in range(rng.randint(1, 4))
        ]
        pods = [k for k in kinds for _ in range(rng.randint(1, 25))]
        max_pods = rng.choice([1, 4, 29, 110])
        assert _pack(pods, capacity, max_pods) == _first_fit_one_by_one(pods, capacity, max_pods)
    start = time.perf_counter()
    assert _pack([(Fraction(3), Fraction(1), 0)] * 100_000, (Fraction(4), Fraction(16), 0), 110) == 100_000
    assert time.perf_counter() - start < 10  # (0.4 s here; the one-by-one walk takes minutes)
