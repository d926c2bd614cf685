"""Fargate's pod-size accounting and rounding (Amazon EKS user guide, "Fargate Pod configuration").

https://docs.aws.amazon.com/eks/latest/userguide/fargate-pod-configuration.html
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING

from composer.core.quantity import GIB, MIB

if TYPE_CHECKING:  # the model imports this module for FargateSize, so only its types come back here
    from composer.core.model import Container, Workload


@dataclass(frozen=True)
class FargateSize:
    """What Fargate provisions (and bills) for one pod."""

    cpu_request: Fraction  # cores, after init/long-running accounting
    memory_request: Fraction  # bytes, before the Fargate overhead
    vcpu: Fraction | None  # provisioned; None when nothing fits
    memory_gib: Fraction | None
    ephemeral_gib: Fraction  # provisioned ephemeral storage
    defaulted: bool = False  # no requests at all: Fargate's smallest size

    @property
    def fits(self) -> bool:
        return self.vcpu is not None

    def label(self) -> str:
        if not self.fits:
            return "too large"
        disk = f" + {float(self.ephemeral_gib):g} GiB disk" if self.ephemeral_gib > 20 else ""
        return f"{float(self.vcpu):g} vCPU / {float(self.memory_gib):g} GB{disk}"


# vCPU → the memory sizes (GB) Fargate offers with it.
FARGATE_SIZES: tuple[tuple[Fraction, tuple[Fraction, ...]], ...] = (
    (Fraction(1, 4), (Fraction(1, 2), Fraction(1), Fraction(2))),
    (Fraction(1, 2), tuple(Fraction(g) for g in (1, 2, 3, 4))),
    (Fraction(1), tuple(Fraction(g) for g in range(2, 9))),
    (Fraction(2), tuple(Fraction(g) for g in range(4, 17))),
    (Fraction(4), tuple(Fraction(g) for g in range(8, 31))),
    (Fraction(8), tuple(Fraction(g) for g in range(16, 61, 4))),
    (Fraction(16), tuple(Fraction(g) for g in range(32, 121, 8))),
)
OVERHEAD_BYTES = 256 * MIB  # kubelet, kube-proxy and containerd
EPHEMERAL_DEFAULT_GIB = 20
EPHEMERAL_MAX_GIB = 175


def is_gpu(resource: str) -> bool:
    return resource.endswith("/gpu")  # nvidia.com/gpu, amd.com/gpu


def is_neuron(resource: str) -> bool:
    return resource.startswith("aws.amazon.com/neuron")  # neuron, neuroncore, neurondevice


def accelerator_devices(w: Workload) -> int:
    """GPU/Neuron devices one pod asks for (device-plugin resources are set as limits or requests)."""
    return int(
        sum(v for c in w.all_containers for k, v in {**c.requests, **c.limits}.items() if is_gpu(k) or is_neuron(k))
    )


def pod_requests(containers: tuple[Container, ...], init: tuple[Container, ...], resource: str) -> Fraction:
    """max(largest init container, sum of long-running containers incl. native sidecars)."""
    running = init_max = ZERO
    for c in containers:
        running += c.request(resource) or ZERO
    for c in init:
        request = c.request(resource) or ZERO
        if c.sidecar:
            running += request
        elif request > init_max:
            init_max = request
    return max(running, init_max)


ZERO = Fraction(0)


def round_up(cpu: Fraction, memory_gib: Fraction) -> tuple[Fraction, Fraction] | None:
    """Smallest valid Fargate (vCPU, GB) with at least ``cpu`` and ``memory_gib``; None if none."""
    for vcpu, memories in FARGATE_SIZES:
        if vcpu < cpu:
            continue
        for memory in memories:
            if memory >= memory_gib:
                return vcpu, memory
    return None


def ephemeral_need_gib(w: Workload) -> Fraction:
    """Ephemeral storage the pod asks for: its requests, or its emptyDir limits if larger."""
    requested = pod_requests(w.containers, w.init_containers, "ephemeral-storage")
    empty_dirs = sum((v.size_limit or 0 for v in w.volumes if v.type == "emptyDir"), Fraction(0))
    return max(requested, empty_dirs) / GIB


def fargate_size(w: Workload) -> FargateSize:
    """The size Fargate provisions for one pod of ``w`` (its ``CapacityProvisioned`` annotation)."""
    cpu = pod_requests(w.containers, w.init_containers, "cpu")
    memory = pod_requests(w.containers, w.init_containers, "memory")
    ephemeral_request = pod_requests(w.containers, w.init_containers, "ephemeral-storage") / GIB
    ephemeral = (
        Fraction(EPHEMERAL_DEFAULT_GIB)
        if ephemeral_request <= EPHEMERAL_DEFAULT_GIB
        else ephemeral_request * Fraction(11, 10) + 5
    )
    if not cpu and not memory:
        return FargateSize(cpu, memory, Fraction(1, 4), Fraction(1, 2), ephemeral, defaulted=True)
    rounded = round_up(cpu, (memory + OVERHEAD_BYTES) / GIB)
    if rounded is None:
        return FargateSize(cpu, memory, None, None, ephemeral)
    return FargateSize(cpu, memory, rounded[0], rounded[1], ephemeral)
