"""Work run in other processes and threads by the concurrency tests: each its own engine and transaction."""

from __future__ import annotations

import time

from sqlalchemy import text

from lisens.db.engine import make_engine, make_session_factory
from lisens.domain.errors import LisensError
from lisens.service.context import Context
from lisens.service.users import assign


def assign_in_own_transaction(
    url: str, tenant: str, user: str, plans: list[str], licenses: list[str], start_at: float = 0.0
) -> str:
    """Connect, wait for `start_at` (so that every racer starts at once), assign and commit.

    Returns "ok" or the error code.
    """
    engine = make_engine(url)
    with engine.connect() as warm:  # open the pool's connection before the start line
        warm.execute(text("SELECT 1"))
    session = make_session_factory(engine)()
    try:
        time.sleep(max(0.0, start_at - time.time()))
        assign(
            Context(session=session, actor=f"worker:{user}"),
            tenant,
            user,
            plans=plans,
            licenses=licenses,
        )
        session.commit()
        return "ok"
    except LisensError as error:
        session.rollback()
        return error.code
    finally:
        session.close()
        engine.dispose()
