"""A limit on failed authentications per client address, for the API and the panel alike."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from cachetools import TTLCache
from starlette.requests import Request

from lisens.domain.errors import TooManyFailedAuthentications

LOGGER = logging.getLogger("lisens.security")


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
