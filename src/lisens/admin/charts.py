"""Charts of a cohort move plan, as bar geometry for inline SVG: no script, the same plan draws the same
bytes, and every bar has its number written beside it (the chart is never the only way to read it)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from lisens.service.results import MovePlanRead

BAR_MAX = 100.0  # the longest bar, in percent of the chart's width or height


@dataclass(frozen=True)
class Bar:
    label: str
    value: str  # as written beside the bar
    size: float  # 0..BAR_MAX


@dataclass(frozen=True)
class PlanCharts:
    revenue: tuple[Bar, Bar]  # yearly before, after
    changes: list[Bar]  # tenants per band of yearly change (the summary's bands)
    lost: list[Bar]  # users losing each license, most first


def _scaled(values: list[Decimal]) -> list[float]:
    most = max((abs(v) for v in values), default=Decimal(0))
    return [float(abs(v) / most) * BAR_MAX if most else 0.0 for v in values]


def plan_charts(plan: MovePlanRead, *, lost_at_most: int = 10) -> PlanCharts:
    """Drawn from the plan's summary alone (an overview's bounded rows are not the cohort)."""
    summary = plan.summary
    before, after = Decimal(summary.yearly_before), Decimal(summary.yearly_after)
    revenue_sizes = _scaled([before, after])
    bands = summary.changes
    band_sizes = _scaled([Decimal(band.tenants) for band in bands])
    changes = [
        Bar(f"{Decimal(band.low):+.0f} … {Decimal(band.high):+.0f}", str(band.tenants), size)
        for band, size in zip(bands, band_sizes, strict=True)
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
