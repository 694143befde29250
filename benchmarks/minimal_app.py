"""The baseline for latency: a minimal Starlette endpoint, served the same way as Lisens."""

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route


async def check(request: Request) -> JSONResponse:
    await request.body()
    return JSONResponse({"results": [{"user": "u", "license": "l", "held": True, "reason": "HELD"}]})


async def stream(request: Request) -> StreamingResponse:
    """`size` bytes in 256 KiB chunks: what moving an answer of that size costs, with no work behind it."""
    size = int(request.query_params["size"])
    chunk = b"x" * (256 * 1024)

    def chunks():  # type: ignore[no-untyped-def]
        left = size
        while left > 0:
            yield chunk[: min(left, len(chunk))]
            left -= len(chunk)

    return StreamingResponse(chunks(), media_type="application/json")


app = Starlette(routes=[Route("/check", check, methods=["POST"]), Route("/stream", stream)])
