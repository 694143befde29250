"""Defences at the HTTP edge: security headers on every answer, and a limit on failed authentications
(`lisens.web.limiter`, shared with the panel)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lisens.domain.errors import TooManyFailedAuthentications as TooManyFailedAuthentications
from lisens.web.limiter import FailedAuthLimiter as FailedAuthLimiter
from lisens.web.limiter import client_address as client_address

# The panel serves its script and styles from /admin/static and runs no inline script; htmx only
# talks to the panel itself. Nothing may frame it (clickjacking).
PANEL_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
# JSON answers are never a document to render: nothing may load from or frame them.
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
# Swagger UI loads its files from this server (/docs/assets) and starts with one inline script; it
# may talk to this server only, so the documentation never reaches out to another host.
DOCS_PATHS = ("/docs",)
DOCS_CSP = (
    "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'"
)
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
        if path == "/admin" or path.startswith("/admin/"):
            headers = PANEL_HEADERS
        elif path.startswith(DOCS_PATHS):
            headers = DOCS_HEADERS
        else:
            headers = API_HEADERS
        if scope.get("scheme") == "https":
            headers = (*headers, (b"strict-transport-security", HSTS.encode()))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                own = message.get("headers", [])
                present = {name.lower() for name, _ in own}
                message["headers"] = [*own, *(h for h in headers if h[0] not in present)]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _headers(*, referrer: bytes, csp: str) -> tuple[tuple[bytes, bytes], ...]:
    return (
        (b"x-frame-options", b"DENY"),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", referrer),
        (b"content-security-policy", csp.encode()),
    )


# The headers of each kind of answer, made once.
PANEL_HEADERS = _headers(referrer=b"same-origin", csp=PANEL_CSP)
DOCS_HEADERS = _headers(referrer=b"no-referrer", csp=DOCS_CSP)
API_HEADERS = _headers(referrer=b"no-referrer", csp=API_CSP)
