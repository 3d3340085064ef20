"""Wall time per pipeline stage, for the benchmarks (``bench/query.py``)."""

from __future__ import annotations

import time


class Stages:
    """Laps of a stopwatch, accumulated by stage name in milliseconds into ``out``; with
    ``out`` None it does nothing, so the answering path can always call it."""

    def __init__(self, out: dict[str, float] | None = None) -> None:
        self.out = out
        self._last = time.perf_counter()

    def lap(self, stage: str) -> None:
        """Charge the time since the previous lap to ``stage``."""
        if self.out is None:
            return
        now = time.perf_counter()
        self.out[stage] = self.out.get(stage, 0.0) + (now - self._last) * 1000
        self._last = now
