"""Billing math: the 12-month contract and its renewals, billing periods, license dates, invoices.

Pure and exact: dates are `datetime.date`, money is `Decimal` rounded to cents (half up) once per
invoice line. Time is always an argument. The rules, as the seeds state them: a customer picks a
billing period of 1, 3, 6 or 12 months; the contract runs 12 months and then renews automatically
for one billing period at a time. Where the seeds are silent, docs/billing.md says what we chose.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from lisens.domain.errors import Code, InvalidInput

PERIODS = (1, 3, 6, 12)
CONTRACT_MONTHS = 12
GRACE_DAYS = 12
CENT = Decimal("0.01")


def require_period(months: int) -> int:
    if months not in PERIODS:
        raise InvalidInput(
            f"billing period {months} must be one of {', '.join(map(str, PERIODS))} months",
            code=Code.INVALID_BILLING_PERIOD,
            value=months,
        )
    return months


def add_months(day: date, months: int) -> date:
    """The same day `months` later (or earlier); the last day of the month when it has no such day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


# ---------------------------------------------------------------- terms and periods


@dataclass(frozen=True, slots=True)
class Span:
    """[start, end): a contract term or a billing period."""

    start: date
    end: date
    months: int

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day < self.end


@dataclass(frozen=True, slots=True)
class PeriodChange:
    """A new billing period asked for on `requested`; it takes effect at the next renewal."""

    requested: date
    months: int


@dataclass(frozen=True)
class Contract:
    """A tenant's subscription terms: start, billing period and its changes, and a cancellation."""

    start: date
    period: int
    changes: tuple[PeriodChange, ...] = ()
    cancelled: date | None = None  # the day the customer cancelled; it ends the term it falls in

    def __post_init__(self) -> None:
        require_period(self.period)
        for change in self.changes:
            require_period(change.months)

    def terms(self, until: date) -> list[Span]:
        """Every term that starts before `until`: the 12-month contract, then one billing period each."""
        return [self._span(offset, months) for offset, months in self._term_offsets(until)]

    def _span(self, offset: int, months: int) -> Span:
        """The span `months` long that starts `offset` months after the contract's start.

        Every boundary is counted from the start day and clamped to the length of its month, never
        stepped from the previous boundary: a contract of 31 January renews on 28 February, then
        31 March, 30 April (stepping would drift to the 28th for good after February).
        """
        return Span(add_months(self.start, offset), add_months(self.start, offset + months), months)

    def _term_offsets(self, until: date) -> list[tuple[int, int]]:
        """(months after the start, length in months) of every term that starts before `until`."""
        result = [(0, CONTRACT_MONTHS)]
        while True:
            offset, months = result[-1]
            end = add_months(self.start, offset + months)
            if end >= until or (self.cancelled is not None and self.cancelled < end):
                break
            result.append((offset + months, self.period_at_renewal(end)))
        return [item for item in result if add_months(self.start, item[0]) < until] or result[:1]

    def period_at_renewal(self, renewal: date) -> int:
        """The billing period in force for a term starting at `renewal`: the last change asked before it."""
        months = self.period
        for change in sorted(self.changes, key=lambda c: c.requested):
            if change.requested < renewal:
                months = change.months
        return months

    def billing_periods(self, until: date) -> list[Span]:
        """Every billing period that starts before `until`, each counted from the start day (no drift)."""
        periods: list[Span] = []
        for index, (offset, term_months) in enumerate(self._term_offsets(until)):
            months = self.period if index == 0 else term_months
            for k in range(term_months // months):
                period = self._span(offset + k * months, months)
                if period.start < until:
                    periods.append(period)
        return periods

    def term_at(self, day: date) -> Span | None:
        """The term that `day` falls in; None before the start or after a cancelled contract ended."""
        for term in self.terms(day + timedelta(days=1)):
            if day in term:
                return term
        return None

    def last_term_end(self, day: date) -> date:
        """Until when the licenses are paid, seen on `day`: the end of its term (or of the last one)."""
        term = self.term_at(day)
        if term is not None:
            return term.end
        terms = self.terms(max(day, self.start) + timedelta(days=1))
        return terms[-1].end

    def next_renewal(self, day: date) -> date | None:
        """When the current term renews; None when the contract is cancelled and ends with it."""
        term = self.term_at(day)
        if term is None:
            return None
        if self.cancelled is not None and self.cancelled < term.end:
            return None
        return term.end


# ---------------------------------------------------------------- license dates


class LicenseStatus(StrEnum):
    NOT_STARTED = "NOT_STARTED"
    ACTIVE = "ACTIVE"
    WARNING = "WARNING"  # from the admin warning date: renewal is due (or the contract ends)
    IN_GRACE = "IN_GRACE"  # after expiry, before grace: checks pass with a warning
    EXPIRED = "EXPIRED"  # after grace: checks fail with LICENSE_EXPIRED


@dataclass(frozen=True, slots=True)
class LicenseDates:
    expiry: date
    grace: date
    admin_warning: date
    status: LicenseStatus


def license_dates(contract: Contract, day: date) -> LicenseDates:
    """As in the documented license package: grace = expiry + 12 days, admin warning = expiry - 1 month."""
    expiry = contract.last_term_end(day)
    grace = expiry + timedelta(days=GRACE_DAYS)
    warning = add_months(expiry, -1)
    if day < contract.start:
        status = LicenseStatus.NOT_STARTED
    elif day >= grace:
        status = LicenseStatus.EXPIRED
    elif day >= expiry:
        status = LicenseStatus.IN_GRACE
    elif day >= warning and contract.next_renewal(day) is None:
        status = LicenseStatus.WARNING
    else:
        status = LicenseStatus.ACTIVE
    return LicenseDates(expiry=expiry, grace=grace, admin_warning=warning, status=status)


# ---------------------------------------------------------------- prices and invoices


@dataclass(frozen=True)
class PriceList:
    """Monthly prices of one generation: per plan (or combined plan `a+b`), per user license, per add-on."""

    generation: str
    currency: str
    monthly: Mapping[str, Decimal]
    addons: Mapping[str, Decimal]
    example: bool = True
    source: str = ""

    def price(self, item: str) -> Decimal:
        try:
            return self.monthly[item]
        except KeyError:
            raise InvalidInput(
                f"price list of generation {self.generation} has no price for {item!r}",
                code=Code.NO_PRICE,
                item=item,
            ) from None

    def addon_price(self, key: str) -> Decimal:
        try:
            return self.addons[key]
        except KeyError:
            raise InvalidInput(
                f"price list of generation {self.generation} has no price for add-on {key!r}",
                code=Code.NO_PRICE,
                item=key,
            ) from None


@dataclass(frozen=True, slots=True)
class Purchases:
    """What the tenant has from `at` on: seats per plan or license, and add-ons."""

    at: date
    seats: Mapping[str, int]
    addons: frozenset[str] = frozenset()
    generation: str = ""  # the packaging in force: its price list applies


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    kind: str  # plan | addon | proration
    item: str
    quantity: int
    months: int
    unit_monthly: Decimal
    amount: Decimal
    start: date
    end: date
    note: str = ""


@dataclass(frozen=True)
class Invoice:
    issued: date
    currency: str
    lines: tuple[InvoiceLine, ...]
    total: Decimal = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "total", sum((line.amount for line in self.lines), Decimal("0.00")))


@dataclass(frozen=True)
class History:
    """The tenant's purchases over time, as snapshots in date order."""

    snapshots: tuple[Purchases, ...]

    @classmethod
    def of(cls, snapshots: Iterable[Purchases]) -> History:
        return cls(tuple(sorted(snapshots, key=lambda p: p.at)))

    def at(self, day: date) -> Purchases:
        """The purchases in force on `day` (the last snapshot on or before it)."""
        found = Purchases(day, {})
        for snapshot in self.snapshots:
            if snapshot.at <= day:
                found = snapshot
            else:
                break
        return found

    def changes_within(self, span: Span) -> list[tuple[Purchases, Purchases]]:
        """(before, after) for every change strictly inside `span`."""
        pairs = []
        for snapshot in self.snapshots:
            if span.start < snapshot.at < span.end:
                before = self.at(snapshot.at - timedelta(days=1))
                pairs.append((before, snapshot))
        return pairs


def prorate(unit_monthly: Decimal, quantity: int, span: Span, day: date) -> Decimal:
    """The charge for `quantity` more from `day` to the end of `span`: by days, rounded to cents."""
    remaining = (span.end - day).days
    full = unit_monthly * quantity * span.months
    return cents(full * remaining / span.days)


def invoices(
    contract: Contract,
    prices: PriceList | Mapping[str, PriceList],
    history: History,
    *,
    start: date,
    end: date,
) -> list[Invoice]:
    """Every invoice issued in [start, end): in advance at each billing period (plans and licenses),
    monthly for add-ons, and prorated charges on the day a change mid-period took effect.

    With price lists per generation, each line is priced by the generation in force on its day.
    """
    lines_by_day: dict[date, list[InvoiceLine]] = {}

    def price_list(held: Purchases) -> PriceList:
        if isinstance(prices, PriceList):
            return prices
        return prices.get(held.generation) or next(iter(prices.values()))

    def add(day: date, line: InvoiceLine) -> None:
        if start <= day < end and day >= contract.start:
            lines_by_day.setdefault(day, []).append(line)

    until = end
    for period in contract.billing_periods(until):
        held = history.at(period.start)
        for item in sorted(held.seats):
            quantity = held.seats[item]
            if quantity <= 0:
                continue
            unit = price_list(held).price(item)
            add(
                period.start,
                InvoiceLine(
                    "plan",
                    item,
                    quantity,
                    period.months,
                    unit,
                    cents(unit * quantity * period.months),
                    period.start,
                    period.end,
                ),
            )
        for before, after in history.changes_within(period):
            for item in sorted(set(before.seats) | set(after.seats)):
                delta = after.seats.get(item, 0) - before.seats.get(item, 0)
                if delta == 0:
                    continue
                unit = price_list(after if item in after.seats else before).price(item)
                add(
                    after.at,
                    InvoiceLine(
                        "proration",
                        item,
                        delta,
                        period.months,
                        unit,
                        prorate(unit, delta, period, after.at),
                        after.at,
                        period.end,
                        note=f"{delta:+d} from {after.at.isoformat()} to {period.end.isoformat()}",
                    ),
                )
    # Add-ons are billed monthly whatever the plans' period.
    months = [
        Span(add_months(contract.start, k), add_months(contract.start, k + 1), 1)
        for k in range(_months_until(contract.start, until))
    ]
    terms = contract.terms(until)
    for month in months:
        if not any(month.start in term for term in terms):
            continue
        held = history.at(month.start)
        for key in sorted(held.addons):
            unit = price_list(held).addon_price(key)
            add(month.start, InvoiceLine("addon", key, 1, 1, unit, cents(unit), month.start, month.end))
        for before, after in history.changes_within(month):
            for key in sorted(after.addons - before.addons):
                unit = price_list(after).addon_price(key)
                add(
                    after.at,
                    InvoiceLine(
                        "proration",
                        key,
                        1,
                        1,
                        unit,
                        prorate(unit, 1, month, after.at),
                        after.at,
                        month.end,
                        note=f"add-on from {after.at.isoformat()} to {month.end.isoformat()}",
                    ),
                )
    currency = prices.currency if isinstance(prices, PriceList) else next(iter(prices.values())).currency
    return [Invoice(day, currency, tuple(lines)) for day, lines in sorted(lines_by_day.items())]


def _months_until(start: date, until: date) -> int:
    count = 0
    while add_months(start, count) < until:
        count += 1
    return count


def sum_amounts(invoices_: Sequence[Invoice]) -> Decimal:
    return sum((invoice.total for invoice in invoices_), Decimal("0.00"))
