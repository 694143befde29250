"""No oversell, ever: concurrent assignments racing for the last seats, over real connections and processes."""

from __future__ import annotations

import multiprocessing
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager

from lisens.db.engine import make_session_factory
from lisens.db.repositories import UserRepository
from lisens.service.context import Context
from lisens.service.state import load_state
from tests.db.conftest import Database
from tests.db.helpers import make_tenant
from tests.db.workers import assign_in_own_transaction

RACERS = 16


@contextmanager
def committed(database: Database) -> Iterator[Context]:
    session = make_session_factory(database.engine)()
    try:
        yield Context(session=session, actor="setup", may_correct=True)
        session.commit()
    finally:
        session.close()


def people() -> tuple[str, ...]:
    return tuple(f"user{n:02d}" for n in range(RACERS))


def start_line(seconds: float) -> list[float]:
    """The same start time for every racer, far enough ahead for the processes to be up."""
    return [time.time() + seconds] * RACERS


def test_sixteen_processes_racing_for_five_plan_seats_get_exactly_five(fresh_database: Database) -> None:
    with committed(fresh_database) as ctx:
        make_tenant(ctx, seats={"sales-premium": 5}, people=people())
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=8, mp_context=context) as pool:
        results = list(
            pool.map(
                assign_in_own_transaction,
                [fresh_database.url] * RACERS,
                ["acme"] * RACERS,
                people(),
                [["sales-premium"]] * RACERS,
                [[]] * RACERS,
                start_line(4.0),
            )
        )
    assert Counter(results) == {"ok": 5, "SEAT_LIMIT_REACHED": RACERS - 5}
    with committed(fresh_database) as ctx:
        counts = UserRepository(ctx.session).plan_counts(load_state(ctx, "acme").id)
    assert counts == {"sales-premium": 5}


def test_sixteen_threads_racing_for_three_license_seats_get_exactly_three(fresh_database: Database) -> None:
    with committed(fresh_database) as ctx:
        make_tenant(ctx, "old", generation="7", seats={"user": 3}, people=people())
    with ThreadPoolExecutor(max_workers=RACERS) as pool:
        results = list(
            pool.map(
                lambda user, start: assign_in_own_transaction(fresh_database.url, "old", user, [], ["user"], start),
                people(),
                start_line(1.0),
            )
        )
    assert Counter(results) == {"ok": 3, "SEAT_LIMIT_REACHED": RACERS - 3}
    with committed(fresh_database) as ctx:
        counts = UserRepository(ctx.session).license_counts(load_state(ctx, "old").id)
    assert counts == {"superoffice.user": 3}


def test_plan_switches_racing_with_new_assignments_never_exceed_the_total(fresh_database: Database) -> None:
    with committed(fresh_database) as ctx:
        make_tenant(ctx, seats={"sales-premium": 4, "sales-essential": 16}, people=people())
    plans = [["sales-premium"] if n % 2 else ["sales-essential"] for n in range(RACERS)]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=8, mp_context=context) as pool:
        url, tenant, empty = [fresh_database.url] * RACERS, ["acme"] * RACERS, [[]] * RACERS
        first = list(pool.map(assign_in_own_transaction, url, tenant, people(), plans, empty, start_line(4.0)))
        # Everyone now asks for Premium at once: 4 seats, some held already.
        premium = [["sales-premium"]] * RACERS
        second = list(pool.map(assign_in_own_transaction, url, tenant, people(), premium, empty, start_line(2.0)))
    assert first.count("ok") == 4 + RACERS // 2
    assert set(second) <= {"ok", "SEAT_LIMIT_REACHED"}
    with committed(fresh_database) as ctx:
        counts = UserRepository(ctx.session).plan_counts(load_state(ctx, "acme").id)
    assert counts["sales-premium"] == 4
    assert sum(counts.values()) == 4 + RACERS // 2
