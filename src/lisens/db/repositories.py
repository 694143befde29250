"""Every query lives here; every method takes `tenant_id` first (no ambient tenant)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime
from typing import Any, NamedTuple, Protocol, TypeVar

from sqlalchemy import (
    JSON,
    ColumnElement,
    Dialect,
    Insert,
    and_,
    bindparam,
    delete,
    event,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy import Sequence as DatabaseSequence
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, aliased
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.types import TypeDecorator

from lisens.db.changes import tenant_changed, tokens_changed
from lisens.db.engine import busy_error
from lisens.db.models import (
    AddonRow,
    AuditRow,
    DeliveryRow,
    GenerationMoveRow,
    IdempotencyRow,
    InvoiceRow,
    MoveWaveRow,
    MoveWaveTenantRow,
    OwnerRow,
    PanelSessionRow,
    PartnerLicenseRow,
    PeriodChangeRow,
    SavedMovePlanRow,
    ScheduledChangeRow,
    ScheduledSeatsRow,
    SeatRow,
    ServerSecretRow,
    SubscriptionRow,
    SystemLicenseRow,
    TenantRow,
    TenantTagRow,
    TokenRow,
    UsageRow,
    UserLicenseRow,
    UserPlanRow,
    UserRow,
    VendorLogRow,
    WebhookRow,
    WebhookStreamRow,
)
from lisens.domain.auditchain import GENESIS, ChainedHashes, Entry, entry_hash
from lisens.domain.errors import ChangeBeforeHistory
from lisens.domain.times import utc

# Bound parameters per statement: PostgreSQL allows 65,535, SQLite 32,766. Id and name lists are
# sent in chunks of this size (or replaced by a query over the whole tenant).
CHUNK = 5_000
T = TypeVar("T")


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# ---------------------------------------------------------------- many rows at once
#
# A bulk of 100,000 users writes 400,000 rows. PostgreSQL takes them fastest by COPY (one statement
# streaming rows, instead of a statement per row); it runs on the session's own connection, so in the
# same transaction as everything else, after what the ORM holds was flushed. SQLite takes executemany.
# Both write the same values: tests/db/test_repositories.py compares them.


def _use_copy(session: Session, copy: bool | None) -> bool:
    """Whether to write by COPY: on PostgreSQL unless `copy` is False; never on SQLite."""
    postgres = session.connection().dialect.name == "postgresql"
    if copy and not postgres:
        raise ValueError("COPY is PostgreSQL's")
    return postgres if copy is None else copy


def _copy_rows(session: Session, statement: str, rows: Iterable[tuple[Any, ...]]) -> None:
    """Stream `rows` into `statement` (`COPY … FROM STDIN`) on the session's own connection; psycopg
    writes each value in COPY's format (escapes, NULL). The rows may be made as they are sent. A database
    error is raised as SQLAlchemy raises it for any other statement."""
    session.flush()
    driver: Any = session.connection().connection.driver_connection
    import psycopg

    try:
        with driver.cursor() as cursor, cursor.copy(statement) as stream:
            for row in rows:
                stream.write_row(row)
    except psycopg.Error as exc:
        busy = busy_error(exc, "postgresql")
        if busy is not None:
            raise busy from None
        raise DBAPIError.instance(statement, None, exc, psycopg.Error) from exc


class _SerializedJSON(TypeDecorator[str]):
    """A JSON column's value given as its serialized text, stored as it is (cast to json on PostgreSQL)."""

    impl = JSON
    cache_ok = True

    def bind_processor(self, dialect: Dialect) -> None:
        return None


class NewUser(Protocol):
    """A user to insert: what its row holds besides its id, tenant and time of creation (any object that
    has these, so that a bulk hands over its own records of 100,000 users instead of copies)."""

    @property
    def name(self) -> str: ...

    @property
    def type(self) -> str: ...

    @property
    def can_log_in(self) -> bool: ...

    @property
    def retired(self) -> bool: ...


class NewEntry(NamedTuple):
    """An entry to append to a tenant's log with others of the same change (`AuditRepository.append_many`)."""

    action: str
    subject: str
    user_id: int | None = None
    before: Mapping[str, Any] | None = None
    after: Mapping[str, Any] | None = None


class TenantRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, tenant_id: int) -> TenantRow | None:
        return self.session.get(TenantRow, tenant_id)

    def get_by_name(self, name: str) -> TenantRow | None:
        """The tenant named `name`; asked again in the same transaction, from the session (no query)."""
        known: dict[str, TenantRow] = self.session.info.setdefault(TENANT_IDS, {})
        found = known.get(name)
        if found is not None and found in self.session:
            return found
        row = self.session.scalar(select(TenantRow).where(TenantRow.name == name))
        if row is not None:
            known[name] = row  # held here: the session itself keeps unchanged rows only weakly
        return row

    def lock(self, tenant_id: int) -> TenantRow:
        """The tenant row, locked until the transaction ends: changes to one tenant's licensing serialise."""
        known = self.session.identity_map.get(self.session.identity_key(TenantRow, tenant_id))
        if isinstance(known, TenantRow):
            # Read as a plain row into the object this session holds (as populate_existing would): the
            # lock is on the hot path of every change, and the ORM's loading costs more than the query.
            self.session.flush()
            found = self.session.connection().execute(_LOCK_TENANT, {"p_tenant_id": tenant_id}).first()
            assert found is not None
            for key, value in found._mapping.items():
                set_committed_value(known, key, value)
            row = known
        else:
            locked = self.session.scalar(
                select(TenantRow)
                .where(TenantRow.id == tenant_id)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
            assert locked is not None
            row = locked
        self.session.info.setdefault(LOCKED_TENANTS, set()).add(tenant_id)
        return row

    def is_locked(self, tenant_id: int) -> bool:
        return tenant_id in self.session.info.get(LOCKED_TENANTS, set())

    def names_of(self, tenant_ids: Sequence[int]) -> list[str]:
        if not tenant_ids:
            return []
        return list(
            self.session.scalars(select(TenantRow.name).where(TenantRow.id.in_(tenant_ids)).order_by(TenantRow.name))
        )

    def version(self, tenant_id: int) -> int | None:
        return self.session.scalar(select(TenantRow.version).where(TenantRow.id == tenant_id))

    def all(self) -> Sequence[TenantRow]:
        return self.session.scalars(select(TenantRow).order_by(TenantRow.name)).all()

    def page(self, *, after: str | None, limit: int) -> Sequence[TenantRow]:
        """Up to `limit` tenants by name, from the first name after `after` (keyset pagination)."""
        query = select(TenantRow).order_by(TenantRow.name).limit(limit)
        if after is not None:
            query = query.where(TenantRow.name > after)
        return self.session.scalars(query).all()

    def user_counts(self) -> dict[int, int]:
        """Users per tenant id, in one query (every tenant, for the vendor's reports)."""
        query = select(UserRow.tenant_id, func.count()).group_by(UserRow.tenant_id)
        return dict(self.session.execute(query).all())

    def seat_totals(self) -> dict[tuple[str, str], int]:
        """Seats bought per (generation, plan or license), summed over every tenant, in one query."""
        query = (
            select(TenantRow.generation, SeatRow.item, func.sum(SeatRow.number))
            .join(TenantRow, TenantRow.id == SeatRow.tenant_id)
            .group_by(TenantRow.generation, SeatRow.item)
        )
        return {(generation, item): int(total) for generation, item, total in self.session.execute(query)}

    def names_by_generation(self) -> list[tuple[str, str, int]]:
        """(generation, name, id) of every tenant, ordered by name."""
        query = select(TenantRow.generation, TenantRow.name, TenantRow.id).order_by(TenantRow.name)
        return [(generation, name, tenant_id) for generation, name, tenant_id in self.session.execute(query)]

    def add(self, row: TenantRow) -> TenantRow:
        self.session.add(row)
        self.session.flush()
        # Nobody else sees the new row before this transaction commits: it is as good as locked.
        self.session.info.setdefault(LOCKED_TENANTS, set()).add(row.id)
        return row


_LOCK_TENANT = select(*TenantRow.__table__.columns).where(TenantRow.id == bindparam("p_tenant_id")).with_for_update()

# The tenants whose row this session has locked (session.info key); the lock lasts until commit.
LOCKED_TENANTS = "lisens_locked_tenants"
# Per tenant, the time a vendor's correction in this session was stamped with (its entries say so).
CORRECTED_TENANTS = "lisens_corrected_tenants"
# Per tenant, the time the change in this session was stamped with (use cases calling use cases share it).
STAMPED_TENANTS = "lisens_stamped_tenants"
# Set while the vendor's scheduled changes are applied: their entries are not corrections.
APPLYING_SCHEDULED = "lisens_applying_scheduled"
# A user's plan written by `UserRepository.put_plan(defer=True)`, sent with the next log entry.
DEFERRED_PLAN = "lisens_deferred_plan"
# Tenant rows by name, as this transaction found them (names never change).
TENANT_IDS = "lisens_tenant_ids"


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _locks_released(session: Session) -> None:
    """A lock lasts until its transaction ends; so does what this session knows of it."""
    session.info.pop(LOCKED_TENANTS, None)
    session.info.pop(CORRECTED_TENANTS, None)
    session.info.pop(STAMPED_TENANTS, None)
    session.info.pop(TENANT_IDS, None)
    session.info.pop(DEFERRED_PLAN, None)


class PurchaseRepository:
    """What a tenant bought: seats, system licenses, add-ons, partner owners and their licenses."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def seats(self, tenant_id: int) -> dict[str, SeatRow]:
        rows = self.session.scalars(select(SeatRow).where(SeatRow.tenant_id == tenant_id)).all()
        return {row.item: row for row in rows}

    def set_seats(self, tenant_id: int, *, kind: str, item: str, number: int) -> None:
        row = self.session.scalar(select(SeatRow).where(SeatRow.tenant_id == tenant_id, SeatRow.item == item))
        if number == 0:
            if row is not None:
                self.session.delete(row)
        elif row is None:
            self.session.add(SeatRow(tenant_id=tenant_id, kind=kind, item=item, number=number))
        else:
            row.number = number
        self.session.flush()

    def addons(self, tenant_id: int) -> list[str]:
        return list(
            self.session.scalars(select(AddonRow.key).where(AddonRow.tenant_id == tenant_id).order_by(AddonRow.key))
        )

    def add_addon(self, tenant_id: int, key: str) -> None:
        self.session.add(AddonRow(tenant_id=tenant_id, key=key))
        self.session.flush()

    def remove_addon(self, tenant_id: int, key: str) -> None:
        self.session.execute(delete(AddonRow).where(AddonRow.tenant_id == tenant_id, AddonRow.key == key))

    def system(self, tenant_id: int) -> list[str]:
        query = select(SystemLicenseRow.name).where(SystemLicenseRow.tenant_id == tenant_id)
        return list(self.session.scalars(query.order_by(SystemLicenseRow.name)))

    def add_system(self, tenant_id: int, name: str) -> None:
        self.session.add(SystemLicenseRow(tenant_id=tenant_id, name=name))
        self.session.flush()

    def remove_system(self, tenant_id: int, name: str) -> None:
        self.session.execute(
            delete(SystemLicenseRow).where(SystemLicenseRow.tenant_id == tenant_id, SystemLicenseRow.name == name)
        )

    def owners(self, tenant_id: int) -> dict[str, OwnerRow]:
        rows = self.session.scalars(select(OwnerRow).where(OwnerRow.tenant_id == tenant_id)).all()
        return {row.name: row for row in rows}

    def add_owner(self, tenant_id: int, name: str, description: str) -> OwnerRow:
        row = OwnerRow(tenant_id=tenant_id, name=name, description=description)
        self.session.add(row)
        self.session.flush()
        return row

    def partner_licenses(self, tenant_id: int) -> dict[str, PartnerLicenseRow]:
        rows = self.session.scalars(select(PartnerLicenseRow).where(PartnerLicenseRow.tenant_id == tenant_id)).all()
        return {row.full_name: row for row in rows}

    def add_partner_license(self, tenant_id: int, row: PartnerLicenseRow) -> None:
        row.tenant_id = tenant_id
        self.session.add(row)
        self.session.flush()


class UserRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, tenant_id: int, name: str) -> UserRow | None:
        return self.session.scalar(select(UserRow).where(UserRow.tenant_id == tenant_id, UserRow.name == name))

    def all(self, tenant_id: int) -> Sequence[UserRow]:
        return self.session.scalars(select(UserRow).where(UserRow.tenant_id == tenant_id).order_by(UserRow.name)).all()

    def add(self, tenant_id: int, row: UserRow) -> UserRow:
        row.tenant_id = tenant_id
        self.session.add(row)
        self.session.flush()
        return row

    def page(self, tenant_id: int, *, after: str | None, limit: int) -> Sequence[UserRow]:
        """Up to `limit` users by name, from the first name after `after` (keyset pagination)."""
        query = select(UserRow).where(UserRow.tenant_id == tenant_id).order_by(UserRow.name).limit(limit)
        if after is not None:
            query = query.where(UserRow.name > after)
        return self.session.scalars(query).all()

    def names(self, tenant_id: int) -> list[tuple[int, str, bool]]:
        """(id, name, retired) of every user of the tenant, by name, without loading ORM objects."""
        query = select(UserRow.id, UserRow.name, UserRow.retired).where(UserRow.tenant_id == tenant_id)
        return [
            (user_id, name, retired) for user_id, name, retired in self.session.execute(query.order_by(UserRow.name))
        ]

    def count(self, tenant_id: int) -> int:
        return self.session.scalar(select(func.count()).where(UserRow.tenant_id == tenant_id)) or 0

    def by_names(self, tenant_id: int, names: Sequence[str]) -> Sequence[UserRow]:
        found: list[UserRow] = []
        for part in chunks(list(dict.fromkeys(names))):
            found.extend(
                self.session.scalars(select(UserRow).where(UserRow.tenant_id == tenant_id, UserRow.name.in_(part)))
            )
        return found

    def records_by_names(self, tenant_id: int, names: Sequence[str]) -> list[UserRecord]:
        """The named users as plain records (no ORM objects), by id. When the names are more than 5,000 and
        at least half the tenant's users, the tenant's users are read whole: one query instead of one per
        5,000 names."""
        wanted = set(names)
        query = select(UserRow.id, UserRow.name, UserRow.type, UserRow.can_log_in, UserRow.retired).where(
            UserRow.tenant_id == tenant_id
        )
        found: list[UserRecord] = []
        if not wanted:
            return found
        if len(wanted) > CHUNK and len(wanted) * 2 >= self.count(tenant_id):
            found.extend(UserRecord(*row) for row in self.session.execute(query) if row.name in wanted)
        else:
            for part in chunks(sorted(wanted)):
                found.extend(UserRecord(*row) for row in self.session.execute(query.where(UserRow.name.in_(part))))
        return sorted(found)

    def insert_users(
        self, tenant_id: int, users: Sequence[NewUser], *, created_at: datetime, copy: bool | None = None
    ) -> list[int]:
        """Insert users in order, all created at `created_at`; their ids in the same order.

        The ids are taken first, as the database gives them to rows inserted one after another: on
        PostgreSQL one batch of the table's sequence, on SQLite the numbers after the largest (its one
        writer holds the database's write lock). The rows then go out by COPY on PostgreSQL (unless `copy`
        is False), by an executemany otherwise."""
        if not users:
            return []
        self.session.flush()
        connection = self.session.connection()
        if connection.dialect.name == "postgresql":
            ids = list(connection.execute(_NEXT_USER_IDS, {"p_count": len(users)}).scalars())
        else:
            last = connection.execute(select(func.max(UserRow.id))).scalar() or 0
            ids = list(range(last + 1, last + 1 + len(users)))
        moment = utc(created_at)
        if _use_copy(self.session, copy):
            _copy_rows(
                self.session,
                "COPY tenant_user (id, tenant_id, name, type, can_log_in, retired, created_at) FROM STDIN",
                (
                    (user_id, tenant_id, user.name, user.type, user.can_log_in, user.retired, moment)
                    for user_id, user in zip(ids, users, strict=True)
                ),
            )
        else:
            connection.execute(
                insert(UserRow),
                [
                    {
                        "id": user_id,
                        "tenant_id": tenant_id,
                        "name": user.name,
                        "type": user.type,
                        "can_log_in": user.can_log_in,
                        "retired": user.retired,
                        "created_at": moment,
                    }
                    for user_id, user in zip(ids, users, strict=True)
                ],
            )
        return ids

    def by_ids(self, tenant_id: int, user_ids: Sequence[int]) -> Sequence[UserRow]:
        return self.session.scalars(
            select(UserRow).where(UserRow.tenant_id == tenant_id, UserRow.id.in_(user_ids))
        ).all()

    def get_by_id(self, tenant_id: int, user_id: int) -> UserRow | None:
        return self.session.scalar(select(UserRow).where(UserRow.tenant_id == tenant_id, UserRow.id == user_id))

    def plans_of(self, tenant_id: int, user_ids: Sequence[int]) -> dict[int, str]:
        found: dict[int, str] = {}
        for part in chunks(user_ids):
            query = select(UserPlanRow.user_id, UserPlanRow.plan_key).where(
                UserPlanRow.tenant_id == tenant_id, UserPlanRow.user_id.in_(part)
            )
            found.update(dict(self.session.execute(query).all()))
        return found

    def licenses_of(self, tenant_id: int, user_ids: Sequence[int]) -> dict[int, list[str]]:
        found: dict[int, list[str]] = {}
        for part in chunks(user_ids):
            query = select(UserLicenseRow.user_id, UserLicenseRow.name).where(
                UserLicenseRow.tenant_id == tenant_id, UserLicenseRow.user_id.in_(part)
            )
            for user_id, name in self.session.execute(query):
                found.setdefault(user_id, []).append(name)
        return found

    def all_licenses(self, tenant_id: int) -> dict[int, list[str]]:
        """Every directly assigned license of the tenant by user id, names sorted, in one query."""
        query = (
            select(UserLicenseRow.user_id, UserLicenseRow.name)
            .where(UserLicenseRow.tenant_id == tenant_id)
            .order_by(UserLicenseRow.user_id, UserLicenseRow.name)
        )
        found: dict[int, list[str]] = {}
        for user_id, name in self.session.execute(query):
            found.setdefault(user_id, []).append(name)
        return found

    def set_plans(
        self,
        tenant_id: int,
        plans: Mapping[int, str | None],
        *,
        new: Collection[int] = (),
        copy: bool | None = None,
    ) -> None:
        """Set many users' plans (None: no plan) with one delete per chunk, then the new plan rows by COPY on
        PostgreSQL (unless `copy` is False) or one executemany; users in `new` (inserted in this
        transaction) hold no plan yet, so nothing is deleted for them."""
        # On the session's connection: set-based statements, no ORM bookkeeping (no plan rows are loaded
        # as objects by the bulk that calls this).
        connection = self.session.connection()
        user_ids = [user_id for user_id in plans if user_id not in new]
        for part in chunks(user_ids):
            connection.execute(
                delete(UserPlanRow).where(UserPlanRow.tenant_id == tenant_id, UserPlanRow.user_id.in_(part))
            )
        pairs = [(user_id, key) for user_id, key in plans.items() if key]
        if not pairs:
            return
        if _use_copy(self.session, copy):
            _copy_rows(
                self.session,
                "COPY user_plan (tenant_id, user_id, plan_key) FROM STDIN",
                ((tenant_id, user_id, key) for user_id, key in pairs),
            )
        else:
            rows = [{"tenant_id": tenant_id, "user_id": user_id, "plan_key": key} for user_id, key in pairs]
            connection.execute(insert(UserPlanRow), rows)

    def add_licenses(self, tenant_id: int, pairs: Iterable[tuple[int, str]], *, copy: bool | None = None) -> None:
        """Assign (user id, license name) pairs by COPY on PostgreSQL (unless `copy` is False), or in one
        executemany."""
        pairs = list(pairs)
        if not pairs:
            return
        if _use_copy(self.session, copy):
            _copy_rows(
                self.session,
                "COPY user_license (tenant_id, user_id, name) FROM STDIN",
                ((tenant_id, user_id, name) for user_id, name in pairs),
            )
        else:
            rows = [{"tenant_id": tenant_id, "user_id": user_id, "name": name} for user_id, name in pairs]
            self.session.connection().execute(insert(UserLicenseRow), rows)

    def remove_licenses(self, tenant_id: int, pairs: Iterable[tuple[int, str]]) -> None:
        """Unassign (user id, license name) pairs in one executemany."""
        rows = [{"t": tenant_id, "u": user_id, "n": name} for user_id, name in pairs]
        if rows:
            statement = delete(UserLicenseRow).where(
                UserLicenseRow.tenant_id == bindparam("t"),
                UserLicenseRow.user_id == bindparam("u"),
                UserLicenseRow.name == bindparam("n"),
            )
            self.session.connection().execute(statement, rows)

    def plan(self, tenant_id: int, user_id: int) -> str | None:
        return self.session.scalar(
            select(UserPlanRow.plan_key).where(UserPlanRow.tenant_id == tenant_id, UserPlanRow.user_id == user_id)
        )

    def set_plan(self, tenant_id: int, user_id: int, plan_key: str | None) -> None:
        row = self.session.scalar(
            select(UserPlanRow).where(UserPlanRow.tenant_id == tenant_id, UserPlanRow.user_id == user_id)
        )
        if plan_key is None:
            if row is not None:
                self.session.delete(row)
        elif row is None:
            self.session.add(UserPlanRow(tenant_id=tenant_id, user_id=user_id, plan_key=plan_key))
        else:
            row.plan_key = plan_key
        self.session.flush()

    def assignment_view(self, tenant_id: int, name: str, plan_key: str) -> AssignmentView | None:
        """The user named `name` as assigning `plan_key` needs it, in one query: the user, the plan held,
        how many licenses it holds directly, the seats of `plan_key` bought and how many users hold it."""
        found = (
            self.session.connection()
            .execute(_ASSIGNMENT_VIEW, {"p_tenant_id": tenant_id, "p_name": name, "p_item": plan_key})
            .first()
        )
        return None if found is None else AssignmentView(*found)

    def put_plan(self, tenant_id: int, user_id: int, plan_key: str, *, replace: bool, defer: bool = False) -> None:
        """Give the user `plan_key` in one statement: replacing the plan it holds, or as its first plan.
        With `defer` on PostgreSQL, the statement goes out with the next `AuditRepository.add_entry`."""
        params = {"p_tenant_id": tenant_id, "p_user_id": user_id, "p_plan_key": plan_key}
        if defer and self.session.connection().dialect.name == "postgresql":
            self.session.info[DEFERRED_PLAN] = (replace, params)
        else:
            self.session.connection().execute(_REPLACE_PLAN if replace else _FIRST_PLAN, params)
        for held in [obj for obj in self.session.identity_map.values() if isinstance(obj, UserPlanRow)]:
            if held.user_id == user_id:
                self.session.expire(held)  # written past the ORM: read it again if asked

    def licenses(self, tenant_id: int, user_id: int) -> list[str]:
        query = select(UserLicenseRow.name).where(
            UserLicenseRow.tenant_id == tenant_id, UserLicenseRow.user_id == user_id
        )
        return list(self.session.scalars(query.order_by(UserLicenseRow.name)))

    def add_license(self, tenant_id: int, user_id: int, name: str) -> None:
        self.session.add(UserLicenseRow(tenant_id=tenant_id, user_id=user_id, name=name))
        self.session.flush()

    def remove_license(self, tenant_id: int, user_id: int, name: str) -> None:
        self.session.execute(
            delete(UserLicenseRow).where(
                UserLicenseRow.tenant_id == tenant_id, UserLicenseRow.user_id == user_id, UserLicenseRow.name == name
            )
        )

    def plan_counts(self, tenant_id: int) -> dict[str, int]:
        query = (
            select(UserPlanRow.plan_key, func.count())
            .where(UserPlanRow.tenant_id == tenant_id)
            .group_by(UserPlanRow.plan_key)
        )
        return dict(self.session.execute(query).all())

    def license_counts(self, tenant_id: int) -> dict[str, int]:
        query = (
            select(UserLicenseRow.name, func.count())
            .where(UserLicenseRow.tenant_id == tenant_id)
            .group_by(UserLicenseRow.name)
        )
        return dict(self.session.execute(query).all())

    def count_plan(self, tenant_id: int, plan_key: str) -> int:
        query = select(func.count()).where(UserPlanRow.tenant_id == tenant_id, UserPlanRow.plan_key == plan_key)
        return self.session.scalar(query) or 0

    def count_license(self, tenant_id: int, name: str) -> int:
        query = select(func.count()).where(UserLicenseRow.tenant_id == tenant_id, UserLicenseRow.name == name)
        return self.session.scalar(query) or 0

    def holders_of_plan(self, tenant_id: int, plan_key: str) -> list[str]:
        query = (
            select(UserRow.name)
            .join(UserPlanRow, UserPlanRow.user_id == UserRow.id)
            .where(UserPlanRow.tenant_id == tenant_id, UserPlanRow.plan_key == plan_key)
            .order_by(UserRow.name)
        )
        return list(self.session.scalars(query))

    def holders_of_license(self, tenant_id: int, name: str) -> list[str]:
        query = (
            select(UserRow.name)
            .join(UserLicenseRow, UserLicenseRow.user_id == UserRow.id)
            .where(UserLicenseRow.tenant_id == tenant_id, UserLicenseRow.name == name)
            .order_by(UserRow.name)
        )
        return list(self.session.scalars(query))

    def all_plans(self, tenant_id: int) -> dict[int, str]:
        query = select(UserPlanRow.user_id, UserPlanRow.plan_key).where(UserPlanRow.tenant_id == tenant_id)
        return dict(self.session.execute(query).all())


class AssignmentView(NamedTuple):
    id: int
    type: str
    can_log_in: bool
    retired: bool
    plan_key: str | None
    direct_licenses: int
    seat_total: int | None
    plan_holders: int


class UserRecord(NamedTuple):
    """A user's row as plain values (no ORM object)."""

    id: int
    name: str
    type: str
    can_log_in: bool
    retired: bool


# The next `p_count` ids of tenant_user, in the order rows inserted one by one would take them. The
# sequence is named, not looked up (pg_get_serial_sequence would be asked once a row): the one the
# SERIAL column `tenant_user.id` of the migrations made.
_NEXT_USER_IDS = (
    select(DatabaseSequence("tenant_user_id_seq").next_value().label("id"))
    .select_from(func.generate_series(1, bindparam("p_count")))
    .order_by("id")
)
_HOLDERS = aliased(UserPlanRow)
# Built once: an assignment runs these under its tenant's lock, so they are plain Core statements
# on the session's connection, compiled once per engine.
_ASSIGNMENT_VIEW = (
    select(
        UserRow.id,
        UserRow.type,
        UserRow.can_log_in,
        UserRow.retired,
        UserPlanRow.plan_key,
        select(func.count()).select_from(UserLicenseRow).where(UserLicenseRow.user_id == UserRow.id).scalar_subquery(),
        select(SeatRow.number)
        .where(SeatRow.tenant_id == bindparam("p_tenant_id"), SeatRow.item == bindparam("p_item"))
        .scalar_subquery(),
        select(func.count())
        .select_from(_HOLDERS)
        .where(_HOLDERS.tenant_id == bindparam("p_tenant_id"), _HOLDERS.plan_key == bindparam("p_item"))
        .scalar_subquery(),
    )
    .outerjoin(UserPlanRow, UserPlanRow.user_id == UserRow.id)
    .where(UserRow.tenant_id == bindparam("p_tenant_id"), UserRow.name == bindparam("p_name"))
)
_FIRST_PLAN = insert(UserPlanRow).values(
    tenant_id=bindparam("p_tenant_id"), user_id=bindparam("p_user_id"), plan_key=bindparam("p_plan_key")
)
_REPLACE_PLAN = (
    update(UserPlanRow)
    .where(UserPlanRow.tenant_id == bindparam("p_tenant_id"), UserPlanRow.user_id == bindparam("p_user_id"))
    .values(plan_key=bindparam("p_plan_key"))
)


# Entries whose `after` is a full snapshot: of a tenant's purchases, or of one user's licenses.
TENANT_STATE_ACTIONS = (
    "tenant.create",
    "seats.set",
    "seats.upgrade",
    "seats.renewal",
    "addon.add",
    "addon.remove",
    "system.add",
    "system.remove",
    "owner.add",
    "owner.license",
    "package.activate",
    "move.apply",
    "move.rollback",
    "migration.apply",  # the earlier names of move.apply and move.rollback, in logs written before
    "migration.rollback",
    "plan.change",
)
USER_STATE_ACTIONS = ("user.add", "assign", "unassign", "user.retire", "user.login")


class AuditRepository:
    """The tenant logs and the vendor's log: appended under a lock, numbered and hash-chained."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(
        self,
        tenant_id: int,
        *,
        at: datetime,
        actor: str,
        action: str,
        subject: str,
        user_id: int | None = None,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
        correction: bool = False,
    ) -> AuditRow:
        """Append an entry to the tenant's log: its number and hash are taken under the tenant's lock, so
        the log is the order of commits. An entry dated before the last one is refused, never reordered."""
        tenant, moment, correction = self._head(tenant_id, at, correction)
        row = self._append(
            tenant.log_seq,
            tenant.log_hash,
            tenant_id=tenant_id,
            at=moment,
            actor=actor,
            action=action,
            subject=subject,
            user_id=user_id,
            before=before,
            after=after,
            correction=correction,
        )
        # No flush here: the row and the new head go out with the change's next flush, in one UPDATE
        # of the tenant row with its version.
        tenant.log_seq, tenant.log_hash, tenant.log_at = row.seq, row.hash, moment
        return row

    def add_entry(
        self,
        tenant: TenantRow,
        *,
        at: datetime,
        actor: str,
        action: str,
        subject: str,
        user_id: int | None = None,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> str:
        """Append an entry to the locked tenant's log as `add` does, and bump the tenant's version, written
        at once as plain statements: on PostgreSQL the entry and the tenant's new head in one statement,
        on SQLite in two. The tenant row object is brought up to date; returns the entry's hash."""
        self.session.flush()  # what the change wrote through the ORM goes first
        tenant_changed(self.session, tenant.id)
        _, moment, correction = self._head(tenant.id, at)
        entry = Entry(
            seq=tenant.log_seq + 1,
            at=moment,
            actor=actor,
            action=action,
            subject=subject,
            user_id=user_id,
            before=before,
            after=after,
            correction=correction,
            prev_hash=tenant.log_hash or GENESIS,
        )
        digest = entry_hash(entry)
        params = {
            "p_tenant_id": tenant.id,
            "p_seq": entry.seq,
            "p_prev_hash": entry.prev_hash,
            "p_hash": digest,
            "p_at": moment,
            "p_actor": actor,
            "p_action": action,
            "p_subject": subject,
            "p_user_id": user_id,
            "p_before": before,
            "p_after": after,
            "p_correction": correction,
            "p_version": tenant.version + 1,
        }
        connection = self.session.connection()
        if connection.dialect.name == "postgresql":
            deferred = self.session.info.pop(DEFERRED_PLAN, None)
            if deferred is None:
                connection.execute(_ENTRY_AND_HEAD, params)
            else:
                replace, plan = deferred
                statement = _REPLACED_PLAN_ENTRY_AND_HEAD if replace else _FIRST_PLAN_ENTRY_AND_HEAD
                connection.execute(statement, {**params, **plan})
        else:
            connection.execute(_ENTRY, params)
            connection.execute(_HEAD, params)
        for key, value in (("log_seq", entry.seq), ("log_hash", digest), ("log_at", moment)):
            set_committed_value(tenant, key, value)
        set_committed_value(tenant, "version", params["p_version"])
        return digest

    def _head(self, tenant_id: int, at: datetime, correction: bool = False) -> tuple[TenantRow, datetime, bool]:
        """The tenant's locked row, the entry's time in UTC, and whether it is a vendor's correction.
        An entry dated before the last one is refused, never reordered."""
        tenants = TenantRepository(self.session)
        tenant = self.session.get(TenantRow, tenant_id) if tenants.is_locked(tenant_id) else None
        if tenant is None:
            tenant = tenants.lock(tenant_id)
        moment = utc(at)
        if tenant.log_at is not None and moment < utc(tenant.log_at):
            raise ChangeBeforeHistory(
                f"a change at {moment.isoformat()} would come before the tenant's last recorded change "
                f"({utc(tenant.log_at).isoformat()}, entry {tenant.log_seq})",
                at=moment.isoformat(),
                last=utc(tenant.log_at).isoformat(),
            )
        correction = correction or self.session.info.get(CORRECTED_TENANTS, {}).get(tenant_id) == moment
        return tenant, moment, correction

    def add_many(self, tenant_id: int, *, at: datetime, actor: str, entries: Sequence[Mapping[str, Any]]) -> None:
        """Append many entries of one change at once, as `append_many` does. Each entry is a mapping
        with `action`, `subject`, and optionally `user_id`, `before`, `after`."""
        self.append_many(
            tenant_id,
            at=at,
            actor=actor,
            entries=[
                NewEntry(item["action"], item["subject"], item.get("user_id"), item.get("before"), item.get("after"))
                for item in entries
            ],
        )

    def append_many(
        self, tenant_id: int, *, at: datetime, actor: str, entries: Iterable[NewEntry], copy: bool | None = None
    ) -> None:
        """Append many entries of one change at once, numbered and chained in order, as `add` would one by
        one: a bulk or a move of 100,000 users is one statement, not 100,000 (COPY on PostgreSQL unless
        `copy` is False, an executemany per 5,000 entries otherwise). The entries may be made as they are
        written (an iterator). A `before` or `after` document that several entries share (the same object)
        is serialised once for the hashes and once for the column; the documents must not change while
        this runs."""
        items = iter(entries)
        head = next(items, None)
        if head is None:
            return
        entries = itertools.chain((head,), items)
        tenant_changed(self.session, tenant_id)
        tenant, moment, correction = self._head(tenant_id, at)
        hashes = ChainedHashes(at=moment, actor=actor, correction=correction)
        # The column's text, as the JSON type writes it (json.dumps), once per document object; each kept
        # with its document, so that its id stays its own while this runs.
        documents: dict[int, tuple[Mapping[str, Any] | None, str]] = {}

        def document(value: Mapping[str, Any] | None) -> tuple[Mapping[str, Any] | None, str]:
            found = documents.get(id(value))
            if found is None:
                found = documents[id(value)] = (value, json.dumps(value))
            return found

        first = tenant.log_seq + 1
        digests: list[str] = []
        prev = tenant.log_hash or GENESIS

        def chained() -> Iterator[tuple[int, str, str, NewEntry]]:
            """Each entry with its number, the hash before it and its own, made as they are written."""
            nonlocal prev
            for seq, item in enumerate(entries, start=first):
                digest = hashes.next(
                    prev,
                    seq=seq,
                    action=item.action,
                    subject=item.subject,
                    user_id=item.user_id,
                    before=item.before,
                    after=item.after,
                )
                yield seq, prev, digest, item
                digests.append(digest)
                prev = digest

        # Pending changes go first, in the order they came; then the entries on the session's connection,
        # the same transaction, without the ORM's bookkeeping for 100,000 objects nobody reads back here.
        self.session.flush()
        if _use_copy(self.session, copy):
            _copy_rows(
                self.session,
                "COPY audit (tenant_id, seq, prev_hash, hash, at, actor, action, subject, user_id, before, after, "
                "correction) FROM STDIN",
                (
                    (
                        tenant_id,
                        seq,
                        before_hash,
                        digest,
                        moment,
                        actor,
                        item.action,
                        item.subject,
                        item.user_id,
                        document(item.before)[1],
                        document(item.after)[1],
                        correction,
                    )
                    for seq, before_hash, digest, item in chained()
                ),
            )
        else:
            rows = (
                {
                    "p_tenant_id": tenant_id,
                    "p_seq": seq,
                    "p_prev_hash": before_hash,
                    "p_hash": digest,
                    "p_at": moment,
                    "p_actor": actor,
                    "p_action": item.action,
                    "p_subject": item.subject,
                    "p_user_id": item.user_id,
                    "p_before": document(item.before)[1],
                    "p_after": document(item.after)[1],
                    "p_correction": correction,
                }
                for seq, before_hash, digest, item in chained()
            )
            connection = self.session.connection()
            while part := list(itertools.islice(rows, CHUNK)):
                connection.execute(_ENTRIES, part)
        tenant.log_seq, tenant.log_hash, tenant.log_at = first + len(digests) - 1, digests[-1], moment
        self.session.flush()

    def add_vendor(
        self, *, at: datetime, actor: str, action: str, subject: str, after: dict[str, Any] | None = None
    ) -> AuditRow:
        """Append an entry to the vendor's own log (tokens and other changes of no tenant)."""
        head = self.session.scalar(select(VendorLogRow).where(VendorLogRow.id == 1).with_for_update())
        if head is None:
            head = VendorLogRow(id=1, seq=0, hash="", at=None)
            self.session.add(head)
            self.session.flush()
        moment = max(utc(at), utc(head.at)) if head.at is not None else utc(at)
        row = self._append(
            head.seq,
            head.hash,
            tenant_id=None,
            at=moment,
            actor=actor,
            action=action,
            subject=subject,
            user_id=None,
            before=None,
            after=after,
            correction=False,
        )
        head.seq, head.hash, head.at = row.seq, row.hash, moment
        self.session.flush()
        return row

    def _append(
        self,
        last_seq: int,
        last_hash: str,
        *,
        tenant_id: int | None,
        at: datetime,
        actor: str,
        action: str,
        subject: str,
        user_id: int | None,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
        correction: bool,
    ) -> AuditRow:
        # Every change is logged: a tenant's entry tells caches of the tenant, a vendor's of tokens.
        if tenant_id is None:
            tokens_changed(self.session)
        else:
            tenant_changed(self.session, tenant_id)
        if action.startswith("token."):
            tokens_changed(self.session)
        entry = Entry(
            seq=last_seq + 1,
            at=at,
            actor=actor,
            action=action,
            subject=subject,
            user_id=user_id,
            before=before,
            after=after,
            correction=correction,
            prev_hash=last_hash or GENESIS,
        )
        row = AuditRow(
            tenant_id=tenant_id,
            seq=entry.seq,
            prev_hash=entry.prev_hash,
            hash=entry_hash(entry),
            at=at,
            actor=actor,
            action=action,
            subject=subject,
            user_id=user_id,
            before=before,
            after=after,
            correction=correction,
        )
        self.session.add(row)
        return row

    def head(self, tenant_id: int | None) -> tuple[int, str]:
        """The last sequence number and hash the log's owner recorded (the vendor's log for None)."""
        if tenant_id is None:
            found = self.session.execute(
                select(VendorLogRow.seq, VendorLogRow.hash).where(VendorLogRow.id == 1)
            ).first()
        else:
            found = self.session.execute(
                select(TenantRow.log_seq, TenantRow.log_hash).where(TenantRow.id == tenant_id)
            ).first()
        return (found[0], found[1]) if found is not None else (0, "")

    def chain(self, tenant_id: int | None, *, batch: int = 5000) -> Iterator[Entry]:
        """Every entry of one log in sequence order, as its hash saw it; read as plain rows in batches
        (no ORM objects kept), so a long log is verified in bounded memory."""
        owner = AuditRow.tenant_id.is_(None) if tenant_id is None else AuditRow.tenant_id == tenant_id
        columns = (
            AuditRow.seq,
            AuditRow.at,
            AuditRow.actor,
            AuditRow.action,
            AuditRow.subject,
            AuditRow.user_id,
            AuditRow.before,
            AuditRow.after,
            AuditRow.correction,
            AuditRow.prev_hash,
            AuditRow.hash,
        )
        after = 0
        while True:
            rows = self.session.execute(
                select(*columns).where(owner, AuditRow.seq > after).order_by(AuditRow.seq).limit(batch)
            ).all()
            for seq, at, actor, action, subject, user_id, before, entry_after, correction, prev, digest in rows:
                yield Entry(
                    seq=seq,
                    at=utc(at),
                    actor=actor,
                    action=action,
                    subject=subject,
                    user_id=user_id,
                    before=before,
                    after=entry_after,
                    correction=bool(correction),
                    prev_hash=prev,
                    hash=digest,
                )
            if len(rows) < batch:
                return
            after = rows[-1][0]

    def entries(
        self,
        tenant_id: int,
        *,
        user_id: int | None = None,
        until: datetime | None = None,
        after_seq: int = 0,
        limit: int | None = None,
    ) -> Sequence[AuditRow]:
        query = select(AuditRow).where(AuditRow.tenant_id == tenant_id)
        if user_id is not None:
            query = query.where(AuditRow.user_id == user_id)
        if until is not None:
            query = query.where(AuditRow.at <= until)
        if after_seq:
            query = query.where(AuditRow.seq > after_seq)
        query = query.order_by(AuditRow.seq)
        if limit is not None:
            query = query.limit(limit)
        return self.session.scalars(query).all()

    def entries_at(self, tenant_id: int, seqs: Sequence[int]) -> list[AuditRow]:
        """The tenant's entries of these sequence numbers, in sequence order."""
        found: list[AuditRow] = []
        for part in chunks(sorted(set(seqs))):
            query = select(AuditRow).where(AuditRow.tenant_id == tenant_id, AuditRow.seq.in_(part))
            found.extend(self.session.scalars(query).all())
        return sorted(found, key=lambda row: row.seq)

    def vendor_entries(self, *, after_seq: int = 0, limit: int | None = None) -> Sequence[AuditRow]:
        query = select(AuditRow).where(AuditRow.tenant_id.is_(None), AuditRow.seq > after_seq).order_by(AuditRow.seq)
        if limit is not None:
            query = query.limit(limit)
        return self.session.scalars(query).all()

    def last_tenant_state(self, tenant_id: int, *, until: datetime) -> AuditRow | None:
        query = (
            select(AuditRow)
            .where(AuditRow.tenant_id == tenant_id, AuditRow.action.in_(TENANT_STATE_ACTIONS), AuditRow.at <= until)
            .order_by(AuditRow.seq.desc())
            .limit(1)
        )
        return self.session.scalar(query)

    def last_user_state(self, tenant_id: int, user_id: int, *, until: datetime) -> AuditRow | None:
        query = (
            select(AuditRow)
            .where(
                AuditRow.tenant_id == tenant_id,
                AuditRow.user_id == user_id,
                AuditRow.action.in_(USER_STATE_ACTIONS),
                AuditRow.at <= until,
            )
            .order_by(AuditRow.seq.desc())
            .limit(1)
        )
        return self.session.scalar(query)


def _entry_insert(documents: TypeDecorator[str] | None = None) -> Insert:
    """The insert of one log entry from bound parameters; `documents`: the type `before` and `after` come
    in (as the column's JSON type by default)."""
    return insert(AuditRow).values(
        tenant_id=bindparam("p_tenant_id"),
        seq=bindparam("p_seq"),
        prev_hash=bindparam("p_prev_hash"),
        hash=bindparam("p_hash"),
        at=bindparam("p_at"),
        actor=bindparam("p_actor"),
        action=bindparam("p_action"),
        subject=bindparam("p_subject"),
        user_id=bindparam("p_user_id"),
        before=bindparam("p_before", type_=documents),
        after=bindparam("p_after", type_=documents),
        correction=bindparam("p_correction"),
    )


_ENTRY = _entry_insert()
# Many entries of one change: `before` and `after` come serialised (`AuditRepository.append_many`).
_ENTRIES = _entry_insert(_SerializedJSON())
_HEAD = (
    update(TenantRow)
    .where(TenantRow.id == bindparam("p_tenant_id"))
    .values(
        version=bindparam("p_version"),
        log_seq=bindparam("p_seq"),
        log_hash=bindparam("p_hash"),
        log_at=bindparam("p_at"),
    )
)
_ENTRY_AND_HEAD = _HEAD.add_cte(_ENTRY.cte("entry"))
# An assignment's plan, its log entry and the tenant's new head, one statement (PostgreSQL).
_FIRST_PLAN_ENTRY_AND_HEAD = _HEAD.add_cte(_FIRST_PLAN.cte("plan")).add_cte(_ENTRY.cte("entry"))
_REPLACED_PLAN_ENTRY_AND_HEAD = _HEAD.add_cte(_REPLACE_PLAN.cte("plan")).add_cte(_ENTRY.cte("entry"))


class SubscriptionRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, tenant_id: int) -> SubscriptionRow | None:
        return self.session.scalar(select(SubscriptionRow).where(SubscriptionRow.tenant_id == tenant_id))

    def add(self, tenant_id: int, row: SubscriptionRow) -> SubscriptionRow:
        row.tenant_id = tenant_id
        self.session.add(row)
        self.session.flush()
        return row

    def period_changes(self, tenant_id: int) -> Sequence[PeriodChangeRow]:
        query = select(PeriodChangeRow).where(PeriodChangeRow.tenant_id == tenant_id)
        return self.session.scalars(query.order_by(PeriodChangeRow.requested, PeriodChangeRow.id)).all()

    def add_period_change(self, tenant_id: int, requested: date, months: int) -> None:
        self.session.add(PeriodChangeRow(tenant_id=tenant_id, requested=requested, months=months))
        self.session.flush()

    def scheduled(self, tenant_id: int, *, pending_only: bool = True) -> Sequence[ScheduledSeatsRow]:
        query = select(ScheduledSeatsRow).where(ScheduledSeatsRow.tenant_id == tenant_id)
        if pending_only:
            query = query.where(ScheduledSeatsRow.applied_at.is_(None))
        return self.session.scalars(query.order_by(ScheduledSeatsRow.effective, ScheduledSeatsRow.id)).all()

    def schedule(self, tenant_id: int, *, effective: date, item: str, number: int, requested_at: datetime) -> None:
        existing = self.session.scalar(
            select(ScheduledSeatsRow).where(
                ScheduledSeatsRow.tenant_id == tenant_id,
                ScheduledSeatsRow.effective == effective,
                ScheduledSeatsRow.item == item,
                ScheduledSeatsRow.applied_at.is_(None),
            )
        )
        if existing is None:
            self.session.add(
                ScheduledSeatsRow(
                    tenant_id=tenant_id, effective=effective, item=item, number=number, requested_at=requested_at
                )
            )
        else:
            existing.number = number
            existing.requested_at = requested_at
        self.session.flush()

    def cancel_scheduled(self, tenant_id: int, item: str) -> None:
        self.session.execute(
            delete(ScheduledSeatsRow).where(
                ScheduledSeatsRow.tenant_id == tenant_id,
                ScheduledSeatsRow.item == item,
                ScheduledSeatsRow.applied_at.is_(None),
            )
        )

    def invoices(self, tenant_id: int, *, start: date | None = None, end: date | None = None) -> Sequence[InvoiceRow]:
        query = select(InvoiceRow).where(InvoiceRow.tenant_id == tenant_id)
        if start is not None:
            query = query.where(InvoiceRow.issued >= start)
        if end is not None:
            query = query.where(InvoiceRow.issued < end)
        return self.session.scalars(query.order_by(InvoiceRow.issued)).all()

    def last_invoice(self, tenant_id: int) -> InvoiceRow | None:
        query = select(InvoiceRow).where(InvoiceRow.tenant_id == tenant_id).order_by(InvoiceRow.issued.desc()).limit(1)
        return self.session.scalar(query)

    def add_invoice(self, tenant_id: int, row: InvoiceRow) -> None:
        row.tenant_id = tenant_id
        self.session.add(row)
        self.session.flush()


class ScheduledChangeRepository:
    """A vendor's future-dated changes, per tenant, in the order they fall due."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, tenant_id: int, row: ScheduledChangeRow) -> ScheduledChangeRow:
        row.tenant_id = tenant_id
        self.session.add(row)
        self.session.flush()
        return row

    def due(self, tenant_id: int, *, until: datetime) -> Sequence[ScheduledChangeRow]:
        query = select(ScheduledChangeRow).where(
            ScheduledChangeRow.tenant_id == tenant_id,
            ScheduledChangeRow.state == "pending",
            ScheduledChangeRow.effective <= until,
        )
        return self.session.scalars(query.order_by(ScheduledChangeRow.effective, ScheduledChangeRow.id)).all()

    def listed(self, tenant_id: int, *, pending_only: bool = False) -> Sequence[ScheduledChangeRow]:
        query = select(ScheduledChangeRow).where(ScheduledChangeRow.tenant_id == tenant_id)
        if pending_only:
            query = query.where(ScheduledChangeRow.state == "pending")
        return self.session.scalars(query.order_by(ScheduledChangeRow.effective, ScheduledChangeRow.id)).all()

    def get(self, tenant_id: int, change_id: int) -> ScheduledChangeRow | None:
        return self.session.scalar(
            select(ScheduledChangeRow).where(
                ScheduledChangeRow.tenant_id == tenant_id, ScheduledChangeRow.id == change_id
            )
        )

    def first_pending(self, tenant_id: int) -> datetime | None:
        query = select(func.min(ScheduledChangeRow.effective)).where(
            ScheduledChangeRow.tenant_id == tenant_id, ScheduledChangeRow.state == "pending"
        )
        found = self.session.scalar(query)
        return utc(found) if found is not None else None

    def tenants_with_due(self, *, until: datetime) -> list[int]:
        query = (
            select(ScheduledChangeRow.tenant_id)
            .where(ScheduledChangeRow.state == "pending", ScheduledChangeRow.effective <= until)
            .distinct()
            .order_by(ScheduledChangeRow.tenant_id)
        )
        return list(self.session.scalars(query))


class PanelSessionRepository:
    """Log-ins to the web panel. `tenant_id` is the session's tenant, None for the vendor's."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, tenant_id: int | None, row: PanelSessionRow) -> PanelSessionRow:
        row.tenant_id = tenant_id
        self.session.add(row)
        self.session.flush()
        return row

    def live(
        self, tenant_id: int | None, session_hash: str, *, at: datetime
    ) -> tuple[PanelSessionRow, TokenRow] | None:
        """The session and its token, while the session is neither ended nor expired and the token not revoked."""
        same_tenant = (
            PanelSessionRow.tenant_id.is_(None) if tenant_id is None else PanelSessionRow.tenant_id == tenant_id
        )
        found = self.session.execute(
            select(PanelSessionRow, TokenRow)
            .join(TokenRow, TokenRow.id == PanelSessionRow.token_id)
            .where(
                same_tenant,
                PanelSessionRow.session_hash == session_hash,
                PanelSessionRow.ended_at.is_(None),
                PanelSessionRow.expires_at > at,
                TokenRow.revoked_at.is_(None),
            )
        ).first()
        return None if found is None else (found[0], found[1])

    def end(self, tenant_id: int | None, session_hash: str, *, at: datetime) -> bool:
        """End the session (log-out); False if there was no such live session."""
        same_tenant = (
            PanelSessionRow.tenant_id.is_(None) if tenant_id is None else PanelSessionRow.tenant_id == tenant_id
        )
        row = self.session.scalar(
            select(PanelSessionRow).where(
                same_tenant, PanelSessionRow.session_hash == session_hash, PanelSessionRow.ended_at.is_(None)
            )
        )
        if row is None:
            return False
        row.ended_at = at
        self.session.flush()
        return True


class ServerSecretRepository:
    """Secrets of the server itself, shared by its workers: not tenant data, so no tenant_id."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, name: str) -> str | None:
        row = self.session.get(ServerSecretRow, name)
        return None if row is None else row.value

    def add_once(self, name: str, value: str, *, at: datetime) -> str:
        """Keep `value` under `name` unless another worker kept one first; the value kept either way."""
        try:
            with self.session.begin_nested():
                self.session.add(ServerSecretRow(name=name, value=value, created_at=at))
        except IntegrityError:  # another worker made it first: use theirs
            found = self.get(name)
            if found is None:
                raise
            return found
        return value


class TokenRepository:
    """API tokens (hashes only). A token of no tenant is the vendor's, so `tenant_id` may be None here."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, tenant_id: int | None, row: TokenRow) -> TokenRow:
        row.tenant_id = tenant_id
        self.session.add(row)
        self.session.flush()
        return row

    def get(self, token_id: int) -> TokenRow | None:
        return self.session.get(TokenRow, token_id)

    def listed(
        self, tenant_id: int | None, *, after: int | None = None, limit: int | None = None
    ) -> list[tuple[TokenRow, str | None, str | None]]:
        """(token, tenant name, user name) by id: of one tenant, or of all for None."""
        query = (
            select(TokenRow, TenantRow.name, UserRow.name)
            .outerjoin(TenantRow, TenantRow.id == TokenRow.tenant_id)
            .outerjoin(UserRow, UserRow.id == TokenRow.user_id)
            .order_by(TokenRow.id)
        )
        if tenant_id is not None:
            query = query.where(TokenRow.tenant_id == tenant_id)
        if after is not None:
            query = query.where(TokenRow.id > after)
        if limit is not None:
            query = query.limit(limit)
        return [(row, tenant, user) for row, tenant, user in self.session.execute(query)]

    def live(self, token_hash: str) -> tuple[TokenRow, str | None, str | None] | None:
        """The unrevoked token with this hash, with its tenant's and user's names."""
        query = (
            select(TokenRow, TenantRow.name, UserRow.name)
            .outerjoin(TenantRow, TenantRow.id == TokenRow.tenant_id)
            .outerjoin(UserRow, UserRow.id == TokenRow.user_id)
            .where(TokenRow.token_hash == token_hash, TokenRow.revoked_at.is_(None))
        )
        found = self.session.execute(query).first()
        return None if found is None else (found[0], found[1], found[2])


class UsageRepository:
    """How much of each plan-limited metric a tenant uses (CRM Suite)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def counts(self, tenant_id: int) -> dict[str, int]:
        rows = self.session.scalars(select(UsageRow).where(UsageRow.tenant_id == tenant_id)).all()
        return {row.metric: row.count for row in rows}

    def set(self, tenant_id: int, metric: str, count: int, *, at: datetime) -> int:
        """Set the count; returns the count before (0 for a metric never reported)."""
        row = self.session.scalar(select(UsageRow).where(UsageRow.tenant_id == tenant_id, UsageRow.metric == metric))
        if row is None:
            self.session.add(UsageRow(tenant_id=tenant_id, metric=metric, count=count, updated_at=at))
            return 0
        before = row.count
        row.count, row.updated_at = count, at
        return before


class TagRepository:
    """Tenants' labels `key=value`."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def of(self, tenant_id: int) -> dict[str, str]:
        query = select(TenantTagRow).where(TenantTagRow.tenant_id == tenant_id).order_by(TenantTagRow.key)
        return {row.key: row.value for row in self.session.scalars(query)}

    def put(self, tenant_id: int, key: str, value: str) -> str | None:
        """Set the tag; returns the value before (None for a new key)."""
        row = self.session.scalar(
            select(TenantTagRow).where(TenantTagRow.tenant_id == tenant_id, TenantTagRow.key == key)
        )
        if row is None:
            self.session.add(TenantTagRow(tenant_id=tenant_id, key=key, value=value))
            self.session.flush()
            return None
        before, row.value = row.value, value
        self.session.flush()
        return before

    def remove(self, tenant_id: int, key: str) -> str | None:
        """Remove the tag; returns its value (None when the tenant had no such tag)."""
        row = self.session.scalar(
            select(TenantTagRow).where(TenantTagRow.tenant_id == tenant_id, TenantTagRow.key == key)
        )
        if row is None:
            return None
        self.session.delete(row)
        self.session.flush()
        return row.value

    def tenants_with(self, key: str, value: str) -> set[int]:
        """Ids of the tenants tagged `key=value`."""
        query = select(TenantTagRow.tenant_id).where(TenantTagRow.key == key, TenantTagRow.value == value)
        return set(self.session.scalars(query))


class GenerationMoveRepository:
    """A tenant's moves between generations: applied (with the state before, for rollback) or scheduled."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, tenant_id: int, row: GenerationMoveRow) -> GenerationMoveRow:
        row.tenant_id = tenant_id
        self.session.add(row)
        self.session.flush()
        return row

    def last_applied(self, tenant_id: int) -> GenerationMoveRow | None:
        query = (
            select(GenerationMoveRow)
            .where(GenerationMoveRow.tenant_id == tenant_id, GenerationMoveRow.state == "applied")
            .order_by(GenerationMoveRow.id.desc())
            .limit(1)
        )
        return self.session.scalars(query).first()

    def due(self, tenant_id: int, *, until: date) -> Sequence[GenerationMoveRow]:
        query = select(GenerationMoveRow).where(
            GenerationMoveRow.tenant_id == tenant_id,
            GenerationMoveRow.state == "scheduled",
            GenerationMoveRow.effective <= until,
        )
        return self.session.scalars(query.order_by(GenerationMoveRow.effective)).all()

    def replace_seats(self, tenant_id: int, seats: Mapping[str, tuple[str, int]]) -> None:
        """The tenant's seats become exactly `seats` (item -> (kind, number))."""
        self.session.execute(delete(SeatRow).where(SeatRow.tenant_id == tenant_id))
        for item, (kind, number) in seats.items():
            self.session.add(SeatRow(tenant_id=tenant_id, kind=kind, item=item, number=number))

    def replace_plans(self, tenant_id: int, plans: Mapping[int, str]) -> None:
        """Every user's plan becomes exactly `plans` (user id -> plan key; users not named hold none)."""
        self.session.execute(delete(UserPlanRow).where(UserPlanRow.tenant_id == tenant_id))
        rows = [{"tenant_id": tenant_id, "user_id": user_id, "plan_key": key} for user_id, key in plans.items()]
        if rows:
            self.session.execute(insert(UserPlanRow), rows)

    def replace_licenses(self, tenant_id: int, pairs: Iterable[tuple[int, str]]) -> None:
        """Every user's direct licenses become exactly `pairs` (user id, license name)."""
        self.session.execute(delete(UserLicenseRow).where(UserLicenseRow.tenant_id == tenant_id))
        rows = [{"tenant_id": tenant_id, "user_id": user_id, "name": name} for user_id, name in pairs]
        if rows:
            self.session.execute(insert(UserLicenseRow), rows)


class SavedMovePlanRepository:
    """The vendor's cohort move plans kept under a name (of no tenant: a plan selects tenants)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, name: str) -> SavedMovePlanRow | None:
        return self.session.scalar(select(SavedMovePlanRow).where(SavedMovePlanRow.name == name))

    def add(self, row: SavedMovePlanRow) -> SavedMovePlanRow:
        self.session.add(row)
        self.session.flush()
        return row

    def listed(self) -> Sequence[SavedMovePlanRow]:
        return self.session.scalars(select(SavedMovePlanRow).order_by(SavedMovePlanRow.name)).all()


class WaveRepository:
    """Waves of moves and their tenants. A wave spans tenants: its methods take the wave's id; a row of one
    tenant is reached through its own id, and the tenant it names is locked by the service before a move."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, row: MoveWaveRow) -> MoveWaveRow:
        self.session.add(row)
        self.session.flush()
        return row

    def get(self, wave_id: int) -> MoveWaveRow | None:
        return self.session.get(MoveWaveRow, wave_id)

    def lock(self, wave_id: int) -> MoveWaveRow | None:
        """The wave, locked until the transaction ends: its changes and its tenants' moves serialise."""
        query = (
            select(MoveWaveRow)
            .where(MoveWaveRow.id == wave_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return self.session.scalar(query)

    def listed(self) -> Sequence[MoveWaveRow]:
        return self.session.scalars(select(MoveWaveRow).order_by(MoveWaveRow.id)).all()

    def add_tenants(self, wave_id: int, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert the wave's tenants (tenant_id, state, effective, from_generation, reason, detail)."""
        for part in chunks(rows, 1000):
            self.session.execute(insert(MoveWaveTenantRow), [{**row, "wave_id": wave_id} for row in part])

    def tenants(self, wave_id: int) -> list[tuple[MoveWaveTenantRow, str, str]]:
        """The wave's tenants by name, each with its name and its generation now."""
        query = (
            select(MoveWaveTenantRow, TenantRow.name, TenantRow.generation)
            .join(TenantRow, TenantRow.id == MoveWaveTenantRow.tenant_id)
            .where(MoveWaveTenantRow.wave_id == wave_id)
            .order_by(TenantRow.name)
        )
        return [(row, name, generation) for row, name, generation in self.session.execute(query).all()]

    def entry(self, wave_id: int, tenant_id: int) -> MoveWaveTenantRow | None:
        query = select(MoveWaveTenantRow).where(
            MoveWaveTenantRow.wave_id == wave_id, MoveWaveTenantRow.tenant_id == tenant_id
        )
        return self.session.scalar(query)

    def entry_of(self, entry_id: int) -> tuple[int, str] | None:
        """(wave id, tenant name) of a tenant's row in a wave."""
        query = (
            select(MoveWaveTenantRow.wave_id, TenantRow.name)
            .join(TenantRow, TenantRow.id == MoveWaveTenantRow.tenant_id)
            .where(MoveWaveTenantRow.id == entry_id)
        )
        found = self.session.execute(query).first()
        return (found[0], found[1]) if found is not None else None

    def entry_by_id(self, entry_id: int, *, lock: bool = False) -> MoveWaveTenantRow | None:
        query = select(MoveWaveTenantRow).where(MoveWaveTenantRow.id == entry_id)
        if lock:
            query = query.with_for_update().execution_options(populate_existing=True)
        return self.session.scalar(query)

    def counts(self, wave_ids: Sequence[int] | None = None) -> dict[int, dict[str, int]]:
        """Per wave, how many of its tenants are in each state."""
        query = select(MoveWaveTenantRow.wave_id, MoveWaveTenantRow.state, func.count()).group_by(
            MoveWaveTenantRow.wave_id, MoveWaveTenantRow.state
        )
        if wave_ids is not None:
            query = query.where(MoveWaveTenantRow.wave_id.in_(wave_ids))
        found: dict[int, dict[str, int]] = {}
        for wave_id, state, number in self.session.execute(query).all():
            found.setdefault(wave_id, {})[state] = number
        return found

    def due(self, *, until: date) -> list[tuple[int, str]]:
        """(entry id, tenant name) of every scheduled tenant of an active wave due by `until`, in the order
        they fall due."""
        query = (
            select(MoveWaveTenantRow.id, TenantRow.name)
            .join(MoveWaveRow, MoveWaveRow.id == MoveWaveTenantRow.wave_id)
            .join(TenantRow, TenantRow.id == MoveWaveTenantRow.tenant_id)
            .where(
                MoveWaveRow.status == "active",
                MoveWaveTenantRow.state == "scheduled",
                MoveWaveTenantRow.effective <= until,
            )
            .order_by(MoveWaveTenantRow.effective, TenantRow.name, MoveWaveTenantRow.id)
        )
        return [(entry_id, name) for entry_id, name in self.session.execute(query).all()]

    def cancel_scheduled(self, wave_id: int, *, at: datetime) -> int:
        """Every scheduled tenant of the wave becomes cancelled; returns how many."""
        result = self.session.execute(
            update(MoveWaveTenantRow)
            .where(MoveWaveTenantRow.wave_id == wave_id, MoveWaveTenantRow.state == "scheduled")
            .values(state="cancelled", done_at=at)
            .execution_options(synchronize_session="fetch")
        )
        return int(getattr(result, "rowcount", 0) or 0)


# ---------------------------------------------------------------- the change feed


def _insert_new(session: Session, model: type[Any], values: Sequence[Mapping[str, Any]]) -> int:
    """Insert rows, leaving out those whose unique key exists already (two workers may race to add one)."""
    if not values:
        return 0
    from sqlalchemy.dialects import postgresql, sqlite

    if session.get_bind().dialect.name == "postgresql":
        statement: Any = postgresql.insert(model).values(list(values)).on_conflict_do_nothing()
    else:
        statement = sqlite.insert(model).values(list(values)).on_conflict_do_nothing()
    return len(session.execute(statement.returning(model.id)).all())


LICENSE_STATUS_ACTIONS = ("license.warning", "license.grace", "license.expire", "subscription.renew")


class EventRepository:
    """The logs read as a feed: one tenant's by sequence number, every tenant's by entry id."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def all_entries(self, *, after_id: int, limit: int) -> Sequence[tuple[AuditRow, str]]:
        query = (
            select(AuditRow, TenantRow.name)
            .join(TenantRow, TenantRow.id == AuditRow.tenant_id)
            .where(AuditRow.id > after_id)
            .order_by(AuditRow.id)
            .limit(limit)
        )
        return [(row, name) for row, name in self.session.execute(query).all()]

    def heads(self, names: Sequence[str]) -> dict[str, int]:
        """The last sequence number of each named tenant's log."""
        found: dict[str, int] = {}
        for part in chunks(list(names)):
            query = select(TenantRow.name, TenantRow.log_seq).where(TenantRow.name.in_(part))
            found.update({str(name): int(seq) for name, seq in self.session.execute(query).all()})
        return found

    def last_id(self) -> int:
        """The id of the last entry written to any tenant's log (0 for none)."""
        return int(self.session.scalar(select(func.max(AuditRow.id)).where(AuditRow.tenant_id.is_not(None))) or 0)

    def user_names(self, tenant_id: int, user_ids: Iterable[int]) -> dict[int, str]:
        ids = sorted(set(user_ids))
        if not ids:
            return {}
        query = select(UserRow.id, UserRow.name).where(UserRow.tenant_id == tenant_id, UserRow.id.in_(ids))
        return {int(user_id): str(name) for user_id, name in self.session.execute(query).all()}

    def subscribed(self) -> list[tuple[int, str]]:
        """Every tenant with a subscription, by name."""
        query = (
            select(TenantRow.id, TenantRow.name)
            .join(SubscriptionRow, SubscriptionRow.tenant_id == TenantRow.id)
            .order_by(TenantRow.name)
        )
        return [(tenant_id, name) for tenant_id, name in self.session.execute(query).all()]

    def last_status_entry(self, tenant_id: int) -> str | None:
        """The action of the tenant's last license-status entry (or renewal), if any."""
        query = (
            select(AuditRow.action)
            .where(AuditRow.tenant_id == tenant_id, AuditRow.action.in_(LICENSE_STATUS_ACTIONS))
            .order_by(AuditRow.seq.desc())
            .limit(1)
        )
        return self.session.scalar(query)


class WebhookRepository:
    """Endpoints, how far each has taken each tenant's log, and their deliveries (the queue)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, tenant_id: int | None, row: WebhookRow) -> WebhookRow:
        row.tenant_id = tenant_id
        self.session.add(row)
        self.session.flush()
        return row

    def start_streams(self, row: WebhookRow) -> None:
        """An endpoint starts at the present: it receives what happens from now on (replay reaches back)."""
        self.session.flush()
        scope = select(TenantRow.id, TenantRow.log_seq)
        if row.tenant_id is not None:
            scope = scope.where(TenantRow.id == row.tenant_id)
        _insert_new(
            self.session,
            WebhookStreamRow,
            [
                {"webhook_id": row.id, "tenant_id": tid, "position": seq}
                for tid, seq in self.session.execute(scope).all()
            ],
        )

    def get(self, tenant_id: int | None, webhook_id: int) -> WebhookRow | None:
        row = self.session.get(WebhookRow, webhook_id)
        if row is None or (tenant_id is not None and row.tenant_id != tenant_id):
            return None
        return row

    def listed(self, tenant_id: int | None) -> Sequence[WebhookRow]:
        """A tenant's own endpoints, or (None) every endpoint."""
        query = select(WebhookRow).order_by(WebhookRow.id)
        if tenant_id is not None:
            query = query.where(WebhookRow.tenant_id == tenant_id)
        return self.session.scalars(query).all()

    def remove(self, row: WebhookRow) -> None:
        self.session.execute(delete(DeliveryRow).where(DeliveryRow.webhook_id == row.id))
        self.session.execute(delete(WebhookStreamRow).where(WebhookStreamRow.webhook_id == row.id))
        self.session.delete(row)
        self.session.flush()

    def ensure_streams(self) -> int:
        """A stream for every enabled endpoint and tenant it covers (a tenant created after a vendor's
        endpoint starts at its first entry)."""
        pairs = self.session.execute(
            select(WebhookRow.id, TenantRow.id)
            .join(TenantRow, or_(WebhookRow.tenant_id.is_(None), WebhookRow.tenant_id == TenantRow.id))
            .where(
                WebhookRow.enabled.is_(True),
                ~exists().where(
                    WebhookStreamRow.webhook_id == WebhookRow.id, WebhookStreamRow.tenant_id == TenantRow.id
                ),
            )
        ).all()
        return _insert_new(
            self.session,
            WebhookStreamRow,
            [{"webhook_id": hook, "tenant_id": tenant, "position": 0} for hook, tenant in pairs],
        )

    def streams(self, webhook_id: int, tenant_id: int | None = None) -> Sequence[WebhookStreamRow]:
        query = select(WebhookStreamRow).where(WebhookStreamRow.webhook_id == webhook_id)
        if tenant_id is not None:
            query = query.where(WebhookStreamRow.tenant_id == tenant_id)
        return self.session.scalars(query.order_by(WebhookStreamRow.tenant_id)).all()

    def lagging_streams(self, *, limit: int) -> Sequence[WebhookStreamRow]:
        """Streams behind their tenant's log with no open delivery, locked (others skip them on PostgreSQL)."""
        open_delivery = exists().where(
            DeliveryRow.webhook_id == WebhookStreamRow.webhook_id,
            DeliveryRow.tenant_id == WebhookStreamRow.tenant_id,
            DeliveryRow.state == "pending",
        )
        query = (
            select(WebhookStreamRow)
            .join(TenantRow, TenantRow.id == WebhookStreamRow.tenant_id)
            .join(WebhookRow, WebhookRow.id == WebhookStreamRow.webhook_id)
            .where(WebhookRow.enabled.is_(True), TenantRow.log_seq > WebhookStreamRow.position, ~open_delivery)
            .order_by(WebhookStreamRow.id)
            .limit(limit)
            .with_for_update(skip_locked=True, of=WebhookStreamRow)
        )
        return self.session.scalars(query).all()

    def has_open(self, webhook_id: int, tenant_id: int) -> bool:
        query = select(DeliveryRow.id).where(
            DeliveryRow.webhook_id == webhook_id, DeliveryRow.tenant_id == tenant_id, DeliveryRow.state == "pending"
        )
        return self.session.scalar(query.limit(1)) is not None

    def add_deliveries(self, rows: Sequence[DeliveryRow]) -> None:
        self.session.add_all(rows)
        self.session.flush()

    def sent_seqs(self, webhook_id: int, tenant_id: int, seqs: Sequence[int]) -> set[int]:
        """Which of `seqs` the stream has had a delivery of before (a replay sends them again)."""
        found: set[int] = set()
        for part in chunks(sorted(set(seqs))):
            query = select(DeliveryRow.seq).where(
                DeliveryRow.webhook_id == webhook_id, DeliveryRow.tenant_id == tenant_id, DeliveryRow.seq.in_(part)
            )
            found.update(int(seq) for seq in self.session.scalars(query).all())
        return found

    def streams_with_pending(self, *, limit: int) -> Sequence[WebhookStreamRow]:
        """Streams of enabled endpoints with pending deliveries, locked while claiming (others skip them)."""
        pending = exists().where(
            DeliveryRow.webhook_id == WebhookStreamRow.webhook_id,
            DeliveryRow.tenant_id == WebhookStreamRow.tenant_id,
            DeliveryRow.state == "pending",
        )
        query = (
            select(WebhookStreamRow)
            .join(WebhookRow, WebhookRow.id == WebhookStreamRow.webhook_id)
            .where(WebhookRow.enabled.is_(True), pending)
            .order_by(WebhookStreamRow.id)
            .limit(limit)
            .with_for_update(skip_locked=True, of=WebhookStreamRow)
        )
        return self.session.scalars(query).all()

    def pending(self, webhook_id: int, tenant_id: int, *, limit: int) -> Sequence[DeliveryRow]:
        """A stream's pending deliveries in sequence order."""
        query = (
            select(DeliveryRow)
            .where(
                DeliveryRow.webhook_id == webhook_id, DeliveryRow.tenant_id == tenant_id, DeliveryRow.state == "pending"
            )
            .order_by(DeliveryRow.seq, DeliveryRow.id)
            .limit(limit)
        )
        return self.session.scalars(query).all()

    def delivery(self, delivery_id: int) -> DeliveryRow | None:
        return self.session.get(DeliveryRow, delivery_id)

    def deliveries(
        self, webhook_id: int, *, tenant_id: int | None = None, state: str | None = None, limit: int = 100
    ) -> Sequence[DeliveryRow]:
        query = select(DeliveryRow).where(DeliveryRow.webhook_id == webhook_id)
        if tenant_id is not None:
            query = query.where(DeliveryRow.tenant_id == tenant_id)
        if state is not None:
            query = query.where(DeliveryRow.state == state)
        return self.session.scalars(query.order_by(DeliveryRow.id.desc()).limit(limit)).all()

    def close_open(self, webhook_id: int, tenant_id: int, *, at: datetime) -> None:
        """End a stream's open delivery (a replay starts over from an earlier event)."""
        self.session.execute(
            update(DeliveryRow)
            .where(
                DeliveryRow.webhook_id == webhook_id, DeliveryRow.tenant_id == tenant_id, DeliveryRow.state == "pending"
            )
            .values(state="replaced", done_at=at, lease_until=None)
        )


class IdempotencyRepository:
    """Answers kept for writes sent with an `Idempotency-Key`: reserved first, so one request of many runs;
    the answer is stored in the transaction of the request's effect. A reservation is known by its row id
    and the time it was taken (a reservation taken over after its lease is a new row at a later time)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def claim(
        self, scope: str, key: str, *, fingerprint: str, now: datetime, expires: datetime, stale_before: datetime
    ) -> IdempotencyRow | None:
        """Reserve the key for a request (its row), unless a live answer or a running request within its
        lease holds it (None). An expired answer, or a reservation older than `stale_before` whose request
        never committed, is taken over."""
        self.session.execute(
            delete(IdempotencyRow).where(
                IdempotencyRow.scope == scope,
                IdempotencyRow.key == key,
                or_(
                    IdempotencyRow.expires_at <= now,
                    and_(IdempotencyRow.state == "running", IdempotencyRow.created_at <= stale_before),
                ),
            )
        )
        row = {
            "scope": scope,
            "key": key,
            "fingerprint": fingerprint,
            "state": "running",
            "media_type": "",
            "created_at": now,
            "expires_at": expires,
        }
        if _insert_new(self.session, IdempotencyRow, [row]) != 1:
            return None
        return self.get(scope, key)

    def get(self, scope: str, key: str) -> IdempotencyRow | None:
        return self.session.scalar(
            select(IdempotencyRow).where(IdempotencyRow.scope == scope, IdempotencyRow.key == key)
        )

    def _reserved(self, row_id: int, taken_at: datetime) -> Any:
        return (
            IdempotencyRow.id == row_id,
            IdempotencyRow.created_at == taken_at,
            IdempotencyRow.state == "running",
        )

    def finish(self, row_id: int, taken_at: datetime, *, status: int, media_type: str, body: bytes) -> bool:
        """Store the answer of the reservation (row id, time taken); False when it is no longer held."""
        result = self.session.execute(
            update(IdempotencyRow)
            .where(*self._reserved(row_id, taken_at))
            .values(state="done", status=status, media_type=media_type, body=body)
        )
        return int(getattr(result, "rowcount", 0) or 0) == 1

    def release(self, row_id: int, taken_at: datetime) -> None:
        self.session.execute(delete(IdempotencyRow).where(*self._reserved(row_id, taken_at)))

    def purge(self, *, now: datetime) -> int:
        result = self.session.execute(delete(IdempotencyRow).where(IdempotencyRow.expires_at <= now))
        return int(getattr(result, "rowcount", 0) or 0)


class Member(NamedTuple):
    """A user as a move reads it: plain values, no ORM object."""

    id: int
    name: str
    can_log_in: bool
    retired: bool
    plan: str | None
    direct: tuple[str, ...]  # licenses assigned directly, sorted


class CohortRepository:
    """Many tenants read at once (a cohort's move plan): each method is one statement over a batch of
    tenant ids (at most CHUNK), answering plain rows grouped by tenant id, never ORM objects, so a batch
    costs a few round trips and nothing stays in the session's identity map."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def _execute(self, query: Any) -> Sequence[Any]:
        """Rows of a Core statement on the session's connection (what the session holds unwritten first),
        fetched at once: the driver holds them all already, and one fetch costs less than one a row."""
        self.session.flush()
        return self.session.connection().execute(query).all()

    def _grouped(self, query: Any, tenant_ids: Sequence[int]) -> dict[int, list[Any]]:
        found: dict[int, list[Any]] = {tenant_id: [] for tenant_id in tenant_ids}
        if not tenant_ids:
            return found
        assert len(tenant_ids) <= CHUNK, "a batch of tenants is at most CHUNK ids"
        for row in self._execute(query):
            found[row[0]].append(tuple(row[1:]))
        return found

    def seats(self, tenant_ids: Sequence[int]) -> dict[int, dict[str, tuple[str, int]]]:
        """Per tenant: item -> (kind, number)."""
        query = (
            select(SeatRow.tenant_id, SeatRow.item, SeatRow.kind, SeatRow.number)
            .where(SeatRow.tenant_id.in_(tenant_ids))
            .order_by(SeatRow.tenant_id, SeatRow.item)
        )
        return {
            tenant_id: {item: (kind, number) for item, kind, number in rows}
            for tenant_id, rows in self._grouped(query, tenant_ids).items()
        }

    def addons(self, tenant_ids: Sequence[int]) -> dict[int, list[str]]:
        return self._names(AddonRow.tenant_id, AddonRow.key, tenant_ids)

    def system(self, tenant_ids: Sequence[int]) -> dict[int, list[str]]:
        """System licenses bought alone, by name."""
        return self._names(SystemLicenseRow.tenant_id, SystemLicenseRow.name, tenant_ids)

    def partner_system(self, tenant_ids: Sequence[int]) -> dict[int, list[str]]:
        """The full names of the partner owners' system licenses, by name."""
        system = PartnerLicenseRow.type == "system"
        return self._names(PartnerLicenseRow.tenant_id, PartnerLicenseRow.full_name, tenant_ids, system)

    def _names(
        self, tenant: Any, name: Any, tenant_ids: Sequence[int], *conditions: ColumnElement[bool]
    ) -> dict[int, list[str]]:
        """Per tenant, the values of one column of a table keyed by tenant, in order."""
        query = select(tenant, name).where(tenant.in_(tenant_ids), *conditions).order_by(tenant, name)
        return {tenant_id: [value for (value,) in rows] for tenant_id, rows in self._grouped(query, tenant_ids).items()}

    def members(self, tenant_ids: Sequence[int]) -> dict[int, list[Member]]:
        """Every user with their plan key and direct licenses, by name: two statements (users joined to
        their plans; direct licenses) however many users."""
        found: dict[int, list[Member]] = {tenant_id: [] for tenant_id in tenant_ids}
        if not tenant_ids:
            return found
        assert len(tenant_ids) <= CHUNK, "a batch of tenants is at most CHUNK ids"
        licenses = (
            select(UserLicenseRow.user_id, UserLicenseRow.name)
            .where(UserLicenseRow.tenant_id.in_(tenant_ids))
            .order_by(UserLicenseRow.user_id, UserLicenseRow.name)
        )
        names: dict[int, list[str]] = {}
        for user_id, name in self._execute(licenses):
            names.setdefault(user_id, []).append(name)
        direct = {user_id: tuple(held) for user_id, held in names.items()}
        query = (
            select(
                UserRow.tenant_id, UserRow.id, UserRow.name, UserRow.can_log_in, UserRow.retired, UserPlanRow.plan_key
            )
            .outerjoin(UserPlanRow, UserPlanRow.user_id == UserRow.id)
            .where(UserRow.tenant_id.in_(tenant_ids))
            .order_by(UserRow.tenant_id, UserRow.name)
        )
        none: tuple[str, ...] = ()
        for tenant_id, user_id, name, can_log_in, retired, plan in self._execute(query):
            found[tenant_id].append(Member(user_id, name, can_log_in, retired, plan, direct.get(user_id, none)))
        return found

    def usage(self, tenant_ids: Sequence[int]) -> dict[int, dict[str, int]]:
        query = (
            select(UsageRow.tenant_id, UsageRow.metric, UsageRow.count)
            .where(UsageRow.tenant_id.in_(tenant_ids))
            .order_by(UsageRow.tenant_id, UsageRow.metric)
        )
        return {tenant_id: dict(rows) for tenant_id, rows in self._grouped(query, tenant_ids).items()}

    def subscriptions(
        self, tenant_ids: Sequence[int]
    ) -> dict[int, tuple[date, int, date | None, list[tuple[date, int]]]]:
        """Per subscribed tenant: (start, period, cancelled, period changes by request)."""
        if not tenant_ids:
            return {}
        changes = self._grouped(
            select(PeriodChangeRow.tenant_id, PeriodChangeRow.requested, PeriodChangeRow.months)
            .where(PeriodChangeRow.tenant_id.in_(tenant_ids))
            .order_by(PeriodChangeRow.tenant_id, PeriodChangeRow.requested, PeriodChangeRow.id),
            tenant_ids,
        )
        query = select(
            SubscriptionRow.tenant_id, SubscriptionRow.start, SubscriptionRow.period, SubscriptionRow.cancelled
        ).where(SubscriptionRow.tenant_id.in_(tenant_ids))
        return {
            tenant_id: (start, period, cancelled, changes[tenant_id])
            for tenant_id, start, period, cancelled in self._execute(query)
        }
