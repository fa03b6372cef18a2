"""Functions run the way Lambda runs them: warm execution environments, one invocation each.

A `WorkerPool` keeps, per function, worker processes (devtools/lambdaworker.py), each one
execution environment: its own interpreter, the function's own environment variables and
sys.path, the handler imported once (the INIT phase), then one invocation at a time. An
invocation takes an idle worker; when every worker of the function is busy a new one starts
(a cold start), up to `max_per_function`; past that the invocation waits for one to free up.
So a long ingest occupies one ingest worker and nothing else: the API's functions answer from
their own warm workers meanwhile.

As Lambda does: an invocation that outlives the function's Timeout is stopped (the worker is
killed, the invocation fails with "Task timed out after N seconds"); a worker that dies takes
only its own invocation with it; the handler's exception is the invocation's error (raised here
as `FunctionError`, named after the original type).

    pool = WorkerPool(spec_for, environment_for)         # or WorkerPool.for_stack(stack)
    pool.warm(["MetricsFunction", "HealthFunction"])     # start one of each, wait until imported
    result = pool.invoke("MetricsFunction", event)
    pool.close()
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from devtools.template import FunctionSpec

if TYPE_CHECKING:
    from devtools.localaws import LocalAws

log = logging.getLogger("devtools.workers")

WORKER_SCRIPT = Path(__file__).resolve().with_name("lambdaworker.py")
REPO_ROOT = WORKER_SCRIPT.parents[1]
DEFAULT_MAX_PER_FUNCTION = 4
INIT_TIMEOUT_SECONDS = 120.0  # Lambda allows 10 s of INIT; two shared cores are slower than Lambda
TIMEOUT_GRACE_SECONDS = 1.0

# (function logical id, request id, progress counters, seconds since the invocation started)
ProgressListener = Callable[[str, str, dict[str, Any], float], None]


class FunctionError(Exception):
    """The handler raised (or its runtime failed); `error_type` is the original exception's name."""

    def __init__(self, error_type: str, message: str, remote_traceback: str = "") -> None:
        super().__init__(message)
        self.error_type = error_type
        self.remote_traceback = remote_traceback


class WorkerStartError(RuntimeError):
    """A worker could not import its handler (the INIT phase failed)."""


_ERROR_TYPES: dict[str, type[FunctionError]] = {}


def _function_error(payload: dict[str, Any]) -> FunctionError:
    """A FunctionError whose class has the original exception's name (logs and the DLQ's
    `errorType` then read as they would from Lambda)."""
    name = str(payload.get("type") or "Error")
    cls = _ERROR_TYPES.get(name)
    if cls is None:
        cls = _ERROR_TYPES[name] = type(name if name.isidentifier() else "Error", (FunctionError,), {})
    return cls(name, str(payload.get("message", "")), str(payload.get("traceback", "")))


@dataclass(eq=False)
class Worker:
    logical_id: str
    number: int
    process: subprocess.Popen[str]
    messages: queue.Queue[dict[str, Any] | None] = field(default_factory=queue.Queue)
    invocations: int = 0

    def start_reader(self) -> None:
        threading.Thread(target=self._read, name=f"{self.logical_id}-{self.number}-out", daemon=True).start()

    def _read(self) -> None:
        stdout = self.process.stdout
        assert stdout is not None
        for line in stdout:
            try:
                self.messages.put(json.loads(line))
            except ValueError:
                log.warning(
                    "%s worker %d wrote a line that is not the protocol: %.200s", self.logical_id, self.number, line
                )
        self.messages.put(None)  # the worker's stdout closed: it exited

    def send(self, message: dict[str, Any]) -> None:
        stdin: IO[str] | None = self.process.stdin
        assert stdin is not None
        stdin.write(json.dumps(message, default=str) + "\n")
        stdin.flush()

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 5.0) -> None:
        with contextlib.suppress(OSError, ValueError):
            if self.process.stdin is not None:
                self.process.stdin.close()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout)


@dataclass
class _Slots:
    idle: list[Worker] = field(default_factory=list)
    total: int = 0  # idle + busy + starting
    started: int = 0


class WorkerPool:
    def __init__(
        self,
        spec_for: Callable[[str], FunctionSpec],
        environment_for: Callable[[str], dict[str, str]],
        *,
        max_per_function: int = DEFAULT_MAX_PER_FUNCTION,
        python: str = sys.executable,
    ) -> None:
        if max_per_function < 1:
            raise ValueError("max_per_function must be >= 1")
        self.spec_for = spec_for
        self.environment_for = environment_for
        self.max_per_function = max_per_function
        self.python = python
        self._slots: dict[str, _Slots] = {}
        self._condition = threading.Condition()
        self._listeners: list[ProgressListener] = []
        self._closed = False

    @classmethod
    def for_stack(cls, stack: LocalAws, **kwargs: Any) -> WorkerPool:
        """Workers for a LocalAws's functions: each with exactly the environment
        `LocalAws.invoke` gives it (the stack's endpoint, the function's own variables only)."""

        def environment(logical_id: str) -> dict[str, str]:
            foreign = stack._foreign_names(logical_id)
            base = {k: v for k, v in os.environ.items() if k not in foreign}
            return {**base, **stack.environment(logical_id)}

        return cls(stack.function, environment, **kwargs)

    # -- listeners ------------------------------------------------------------------------------
    def add_progress_listener(self, listener: ProgressListener) -> None:
        self._listeners.append(listener)

    # -- lifecycle ------------------------------------------------------------------------------
    def warm(self, logical_ids: Iterable[str], count: dict[str, int] | None = None) -> dict[str, float]:
        """Start one worker per function (or `count[id]`), all in parallel, and wait until each
        has imported its handler; answers the slowest start per function, in seconds."""
        ids = list(dict.fromkeys(logical_ids))
        errors: dict[str, BaseException] = {}
        seconds: dict[str, float] = {}

        def start(logical_id: str) -> None:
            began = time.monotonic()
            try:
                with self._condition:
                    slots = self._slots.setdefault(logical_id, _Slots())
                    slots.total += 1
                try:
                    worker = self._spawn(logical_id)
                except BaseException:
                    with self._condition:
                        slots.total -= 1
                    raise
            except BaseException as exc:
                errors[logical_id] = exc
                return
            seconds[logical_id] = max(seconds.get(logical_id, 0.0), time.monotonic() - began)
            self._release(worker)

        starts = [i for i in ids for _ in range(max(1, min((count or {}).get(i, 1), self.max_per_function)))]
        threads = [threading.Thread(target=start, args=(i,), name=f"warm-{i}") for i in starts]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            first = next(iter(errors.values()))
            raise WorkerStartError("; ".join(f"{i}: {e}" for i, e in errors.items())) from first
        return seconds

    def close(self) -> None:
        with self._condition:
            self._closed = True
            workers = [w for slots in self._slots.values() for w in slots.idle]
            for slots in self._slots.values():
                slots.idle.clear()
            self._condition.notify_all()
        for worker in workers:  # all told to exit first, then waited for: they exit together
            with contextlib.suppress(OSError, ValueError):
                if worker.process.stdin is not None:
                    worker.process.stdin.close()
        for worker in workers:
            worker.stop()

    def counts(self) -> dict[str, tuple[int, int]]:
        """(idle, total) workers per function."""
        with self._condition:
            return {i: (len(s.idle), s.total) for i, s in self._slots.items()}

    # -- invoking -------------------------------------------------------------------------------
    def invoke(self, logical_id: str, event: Any, request_id: str | None = None) -> Any:
        """Run one invocation on a worker of the function; its result, or FunctionError."""
        spec = self.spec_for(logical_id)
        worker = self._acquire(logical_id, wait=float(spec.timeout))
        healthy = False
        started = time.monotonic()
        request_id = request_id or ""
        try:
            worker.send({"invoke": {"event": event, "request_id": request_id or None}})
            deadline = started + spec.timeout + TIMEOUT_GRACE_SECONDS
            while True:
                try:
                    message = worker.messages.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    log.warning("%s: task timed out after %s seconds; its worker was stopped", logical_id, spec.timeout)
                    raise FunctionError("TimeoutError", f"Task timed out after {spec.timeout:.2f} seconds") from None
                if message is None:
                    raise FunctionError(
                        "Runtime.ExitError",
                        f"{logical_id}: the worker exited during the invocation (exit status {worker.process.wait()})",
                    )
                if "progress" in message and "result" not in message:
                    self._notify(logical_id, request_id, message["progress"], time.monotonic() - started)
                    continue
                if "error" in message:
                    healthy = True
                    raise _function_error(message["error"])
                healthy = True
                if "progress" in message:
                    final = {**message["progress"], "done": True}
                    self._notify(logical_id, request_id, final, time.monotonic() - started)
                return message.get("result")
        except OSError as exc:  # the worker's stdin is gone: it died between invocations
            raise FunctionError("Runtime.ExitError", f"{logical_id}: the worker is gone ({exc})") from exc
        finally:
            worker.invocations += 1
            if healthy and worker.alive():
                self._release(worker)
            else:
                self._discard(worker)

    def _notify(self, logical_id: str, request_id: str, progress: dict[str, Any], elapsed: float) -> None:
        for listener in self._listeners:
            try:
                listener(logical_id, request_id, progress, elapsed)
            except Exception:
                log.exception("progress listener failed")

    def _acquire(self, logical_id: str, wait: float) -> Worker:
        deadline = time.monotonic() + max(wait, 1.0)
        with self._condition:
            slots = self._slots.setdefault(logical_id, _Slots())
            while True:
                if self._closed:
                    raise FunctionError("Runtime.ExitError", "the worker pool is closed")
                while slots.idle:
                    worker = slots.idle.pop()
                    if worker.alive():
                        break
                    slots.total -= 1
                else:
                    worker = None
                if worker is not None:
                    break
                if slots.total < self.max_per_function:
                    slots.total += 1
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise FunctionError(
                        "TooManyRequestsException",
                        f"{logical_id}: all {self.max_per_function} workers stayed busy for {wait:.0f}s",
                    )
                self._condition.wait(remaining)
        if worker is not None:
            return worker
        busy = slots.total - 1
        if busy:
            log.info("%s: %d worker(s) busy; starting another (cold start)", logical_id, busy)
        try:
            return self._spawn(logical_id)
        except BaseException:
            with self._condition:
                slots.total -= 1
                self._condition.notify_all()
            raise

    def _release(self, worker: Worker) -> None:
        with self._condition:
            if self._closed:
                stop = True
            else:
                stop = False
                self._slots[worker.logical_id].idle.append(worker)
                self._condition.notify_all()
        if stop:
            worker.stop()

    def _discard(self, worker: Worker) -> None:
        with self._condition:
            self._slots[worker.logical_id].total -= 1
            self._condition.notify_all()
        with contextlib.suppress(OSError):
            worker.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            worker.process.wait(5)

    def _spawn(self, logical_id: str) -> Worker:
        spec = self.spec_for(logical_id)
        env = self.environment_for(logical_id)
        with self._condition:
            slots = self._slots.setdefault(logical_id, _Slots())
            slots.started += 1
            number = slots.started
        began = time.monotonic()
        process = subprocess.Popen(
            [self.python, "-I", str(WORKER_SCRIPT)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=None,
            env=env,
            cwd=str(REPO_ROOT),
            text=True,
            encoding="utf-8",
            bufsize=1,
        )
        worker = Worker(logical_id, number, process)
        worker.start_reader()
        try:
            worker.send(
                {
                    "init": {
                        "handler": spec.handler,
                        "paths": [str(p) for p in spec.sys_paths()],
                        "function_name": spec.function_name,
                        "arn": spec.arn,
                        "memory": spec.memory_size,
                        "timeout": spec.timeout,
                    }
                }
            )
            message = worker.messages.get(timeout=INIT_TIMEOUT_SECONDS)
        except (OSError, queue.Empty) as exc:
            worker.process.kill()
            raise WorkerStartError(f"{logical_id}: the worker did not start ({exc or 'timed out'})") from exc
        if message is None or "ready" not in message:
            worker.stop()
            error = (message or {}).get("init_error") or {}
            detail = error.get("traceback") or error.get("message") or "it exited"
            raise WorkerStartError(
                f"{logical_id}: cannot import {spec.handler}: "
                f"{error.get('type', 'Error')}: {error.get('message', detail)}"
            )
        log.debug(
            "%s: worker %d ready (pid %s, INIT %.2fs, %.2fs in all)",
            logical_id,
            number,
            message["ready"].get("pid"),
            message["ready"].get("init_seconds", 0),
            time.monotonic() - began,
        )
        return worker
