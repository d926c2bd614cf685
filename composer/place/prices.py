"""Bundled, dated on-demand prices (USD per hour), overridable in composer.yaml (``prices:``).

Fargate (EKS, Linux/x86): per vCPU-hour, per GB-hour, and per GB-hour of ephemeral storage above
the 20 GiB included. us-east-1 from vantage.sh and cloudburn.io (third-party, March 2026; AWS's
own page could not be read); ap-northeast-1 from one unofficial source, and it reproduces the
per-size figures a Tokyo team published (1 vCPU / 2 GB $0.06162, 2 vCPU / 4 GB $0.12324).
EC2: Linux on-demand list prices per instance-hour, as published for June 2026, plus the t2.small
and t4g.medium Tokyo prices from the same team's table. Prices change. Check them and override.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

PRICES_AS_OF = "2026-06"
HOURS_PER_MONTH = 730  # AWS's own convention for monthly estimates


@dataclass(frozen=True)
class FargateRates:
    vcpu_hour: float
    gb_hour: float
    ephemeral_gb_hour: float = 0.0


@dataclass(frozen=True)
class PriceTable:
    region: str
    fargate: FargateRates | None
    ec2: Mapping[str, float] = field(default_factory=dict)
    source: str = f"bundled price table ({PRICES_AS_OF})"
    spot_discount: float = 0.0  # Spot = on-demand × (1 − discount) where ``spot`` has no price
    spot: Mapping[str, float] = field(default_factory=dict)
    spot_source: str = ""
    # instance type → on-demand price with the Windows Server license (composer.yaml prices.windows only:
    # the bundled table has Linux rates, and no AWS page states Windows rates per type to bundle)
    windows: Mapping[str, float] = field(default_factory=dict)

    def node_price(self, instance_type: str, windows: bool = False, spot: bool = False) -> float | None:
        """Per hour for a node: the Windows rate for Windows nodes (None until composer.yaml gives it),
        else Spot or on-demand."""
        if windows:
            return self.windows.get(instance_type)
        return self.spot_price(instance_type) if spot else self.ec2.get(instance_type)

    def spot_price(self, instance_type: str) -> float | None:
        if instance_type in self.spot:
            return self.spot[instance_type]
        on_demand = self.ec2.get(instance_type)
        return on_demand * (1 - self.spot_discount) if on_demand is not None and self.spot_discount else None


FARGATE = {
    "us-east-1": FargateRates(0.04048, 0.004445, 0.000111),
    "ap-northeast-1": FargateRates(0.05056, 0.00553, 0.000139),
}

EC2 = {
    "us-east-1": {
        "t2.small": 0.023,
        "t3.medium": 0.0416,
        "t3.large": 0.0832,
        "t4g.medium": 0.0336,
        "m6i.large": 0.096,
        "m6i.xlarge": 0.192,
        "m6i.2xlarge": 0.384,
        "m6i.4xlarge": 0.768,
        "m6i.8xlarge": 1.536,
        "m6i.16xlarge": 3.072,
        "r6i.xlarge": 0.252,
        "r6i.4xlarge": 1.008,
        "r6i.8xlarge": 2.016,
        "r6i.16xlarge": 4.032,
        "m7g.large": 0.0816,
        "m7g.xlarge": 0.1632,
        "m7g.2xlarge": 0.3264,
        "m7g.4xlarge": 0.6528,
        "g5.xlarge": 1.006,
        "g5.2xlarge": 1.212,
        "g5.12xlarge": 5.672,
        "inf2.xlarge": 0.7582,
        "inf2.8xlarge": 1.9679,
    },
    "ap-northeast-1": {
        "t2.small": 0.0304,
        "t4g.medium": 0.0432,
        "t3.medium": 0.0544,
        "t3.large": 0.1088,
        "m6i.large": 0.124,
        "m6i.xlarge": 0.248,
        "m6i.2xlarge": 0.496,
        "m6i.4xlarge": 0.992,
        "m6i.8xlarge": 1.984,
        "m6i.16xlarge": 3.968,
        "r6i.xlarge": 0.304,
        "r6i.4xlarge": 1.216,
        "r6i.8xlarge": 2.432,
        "r6i.16xlarge": 4.864,
    },
}


# Spot prices move with supply and demand (hourly, per zone); AWS advertises savings "up to 90%" off
# on-demand. No dated per-type table could be read here, so the bundle holds one assumed discount per
# region, on the conservative side of what third-party trackers report for general-purpose Intel
# families (they find us-east-1 among the least discounted regions). It is an assumption, said so in
# every cost report: set prices.spotDiscount, or prices.spot per instance type, from your own account.
SPOT_DISCOUNT = {"us-east-1": 0.55, "ap-northeast-1": 0.6}
SPOT_SOURCE = f"assumed {{pct}}% off on-demand (bundled, {PRICES_AS_OF}; set prices.spotDiscount or prices.spot)"


def price_table(region: str, override: Mapping | None = None) -> PriceTable:
    """The bundled prices for ``region`` with composer.yaml's ``prices`` block laid over them."""
    override = override or {}
    fargate = FARGATE.get(region)
    if "fargate" in override:
        f = override["fargate"]
        base = fargate or FargateRates(0.0, 0.0, 0.0)
        fargate = FargateRates(
            float(f.get("vcpuHour", base.vcpu_hour)),
            float(f.get("gbHour", base.gb_hour)),
            float(f.get("ephemeralGbHour", base.ephemeral_gb_hour)),
        )
    ec2 = {**EC2.get(region, {}), **{str(k): float(v) for k, v in (override.get("ec2") or {}).items()}}
    source = f"bundled price table ({PRICES_AS_OF})" + (", overridden in composer.yaml" if override else "")
    discount = float(override.get("spotDiscount", SPOT_DISCOUNT.get(region, 0.0)))
    spot = {str(k): float(v) for k, v in (override.get("spot") or {}).items()}
    spot_source = (
        f"{discount * 100:g}% off on-demand (composer.yaml prices.spotDiscount)"
        if "spotDiscount" in override
        else SPOT_SOURCE.format(pct=f"{discount * 100:g}")
        if discount
        else "no Spot prices for this region"
    )
    if spot:
        spot_source = "composer.yaml prices.spot, else " + spot_source
    windows = {str(k): float(v) for k, v in (override.get("windows") or {}).items()}
    return PriceTable(region, fargate, ec2, source, discount, spot, spot_source, windows)
