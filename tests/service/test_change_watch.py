"""A change watch moves its stamps when a change commits, in this process at once and in others through
the database; it hands out no stamp when it cannot tell."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from lisens.db.changes import EVERYTHING, MAX_PAYLOAD, ChangeWatch, Pending, PostgresWatch, watch_for
from lisens.db.engine import make_session_factory
from lisens.db.repositories import TenantRepository
from lisens.service import tenants, tokens
from lisens.service.context import Context
from tests.db.conftest import T0, Database
from tests.db.helpers import make_tenant


def eventually(condition: Callable[[], bool], seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def listening(watch: ChangeWatch) -> ChangeWatch:
    if isinstance(watch, PostgresWatch):
        assert watch.wait_listening(10), "the watch never started listening"
    assert watch.listening
    return watch


def test_a_watch_of_an_in_memory_database_hands_out_no_stamp() -> None:
    watch = ChangeWatch()
    assert watch.tenant_stamp(1) is None
    assert watch.token_stamp() is None


def test_a_payload_moves_the_stamps_it_names_and_an_unknown_one_moves_every_stamp() -> None:
    class Always(ChangeWatch):
        @property
        def listening(self) -> bool:
            return True

    watch = Always()
    one, two, token = watch.tenant_stamp(1), watch.tenant_stamp(2), watch.token_stamp()
    watch.heard_payload("1")
    assert watch.tenant_stamp(1) != one
    assert watch.tenant_stamp(2) == two
    assert watch.token_stamp() == token
    watch.heard_payload("k")
    assert watch.token_stamp() != token
    two = watch.tenant_stamp(2)
    watch.heard_payload("something new")
    assert watch.tenant_stamp(2) != two
    two = watch.tenant_stamp(2)
    watch.heard_payload("*")
    assert watch.tenant_stamp(2) != two


def test_a_commit_in_another_process_moves_the_tenants_stamp_and_no_other(fresh_database: Database) -> None:
    watch = listening(watch_for(fresh_database.engine))
    try:
        # The writer's sessions are not the watch's: only the database tells it, as for another process.
        factory = make_session_factory(fresh_database.engine)
        with factory() as session:
            ctx = Context(session, "setup", may_correct=True)
            make_tenant(ctx, seats={"sales-premium": 1})
            tenants.create_tenant(ctx, name="other", generation="11", at=T0)
            session.commit()
            acme = TenantRepository(session).get_by_name("acme")
            other = TenantRepository(session).get_by_name("other")
            assert acme is not None
            assert other is not None
            acme_id, other_id = acme.id, other.id
        assert eventually(lambda: watch.tenant_stamp(acme_id) is not None)
        time.sleep(0.2)  # what the setup's own commits told has arrived
        before_acme, before_other, before_tokens = (
            watch.tenant_stamp(acme_id),
            watch.tenant_stamp(other_id),
            watch.token_stamp(),
        )
        with factory() as session:
            tenants.set_seats(Context(session, "writer"), "acme", "sales-premium", 2)
            session.commit()
        assert eventually(lambda: watch.tenant_stamp(acme_id) != before_acme)
        if fresh_database.backend == "postgresql":  # SQLite can only tell that something changed
            assert watch.tenant_stamp(other_id) == before_other
            assert watch.token_stamp() == before_tokens
    finally:
        watch.close()


def test_a_revocation_in_another_process_moves_the_token_stamp(fresh_database: Database) -> None:
    watch = listening(watch_for(fresh_database.engine))
    try:
        factory = make_session_factory(fresh_database.engine)
        with factory() as session:
            ctx = Context(session, "setup", may_correct=True)
            make_tenant(ctx)
            _, info = tokens.create_token(ctx, role="app", tenant="acme", at=T0)
            session.commit()
        time.sleep(0.2)
        before = watch.token_stamp()
        with factory() as session:
            tokens.revoke_token(Context(session, "writer"), info.id)
            session.commit()
        assert eventually(lambda: watch.token_stamp() != before)
    finally:
        watch.close()


def test_this_process_hears_its_own_commit_before_the_commit_returns(fresh_database: Database) -> None:
    watch = listening(watch_for(fresh_database.engine))
    try:
        factory = make_session_factory(fresh_database.engine, watch=watch)
        with factory() as session:
            make_tenant(Context(session, "setup", may_correct=True), seats={"sales-premium": 1})
            session.commit()
            acme = TenantRepository(session).get_by_name("acme")
            assert acme is not None
            acme_id = acme.id
        before = watch.tenant_stamp(acme_id)
        with factory() as session:
            tenants.set_seats(Context(session, "writer"), "acme", "sales-premium", 2)
            session.commit()
            assert watch.tenant_stamp(acme_id) != before  # no waiting: heard in the commit itself
    finally:
        watch.close()


def test_a_rolled_back_change_moves_no_stamp(fresh_database: Database) -> None:
    watch = listening(watch_for(fresh_database.engine))
    try:
        factory = make_session_factory(fresh_database.engine, watch=watch)
        with factory() as session:
            make_tenant(Context(session, "setup", may_correct=True), seats={"sales-premium": 1})
            session.commit()
            acme = TenantRepository(session).get_by_name("acme")
            assert acme is not None
            acme_id = acme.id
        time.sleep(0.2)
        before = watch.tenant_stamp(acme_id)
        with factory() as session:
            tenants.set_seats(Context(session, "writer"), "acme", "sales-premium", 2)
            session.rollback()
        time.sleep(0.2)
        assert watch.tenant_stamp(acme_id) == before
    finally:
        watch.close()


def test_a_postgres_watch_that_cannot_connect_hands_out_no_stamp() -> None:
    watch = PostgresWatch("postgresql://nobody@127.0.0.1:1/none?connect_timeout=1")
    try:
        assert not watch.wait_listening(0.5)
        assert watch.tenant_stamp(1) is None
        assert watch.token_stamp() is None
    finally:
        watch.close()


@pytest.mark.parametrize("payload_tenants", [10, 5000])
def test_a_change_to_many_tenants_is_told_in_one_notice(payload_tenants: int) -> None:
    payload = Pending(tenants=set(range(payload_tenants)), tokens=True).payload()
    assert len(payload) <= MAX_PAYLOAD
    if payload_tenants > 1000:
        assert payload == EVERYTHING
    else:
        assert payload.split(",")[0] == "k"


def test_a_closed_watch_listens_again_when_asked_and_moves_every_stamp(fresh_database: Database) -> None:
    watch = listening(watch_for(fresh_database.engine))
    first = watch.tenant_stamp(1)
    watch.close()
    again = listening(watch) if isinstance(watch, PostgresWatch) else watch
    assert eventually(lambda: again.tenant_stamp(1) not in (None, first))
    watch.close()


def test_a_stamp_taken_after_a_look_in_the_same_request_does_not_look_again(fresh_database: Database) -> None:
    watch = listening(watch_for(fresh_database.engine))
    try:
        factory = make_session_factory(fresh_database.engine)
        with factory() as session:
            make_tenant(Context(session, "setup", may_correct=True), seats={"sales-premium": 1})
            session.commit()
            acme = TenantRepository(session).get_by_name("acme")
            assert acme is not None
            acme_id = acme.id
        time.sleep(0.2)
        assert watch.token_stamp() is not None  # the request's one look
        looked = watch.tenant_stamp(acme_id, looked=True)
        assert looked == watch.tenant_stamp(acme_id)  # nothing committed since: the same stamp
        with factory() as session:
            tenants.set_seats(Context(session, "writer"), "acme", "sales-premium", 2)
            session.commit()
        if fresh_database.backend == "sqlite":  # only a look at the file tells; PostgreSQL's notice may come by itself
            assert watch.tenant_stamp(acme_id, looked=True) == looked
        assert eventually(lambda: watch.tenant_stamp(acme_id) != looked)  # the next request's look sees it
    finally:
        watch.close()
