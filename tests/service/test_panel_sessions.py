"""Panel log-ins kept on the server (SQLite and PostgreSQL): ended by log-out, by expiry and by revoking the token."""

from __future__ import annotations

from datetime import timedelta

from lisens.service import panel_sessions, tokens
from lisens.service.context import Context
from tests.db.conftest import T0
from tests.db.helpers import make_tenant


def test_a_session_speaks_for_its_token_until_it_is_ended(ctx: Context) -> None:
    make_tenant(ctx)
    plain, _ = tokens.create_token(ctx, role="admin", tenant="acme", at=T0)
    started = panel_sessions.start_session(ctx, plain, at=T0)
    assert started is not None
    found = panel_sessions.session_principal(ctx, started.tenant_id, started.session_id, at=T0 + timedelta(hours=1))
    assert found is not None
    assert (found.role, found.tenant) == ("admin", "acme")
    assert panel_sessions.end_session(ctx, started.tenant_id, started.session_id, at=T0 + timedelta(hours=1))
    assert (
        panel_sessions.session_principal(ctx, started.tenant_id, started.session_id, at=T0 + timedelta(hours=1)) is None
    )
    assert not panel_sessions.end_session(ctx, started.tenant_id, started.session_id, at=T0 + timedelta(hours=2))


def test_a_session_expires_after_eight_hours_and_with_its_token(ctx: Context) -> None:
    make_tenant(ctx)
    plain, info = tokens.create_token(ctx, role="admin", tenant="acme", at=T0)
    started = panel_sessions.start_session(ctx, plain, at=T0)
    assert started is not None
    late = T0 + panel_sessions.SESSION_LIFETIME
    assert panel_sessions.session_principal(ctx, started.tenant_id, started.session_id, at=late) is None
    again = panel_sessions.start_session(ctx, plain, at=T0)
    assert again is not None
    tokens.revoke_token(ctx, info.id)
    assert (
        panel_sessions.session_principal(ctx, again.tenant_id, again.session_id, at=T0 + timedelta(minutes=6)) is None
    )


def test_a_session_is_found_only_with_its_own_tenant(ctx: Context) -> None:
    make_tenant(ctx)
    make_tenant(ctx, "globex", people=())
    plain, _ = tokens.create_token(ctx, role="admin", tenant="acme", at=T0)
    started = panel_sessions.start_session(ctx, plain, at=T0)
    assert started is not None
    assert started.tenant_id is not None
    other = started.tenant_id + 1
    assert panel_sessions.session_principal(ctx, other, started.session_id, at=T0) is None
    assert panel_sessions.session_principal(ctx, None, started.session_id, at=T0) is None


def test_app_and_unknown_tokens_start_no_session(ctx: Context) -> None:
    make_tenant(ctx)
    app_token, _ = tokens.create_token(ctx, role="app", tenant="acme", at=T0)
    assert panel_sessions.start_session(ctx, app_token, at=T0) is None
    assert panel_sessions.start_session(ctx, "lsn_unknown", at=T0) is None


def test_the_shared_secret_is_made_once_and_then_kept(ctx: Context) -> None:
    first = panel_sessions.shared_secret(ctx, "test-secret", at=T0)
    assert len(first) >= 48
    assert panel_sessions.shared_secret(ctx, "test-secret", at=T0 + timedelta(days=1)) == first
    assert panel_sessions.shared_secret(ctx, "another", at=T0) != first
