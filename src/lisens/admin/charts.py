"""Charts of a cohort move plan, as bar geometry for inline SVG: no script, the same plan draws the same
bytes, and every bar has its number written beside it (the chart is never the only way to read it)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from lisens.service.results import MovePlanRead

BAR_MAX = 100.0  # the longest bar, in percent of the chart's width or height
BINS = 8


@dataclass(frozen=True)
class Bar:
    label: str
    value: str  # as written beside the bar
    size: float  # 0..BAR_MAX


@dataclass(frozen=True)
class PlanCharts:
    revenue: tuple[Bar, Bar]  # yearly before, after
    changes: list[Bar]  # tenants per band of yearly change
    lost: list[Bar]  # users losing each license, most first


def _scaled(values: list[Decimal]) -> list[float]:
    most = max((abs(v) for v in values), default=Decimal(0))
    return [float(abs(v) / most) * BAR_MAX if most else 0.0 for v in values]


def _bands(changes: list[Decimal]) -> list[tuple[Decimal, Decimal, int]]:
    """BINS bands of equal width from the lowest change to the highest, with the tenants in each."""
    if not changes:
        return []
    low, high = min(changes), max(changes)
    if low == high:
        return [(low, high, len(changes))]
    width = (high - low) / BINS
    counts = [0] * BINS
    for change in changes:
        counts[min(int((change - low) / width), BINS - 1)] += 1
    return [(low + width * n, low + width * (n + 1), counts[n]) for n in range(BINS)]


def plan_charts(plan: MovePlanRead, *, lost_at_most: int = 10) -> PlanCharts:
    summary = plan.summary
    before, after = Decimal(summary.yearly_before), Decimal(summary.yearly_after)
    revenue_sizes = _scaled([before, after])
    bands = _bands([Decimal(tenant.yearly_change) for tenant in plan.tenants])
    band_sizes = _scaled([Decimal(count) for _, _, count in bands])
    changes = [
        Bar(f"{low:+.0f} … {high:+.0f}", str(count), size)
        for (low, high, count), size in zip(bands, band_sizes, strict=True)
    ]
    lost = summary.lose[:lost_at_most]
    lost_sizes = _scaled([Decimal(entry.users) for entry in lost])
    return PlanCharts(
        revenue=(
            Bar("before", summary.yearly_before, revenue_sizes[0]),
            Bar("after", summary.yearly_after, revenue_sizes[1]),
        ),
        changes=changes,
        lost=[Bar(entry.license, str(entry.users), size) for entry, size in zip(lost, lost_sizes, strict=True)],
    )
