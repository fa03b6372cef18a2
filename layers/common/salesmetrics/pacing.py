"""When an import's writes go concurrent: once waiting on DynamoDB costs more than threads would.

Writer lanes on threads (and a flush written while the next is parsed) hide DynamoDB's latency,
but the threads cost CPU of their own: the same ingest took 15-20% more CPU on 16 lanes than on
one, side by side against an endpoint that answers at once, where they hide nothing
(docs/benchmarks.md). So an import starts on one thread, times how long each transaction waited
for its answer (the call's wall time less the CPU its thread spent in it), and goes concurrent
for the rest of the import once those waits pass `wait_share` of the time it has taken so far.
Against DynamoDB itself (a transaction waits ~10 ms or more) that is after the first flush.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

A = TypeVar("A")
R = TypeVar("R")

WAIT_SHARE = 0.2  # about what the threads cost: below it, one thread is the cheaper way
PROBE_SALES = 300  # the first flush's size, when the pacing adapts: a few transactions whose waits decide early
# How long a thread may hold the GIL while another waits for it, while an import's writer threads
# exist (CPython's default is 5 ms). The reader and the lanes are CPU-bound between their requests,
# so at 5 ms they hand the GIL over hundreds of times a second, each time through the kernel: on
# 100,000 lines with the lanes on, 1.8-3.1 s of system CPU against 0.55 s on one thread. At 50 ms
# the same ingest took 10.7-11.3 s of CPU instead of 11.7-12.9, and with DynamoDB 25 ms late 13.6-
# 13.7 s of wall instead of 17.8-20.9: a thread still lets go of the GIL whenever it waits on a
# socket, so the answers are read as soon as a lane is free to (docs/benchmarks.md, notes).
SWITCH_INTERVAL_S = 0.05

_switch_lock = threading.Lock()
_switch_users = 0
_switch_before = 0.0


@contextmanager
def writer_switch_interval(seconds: float = SWITCH_INTERVAL_S) -> Iterator[None]:
    """The interpreter's switch interval at `seconds` while the block runs (it is per process, so
    the first of concurrent imports sets it and the last one out puts back what it was)."""
    global _switch_users, _switch_before  # noqa: PLW0603 - one setting of the process, counted
    with _switch_lock:
        if _switch_users == 0:
            _switch_before = sys.getswitchinterval()
            sys.setswitchinterval(seconds)
        _switch_users += 1
    try:
        yield
    finally:
        with _switch_lock:
            _switch_users -= 1
            if _switch_users == 0:
                sys.setswitchinterval(_switch_before)


class WritePacing:
    """Whether the writer's lanes run concurrently. `fixed()`: always, from the first flush.

    Used by one import at a time: the main thread starts it and reviews it between flushes; while
    it is serial, only that thread times commits, and once concurrent it times none.
    """

    def __init__(
        self,
        *,
        adaptive: bool = True,
        wait_share: float = WAIT_SHARE,
        clock: Callable[[], float] = time.perf_counter,
        cpu_clock: Callable[[], float] = time.thread_time,
    ) -> None:
        self.adaptive = adaptive
        self.wait_share = wait_share
        self.concurrent = not adaptive
        self.waited = 0.0
        self._clock = clock
        self._cpu_clock = cpu_clock
        self._started = clock()

    @classmethod
    def fixed(cls) -> WritePacing:
        return cls(adaptive=False)

    def start(self) -> None:
        """A new import (or attempt): serial again, if adaptive, until its own waits say otherwise."""
        self.concurrent = not self.adaptive
        self.waited = 0.0
        self._started = self._clock()

    def first_flush(self, sales_per_flush: int) -> int:
        """How many sales the first flush takes: a small one, when its waits are to decide. The
        same for every attempt of a file, so that a retry's flushes (and change-list parts) fall
        where the first attempt's did."""
        return min(sales_per_flush, PROBE_SALES) if self.adaptive else sales_per_flush

    def timed(self, call: Callable[[A], R], arg: A) -> R:
        """`call(arg)`, its wait for the answer counted while the writes are serial."""
        if self.concurrent:
            return call(arg)
        wall, cpu = self._clock(), self._cpu_clock()
        try:
            return call(arg)
        finally:
            self.waited += max(0.0, (self._clock() - wall) - (self._cpu_clock() - cpu))

    def review(self) -> bool:
        """After a serial flush: whether the writes go concurrent from the next one on."""
        if not self.concurrent and self.waited > self.wait_share * (self._clock() - self._started):
            self.concurrent = True
        return self.concurrent
