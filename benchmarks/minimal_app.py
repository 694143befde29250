"""The baseline for latency: a minimal Starlette endpoint, served the same way as Lisens."""

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


async def check(request: Request) -> JSONResponse:
    await request.body()
    return JSONResponse({"results": [{"user": "u", "license": "l", "held": True, "reason": "HELD"}]})


app = Starlette(routes=[Route("/check", check, methods=["POST"])])
