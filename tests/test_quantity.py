"""Quantities parse as Kubernetes parses them: cases from k8s.io/apimachinery's own
pkg/api/resource/quantity_test.go (TestQuantityParse), with the values Kubernetes expects."""

from __future__ import annotations

import json
from fractions import Fraction as F

import pytest

from composer.core import quantity
from tests.conftest import ROOT

KUBERNETES_CASES = {
    "0": 0,
    "0n": 0,
    "0u": 0,
    "0m": 0,
    "0Ki": 0,
    "0k": 0,
    "0Mi": 0,
    "0M": 0,
    "0Gi": 0,
    "0G": 0,
    "0Ti": 0,
    "0T": 0,
    "1": 1,
    "1Ki": 1024,
    "8Ki": 8 * 1024,
    "7Mi": 7 * 2**20,
    "6Gi": 6 * 2**30,
    "5Ti": 5 * 2**40,
    "4Pi": 4 * 2**50,
    "3Ei": 3 * 2**60,
    "10Ti": 10 * 2**40,
    "100Ti": 100 * 2**40,
    "5n": F(5, 10**9),
    "4u": F(4, 10**6),
    "3m": F(3, 1000),
    "9": 9,
    "8k": 8000,
    "50k": 50_000,
    "7M": 7 * 10**6,
    "6G": 6 * 10**9,
    "5T": 5 * 10**12,
    "40T": 4 * 10**13,
    "300T": 3 * 10**14,
    "2P": 2 * 10**15,
    "1E": 10**18,
    "1E-3": F(1, 1000),
    "1e3": 1000,
    "1E6": 10**6,
    "1e9": 10**9,
    "1E12": 10**12,
    "1e15": 10**15,
    "1E18": 10**18,
    "1e14": 10**14,
    "1e13": 10**13,
    "100.035k": 100_035,
    "0.001": F(1, 1000),
    "0.0005k": F(1, 2),
    "0.005": F(5, 1000),
    "0.05": F(5, 100),
    "0.5": F(1, 2),
    "0.00050k": F(1, 2),
    "0.00500": F(5, 1000),
    "0.05000": F(5, 100),
    "0.50000": F(1, 2),
    "0.5e0": F(1, 2),
    "0.5e-1": F(5, 100),
    "0.5e-2": F(5, 1000),
    "10.035M": 10_035_000,
    "1.2e3": 1200,
    "1.3E+6": 1_300_000,
    "1.40e9": 14 * 10**8,
    "1.53E12": 153 * 10**10,
    "1.6e15": 16 * 10**14,
    "1.7E18": 17 * 10**17,
    "9.01": F(901, 100),
    "8.1k": 8100,
    "7.123456M": 7_123_456,
    "6.987654321G": 6_987_654_321,
    "5.444T": 5444 * 10**9,
    "40.1T": 401 * 10**11,
    "300.2T": 3002 * 10**11,
    "2.5P": 25 * 10**14,
    "1.01E": 101 * 10**16,
    # Kubernetes rounds up to whole nano-units
    "3.001n": F(4, 10**9),
    "1.1E-9": F(2, 10**9),
    "0.0000000001": F(1, 10**9),
    "0.0000000005": F(1, 10**9),
    "0.00000000050": F(1, 10**9),
    "0.5e-9": F(1, 10**9),
    "0.9n": F(1, 10**9),
    "0.00000012345": F(124, 10**9),
    "0.00000012354": F(124, 10**9),
    "100.035Ki": F(10243584, 100),
    "0.5Mi": 2**19,
    "0.05Gi": F(536870912, 10),
    "0.025Ti": F(274877906944, 10),
    "0.000000000001Ki": F(2, 10**9),
    ".001": F(1, 1000),
    ".0001k": F(1, 10),
    "1.": 1,
    "1.G": 10**9,
}


@pytest.mark.parametrize("text,expected", KUBERNETES_CASES.items())
def test_kubernetes_quantity_cases(text, expected):
    assert quantity.parse(text) == expected
    assert quantity.parse("+" + text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "-1",
        "1.5.5",
        "5Zi",
        "1K",
        "e3",
        "1e",
        "0x10",
        "1 Gi",
        "Infinity",
        "1e999",
        "9Ei",
        "12E",
        "9223372036854775808",
        "1" * 400,
    ],
)
def test_not_quantities_or_beyond_what_kubernetes_stores(text):
    with pytest.raises(ValueError) as err:
        quantity.parse(text)
    assert len(str(err.value)) < 120


@pytest.mark.parametrize("number", [float("nan"), float("inf"), -1, 1e308, 10**400, True])
def test_yaml_numbers_out_of_range(number):
    with pytest.raises(ValueError):
        quantity.parse(number)


def test_largest_stored_quantity_is_accepted_and_tiny_exponents_do_not_hang():
    assert quantity.parse("9223372036854775807") == 2**63 - 1
    assert quantity.parse("1e-99999999999") == F(1, 10**9)
    assert quantity.parse("0e99999999999") == 0


def test_schema_pattern_is_the_parser_pattern():
    doc = json.loads((ROOT / "schemas" / "profile.schema.json").read_text())
    assert doc["$defs"]["quantity"]["anyOf"][0]["pattern"] == quantity.PATTERN
