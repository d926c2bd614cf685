"""Kubernetes resource quantities (``500m``, ``1Gi``, ``2``, ``1e3``), parsed as Kubernetes parses them.

Follows k8s.io/apimachinery ``resource.ParseQuantity``: an optional ``+``, a decimal number (``1``,
``1.5``, ``.5``, ``1.``), then a decimal SI suffix (n, u, m, k, M, G, T, P, E), a binary one (Ki … Ei)
or an exponent (``e3``, ``E-3``, ``e+6``). Values are exact; like Kubernetes, a non-zero value below one
nano-unit rounds up to 1n. Negative values are rejected (no request, limit or size may be negative), and
so is anything above 2^63-1 base units, the largest quantity Kubernetes stores.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

from composer.core.errors import short

_SUFFIX = {
    "": Fraction(1),
    "n": Fraction(1, 10**9),
    "u": Fraction(1, 10**6),
    "m": Fraction(1, 1000),
    "k": Fraction(10**3),
    "M": Fraction(10**6),
    "G": Fraction(10**9),
    "T": Fraction(10**12),
    "P": Fraction(10**15),
    "E": Fraction(10**18),
    "Ki": Fraction(2**10),
    "Mi": Fraction(2**20),
    "Gi": Fraction(2**30),
    "Ti": Fraction(2**40),
    "Pi": Fraction(2**50),
    "Ei": Fraction(2**60),
}
# Kept in step with schemas/profile.schema.json ($defs.quantity); a test compares them.
PATTERN = r"^\+?(\d+(\.\d*)?|\.\d+)(([eE][-+]?\d+)|[numkMGTPE]|[KMGTPE]i)?$"
_RE = re.compile(PATTERN)

MAX = Fraction(2**63 - 1)
NANO = Fraction(1, 10**9)
GIB = 2**30
MIB = 2**20


def parse(value: str | int | float) -> Fraction:
    """Quantity → exact number (cores for CPU, bytes for memory). Raises ValueError when invalid."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a quantity")
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{value!r} is not a valid quantity")
        if value < 0:
            raise ValueError(f"{short(value)} is not a valid quantity: quantities cannot be negative")
        return _bounded(Fraction(value), value)
    text = str(value).strip()
    match = _RE.match(text)
    if not match:
        raise ValueError(f"{short(value)!r} is not a valid quantity (examples: 500m, 2, 1Gi, 512Mi)")
    amount = Fraction(match.group(1))
    if match.group(4):
        exponent = int(match.group(4)[1:])
        # Decide huge or tiny exponents without computing 10**exponent (which could take forever).
        if not amount:
            return amount
        if exponent > 40:
            raise ValueError(f"{short(text)!r} is too large: Kubernetes quantities stop at 2^63-1")
        return _bounded(amount * Fraction(10) ** max(exponent, -40), text)
    return _bounded(amount * _SUFFIX[match.group(3) or ""], text)


def _bounded(amount: Fraction, shown: object) -> Fraction:
    if amount > MAX:
        raise ValueError(f"{short(shown)!r} is too large: Kubernetes quantities stop at 2^63-1")
    if 10**9 % amount.denominator:
        amount = Fraction(math.ceil(amount * 10**9), 10**9)  # Kubernetes rounds up to nano-units
    return amount


def fmt_cpu(cores: Fraction | float) -> str:
    value = float(cores)
    return f"{value:g}"


def fmt_gib(num_bytes: Fraction | float) -> str:
    return f"{float(num_bytes) / GIB:g}"
