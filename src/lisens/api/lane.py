"""The check, the request asked most by far, answered without the framework's routing and request handling.

`CheckLane` sits innermost among the middleware, so a check passes the same request id, log, metrics,
security headers, input guard and idempotency as every other request. It matches the route's own path
(`route.matches`), reads the body once, validates it as a `CheckRequest` and calls the route's own answer
(`v1.answer_check`); a refusal is answered as the app answers it (`problems.error_problem`). Whatever it
does not take — another route, a body that is not a valid check, a content type other than JSON — goes on
to the app with the body as it came, and the route answers it as always (the same 422, say).
"""

from __future__ import annotations

from pydantic import ValidationError
from starlette.requests import Request
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

from lisens.api import v1
from lisens.api.inputs import Disconnected, is_json, read_body, replayed
from lisens.api.problems import error_problem
from lisens.api.schemas import CheckRequest
from lisens.domain.errors import LisensError

ROUTE = next(route for route in v1.checks.routes if getattr(route, "endpoint", None) is v1.check)


class CheckLane:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST" or not is_json(scope):
            await self.app(scope, receive, send)
            return
        match, child = ROUTE.matches(scope)
        if match is not Match.FULL:
            await self.app(scope, receive, send)
            return
        try:
            body = await read_body(receive)
        except Disconnected:
            return  # nobody is waiting for an answer
        try:
            asked = CheckRequest.model_validate_json(body)
        except ValidationError:
            await self.app(scope, replayed(body, receive), send)
            return
        scope.update(child)  # the route and its path parameters, as the router sets them
        tenant: str = child["path_params"]["tenant"]
        try:
            response = await v1.answer_check(Request(scope, replayed(body, receive)), tenant, asked)
        except LisensError as error:
            response = error_problem(error, instance=scope.get("path", ""))
        await response(scope, receive, send)
