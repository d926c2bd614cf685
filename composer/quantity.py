"""Kubernetes resource quantities (``500m``, ``1Gi``, ``2``), parsed exactly.

Follows k8s.io/apimachinery resource.Quantity: decimal SI suffixes (k, M, G, T, P, E), binary
suffixes (Ki … Ei), milli (``m``) and exponent notation (``1e3``). Negative values are rejected,
since no request, limit or size may be negative.
"""

from __future__ import annotations

import re
from fractions import Fraction

_SUFFIX = {
    "": Fraction(1), "m": Fraction(1, 1000), "k": Fraction(10**3), "M": Fraction(10**6),
    "G": Fraction(10**9), "T": Fraction(10**12), "P": Fraction(10**15), "E": Fraction(10**18),
    "Ki": Fraction(2**10), "Mi": Fraction(2**20), "Gi": Fraction(2**30), "Ti": Fraction(2**40),
    "Pi": Fraction(2**50), "Ei": Fraction(2**60),
}
PATTERN = r"^\+?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d{1,3}|m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$"
_RE = re.compile(PATTERN)

GIB = 2**30
MIB = 2**20


def parse(value: str | int | float) -> Fraction:
    """Quantity → exact number (cores for CPU, bytes for memory). Raises ValueError when invalid."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a quantity")
    if isinstance(value, (int, float)):
        if value < 0 or value != value or value in (float("inf"),):
            raise ValueError(f"{value!r} is not a valid quantity")
        return Fraction(value)
    text = str(value).strip()
    match = _RE.match(text)
    if not match:
        raise ValueError(f"{value!r} is not a valid quantity (examples: 500m, 2, 1Gi, 512Mi)")
    number, suffix = match.group(1), match.group(3) or ""
    amount = Fraction(number)
    if suffix[:1] in ("e", "E"):
        return amount * Fraction(10) ** int(suffix[1:])
    return amount * _SUFFIX[suffix]


def fmt_cpu(cores: Fraction | float) -> str:
    value = float(cores)
    return f"{value:g}"


def fmt_gib(num_bytes: Fraction | float) -> str:
    return f"{float(num_bytes) / GIB:g}"
