"""What every benchmark shares: paths, the seeded exports in bench-out/, the environment."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from devtools import sourceroots

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench-out"  # gitignored
# What a benchmark puts on sys.path to import handlers (devtools.sourceroots), as repo-relative paths.
SOURCE_PATHS = [os.path.relpath(p, ROOT) for p in sourceroots.paths()]
SEED = 20250301
SALES_PER_DAY = 300

# Fake credentials and a dead proxy: nothing a benchmark does may reach real AWS.
SAFE_ENV = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_EC2_METADATA_DISABLED": "true",
    "HTTPS_PROXY": "http://127.0.0.1:9",
    "NO_PROXY": "127.0.0.1,localhost",
    "no_proxy": "127.0.0.1,localhost",
    # botocore signs in Python, as in Lambda: the layer ships no awscrt (this venv has it).
    "BOTO_DISABLE_CRT": "true",
}


def ensure_paths() -> None:
    sourceroots.add_to_sys_path()


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a benchmark's subprocess: ours, made safe, with the source paths."""
    env = {k: v for k, v in os.environ.items() if k not in ("AWS_PROFILE", "AWS_ENDPOINT_URL")}
    env.update(SAFE_ENV)
    env["PYTHONPATH"] = sourceroots.pythonpath()
    env.update(extra)
    return env


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def export_file(lines: int, *, seed: int = SEED, sales_per_day: int = SALES_PER_DAY) -> tuple[Path, dict[str, Any]]:
    """A generated export in bench-out/, written once per (lines, seed, sales_per_day).

    A JSON sidecar is written after the CSV is complete; a CSV without one (an interrupted run)
    is generated again. Returns the path and the generator's summary (plus how long it took).
    """
    ensure_paths()
    from devtools.samplegen import generate_export  # noqa: PLC0415 - after the paths are set

    OUT.mkdir(exist_ok=True)
    path = OUT / f"export-{lines}-seed{seed}-spd{sales_per_day}.csv"
    meta_path = path.with_suffix(".json")
    if path.exists() and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if meta.get("bytes") == path.stat().st_size:
            return path, {**meta, "reused": True}
    started = time.perf_counter()
    summary = generate_export(path, lines=lines, seed=seed, sales_per_day=sales_per_day)
    meta = {
        "lines": summary.lines,
        "sales": summary.sales,
        "bytes": summary.bytes_written,
        "first_date": str(summary.first_date),
        "last_date": str(summary.last_date),
        "seed": seed,
        "sales_per_day": sales_per_day,
        "generated_seconds": round(time.perf_counter() - started, 1),
    }
    meta_path.write_text(json.dumps(meta, indent=1))
    return path, {**meta, "reused": False}


def machine() -> dict[str, Any]:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "?"
    try:
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "layers", "functions"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split("\n")
        changed = sorted({line[3:] for line in dirty if line.strip()})
    except (OSError, subprocess.CalledProcessError):
        changed = []
    mem_kib = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    except OSError:
        pass
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(terse=True),
        "cpu": cpu,
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "commit": commit,
        "uncommitted": changed,  # files of the code under test that differ from the commit
    }


class ServerProcess:
    """A local server run as `python -m <module> <args>` in a child process that prints
    `READY <port>` once it listens and stops when its stdin closes; `endpoint_url` while open."""

    module = ""

    def __init__(self, *args: str) -> None:
        self.args = args
        self.process: subprocess.Popen[str] | None = None
        self.endpoint_url = ""

    def __enter__(self) -> Self:
        self.process = subprocess.Popen(
            [sys.executable, "-m", self.module, *self.args],
            cwd=ROOT,
            env=child_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().split()
        if len(line) != 2 or line[0] != "READY":
            self.__exit__(None, None, None)
            raise RuntimeError(f"the {self.module} process did not start")
        self.endpoint_url = f"http://127.0.0.1:{line[1]}"
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.terminate()  # this very child, by its pid
            process.wait(timeout=10)
