"""A move of many tenants (a cohort), planned: per tenant and in total, revenue before and after, users
who lose and gain each license, and what blocks the move. Changes nothing.

Each tenant's move is computed by `service/moves.py: move_tenant`, the rule preview and apply use; this
module selects the tenants, reads them in batches, prices both sides and adds up. A plan is made as a
stream (`stream`): tenants are read a batch at a time (a few statements a batch, plain rows), each
tenant's row is handed on as it is made and let go of, and the summary is added up as the rows pass, so
memory is bounded by a batch, not by the cohort. `spool_json` and `spool_csv` write a plan's document
through a temporary file; `plan` collects a whole plan (small cohorts), `overview` keeps a bounded
number of rows.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import IO, Any, NamedTuple

from lisens.catalog.moves import load_mapping
from lisens.catalog.prices import load_price_list
from lisens.db.repositories import CohortRepository, TagRepository, TenantRepository, UsageRepository
from lisens.domain.billing import Contract, PriceList, cents
from lisens.domain.errors import Code, InvalidInput, NotFound
from lisens.domain.model import Catalog
from lisens.domain.moves import PlanMapping
from lisens.domain.names import is_license_item, is_superoffice_item
from lisens.service.context import Context
from lisens.service.contracts import contracts_of
from lisens.service.fencing import over_limits
from lisens.service.moves import MoveMemo, MovePlan, TenantMove, move_tenant
from lisens.service.results import (
    ChangeBandRead,
    LicenseCountRead,
    MovePlanRead,
    MovePlanSelectionRead,
    MovePlanSummaryRead,
    MovePlanTenantRead,
    PlanBlockerRead,
)
from lisens.service.state import Holdings, load_state

MONTH = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")
ZERO = Decimal("0.00")
CENT = Decimal("0.01")
# Tenants read at once: at most this many, and no more users than BATCH_USERS among them (a tenant with more
# users is a batch of its own). A batch is a few statements; its rows are all that is held at a time.
BATCH_TENANTS = 500
BATCH_USERS = 50_000
CHANGE_BANDS = 8
# A plan's document is kept in memory up to this size, then in a temporary file.
SPOOL_IN_MEMORY = 4 * 2**20
CHUNK_BYTES = 256 * 1024
CSV_COLUMNS = (
    "tenant", "from", "to", "tenant_plan", "users", "billing_period", "currency",
    "monthly_before", "monthly_after", "yearly_before", "yearly_after", "yearly_change",
    "users_losing", "blockers",
)  # fmt: skip


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


class Candidate(NamedTuple):
    name: str
    id: int
    generation: str
    users: int


def _chosen(ctx: Context, selection: Selection) -> list[Candidate]:
    """The selected tenants by name (cheap filters first; the renewal month last, contracts read in batches)."""
    tenants = TenantRepository(ctx.session)
    every = tenants.names_by_generation()
    known = {name for _, name, _ in every}
    for name in selection.tenants:
        if name not in known:
            load_state(ctx, name)  # refuses the unknown tenant with its usual error
    wanted = set(selection.tenants)
    counts = tenants.user_counts()
    tagged: set[int] | None = None
    for key, value in selection.tags:
        found = TagRepository(ctx.session).tenants_with(key, value)
        tagged = found if tagged is None else tagged & found
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
        chosen.append(Candidate(name, tenant_id, generation, users))
    if selection.renewal_month is None:
        return chosen
    day = ctx.now().date()
    renewing = []
    for start in range(0, len(chosen), BATCH_TENANTS):
        part = chosen[start : start + BATCH_TENANTS]
        contracts = contracts_of(ctx, [candidate.id for candidate in part])
        for candidate in part:
            contract = contracts.get(candidate.id)
            renewal = contract.next_renewal(day) if contract else None
            if renewal is not None and f"{renewal:%Y-%m}" == selection.renewal_month:
                renewing.append(candidate)
    return renewing


def candidates(ctx: Context, selection: Selection) -> list[str]:
    """The names of the selected tenants, by name."""
    return [candidate.name for candidate in _chosen(ctx, selection)]


def _priced(prices: PriceList, seats: dict[str, int], addons: Iterable[str], found: list[PlanBlockerRead]) -> Decimal:
    """Monthly list price of the seats (SUPEROFFICE items; partners bill their own) and add-ons."""
    total = ZERO
    for item, number in sorted(seats.items()):
        if not is_superoffice_item(item) or number <= 0:
            continue
        if item not in prices.monthly:
            found.append(
                PlanBlockerRead(kind="no-price", item=item, detail=f"no price in generation {prices.generation}")
            )
            continue
        total += prices.monthly[item] * number
    for key in sorted(addons):
        if key not in prices.addons:
            found.append(
                PlanBlockerRead(kind="no-price", item=key, detail=f"no price in generation {prices.generation}")
            )
            continue
        total += prices.addons[key]
    return total


def blockers(move: TenantMove, usage: Mapping[str, int]) -> list[PlanBlockerRead]:
    """Usage above the target plan's limits, and licenses, seats and add-ons with no counterpart."""
    target = move.target
    found: list[PlanBlockerRead] = []
    if move.tenant_plan is not None:
        limits = dict(target.plans[move.tenant_plan].limits)
        for metric, used, maximum in over_limits(limits, dict(usage)):
            found.append(
                PlanBlockerRead(
                    kind="plan-limit",
                    item=metric,
                    detail=f"{used} in use, plan {move.tenant_plan} allows {maximum}",
                )
            )
    dropped: dict[str, int] = defaultdict(int)
    for user in move.moves:
        if user.direct_before != user.direct_after:
            for name in set(user.direct_before) - set(user.direct_after):
                dropped[name] += 1
    for name, users in sorted(dropped.items()):
        found.append(
            PlanBlockerRead(
                kind="no-counterpart",
                item=name,
                detail=f"{users} users hold it directly; generation {target.generation} has no such license",
            )
        )
    for item in sorted(move.seats_before):
        if is_license_item(item) and item not in move.seats_after and move.seats_before[item] > 0:
            found.append(
                PlanBlockerRead(
                    kind="no-counterpart",
                    item=item,
                    detail=f"{move.seats_before[item]} seats; generation {target.generation} does not sell it",
                )
            )
    for key in move.addons_dropped:
        found.append(
            PlanBlockerRead(
                kind="no-counterpart", item=key, detail=f"add-on not sold in generation {target.generation}"
            )
        )
    for name in move.system_dropped:
        found.append(
            PlanBlockerRead(
                kind="no-counterpart", item=name, detail=f"system license not in generation {target.generation}"
            )
        )
    return found


def blocking(ctx: Context, plan: MovePlan) -> list[PlanBlockerRead]:
    """`blockers` of a tenant's move, its usage read (a wave checks them on the day of the move)."""
    usage = UsageRepository(ctx.session).counts(plan.state.id) if plan.tenant_plan is not None else {}
    return blockers(plan, usage)


def billing_period(contract: Contract | None, day: date) -> int | None:
    """Months per invoice on `day`; None without a subscription."""
    if contract is None:
        return None
    term = contract.term_at(day)
    return contract.period if term is None or term.start == contract.start else term.months


def _holders(move: TenantMove) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Per license, the users who lose it and who gain it, sorted (users of one shape are taken together)."""
    losing: dict[tuple[str, ...], list[str]] = {}
    gaining: dict[tuple[str, ...], list[str]] = {}
    for user in move.moves:
        if user.lost:
            losing.setdefault(user.lost, []).append(user.name)
        if user.gained:
            gaining.setdefault(user.gained, []).append(user.name)

    def by_license(groups: dict[tuple[str, ...], list[str]]) -> dict[str, list[str]]:
        found: dict[str, list[str]] = defaultdict(list)
        for names, users in groups.items():
            for name in names:
                found[name].extend(users)
        return {name: sorted(found[name]) for name in sorted(found)}

    return by_license(losing), by_license(gaining)


def _row(
    move: TenantMove,
    before: PriceList,
    after: PriceList,
    *,
    contract: Contract | None,
    usage: Mapping[str, int],
    day: date,
) -> MovePlanTenantRead:
    holdings = move.holdings
    found = blockers(move, usage)
    if before.currency != after.currency:
        found.append(
            PlanBlockerRead(
                kind="currency",
                item=after.currency,
                detail=f"prices before are in {before.currency}, after in {after.currency}",
            )
        )
    monthly_before = cents(_priced(before, move.seats_before, holdings.addons, found))
    monthly_after = cents(_priced(after, move.seats_after, move.addons_kept, found))
    period = billing_period(contract, day)
    months = period or 1
    lose, gain = _holders(move)
    return MovePlanTenantRead(
        tenant=holdings.name,
        from_generation=holdings.catalog.generation,
        to=move.target.generation,
        tenant_plan=move.tenant_plan,
        users=len(move.moves),
        subscribed=period is not None,
        billing_period=months,
        currency_before=before.currency,
        currency=after.currency,
        seats_before=dict(sorted(move.seats_before.items())),
        seats_after=dict(sorted(move.seats_after.items())),
        monthly_before=str(monthly_before),
        monthly_after=str(monthly_after),
        yearly_before=str(monthly_before * 12),
        yearly_after=str(monthly_after * 12),
        per_period_before=str(monthly_before * months),
        per_period_after=str(monthly_after * months),
        yearly_change=str((monthly_after - monthly_before) * 12),
        lose=lose,
        gain=gain,
        blockers=sorted(found, key=lambda b: (b.kind, b.item, b.detail)),
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


# ---------------------------------------------------------------- the summary, added up as rows pass


def change_bands(changes: Mapping[Decimal, int]) -> list[ChangeBandRead]:
    """Tenants by yearly change (`changes`: change -> tenants): CHANGE_BANDS bands of equal width from the
    lowest change to the highest, the last one closed; one band when every tenant changes alike."""
    if not changes:
        return []
    low, high = min(changes), max(changes)
    if low == high:
        return [ChangeBandRead(low=str(low), high=str(high), tenants=changes[low])]
    width = (high - low) / CHANGE_BANDS
    counts = [0] * CHANGE_BANDS
    for change, tenants in changes.items():
        counts[min(int((change - low) / width), CHANGE_BANDS - 1)] += tenants
    return [
        ChangeBandRead(
            low=str((low + width * n).quantize(CENT)), high=str((low + width * (n + 1)).quantize(CENT)), tenants=count
        )
        for n, count in enumerate(counts)
    ]


@dataclass
class _Totals:
    """The cohort's summary, added up one tenant's row at a time (nothing of a row is kept but counts)."""

    currency: str
    tenants: int = 0
    users: int = 0
    blocked: int = 0
    monthly_before: Decimal = ZERO
    monthly_after: Decimal = ZERO
    changes: Counter[Decimal] = field(default_factory=Counter)
    lose_users: Counter[str] = field(default_factory=Counter)
    lose_tenants: Counter[str] = field(default_factory=Counter)
    gain_users: Counter[str] = field(default_factory=Counter)
    gain_tenants: Counter[str] = field(default_factory=Counter)

    def add(self, row: MovePlanTenantRead) -> None:
        self.tenants += 1
        self.users += row.users
        self.blocked += bool(row.blockers)
        self.monthly_before += Decimal(row.monthly_before)
        self.monthly_after += Decimal(row.monthly_after)
        self.changes[Decimal(row.yearly_change)] += 1
        for name, holders in row.lose.items():
            self.lose_users[name] += len(holders)
            self.lose_tenants[name] += 1
        for name, holders in row.gain.items():
            self.gain_users[name] += len(holders)
            self.gain_tenants[name] += 1

    def summary(self) -> MovePlanSummaryRead:
        def counted(users: Counter[str], tenants: Counter[str]) -> list[LicenseCountRead]:
            return [
                LicenseCountRead(license=name, users=users[name], tenants=tenants[name])
                for name in sorted(users, key=lambda n: (-users[n], n))
            ]

        return MovePlanSummaryRead(
            tenants=self.tenants,
            users=self.users,
            blocked=self.blocked,
            currency=self.currency,
            monthly_before=str(self.monthly_before),
            monthly_after=str(self.monthly_after),
            yearly_before=str(self.monthly_before * 12),
            yearly_after=str(self.monthly_after * 12),
            yearly_change=str((self.monthly_after - self.monthly_before) * 12),
            pay_more=sum(n for change, n in self.changes.items() if change > 0),
            pay_less=sum(n for change, n in self.changes.items() if change < 0),
            pay_same=sum(n for change, n in self.changes.items() if change == 0),
            lose=counted(self.lose_users, self.lose_tenants),
            gain=counted(self.gain_users, self.gain_tenants),
            changes=change_bands(self.changes),
        )


# ---------------------------------------------------------------- the plan, as a stream of rows


def _batches(chosen: Sequence[Candidate], *, tenants: int, users: int) -> Iterator[Sequence[Candidate]]:
    """Consecutive runs of at most `tenants` tenants with at most `users` users among them (a tenant with
    more users alone)."""
    start, held = 0, 0
    for index, candidate in enumerate(chosen):
        if index > start and (index - start >= tenants or held + candidate.users > users):
            yield chosen[start:index]
            start, held = index, 0
        held += candidate.users
    if start < len(chosen):
        yield chosen[start:]


class PlanStream:
    """A cohort's move plan as it is made. Iterate it once for the tenants' rows, by name; once it is
    exhausted, `summary()` and `skipped` cover the whole cohort. Made by `stream`, which checks everything
    a plan can refuse before the first row."""

    def __init__(
        self,
        ctx: Context,
        *,
        target: Catalog,
        selection: Selection,
        prices: PriceList,
        chosen: list[Candidate],
        progress: Callable[[int, int], None] | None,
        batch_tenants: int,
        batch_users: int,
    ) -> None:
        self.to = target.generation
        self.prices = prices.source
        self.example_prices = prices.example
        self.selection = selection.view()
        self.skipped: dict[str, str] = {}
        self._ctx, self._target, self._after = ctx, target, prices
        self._chosen, self._progress = chosen, progress
        self._batch = (batch_tenants, batch_users)
        self._totals = _Totals(currency=prices.currency)
        self._started = self._finished = False

    def __iter__(self) -> Iterator[MovePlanTenantRead]:
        if self._started:
            raise RuntimeError("a plan's rows are made once")
        self._started = True
        yield from self._rows()
        self._finished = True

    def summary(self) -> MovePlanSummaryRead:
        if not self._finished:
            raise RuntimeError("the summary is complete once every row is made")
        return self._totals.summary()

    def _rows(self) -> Iterator[MovePlanTenantRead]:
        ctx, target, after = self._ctx, self._target, self._after
        day = ctx.now().date()
        mappings: dict[str, PlanMapping | NotFound] = {}
        memos: dict[str, MoveMemo] = {}
        before_prices: dict[str, PriceList] = {}
        repo = CohortRepository(ctx.session)
        done, total = 0, len(self._chosen)
        if self._progress is not None:
            self._progress(0, total)
        tenants, users = self._batch
        for batch in _batches(self._chosen, tenants=tenants, users=users):
            for generation in sorted({c.generation for c in batch} - set(mappings) - {target.generation}):
                try:
                    mappings[generation] = load_mapping(generation, target.generation, ctx.catalog_dir)
                except NotFound as missing:
                    mappings[generation] = missing
            ids = [
                c.id
                for c in batch
                if c.generation != target.generation and not isinstance(mappings[c.generation], NotFound)
            ]
            seats, addons, system = repo.seats(ids), repo.addons(ids), repo.system(ids)
            partner, members = repo.partner_system(ids), repo.members(ids)
            usage, contracts = repo.usage(ids), contracts_of(ctx, ids)
            for candidate in batch:
                if candidate.generation == target.generation:
                    self.skipped[candidate.name] = f"on generation {target.generation} already"
                    continue
                mapping = mappings[candidate.generation]
                if isinstance(mapping, NotFound):
                    self.skipped[candidate.name] = mapping.message
                    continue
                memo = memos.get(candidate.generation)
                if memo is None:
                    memo = memos[candidate.generation] = MoveMemo(ctx.catalog(candidate.generation), target, mapping)
                holdings = Holdings(
                    id=candidate.id,
                    name=candidate.name,
                    catalog=memo.source,
                    seats=seats[candidate.id],
                    addons=tuple(addons[candidate.id]),
                    system=tuple(system[candidate.id]),
                    partner_system=tuple(partner[candidate.id]),
                )
                try:
                    move = move_tenant(holdings, members.pop(candidate.id), target, mapping, memo=memo)
                except NotFound as exc:
                    self.skipped[candidate.name] = exc.message
                    continue
                if candidate.generation not in before_prices:
                    before_prices[candidate.generation] = load_price_list(
                        candidate.generation, ctx.prices_dir, catalog_dir=ctx.catalog_dir
                    )
                row = _row(
                    move,
                    before_prices[candidate.generation],
                    after,
                    contract=contracts.get(candidate.id),
                    usage=usage[candidate.id],
                    day=day,
                )
                self._totals.add(row)
                yield row
            done += len(batch)
            if self._progress is not None:
                self._progress(done, total)


def stream(
    ctx: Context,
    *,
    to: str,
    selection: Selection,
    prices: PriceList | None = None,
    progress: Callable[[int, int], None] | None = None,
    batch_tenants: int = BATCH_TENANTS,
    batch_users: int = BATCH_USERS,
) -> PlanStream:
    """Plan the move of the selected tenants to `to`, priced with `prices` (the installed list by default),
    as a stream of rows. What a plan refuses (a bad selection, an unknown tenant or generation, a price list
    for another generation) is refused here, before any row.

    `progress(done, total)` is told before the first batch and after each (a command line shows it as a
    bar)."""
    selection.check()
    after = target_prices(ctx, to, prices)
    target = ctx.catalog(to)
    return PlanStream(
        ctx,
        target=target,
        selection=selection,
        prices=after,
        chosen=_chosen(ctx, selection),
        progress=progress,
        batch_tenants=batch_tenants,
        batch_users=batch_users,
    )


def plan(
    ctx: Context,
    *,
    to: str,
    selection: Selection,
    prices: PriceList | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> MovePlanRead:
    """The whole plan, every tenant's row held: for a cohort small enough to hold (at scale, `stream` it)."""
    made = stream(ctx, to=to, selection=selection, prices=prices, progress=progress)
    rows = list(made)
    return _read(made, rows)


def _read(made: PlanStream, rows: list[MovePlanTenantRead]) -> MovePlanRead:
    return MovePlanRead(
        to=made.to,
        prices=made.prices,
        example_prices=made.example_prices,
        selection=made.selection,
        summary=made.summary(),
        tenants=rows,
        skipped=dict(made.skipped),
    )


def _first(row: MovePlanTenantRead) -> tuple[bool, Decimal, str]:
    """Which rows an overview keeps: blocked tenants first, then those whose revenue changes most."""
    return not row.blockers, -abs(Decimal(row.yearly_change)), row.tenant


def overview(
    ctx: Context,
    *,
    to: str,
    selection: Selection,
    prices: PriceList | None = None,
    limit: int,
    progress: Callable[[int, int], None] | None = None,
) -> MovePlanRead:
    """The plan with the whole cohort's summary but at most `limit` tenants' rows, by name: the blocked
    tenants first, then those whose yearly revenue changes most (for a page or a terminal)."""
    made = stream(ctx, to=to, selection=selection, prices=prices, progress=progress)
    kept: list[MovePlanTenantRead] = []
    for row in made:
        kept.append(row)
        if len(kept) >= 2 * limit:
            kept = sorted(kept, key=_first)[:limit]
    kept = sorted(sorted(kept, key=_first)[:limit], key=lambda row: row.tenant)
    return _read(made, kept)


# ---------------------------------------------------------------- documents: JSON and CSV


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass
class PlanFile:
    """A plan's document made in bounded memory: what comes before the tenants' rows, the rows (in a
    temporary file, in memory while small) and what comes after. `chunks()` reads it once, then closes it."""

    media_type: str
    head: bytes
    rows: IO[bytes]
    tail: bytes
    size: int

    def chunks(self, size: int = CHUNK_BYTES) -> Iterator[bytes]:
        try:
            yield self.head
            self.rows.seek(0)
            while chunk := self.rows.read(size):
                yield chunk
            yield self.tail
        finally:
            self.rows.close()

    def close(self) -> None:
        self.rows.close()


def _spool() -> IO[bytes]:
    return tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # closed by PlanFile


def spool_json(made: PlanStream) -> PlanFile:
    """The plan as `MovePlanRead` JSON, in its field order (the summary before the rows): the rows are made
    into a temporary file first, one a line, then the head with the summary is written before them."""
    rows = _spool()
    size = 0
    try:
        for row in made:
            line = (b",\n" if size else b"\n") + _json(row.plain())
            rows.write(line)
            size += len(line)
    except BaseException:
        rows.close()
        raise
    head_fields = {
        "to": made.to,
        "prices": made.prices,
        "example_prices": made.example_prices,
        "selection": made.selection.plain(),
        "summary": made.summary().plain(),
    }
    head = _json(head_fields)[:-1] + b',"tenants":['
    tail = (b"\n" if size else b"") + b'],"skipped":' + _json(made.skipped) + b"}\n"
    return PlanFile("application/json", head, rows, tail, len(head) + size + len(tail))


def _csv_row(row: MovePlanTenantRead) -> list[object]:
    losing = len({user for users in row.lose.values() for user in users})
    return [
        row.tenant, row.from_generation, row.to, row.tenant_plan or "", row.users, row.billing_period,
        row.currency, row.monthly_before, row.monthly_after, row.yearly_before, row.yearly_after,
        row.yearly_change, losing, " ".join(f"{b.kind}:{b.item}" for b in row.blockers),
    ]  # fmt: skip


def csv_lines(rows: Iterable[MovePlanTenantRead]) -> Iterator[str]:
    """The plan as CSV, one line per tenant after the header, each line made as its row comes."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow(_csv_row(row))
        if out.tell() >= CHUNK_BYTES // 4:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()


def spool_csv(made: PlanStream) -> PlanFile:
    """`csv_lines` of the plan, in a temporary file."""
    rows = _spool()
    size = 0
    try:
        for text in csv_lines(made):
            data = text.encode()
            rows.write(data)
            size += len(data)
    except BaseException:
        rows.close()
        raise
    return PlanFile("text/csv", b"", rows, b"", size)


def plan_csv(view: MovePlanRead) -> str:
    """One line per tenant of a plan held whole."""
    return "".join(csv_lines(view.tenants))
