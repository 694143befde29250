"""The panel's cookie sessions: signed with a secret every worker shares, Secure over HTTPS, only under /admin.

The cookie holds the CSRF token, the language and the id of a server-side log-in
(`lisens.service.panel_sessions`); what a log-in may do is always read from the database.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import anyio.to_thread
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from lisens.domain.errors import LisensError

COOKIE = "lisens_session"
MAX_AGE = 8 * 3600


def is_panel(path: str) -> bool:
    return (path == "/admin" or path.startswith("/admin/")) and not path.startswith("/admin/static/")


class PanelSessions:
    """Starlette's signed-cookie sessions for the panel's pages.

    The signing secret comes from `secret()` on the first panel request (it may read the database),
    so a worker that starts while the database is away still starts. A request that came over
    HTTPS (directly, or through a trusted proxy's X-Forwarded-Proto) gets a Secure cookie; with
    `always_secure` every cookie is.
    """

    def __init__(self, app: ASGIApp, *, secret: Callable[[], str], always_secure: bool = False) -> None:
        self.app = app
        self._secret = secret
        self._always_secure = always_secure
        self._plain: SessionMiddleware | None = None
        self._secure: SessionMiddleware | None = None

    def _sessions(self, secret: str, *, secure: bool) -> SessionMiddleware:
        return SessionMiddleware(
            self.app, secret_key=secret, session_cookie=COOKIE, max_age=MAX_AGE, same_site="strict", https_only=secure
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_panel(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        if self._plain is None or self._secure is None:
            try:
                secret = await anyio.to_thread.run_sync(self._secret)
            except LisensError as error:  # the database is away: say so, and try again next time
                await _unavailable(send, error)
                return
            self._plain = self._sessions(secret, secure=self._always_secure)
            self._secure = self._sessions(secret, secure=True)
        chosen = self._secure if scope.get("scheme") == "https" else self._plain
        await chosen(scope, receive, send)


async def _unavailable(send: Send, error: LisensError) -> None:
    body = json.dumps({"status": 503, "code": error.code, "detail": error.message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
