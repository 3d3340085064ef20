"""Slow answers to clients that keep getting refused.

A refusal (a route not served, a body over its limit, a rate limit, a throttled sign-in) costs the
server little, but a script sending them back to back still takes a share of the one event loop
that answers customers: four such scripts halved the other clients' throughput on 2 cores. Past a
few refusals a minute, each further refusal to the same address is answered only after a pause.
The pause costs no CPU (the connection waits in the event loop), a script that waits for its
answers slows down to a few requests a second, and a person, who is never refused in normal use,
never meets it. Counted per address (the one the trusted proxy forwarded) and over all addresses,
so that a guesser spread over many addresses is paced too: past ``free_overall`` refusals a
window, every refusal waits — still only refusals, which a person does not get.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

Send = Callable[[dict[str, Any]], Awaitable[None]]
SLOWED_STATUSES = frozenset({429})  # refusals the app itself answers (rate limits, sign-in throttle)


class Tarpit:
    """Per address ``free`` refusals a window, and ``free_overall`` over all addresses; past either,
    ``delay_s`` before each further refusal."""

    def __init__(
        self,
        free: int = 10,
        free_overall: int = 120,
        window_s: float = 60.0,
        delay_s: float = 0.25,
        max_clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.free, self.free_overall, self.window_s, self.delay_s = free, free_overall, window_s, delay_s
        self.max_clients = max_clients
        self.clock = clock
        self._seen: dict[str, tuple[float, int]] = {}  # address -> (window start, refusals in it)
        self._overall = (clock(), 0)

    def delay(self, client: str) -> float:
        """Count one refusal to ``client``; the seconds to wait before answering it."""
        now = self.clock()
        count = self._count(client, now)
        start, overall = self._overall
        self._overall = (start, overall + 1) if now - start <= self.window_s else (now, 1)
        return self.delay_s if count > self.free or self._overall[1] > self.free_overall else 0.0

    def _count(self, client: str, now: float) -> int:
        """One more refusal to ``client`` in its window; how many that makes."""
        start, count = self._seen.pop(client, (now, 0))
        if now - start > self.window_s:
            start, count = now, 0
        self._seen[client] = (start, count + 1)  # re-inserted last: the oldest are dropped first
        while len(self._seen) > self.max_clients:
            del self._seen[next(iter(self._seen))]
        return count + 1

    async def pause(self, client: str) -> None:
        """Wait as long as ``delay`` says, before a refusal is sent."""
        wait = self.delay(client)
        if wait:
            await asyncio.sleep(wait)

    def slowed(self, send: Send, client: str) -> Send:
        """``send`` that pauses before a response whose status is a refusal the app answered."""

        async def paced(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start" and message.get("status") in SLOWED_STATUSES:
                await self.pause(client)
            await send(message)

        return paced
