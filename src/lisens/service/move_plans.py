"""A move of many tenants (a cohort), planned: per tenant and in total, revenue before and after, users
who lose and gain each license, and what blocks the move. Changes nothing.

Each tenant's move is computed by `service/moves.py: compute` (the same mapping preview and apply use);
this module only selects the tenants, prices both sides and adds up. Tenants are read one at a time and
let go of before the next, so memory stays bounded by the largest tenant, not by the cohort.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from lisens.catalog.prices import load_price_list
from lisens.db.repositories import TagRepository, TenantRepository, UsageRepository
from lisens.domain.billing import PriceList, cents
from lisens.domain.errors import Code, InvalidInput, NotFound
from lisens.domain.names import is_license_item, is_superoffice_item
from lisens.service.context import Context
from lisens.service.contracts import contract_of
from lisens.service.fencing import over_limits
from lisens.service.moves import MovePlan, compute
from lisens.service.results import (
    LicenseCountRead,
    MovePlanRead,
    MovePlanSelectionRead,
    MovePlanSummaryRead,
    MovePlanTenantRead,
    PlanBlockerRead,
)
from lisens.service.state import TenantState, load_state

MONTH = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Selection:
    """Which tenants: every condition given must hold. `sample` is a percentage chosen by `seed`:
    each tenant is in or out by a hash of the seed and its name, so the same seed picks the same ones."""

    generation: str | None = None
    renewal_month: str | None = None
    min_users: int | None = None
    max_users: int | None = None
    tags: tuple[tuple[str, str], ...] = ()
    tenants: tuple[str, ...] = ()
    sample: float | None = None
    seed: int = 0

    def check(self) -> Selection:
        if self.renewal_month is not None and not MONTH.fullmatch(self.renewal_month):
            raise InvalidInput(
                f"renewal month {self.renewal_month!r} must be YYYY-MM",
                code=Code.INVALID_VALUE,
                value=self.renewal_month,
            )
        for name, number in (("min users", self.min_users), ("max users", self.max_users)):
            if number is not None and number < 0:
                raise InvalidInput(f"{name} {number} must be 0 or more", code=Code.INVALID_NUMBER, value=number)
        if self.sample is not None and not 0 < self.sample <= 100:
            raise InvalidInput(
                f"sample {self.sample} must be a percentage above 0 and at most 100",
                code=Code.INVALID_NUMBER,
                value=self.sample,
            )
        return self

    def view(self) -> MovePlanSelectionRead:
        return MovePlanSelectionRead(
            generation=self.generation,
            renewal_month=self.renewal_month,
            min_users=self.min_users,
            max_users=self.max_users,
            tags=dict(sorted(self.tags)),
            tenants=sorted(set(self.tenants)),
            sample=self.sample,
            seed=self.seed if self.sample is not None else None,
        )

    @classmethod
    def of_view(cls, view: MovePlanSelectionRead) -> Selection:
        """The selection a view (as `view` writes it, and as a saved plan keeps it) describes."""
        return cls(
            generation=view.generation,
            renewal_month=view.renewal_month,
            min_users=view.min_users,
            max_users=view.max_users,
            tags=tuple(sorted(view.tags.items())),
            tenants=tuple(view.tenants),
            sample=view.sample,
            seed=view.seed or 0,
        )


def sampled(seed: int, name: str, percent: float) -> bool:
    """Whether tenant `name` is in a `percent` sample drawn with `seed` (stable across runs and machines)."""
    digest = hashlib.sha256(f"{seed}:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 * 100 < percent


def candidates(ctx: Context, selection: Selection) -> list[str]:
    """The names of the selected tenants, by name (cheap filters first; renewal last, per tenant)."""
    tenants = TenantRepository(ctx.session)
    every = tenants.names_by_generation()
    known = {name for _, name, _ in every}
    for name in selection.tenants:
        if name not in known:
            load_state(ctx, name)  # refuses the unknown tenant with its usual error
    wanted = set(selection.tenants)
    counts = tenants.user_counts() if selection.min_users is not None or selection.max_users is not None else {}
    tagged: set[int] | None = None
    for key, value in selection.tags:
        found = TagRepository(ctx.session).tenants_with(key, value)
        tagged = found if tagged is None else tagged & found
    day = ctx.now().date()
    chosen = []
    for generation, name, tenant_id in every:
        if wanted and name not in wanted:
            continue
        if selection.generation is not None and generation != selection.generation:
            continue
        users = counts.get(tenant_id, 0)
        if selection.min_users is not None and users < selection.min_users:
            continue
        if selection.max_users is not None and users > selection.max_users:
            continue
        if tagged is not None and tenant_id not in tagged:
            continue
        if selection.sample is not None and not sampled(selection.seed, name, selection.sample):
            continue
        if selection.renewal_month is not None:
            contract = contract_of(ctx, tenant_id)
            renewal = contract.next_renewal(day) if contract else None
            if renewal is None or f"{renewal:%Y-%m}" != selection.renewal_month:
                continue
        chosen.append(name)
    return chosen


def _priced(prices: PriceList, seats: dict[str, int], addons: list[str], blockers: list[PlanBlockerRead]) -> Decimal:
    """Monthly list price of the seats (SUPEROFFICE items; partners bill their own) and add-ons."""
    total = ZERO
    for item, number in sorted(seats.items()):
        if not is_superoffice_item(item) or number <= 0:
            continue
        if item not in prices.monthly:
            blockers.append(
                PlanBlockerRead(kind="no-price", item=item, detail=f"no price in generation {prices.generation}")
            )
            continue
        total += prices.monthly[item] * number
    for key in sorted(addons):
        if key not in prices.addons:
            blockers.append(
                PlanBlockerRead(kind="no-price", item=key, detail=f"no price in generation {prices.generation}")
            )
            continue
        total += prices.addons[key]
    return total


def blocking(ctx: Context, plan: MovePlan) -> list[PlanBlockerRead]:
    """Usage above the target plan's limits, and licenses, seats and add-ons with no counterpart."""
    state, target = plan.state, plan.target
    found: list[PlanBlockerRead] = []
    if plan.tenant_plan is not None:
        limits = dict(target.plans[plan.tenant_plan].limits)
        usage = UsageRepository(ctx.session).counts(state.id)
        for metric, used, maximum in over_limits(limits, usage):
            found.append(
                PlanBlockerRead(
                    kind="plan-limit",
                    item=metric,
                    detail=f"{used} in use, plan {plan.tenant_plan} allows {maximum}",
                )
            )
    dropped: dict[str, int] = defaultdict(int)
    for move in plan.moves:
        for name in set(move.direct_before) - set(move.direct_after):
            dropped[name] += 1
    for name, users in sorted(dropped.items()):
        found.append(
            PlanBlockerRead(
                kind="no-counterpart",
                item=name,
                detail=f"{users} users hold it directly; generation {target.generation} has no such license",
            )
        )
    for item in sorted(plan.seats_before):
        if is_license_item(item) and item not in plan.seats_after and plan.seats_before[item] > 0:
            found.append(
                PlanBlockerRead(
                    kind="no-counterpart",
                    item=item,
                    detail=f"{plan.seats_before[item]} seats; generation {target.generation} does not sell it",
                )
            )
    for key in plan.addons_dropped:
        found.append(
            PlanBlockerRead(
                kind="no-counterpart", item=key, detail=f"add-on not sold in generation {target.generation}"
            )
        )
    for name in plan.system_dropped:
        found.append(
            PlanBlockerRead(
                kind="no-counterpart", item=name, detail=f"system license not in generation {target.generation}"
            )
        )
    return found


def _billing_period(ctx: Context, state: TenantState) -> int | None:
    """Months per invoice now; None without a subscription."""
    contract = contract_of(ctx, state.id)
    if contract is None:
        return None
    term = contract.term_at(ctx.now().date())
    return contract.period if term is None or term.start == contract.start else term.months


def _tenant(ctx: Context, plan: MovePlan, before: PriceList, after: PriceList) -> MovePlanTenantRead:
    state = plan.state
    blockers = blocking(ctx, plan)
    if before.currency != after.currency:
        blockers.append(
            PlanBlockerRead(
                kind="currency",
                item=after.currency,
                detail=f"prices before are in {before.currency}, after in {after.currency}",
            )
        )
    monthly_before = cents(_priced(before, plan.seats_before, state.addons, blockers))
    monthly_after = cents(_priced(after, plan.seats_after, plan.addons_kept, blockers))
    period = _billing_period(ctx, state)
    months = period or 1
    lose: dict[str, list[str]] = defaultdict(list)
    gain: dict[str, list[str]] = defaultdict(list)
    for move in plan.moves:
        for name in move.lost:
            lose[name].append(move.name)
        for name in move.gained:
            gain[name].append(move.name)
    return MovePlanTenantRead(
        tenant=state.row.name,
        from_generation=state.catalog.generation,
        to=plan.target.generation,
        tenant_plan=plan.tenant_plan,
        users=len(plan.moves),
        subscribed=period is not None,
        billing_period=months,
        currency_before=before.currency,
        currency=after.currency,
        seats_before=dict(sorted(plan.seats_before.items())),
        seats_after=dict(sorted(plan.seats_after.items())),
        monthly_before=str(monthly_before),
        monthly_after=str(monthly_after),
        yearly_before=str(monthly_before * 12),
        yearly_after=str(monthly_after * 12),
        per_period_before=str(monthly_before * months),
        per_period_after=str(monthly_after * months),
        yearly_change=str((monthly_after - monthly_before) * 12),
        lose={name: sorted(users) for name, users in sorted(lose.items())},
        gain={name: sorted(users) for name, users in sorted(gain.items())},
        blockers=sorted(blockers, key=lambda b: (b.kind, b.item, b.detail)),
    )


def target_prices(ctx: Context, to: str, prices: PriceList | None) -> PriceList:
    """The price list of the target: the one given for this plan, or the installed one."""
    target = ctx.catalog(to)
    if prices is None:
        return load_price_list(target.generation, ctx.prices_dir, catalog_dir=ctx.catalog_dir)
    if prices.generation != target.generation:
        raise InvalidInput(
            f"the price list {prices.source} is for generation {prices.generation}, not {target.generation}",
            code=Code.PRICES_NOT_FOR_TARGET,
            generation=prices.generation,
        )
    return prices


def plan(
    ctx: Context,
    *,
    to: str,
    selection: Selection,
    prices: PriceList | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> MovePlanRead:
    """Plan the move of the selected tenants to `to`, priced with `prices` (the installed list by default).

    `progress(done, total)` is told after each tenant (a command line shows it as a bar)."""
    selection.check()
    after = target_prices(ctx, to, prices)
    target = ctx.catalog(to).generation
    names = candidates(ctx, selection)
    rows: list[MovePlanTenantRead] = []
    skipped: dict[str, str] = {}
    for done, name in enumerate(names, start=1):
        state = load_state(ctx, name)
        if state.catalog.generation == target:
            skipped[name] = f"on generation {target} already"
        else:
            try:
                computed = compute(ctx, state, to)
            except NotFound as exc:
                skipped[name] = exc.message
            else:
                before = load_price_list(state.catalog.generation, ctx.prices_dir, catalog_dir=ctx.catalog_dir)
                rows.append(_tenant(ctx, computed, before, after))
        # One tenant's users and assignments at a time: let go of them before the next.
        ctx.session.flush()
        ctx.session.expunge_all()
        if progress is not None:
            progress(done, len(names))
    return MovePlanRead(
        to=target,
        prices=after.source,
        example_prices=after.example,
        selection=selection.view(),
        summary=_summary(rows, after.currency),
        tenants=rows,
        skipped=skipped,
    )


def _summary(rows: list[MovePlanTenantRead], currency: str) -> MovePlanSummaryRead:
    monthly_before = sum((Decimal(r.monthly_before) for r in rows), ZERO)
    monthly_after = sum((Decimal(r.monthly_after) for r in rows), ZERO)
    changes = [Decimal(r.yearly_change) for r in rows]

    def counted(field_: str) -> list[LicenseCountRead]:
        users: dict[str, int] = defaultdict(int)
        tenants: dict[str, int] = defaultdict(int)
        for row in rows:
            for name, holders in getattr(row, field_).items():
                users[name] += len(holders)
                tenants[name] += 1
        return [
            LicenseCountRead(license=name, users=users[name], tenants=tenants[name])
            for name in sorted(users, key=lambda n: (-users[n], n))
        ]

    return MovePlanSummaryRead(
        tenants=len(rows),
        users=sum(r.users for r in rows),
        blocked=sum(1 for r in rows if r.blockers),
        currency=currency,
        monthly_before=str(monthly_before),
        monthly_after=str(monthly_after),
        yearly_before=str(monthly_before * 12),
        yearly_after=str(monthly_after * 12),
        yearly_change=str((monthly_after - monthly_before) * 12),
        pay_more=sum(1 for c in changes if c > 0),
        pay_less=sum(1 for c in changes if c < 0),
        pay_same=sum(1 for c in changes if c == 0),
        lose=counted("lose"),
        gain=counted("gain"),
    )


def plan_csv(view: MovePlanRead) -> str:
    """One line per tenant."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [
            "tenant", "from", "to", "tenant_plan", "users", "billing_period", "currency",
            "monthly_before", "monthly_after", "yearly_before", "yearly_after", "yearly_change",
            "users_losing", "blockers",
        ]
    )  # fmt: skip
    for row in view.tenants:
        losing = len({user for users in row.lose.values() for user in users})
        writer.writerow(
            [
                row.tenant, row.from_generation, row.to, row.tenant_plan or "", row.users, row.billing_period,
                row.currency, row.monthly_before, row.monthly_after, row.yearly_before, row.yearly_after,
                row.yearly_change, losing, " ".join(f"{b.kind}:{b.item}" for b in row.blockers),
            ]
        )  # fmt: skip
    return out.getvalue()
