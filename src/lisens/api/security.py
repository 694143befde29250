"""Defences at the HTTP edge: security headers on every answer, and a limit on failed authentications."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from cachetools import TTLCache
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lisens.domain.errors import TooManyFailedAuthentications as TooManyFailedAuthentications

LOGGER = logging.getLogger("lisens.security")

# The panel serves its script and styles from /admin/static and runs no inline script; htmx only
# talks to the panel itself. Nothing may frame it (clickjacking).
PANEL_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
# JSON answers are never a document to render: nothing may load from or frame them.
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
# Swagger UI and ReDoc load their own scripts: they get no CSP of ours, only the other headers.
DOCS_PATHS = ("/docs", "/redoc")
HSTS = "max-age=31536000"


class SecurityHeaders:
    """Adds X-Frame-Options, X-Content-Type-Options, Referrer-Policy and a Content-Security-Policy to
    every answer (Strict-Transport-Security when the request came over HTTPS)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        headers: list[tuple[bytes, bytes]] = [
            (b"x-frame-options", b"DENY"),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"same-origin" if path.startswith("/admin") else b"no-referrer"),
        ]
        if path == "/admin" or path.startswith("/admin/"):
            headers.append((b"content-security-policy", PANEL_CSP.encode()))
        elif not path.startswith(DOCS_PATHS):
            headers.append((b"content-security-policy", API_CSP.encode()))
        if scope.get("scheme") == "https":
            headers.append((b"strict-transport-security", HSTS.encode()))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []), *(h for h in headers if h[0] not in present)]
            await send(message)

        await self.app(scope, receive, send_with_headers)


@dataclass
class _Failures:
    count: int
    first: float  # when the window of this client began
    logged: bool = False


class FailedAuthLimiter:
    """Counts failed authentications per client address in fixed windows; over the limit, a client's
    failures are answered 429 with Retry-After until its window ends.

    Only failures count and only failures are refused: a valid token always gets through, whatever
    its address did before. In process, so per worker (N workers allow up to N times the limit), and
    bounded: at most `max_clients` addresses are remembered, each for one window.
    """

    def __init__(
        self, *, limit: int, window: float, max_clients: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._failures: TTLCache[str, _Failures] = TTLCache(maxsize=max_clients, ttl=window, timer=clock)
        self._lock = threading.Lock()

    def failed(self, client: str) -> int | None:
        """Count one failure of `client`; the seconds it must wait if this one was over the limit."""
        with self._lock:
            found = self._failures.get(client)
            if found is None:
                # Set once per window: the entry expires `window` after the first failure.
                found = self._failures[client] = _Failures(count=0, first=self._clock())
            found.count += 1
            if found.count <= self.limit:
                return None
            wait = max(1, math.ceil(found.first + self.window - self._clock()))
            first_refusal = not found.logged
            found.logged = True
        if first_refusal:
            LOGGER.warning(
                "too many failed authentications",
                extra={"fields": {"client": client, "limit": self.limit, "window_s": self.window}},
            )
        return wait

    def refuse(self, client: str, wait: int) -> TooManyFailedAuthentications:
        return TooManyFailedAuthentications(
            f"more than {self.limit} failed authentications from {client} in {self.window:g} s; try again in {wait} s",
            client=client,
            limit=self.limit,
            window=self.window,
            retry_after=wait,
        )

    def clear(self) -> None:
        with self._lock:
            self._failures.clear()


def client_address(request: Request) -> str:
    """The client's address as the server sees it (behind a trusted proxy: the one the proxy names)."""
    return request.client.host if request.client else "unknown"
